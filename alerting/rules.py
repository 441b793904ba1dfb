"""Alert rules: when an incident becomes an alert and at which level, plus the escalation ladder and the
notification channels. One YAML file (settings.rules_file) validated on load and reloaded when it changes.

A rule matches when every condition it names holds; the alert takes the highest level of the matching
rules. ``evaluate`` is a pure function of the rules, the incident and ``now``.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from yuqing.domain import IncidentKind
from yuqing.safe_input import ConfigFileError, describe_validation_error, load_yaml, read_config_text
from yuqing.schemas import Incident, SeverityLevel, severity_rank

log = logging.getLogger(__name__)

Role = Literal["department", "department_head", "duty_officer", "deputy_leader"]
ROLE_NAMES: dict[str, str] = {
    "department": "责任单位",
    "department_head": "单位负责人",
    "duty_officer": "值班员",
    "deputy_leader": "分管领导",
}


class RulesError(ValueError):
    """The rules file is wrong; the message names the file and the field."""


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Conditions(_Strict):
    severity_at_least: SeverityLevel | None = None
    heat_at_least: float | None = None
    burst_at_least: float | None = None
    negative_share_at_least: float | None = Field(default=None, ge=0, le=1)
    anger_share_at_least: float | None = Field(default=None, ge=0, le=1)
    post_count_at_least: int | None = None
    source_count_at_least: int | None = None
    categories: list[str] | None = Field(default=None, description="sensitive categories (any)")
    location_prefixes: list[str] | None = Field(default=None, description="sensitive places: code prefixes")
    keywords: list[str] | None = Field(default=None, description="watched words in keywords or title (any)")
    active_within_hours: float | None = Field(default=None, gt=0, description="last post at most this old")
    kinds: list[IncidentKind] | None = Field(
        default=None, min_length=1, description="incident kinds, any of: opinion, message, policy"
    )
    plans: list[int] | None = Field(
        default=None, min_length=1, description="监测方案 ids (yuqing plans list), any of: a post matches it"
    )

    @model_validator(mode="after")
    def _not_empty(self) -> Conditions:
        if all(v is None for v in self.__dict__.values()):
            raise ValueError("a rule needs at least one condition under `when`")
        return self

    def failed(self, incident: Incident, now: datetime) -> list[str]:
        """The names of the conditions that do not hold (empty: the rule matches)."""
        checks: dict[str, bool] = {}
        if self.severity_at_least is not None:
            checks["severity_at_least"] = severity_rank(incident.severity.level) >= severity_rank(
                self.severity_at_least
            )
        for name, value in (
            ("heat_at_least", incident.heat),
            ("burst_at_least", incident.burst),
            ("negative_share_at_least", incident.negative_share),
            ("anger_share_at_least", incident.anger_share),
            ("post_count_at_least", incident.post_count),
            ("source_count_at_least", incident.source_count),
        ):
            threshold = getattr(self, name)
            if threshold is not None:
                checks[name] = value >= threshold
        if self.categories is not None:
            checks["categories"] = incident.category in self.categories
        if self.location_prefixes is not None:
            checks["location_prefixes"] = any(
                loc.code.startswith(p) for loc in incident.locations for p in self.location_prefixes
            )
        if self.keywords is not None:
            words = set(incident.keywords)
            checks["keywords"] = any(k in words or k in incident.title for k in self.keywords)
        if self.active_within_hours is not None:
            checks["active_within_hours"] = now - incident.last_seen <= timedelta(
                hours=self.active_within_hours
            )
        if self.kinds is not None:
            checks["kinds"] = incident.kind in self.kinds
        if self.plans is not None:
            checks["plans"] = any(plan in self.plans for plan in incident.plan_ids)
        return [name for name, ok in checks.items() if not ok]


class Rule(_Strict):
    name: str
    level: SeverityLevel
    title: str = Field(default="", max_length=60, description="the rule's Chinese name, shown in the console")
    when: Conditions


class Threshold(_Strict):
    name: str
    at: float = Field(gt=0, lt=1, description="share of the deadline's span elapsed")
    notify: list[Role]


class Breach(_Strict):
    notify: list[Role] = ["deputy_leader", "department_head", "duty_officer"]
    supervise: bool = True
    repeat_every_minutes: int = Field(default=60, gt=0)
    repeat_max: int = Field(default=3, ge=0, description="repeats after the first breach notice")


class Unacknowledged(_Strict):
    levels: list[SeverityLevel] = ["重大", "特别重大"]
    after_minutes: int = Field(default=30, gt=0)
    notify: list[Role] = ["department_head", "duty_officer"]
    repeat_every_minutes: int = Field(default=30, gt=0)
    repeat_max: int = Field(default=3, ge=0)


class Escalation(_Strict):
    reminders: list[Threshold] = [
        Threshold(name="50%", at=0.5, notify=["department"]),
        Threshold(name="75%", at=0.75, notify=["department_head", "duty_officer"]),
    ]
    breach: Breach = Breach()
    unacknowledged: Unacknowledged = Unacknowledged()
    acknowledgement_timeout_minutes: int | None = Field(
        default=120, gt=0, description="acknowledged but not responding after this long: back to new"
    )

    @model_validator(mode="after")
    def _ascending(self) -> Escalation:
        ats = [t.at for t in self.reminders]
        if ats != sorted(set(ats)):
            raise ValueError("escalation.reminders must have distinct `at` values in ascending order")
        if len({t.name for t in self.reminders} | {"breach", "unacknowledged"}) != len(self.reminders) + 2:
            raise ValueError("escalation.reminders names must be distinct and not 'breach'/'unacknowledged'")
        return self


class Channel(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_-]{1,40}$")
    type: str = Field(
        description="console | email | dingtalk | wecom | feishu | webhook | wecom_app | dingtalk_work | sms"
    )
    roles: list[Role] | None = Field(
        default=None, description="only these recipients' messages (default all)"
    )
    levels: list[SeverityLevel] | None = Field(default=None, description="only alerts of these levels")
    per_minute: int | None = Field(default=None, gt=0, description="rate limit; robots default to 20")
    options: dict[str, Any] = Field(default_factory=dict, description="url, host, …; *_env read from env")

    @field_validator("options")
    @classmethod
    def _http_urls(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, value in v.items():
            if (key == "url" or key.endswith("_url")) and not _is_http_url(value):
                raise ValueError(
                    f"{key} {str(value)[:80]!r} is not an http(s) URL "
                    f"(fix: give https://… or put the URL in an environment variable named by {key}_env)"
                )
            if key.endswith("_env") and not (isinstance(value, str) and value.strip()):
                raise ValueError(f"{key} must name an environment variable (fix: e.g. YUQING_WEBHOOK_URL)")
        return v

    def resolved_options(self) -> dict[str, Any]:
        """Options with each ``x_env: NAME`` read as ``x: os.environ[NAME]`` (secrets stay out of YAML)."""
        out: dict[str, Any] = {}
        for key, value in self.options.items():
            if key.endswith("_env"):
                if value not in os.environ:
                    raise RulesError(f"channel {self.name}: environment variable {value} is not set")
                name = key.removesuffix("_env")
                if (name == "url" or name.endswith("_url")) and not _is_http_url(os.environ[value]):
                    raise RulesError(
                        f"channel {self.name}: environment variable {value} is not an http(s) URL"
                    )
                out[name] = os.environ[value]
            else:
                out[key] = value
        return out


class Retry(_Strict):
    max_attempts: int = Field(default=5, ge=1)
    base_seconds: float = Field(default=30, gt=0)
    max_seconds: float = Field(default=1800, gt=0)

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1)))


class Notifications(_Strict):
    retry: Retry = Retry()
    channels: list[Channel] = [Channel(name="console", type="console")]

    @model_validator(mode="after")
    def _unique_names(self) -> Notifications:
        names = [c.name for c in self.channels]
        if len(names) != len(set(names)):
            raise ValueError("notifications.channels: names must be unique")
        return self


class AlertingConfig(_Strict):
    rules: list[Rule] = Field(min_length=1)
    escalation: Escalation = Escalation()
    notifications: Notifications = Notifications()


@dataclass(frozen=True, slots=True)
class Decision:
    level: str | None
    matched: tuple[str, ...]


def evaluate(config: AlertingConfig, incident: Incident, now: datetime) -> Decision:
    """Which rules match this incident now, and the level they give (None: no alert)."""
    matched = [r for r in config.rules if not r.when.failed(incident, now)]
    if not matched:
        return Decision(None, ())
    level = max((r.level for r in matched), key=severity_rank)
    return Decision(level, tuple(r.name for r in matched))


def parse_config(text: str, *, source: str = "rules") -> AlertingConfig:
    """Validate rules YAML; RulesError with one line naming ``source``, the field and the fix."""
    try:
        data = load_yaml(text, source)
    except ConfigFileError as exc:
        raise RulesError(str(exc)) from None
    try:
        return AlertingConfig.model_validate(data)
    except ValidationError as exc:
        raise RulesError(f"{source}: {describe_validation_error(exc)}") from None


def load_config(path: Path) -> AlertingConfig:
    """Read and validate the rules file (UTF-8, size-capped, aliases bounded, no duplicate keys)."""
    try:
        text = read_config_text(path)
    except ConfigFileError as exc:
        raise RulesError(str(exc)) from None
    return parse_config(text, source=str(path))


def unset_environment(config: AlertingConfig) -> list[str]:
    """One line per channel option ``x_env`` naming a variable that is not set in this environment."""
    return [
        f"notifications.channels.{i}.options.{key}: environment variable {value} is not set "
        f"(fix: export {value}=… where the alerting stage runs, or remove the option)"
        for i, channel in enumerate(config.notifications.channels)
        for key, value in channel.options.items()
        if key.endswith("_env") and value not in os.environ
    ]


class RulesFile:
    """The rules of one file, reloaded when its mtime changes; a bad edit keeps the last good rules."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._mtime = self._stat()
        self._config = load_config(path)  # no good rules yet: a bad file at start is an error
        self.last_error: str | None = None

    def _stat(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def current(self) -> AlertingConfig:
        with self._lock:
            mtime = self._stat()
            if mtime != self._mtime:
                self._mtime = mtime
                try:
                    self._config = load_config(self.path)
                    self.last_error = None
                    log.info("alert rules reloaded from %s", self.path)
                except RulesError as exc:
                    self.last_error = str(exc)
                    log.error("alert rules not reloaded, keeping the last good ones: %s", exc)
                except Exception as exc:  # noqa: BLE001 - an edit must never stop the stage
                    self.last_error = f"{self.path}: file: cannot load: {type(exc).__name__}: {exc}"
                    log.error("alert rules not reloaded, keeping the last good ones: %s", self.last_error)
            return self._config
