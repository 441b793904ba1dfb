"""The working-day calendar of the Chinese mainland: weekends, statutory holidays and 调休 make-up workdays.

Where a year's schedule comes from, best first:

1. an override file (the State Council's 放假安排 notice, copied into YAML when it is published);
2. the ``chinese-calendar`` package (official schedules up to the year it was released for);
3. computed from the law (《全国年节及纪念日放假办法》 as amended in 2024, in force from 2025):
   元旦 1 day, 春节 4 days (农历除夕、正月初一至初三), 清明节 1 day (the solar term),
   劳动节 2 days (5月1日、2日), 端午节 1 day, 中秋节 1 day, 国庆节 3 days (10月1日至3日),
   and a 补假 working day for each of these that falls on a weekend (第六条).
   The notice's 调休 make-up Saturdays cannot be known in advance, so days of such a year are
   *provisional*: deadlines computed over them say so and are recomputed when an override arrives.

Override file (one file, or a folder of ``*.yaml`` files)::

    years:
      2027:
        source: 国务院办公厅关于2027年部分节假日安排的通知
        holidays: [2027-01-01, [2027-02-05, 2027-02-12]]   # a date or an inclusive [from, to] range
        workdays: [2027-02-20]                               # 调休 make-up days (weekends that are worked)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import chinese_calendar
from lunardate import LunarDate
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from yuqing.clock import CN_TZ, aware
from yuqing.safe_input import ConfigFileError, describe_validation_error, load_yaml_file

DEFAULT_OVERRIDES_DIR = Path(__file__).resolve().parent / "config" / "holidays"
END_OF_DAY = time(23, 59, 59)
_RULES_VERSION = "statutory-2025"  # bump when the computed rules change, so stored deadlines are recomputed


class CalendarError(ValueError):
    """An override file is wrong; the message names the file and the field."""


class _OverrideYear(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | None = None
    holidays: list[date | tuple[date, date]] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)

    @field_validator("holidays")
    @classmethod
    def _ranges_ascend(cls, v: list[date | tuple[date, date]]) -> list[date | tuple[date, date]]:
        for item in v:
            if isinstance(item, tuple) and item[1] < item[0]:
                raise ValueError(f"range [{item[0]}, {item[1]}] ends before it starts")
        return v

    def holiday_dates(self) -> set[date]:
        days: set[date] = set()
        for item in self.holidays:
            if isinstance(item, tuple):
                days.update(item[0] + timedelta(n) for n in range((item[1] - item[0]).days + 1))
            else:
                days.add(item)
        return days


class _OverrideFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    years: dict[int, _OverrideYear]

    @model_validator(mode="after")
    def _dates_in_their_year(self) -> _OverrideFile:
        for year, spec in self.years.items():
            holidays = spec.holiday_dates()
            for day in sorted(holidays | set(spec.workdays)):
                if day.year != year:
                    raise ValueError(f"years.{year}: {day} is not in {year}")
            both = holidays & set(spec.workdays)
            if both:
                raise ValueError(f"years.{year}: {min(both)} is both a holiday and a workday")
        return self


@dataclass(frozen=True)
class YearSchedule:
    """Days off on weekdays and days worked on weekends, for one year."""

    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str  # "override:<file>", "chinese-calendar" or "computed"

    @property
    def provisional(self) -> bool:
        return self.source == "computed"


def read_overrides(path: Path) -> dict[int, YearSchedule]:
    """Official schedules from one YAML file or every ``*.yaml`` in a folder (later files win)."""
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    schedules: dict[int, YearSchedule] = {}
    for file in files:
        try:
            raw = load_yaml_file(file, what="holiday override")
        except ConfigFileError as exc:
            raise CalendarError(str(exc)) from None
        try:
            parsed = _OverrideFile.model_validate(raw)
        except ValidationError as exc:
            raise CalendarError(f"{file}: {describe_validation_error(exc)}") from None
        for year, spec in parsed.years.items():
            schedules[year] = YearSchedule(
                holidays=frozenset(spec.holiday_dates()),
                workdays=frozenset(spec.workdays),
                source=f"override:{file.name}" + (f" ({spec.source})" if spec.source else ""),
            )
    return schedules


def _package_years() -> range:
    years = [d.year for d in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def statutory_holidays(year: int) -> list[tuple[date, str]]:
    """The days off the law gives every citizen in ``year`` (rules in force from 2025), by festival."""
    spring = LunarDate(year, 1, 1).to_solar_date()
    qingming = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
    return [
        (date(year, 1, 1), "元旦"),
        *((spring + timedelta(n), "春节") for n in range(-1, 3)),
        (next(d for d, name in qingming if name == "清明"), "清明节"),
        (date(year, 5, 1), "劳动节"),
        (date(year, 5, 2), "劳动节"),
        (LunarDate(year, 5, 5).to_solar_date(), "端午节"),
        (LunarDate(year, 8, 15).to_solar_date(), "中秋节"),
        *((date(year, 10, n), "国庆节") for n in (1, 2, 3)),
    ]


def computed_schedule(year: int) -> YearSchedule:
    """The law's holidays plus 补假: a statutory day on a weekend (or on another festival's day, as when
    中秋 is 10月1日) adds the next free weekday after it."""
    off: set[date] = set()
    for day, _name in sorted(statutory_holidays(year)):
        if day.weekday() < 5 and day not in off:
            off.add(day)
            continue
        off.add(day)
        extra = day + timedelta(1)
        while extra.weekday() >= 5 or extra in off:
            extra += timedelta(1)
        off.add(extra)
    return YearSchedule(
        holidays=frozenset(d for d in off if d.weekday() < 5), workdays=frozenset(), source="computed"
    )


def _package_schedule(year: int) -> YearSchedule:
    return YearSchedule(
        holidays=frozenset(d for d in chinese_calendar.holidays if d.year == year and d.weekday() < 5),
        workdays=frozenset(d for d in chinese_calendar.workdays if d.year == year),
        source="chinese-calendar",
    )


class WorkCalendar:
    """Answers "is this a working day?" for any year, and counts working days for deadlines."""

    def __init__(self, overrides: dict[int, YearSchedule] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._package_years = _package_years()
        self._years: dict[int, YearSchedule] = {}
        fingerprint = {
            "chinese-calendar": [self._package_years.start, self._package_years.stop - 1],
            "rules": _RULES_VERSION,
            "overrides": {
                str(y): [sorted(map(str, s.holidays)), sorted(map(str, s.workdays))]
                for y, s in sorted(self._overrides.items())
            },
        }
        digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()
        self.version: str = digest[:16]

    @classmethod
    def load(cls, overrides: Path | None = None) -> WorkCalendar:
        """Read override files: ``overrides`` (a file or a folder), else the ``calendar_overrides_file``
        setting, else the shipped config/holidays/ folder."""
        if overrides is None:
            from yuqing.settings import get_settings

            overrides = get_settings().calendar_overrides_file
        if overrides is None:
            return cls(read_overrides(DEFAULT_OVERRIDES_DIR) if DEFAULT_OVERRIDES_DIR.is_dir() else {})
        return cls(read_overrides(overrides))

    def schedule(self, year: int) -> YearSchedule:
        if year not in self._years:
            if year in self._overrides:
                self._years[year] = self._overrides[year]
            elif year in self._package_years:
                self._years[year] = _package_schedule(year)
            else:
                self._years[year] = computed_schedule(year)
        return self._years[year]

    def is_workday(self, day: date) -> bool:
        sched = self.schedule(day.year)
        if day in sched.workdays:
            return True
        return day.weekday() < 5 and day not in sched.holidays

    def is_provisional(self, day: date) -> bool:
        """True when ``day``'s year has no official schedule (neither the package nor an override)."""
        return self.schedule(day.year).provisional

    def working_days_after(self, day: date, n: int) -> Iterable[date]:
        """The next ``n`` working days after ``day`` (counting starts the day after)."""
        found = 0
        while found < n:
            day += timedelta(1)
            if self.is_workday(day):
                found += 1
                yield day

    def add_working_days(
        self, start: datetime, n: int, *, day_end: time = END_OF_DAY
    ) -> tuple[datetime, bool]:
        """Due at ``day_end`` (Asia/Shanghai) of the ``n``-th working day after the day of ``start``.

        Returns (due, provisional): provisional when any day counted over lies in a computed year.
        A naive ``start`` is taken as Asia/Shanghai time.
        """
        if n < 1:
            raise ValueError(f"working days must be at least 1, got {n}")
        first = aware(start).astimezone(CN_TZ).date()
        last = list(self.working_days_after(first, n))[-1]
        provisional = any(self.is_provisional(date(y, 1, 1)) for y in range(first.year, last.year + 1))
        return datetime.combine(last, day_end, tzinfo=CN_TZ), provisional
