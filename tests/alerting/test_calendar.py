"""Working-day calendar: official 2026 调休, the computed (provisional) 2027, and override files."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from alerting.calendar import CalendarError, WorkCalendar, statutory_holidays
from yuqing.clock import CN_TZ

END = time(23, 59, 59)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def cn(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CN_TZ)


def due(cal: WorkCalendar, start: datetime, n: int = 3) -> datetime:
    return cal.add_working_days(start, n)[0]


def test_national_day_2026_counts_the_saturday_make_up_day(cal: WorkCalendar) -> None:
    # 10-01..10-07 off; 10-08 Thu, 10-09 Fri, 10-10 Sat (调休 workday) are the three working days.
    assert date(2026, 10, 10).weekday() == 5
    got, provisional = cal.add_working_days(cn(2026, 9, 30), 3)
    assert got == datetime.combine(date(2026, 10, 10), END, tzinfo=CN_TZ)
    assert got.utcoffset() == timedelta(hours=8)
    assert provisional is False


def test_mid_autumn_2026_sunday_make_up_day(cal: WorkCalendar) -> None:
    # 2026-09-20 is a Sunday worked for the National Day bridge.
    assert date(2026, 9, 20).weekday() == 6 and cal.is_workday(date(2026, 9, 20))
    assert due(cal, cn(2026, 9, 19), 1).date() == date(2026, 9, 20)
    # 09-25 (中秋, Fri) is off, so from Thursday 09-24 the next working day is Monday 09-28.
    assert due(cal, cn(2026, 9, 24), 1).date() == date(2026, 9, 28)


def test_spring_festival_2026(cal: WorkCalendar) -> None:
    # Sat 02-14 is worked; 02-15..02-23 are off; then Tue 02-24, Wed 02-25.
    assert cal.is_workday(date(2026, 2, 14))
    assert not any(cal.is_workday(date(2026, 2, d)) for d in range(15, 24))
    assert due(cal, cn(2026, 2, 13)).date() == date(2026, 2, 25)
    # Receipt during the holiday: counting starts after it.
    assert due(cal, cn(2026, 2, 17)).date() == date(2026, 2, 26)
    # Sat 02-28 is a make-up workday too.
    assert due(cal, cn(2026, 2, 27), 1).date() == date(2026, 2, 28)


def test_plain_weekend_is_skipped(cal: WorkCalendar) -> None:
    assert due(cal, cn(2026, 11, 20)).date() == date(2026, 11, 25)  # Fri → Mon, Tue, Wed
    assert due(cal, cn(2026, 11, 21)).date() == date(2026, 11, 25)  # received on Saturday
    assert due(cal, cn(2026, 11, 22)).date() == date(2026, 11, 25)  # received on Sunday


def test_receipt_at_midnight_boundaries(cal: WorkCalendar) -> None:
    # 23:59 on Monday still counts as Monday's receipt; 00:00 is Tuesday's.
    assert due(cal, cn(2026, 11, 23, 23, 59)) == datetime.combine(date(2026, 11, 26), END, tzinfo=CN_TZ)
    assert due(cal, cn(2026, 11, 24, 0, 0)) == datetime.combine(date(2026, 11, 27), END, tzinfo=CN_TZ)
    # The day is the Beijing day, whatever offset the start carries: 16:30 UTC Monday is 00:30 Tuesday.
    utc_start = datetime.fromisoformat("2026-11-23T16:30:00+00:00")
    assert due(cal, utc_start).date() == date(2026, 11, 27)


def test_office_hours_end_the_day_early(cal: WorkCalendar) -> None:
    got, _ = cal.add_working_days(cn(2026, 11, 23), 1, day_end=time(17, 30))
    assert got == cn(2026, 11, 24, 17, 30)


def test_zero_working_days_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        cal.add_working_days(cn(2026, 11, 23), 0)


def test_2027_is_uncovered_by_the_package_and_computed_without_failing(cal: WorkCalendar) -> None:
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 3, 1))
    assert cal.is_provisional(date(2027, 3, 1))
    assert not cal.is_provisional(date(2026, 12, 31))
    # 春节 2027: 除夕 Fri 02-05, 初一..初三 Sat 02-06 .. Mon 02-08; the two weekend days give 补假
    # on Tue 02-09 and Wed 02-10.
    spring = [d for d, name in statutory_holidays(2027) if name == "春节"]
    assert spring == [date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8)]
    assert [cal.is_workday(date(2027, 2, d)) for d in range(4, 12)] == [
        True, False, False, False, False, False, False, True,
    ]
    # 国庆 Fri 10-01 .. Sun 10-03 → 补假 Mon 10-04 and Tue 10-05.
    assert [cal.is_workday(date(2027, 10, d)) for d in range(1, 7)] == [False] * 5 + [True]
    got, provisional = cal.add_working_days(cn(2027, 2, 4), 3)
    assert got.date() == date(2027, 2, 15) and provisional is True


def test_deadline_spanning_into_an_uncovered_year_is_provisional(cal: WorkCalendar) -> None:
    got, provisional = cal.add_working_days(cn(2026, 12, 30), 3)
    assert got.date() == date(2027, 1, 5)  # 12-31, (01-01 元旦), 01-04, 01-05
    assert provisional is True
    assert cal.add_working_days(cn(2026, 12, 24), 3)[1] is False


@pytest.mark.parametrize("year", [2025, 2026])
def test_computed_statutory_days_are_official_holidays(year: int) -> None:
    """The law's days computed from fixed, lunar and solar-term dates are all days off in the
    official schedules of the years under the current law."""
    for day, name in statutory_holidays(year):
        assert not chinese_calendar.is_workday(day), (day, name)


def test_lunar_and_solar_term_festivals_match_official_years() -> None:
    """春节初一, 清明, 端午 and 中秋 are holidays in every official year since 2008."""
    for year in range(2008, 2027):
        named = {name: day for day, name in statutory_holidays(year) if name != "春节"}
        spring_day = sorted(d for d, name in statutory_holidays(year) if name == "春节")[1]
        for day in (spring_day, named["清明节"], named["端午节"], named["中秋节"]):
            assert not chinese_calendar.is_workday(day), (year, day)


def _write(tmp_path: Path, text: str, name: str = "2027.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


OFFICIAL_2027 = """
years:
  2027:
    source: test notice
    holidays: [2027-01-01, [2027-02-05, 2027-02-12], 2027-10-01]
    workdays: [2027-02-20]
