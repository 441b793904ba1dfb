"""The ``reports:`` section of the reports config (``YUQING_REPORTS_FILE``, default
reports/config/reports.yaml): when the 日报 / 周报 are made (daily time, weekly day and time, time zone),
in which formats, and to which channels of the rules file they are sent. A bad file is a
``ReportsConfigError`` with a Chinese message naming the field."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reports.periodic import ReportPeriod, daily_period, weekly_period

DocFormat = Literal["pdf", "docx", "html"]
DEFAULT_FORMATS: tuple[DocFormat, ...] = ("pdf", "docx")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class ReportsConfigError(ValueError):
    """The reports config cannot be used; the message is Chinese and names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _time_of_day(v: object) -> object:
    if isinstance(v, int):  # YAML 1.1 reads an unquoted 08:00 as a number of minutes (sexagesimal)
        return time(v // 60 % 24, v % 60)
    if isinstance(v, str):
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", v.strip())
        if match is None or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError(f"时间“{v}”无效，请用 HH:MM，如 08:00")
        return time(int(match[1]), int(match[2]))
    return v


class Daily(_Strict):
    at: time = time(8, 0)

    _at = field_validator("at", mode="before")(_time_of_day)


class Weekly(_Strict):
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = "monday"
    at: time = time(8, 30)

    _at = field_validator("at", mode="before")(_time_of_day)


class SendTo(_Strict):
    channel: str = Field(min_length=1, description="a channel of the rules file's notifications.channels")
    to: list[str] = Field(default_factory=list, description="e-mail addresses")
    roles: list[Literal["department_head", "deputy_leader", "duty_office"]] = Field(
        default_factory=list, description="e-mail to the duty office's 负责人 / 分管领导 / contacts")


class ReportsConfig(_Strict):
    timezone: str = "Asia/Shanghai"
    formats: list[DocFormat] = Field(default_factory=lambda: list(DEFAULT_FORMATS), min_length=1)
    daily: Daily | None = Daily()
    weekly: Weekly | None = Weekly()
    check_every_seconds: float = Field(default=60.0, ge=1, le=3600)
    today_snapshot_minutes: float = Field(default=0, ge=0, le=24 * 60)
    send: list[SendTo] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"时区“{v}”无效，如 Asia/Shanghai") from None
        return v

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class _File(_Strict):
    reports: ReportsConfig = ReportsConfig()


def load_reports_config(path: Path) -> ReportsConfig:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportsConfigError(f"报告配置文件 {path} 无法读取：{exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ReportsConfigError(f"报告配置文件 {path} 不是有效的 YAML：{exc}") from None
    try:
        return _File.model_validate(raw or {}).reports
    except ValidationError as exc:
        problems = "；".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()[:5]
        )
        raise ReportsConfigError(f"报告配置文件 {path} 有误：{problems}") from None


def due_daily(config: ReportsConfig, now: datetime) -> ReportPeriod | None:
    """The latest day whose 日报 time has come (day D is due on D+1 at ``daily.at``)."""
    if config.daily is None:
        return None
    local = now.astimezone(config.zone)
    back = 1 if local.time() >= config.daily.at else 2
    return daily_period((local.date() - timedelta(days=back)).isoformat())


def due_weekly(config: ReportsConfig, now: datetime) -> ReportPeriod | None:
    """The latest ISO week whose 周报 time has come (due in the following week on ``weekly.day`` at
    ``weekly.at``)."""
    if config.weekly is None:
        return None
    local = now.astimezone(config.zone)
    this_monday = local.date() - timedelta(days=local.weekday())
    due_at = datetime.combine(this_monday + timedelta(days=WEEKDAYS.index(config.weekly.day)),
                              config.weekly.at, config.zone)
    monday: date = this_monday - timedelta(days=7 if local >= due_at else 14)
    year, week, _ = monday.isocalendar()
    return weekly_period(f"{year}-W{week:02d}")
