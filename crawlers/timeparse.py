"""Publication times as Chinese sites write them, turned into timezone-aware datetimes.

Relative forms (``3分钟前``, ``昨天 08:00``, ``刚刚``) are resolved against the ``now`` passed in, never
the system clock. Times without an offset are read in the source's timezone (Asia/Shanghai by default).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

from yuqing.clock import CN_TZ

_UNITS = {
    "秒": timedelta(seconds=1),
    "分钟": timedelta(minutes=1),
    "分": timedelta(minutes=1),
    "小时": timedelta(hours=1),
    "个小时": timedelta(hours=1),
    "天": timedelta(days=1),
    "日": timedelta(days=1),
    "周": timedelta(weeks=1),
    "星期": timedelta(weeks=1),
    "个月": timedelta(days=30),
    "月": timedelta(days=30),
    "年": timedelta(days=365),
}
_DAY_WORDS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}
_JUST_NOW = {"刚刚", "刚才", "just now"}

_RELATIVE = re.compile(
    r"^(\d+|半)\s*(秒|分钟|分|个小时|小时|天|日|周|星期|个月|月|年)\s*(?:钟)?\s*(?:前|以前|之前)$"
)
_DAY_WORD = re.compile(r"^(今天|今日|昨天|昨日|前天)\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?$")
_FULL = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[\sT]*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{1,2})\s*分?(?:\s*[:：]\s*(?P<S>\d{1,2})\s*秒?)?)?"
    r"(?:\.\d+)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)
_NO_YEAR = re.compile(
    r"^(?P<m>\d{1,2})\s*[-/月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*(?P<H>\d{1,2})[:：](?P<M>\d{2})(?:[:：](?P<S>\d{2}))?)?$"
)
_CLOCK_ONLY = re.compile(r"^(\d{1,2})[:：](\d{2})$")
_WEEKDAY = re.compile(r"(?:星期|周|礼拜)[一二三四五六日天]")
_HALF_DAY = re.compile(r"上午|中午|下午|晚上|傍晚|凌晨|早上")
_AFTERNOON = re.compile(r"下午|晚上|傍晚")
_EPOCH = re.compile(r"^\d{10}(?:\d{3})?$")


def _normalise(text: str) -> tuple[str, bool]:
    """The time text without labels, weekdays and 上午/下午, and whether it was an afternoon time."""
    text = unicodedata.normalize("NFKC", text).strip()
    for prefix in ("发布时间", "发表于", "发布于", "留言时间", "回复时间", "时间", "发表时间", "日期"):
        if text.startswith(prefix):
            text = text[len(prefix) :].lstrip(":： ")
    afternoon = bool(_AFTERNOON.search(text))
    text = _HALF_DAY.sub(" ", _WEEKDAY.sub(" ", text))
    return re.sub(r"\s+", " ", text).strip(), afternoon


def parse_cn_datetime(
    value: str | int | float | None, now: datetime, tz: ZoneInfo = CN_TZ
) -> datetime | None:
    """Parse one publication time; ``None`` when the text is not a time we understand."""
    if value is None:
        return None
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    text, afternoon = _normalise(value)
    if not text:
        return None
    parsed = _parse(text, now.astimezone(tz), tz)
    if parsed is not None and afternoon and parsed.hour < 12:
        parsed += timedelta(hours=12)
    return parsed


def _parse(text: str, local_now: datetime, tz: ZoneInfo) -> datetime | None:
    if text.lower() in _JUST_NOW:
        return local_now
    if _EPOCH.match(text):
        return _from_epoch(float(text))
    if m := _RELATIVE.match(text):
        amount = 0.5 if m.group(1) == "半" else float(m.group(1))
        return local_now - _UNITS[m.group(2)] * amount
    if m := _DAY_WORD.match(text):
        day = local_now.date() - timedelta(days=_DAY_WORDS[m.group(1)])
        return _at(day, int(m.group(2)), int(m.group(3)), int(m.group(4) or 0), tz)
    if m := _CLOCK_ONLY.match(text):
        return _at(local_now.date(), int(m.group(1)), int(m.group(2)), 0, tz)
    if m := _FULL.match(text):
        return _full(m, tz)
    if m := _NO_YEAR.match(text):
        return _no_year(m, local_now, tz)
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is not None:
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    try:
        iso = datetime.fromisoformat(text)
    except ValueError:
        return None
    return iso if iso.tzinfo else iso.replace(tzinfo=tz)


def _from_epoch(seconds: float) -> datetime | None:
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=CN_TZ)
    except (OverflowError, OSError, ValueError):
        return None


def _at(day: date, hour: int, minute: int, second: int, tz: ZoneInfo) -> datetime | None:
    try:
        return datetime.combine(day, time(hour, minute, second), tzinfo=tz)
    except ValueError:
        return None


def _full(m: re.Match[str], tz: ZoneInfo) -> datetime | None:
    try:
        day = date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        return None
    result = _at(day, int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0), tz)
    if result is not None and m["tz"]:
        offset = m["tz"].replace("Z", "+00:00")
        if ":" not in offset:
            offset = f"{offset[:3]}:{offset[3:]}"
        result = datetime.fromisoformat(result.replace(tzinfo=None).isoformat() + offset)
    return result


def _no_year(m: re.Match[str], local_now: datetime, tz: ZoneInfo) -> datetime | None:
    """``11-21 09:30``: this year, or last year when that would lie in the future."""
    for year in (local_now.year, local_now.year - 1):
        try:
            day = date(year, int(m["m"]), int(m["d"]))
        except ValueError:
            continue
        result = _at(day, int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0), tz)
        if result is not None and result <= local_now + timedelta(days=1):
            return result
    return None