"""


def test_override_makes_a_year_official_and_moves_the_due_date(tmp_path: Path, cal: WorkCalendar) -> None:
    official = WorkCalendar.load(_write(tmp_path, OFFICIAL_2027))
    assert not official.is_provisional(date(2027, 2, 1))
    assert official.is_workday(date(2027, 2, 20))  # a Saturday worked
    assert not official.is_workday(date(2027, 2, 11))
    before = cal.add_working_days(cn(2027, 2, 4), 3)
    after = official.add_working_days(cn(2027, 2, 4), 3)
    assert before == (datetime.combine(date(2027, 2, 15), END, tzinfo=CN_TZ), True)
    assert after == (datetime.combine(date(2027, 2, 17), END, tzinfo=CN_TZ), False)
    assert official.version != cal.version


def test_override_folder_and_version_follow_content(tmp_path: Path) -> None:
    folder = tmp_path / "holidays"
    folder.mkdir()
    _write(folder, OFFICIAL_2027)
    first = WorkCalendar.load(folder)
    assert WorkCalendar.load(folder).version == first.version
    _write(folder, OFFICIAL_2027.replace("2027-02-20", "2027-02-21"))
    assert WorkCalendar.load(folder).version != first.version
    assert not WorkCalendar.load(folder).is_provisional(date(2027, 6, 1))


def test_override_can_correct_a_covered_year(tmp_path: Path) -> None:
    path = _write(tmp_path, "years:\n  2026:\n    holidays: [2026-11-23]\n", "fix.yaml")
    assert not WorkCalendar.load(path).is_workday(date(2026, 11, 23))
    assert WorkCalendar().is_workday(date(2026, 11, 23))


def test_shipped_overrides_folder_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    from yuqing.settings import get_settings

    monkeypatch.delenv("YUQING_CALENDAR_OVERRIDES_FILE", raising=False)
    get_settings.cache_clear()
    try:
        assert WorkCalendar.load().is_workday(date(2026, 10, 10))
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("years:\n  2027:\n    holidays: [2026-12-31]\n", "years.2027: 2026-12-31 is not in 2027"),
        ("years:\n  2027:\n    holidays: [soon]\n", "years.2027.holidays.0"),
        ("years:\n  2027:\n    holidays: [[2027-02-10, 2027-02-01]]\n", "ends before it starts"),
        ("years:\n  2027:\n    holiday: [2027-01-01]\n", "years.2027.holiday"),
        ("years:\n  2027:\n    holidays: [2027-01-01]\n    workdays: [2027-01-01]\n", "both a holiday and"),
        ("2027: {}\n", "years"),
        ("years: [\n", "not valid YAML"),
    ],
)
def test_bad_override_files_name_the_field(tmp_path: Path, text: str, fragment: str) -> None:
    path = _write(tmp_path, text, "bad.yaml")
    with pytest.raises(CalendarError) as info:
        WorkCalendar.load(path)
    assert "bad.yaml" in str(info.value)
    assert fragment in str(info.value)


def test_missing_override_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="no such"):
        WorkCalendar.load(tmp_path / "nope.yaml")


def test_default_overrides_come_from_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from yuqing.settings import get_settings

    monkeypatch.setenv("YUQING_CALENDAR_OVERRIDES_FILE", str(_write(tmp_path, OFFICIAL_2027)))
    get_settings.cache_clear()
    try:
        assert not WorkCalendar.load().is_provisional(date(2027, 2, 1))
    finally:
        get_settings.cache_clear()
