from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crawlers.timeparse import parse_cn_datetime
from yuqing.clock import CN_TZ

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=CN_TZ)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026年11月22日 10:05", datetime(2026, 11, 22, 10, 5, tzinfo=CN_TZ)),
        ("2026年11月22日10时05分", datetime(2026, 11, 22, 10, 5, tzinfo=CN_TZ)),
        ("2026-11-22", datetime(2026, 11, 22, tzinfo=CN_TZ)),
        ("2026/11/20 08:01:02", datetime(2026, 11, 20, 8, 1, 2, tzinfo=CN_TZ)),
        ("发布时间：2026-11-21 16:42", datetime(2026, 11, 21, 16, 42, tzinfo=CN_TZ)),
        ("３分钟前", NOW - timedelta(minutes=3)),
        ("3分钟前", NOW - timedelta(minutes=3)),
        ("半小时前", NOW - timedelta(minutes=30)),
        ("2小时前", NOW - timedelta(hours=2)),
        ("5天前", NOW - timedelta(days=5)),
        ("刚刚", NOW),
        ("昨天 08:00", datetime(2026, 11, 21, 8, 0, tzinfo=CN_TZ)),
        ("前天 21:15", datetime(2026, 11, 20, 21, 15, tzinfo=CN_TZ)),
        ("今天 07:30", datetime(2026, 11, 22, 7, 30, tzinfo=CN_TZ)),
        ("11-21 09:30", datetime(2026, 11, 21, 9, 30, tzinfo=CN_TZ)),
        ("12月30日", datetime(2025, 12, 30, tzinfo=CN_TZ)),
        ("Sun, 22 Nov 2026 10:05:00 +0800", datetime(2026, 11, 22, 10, 5, tzinfo=CN_TZ)),
        ("2026-11-22T02:05:00Z", datetime(2026, 11, 22, 10, 5, tzinfo=CN_TZ)),
        ("1795312800", datetime(2026, 11, 22, 10, 0, tzinfo=CN_TZ)),
        ("2026年11月22日 星期日 10:05", datetime(2026, 11, 22, 10, 5, tzinfo=CN_TZ)),
        ("昨天 下午3:05", datetime(2026, 11, 21, 15, 5, tzinfo=CN_TZ)),
        ("2026-11-21 上午 09:30", datetime(2026, 11, 21, 9, 30, tzinfo=CN_TZ)),
    ],
)
def test_chinese_time_formats_become_aware_datetimes(text: str, expected: datetime) -> None:
    parsed = parse_cn_datetime(text, NOW)
    assert parsed is not None and parsed.tzinfo is not None
    assert parsed == expected


def test_relative_times_follow_the_given_now_not_the_system_clock() -> None:
    later = NOW + timedelta(days=400)
    assert parse_cn_datetime("昨天 08:00", later) == datetime(2027, 12, 26, 8, 0, tzinfo=CN_TZ)


def test_source_timezone_is_used_for_times_without_offset() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    parsed = parse_cn_datetime("2026-11-22 10:05", NOW, tokyo)
    assert parsed == datetime(2026, 11, 22, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize("text", ["大约在冬季", "2026-13-45", "", "   ", "昨天 25:99"])
def test_unreadable_times_give_none(text: str) -> None:
    assert parse_cn_datetime(text, NOW) is None


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_cn_datetime("刚刚", datetime(2026, 11, 22, 12, 0))
