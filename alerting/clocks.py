"""Deadline clocks: which deadlines an alert gets, and when each falls due.

Kinds, their labels and defaults are defined in :mod:`yuqing.domain` (``config/policies.yaml`` changes
the times and says which alerts get which kinds):

=====================  ===================  ==========================================
kind                   time allowed         applies to
=====================  ===================  ==========================================
authoritative_info     5 hours              重大 / 特别重大 政务舆情 (发布权威信息)
press_conference       24 hours             重大 / 特别重大 政务舆情 (举行新闻发布会)
response               48 hours             any other 政务舆情
message_reply          3 working days       留言咨询 (incident kind ``message``)
policy_interpretation  3 working days       政策解读 (incident kind ``policy``)
reprint                24 hours             重要政策转载 (a central / provincial key policy)
=====================  ===================  ==========================================

Wall-clock kinds run from the start given (the incident's first detection). Working-day kinds start
counting the day after and fall due at the end of the last working day, Asia/Shanghai
(see :mod:`alerting.calendar`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from alerting.calendar import END_OF_DAY, WorkCalendar
from yuqing.clock import CN_TZ
from yuqing.domain import DEADLINE_KINDS, DEADLINES, INCIDENT_KINDS, DeadlineKind, IncidentKind
from yuqing.safe_input import ConfigFileError, describe_validation_error, load_yaml_file
from yuqing.schemas import SeverityLevel

__all__ = ["DEADLINE_KINDS", "DeadlineKind", "IncidentKind"]


class PolicyError(ValueError):
    """The policies file is wrong; the message names the file and the field."""


class UnknownDeadlineKind(ValueError):
    """A deadline kind that no policy defines."""


@dataclass(frozen=True)
class DueDate:
    kind: str
    start: datetime
    due_at: datetime
    provisional: bool
    calendar_version: str | None = None  # set for working-day kinds: recompute when the calendar changes


class DeadlineRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hours: float | None = Field(default=None, gt=0, description="wall-clock time allowed")
    working_days: int | None = Field(default=None, ge=1, description="working days allowed")

    @model_validator(mode="after")
    def _exactly_one(self) -> DeadlineRule:
        if (self.hours is None) == (self.working_days is None):
            raise ValueError("give exactly one of hours or working_days")
        return self


class Applies(BaseModel):
    model_config = ConfigDict(extra="forbid")

    levels: dict[SeverityLevel, list[DeadlineKind]] = Field(
        default_factory=lambda: {  # type: ignore[arg-type]  # keys are SeverityLevel values
            "重大": ["authoritative_info", "press_conference"],
            "特别重大": ["authoritative_info", "press_conference"],
        }
    )
    default: list[DeadlineKind] = Field(default_factory=lambda: ["response"])
    incident_kinds: dict[IncidentKind, list[DeadlineKind]] = Field(
        default_factory=lambda: {k: list(d.deadlines) for k, d in INCIDENT_KINDS.items() if d.deadlines}
    )


_DEFAULT_RULES: dict[str, DeadlineRule] = {
    kind: DeadlineRule(hours=d.hours, working_days=d.working_days) for kind, d in DEADLINES.items()
}


class Policies(BaseModel):
    """Deadline policies; kinds the file leaves out keep their defaults."""

    model_config = ConfigDict(extra="forbid")

    deadlines: dict[DeadlineKind, DeadlineRule] = Field(default_factory=lambda: dict(_DEFAULT_RULES))
    working_day_end: time = END_OF_DAY
    applies: Applies = Field(default_factory=Applies)

    @field_validator("deadlines")
    @classmethod
    def _fill_defaults(cls, v: dict[str, DeadlineRule]) -> dict[str, DeadlineRule]:
        return {**_DEFAULT_RULES, **v}

    @field_validator("working_day_end", mode="before")
    @classmethod
    def _quoted_time(cls, v: Any) -> Any:
        if isinstance(v, int):  # YAML 1.1 reads an unquoted 17:30 as the number 1050
            raise ValueError('write the time in quotes, e.g. "17:30"')
        return v

    @classmethod
    def load(cls, path: Path | None = None) -> Policies:
        """Read and validate ``path`` (default: the ``policies_file`` setting)."""
        if path is None:
            from yuqing.settings import get_settings

            path = get_settings().policies_file
        try:
            raw = load_yaml_file(path, what="policies")
        except ConfigFileError as exc:
            raise PolicyError(str(exc)) from None
        try:
            return cls.model_validate(raw or {})
        except ValidationError as exc:
            raise PolicyError(f"{path}: {describe_validation_error(exc)}") from None

    def rule(self, kind: str) -> DeadlineRule:
        try:
            return self.deadlines[kind]
        except KeyError:
            raise UnknownDeadlineKind(
                f"unknown deadline kind {kind!r}; known: {', '.join(DEADLINE_KINDS)}"
            ) from None

    def kinds_for(self, level: str | None, incident_kind: str) -> list[str]:
        """The deadlines an alert of ``level`` on an incident of ``incident_kind`` gets, in order.

        留言 (``message``) and 政策解读 (``policy``) get their working-day deadline, plus the level's
        deadlines when the level has its own (a 重大 留言 still needs authoritative information within 5 h);
        any other 政务舆情 gets the level's deadlines, else the default (``response``)."""
        by_level: list[str] = self.applies.levels.get(cast(SeverityLevel, level), []) if level else []
        own = self.applies.incident_kinds.get(incident_kind)
        kinds = [*own, *by_level] if own else (by_level or self.applies.default)
        return list(dict.fromkeys(kinds))


def due_for(
    kind: str,
    start: datetime,
    *,
    policies: Policies | None = None,
    calendar: WorkCalendar | None = None,
) -> DueDate:
    """When a deadline of ``kind`` that started at ``start`` (timezone-aware) falls due, in Asia/Shanghai."""
    if start.tzinfo is None:
        raise ValueError("deadline start must be timezone-aware")
    policies = policies or Policies.load()
    rule = policies.rule(kind)
    if rule.hours is not None:
        due = (start + timedelta(hours=rule.hours)).astimezone(CN_TZ)
        return DueDate(kind=kind, start=start, due_at=due, provisional=False)
    calendar = calendar or WorkCalendar.load()
    assert rule.working_days is not None
    due, provisional = calendar.add_working_days(start, rule.working_days, day_end=policies.working_day_end)
    return DueDate(
        kind=kind, start=start, due_at=due, provisional=provisional, calendar_version=calendar.version
    )


class StoredDeadline(Protocol):
    """What a stored open deadline must expose (an ORM row or any object with these attributes)."""

    @property
    def kind(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def calendar_version(self) -> str | None: ...


D = TypeVar("D", bound=StoredDeadline)


@dataclass(frozen=True)
class Recomputed(Generic[D]):
    """A stored deadline whose calendar changed, and its due date under the new calendar."""

    deadline: D
    due: DueDate

    @property
    def changed(self) -> bool:
        """The due time moved (else only the calendar version and perhaps ``provisional`` change)."""
        return self.due.due_at != self.deadline.due_at


def recompute(
    open_deadlines: Iterable[D], calendar: WorkCalendar, *, policies: Policies | None = None
) -> list[Recomputed[D]]:
    """New due dates for the working-day deadlines computed under another calendar version.

    Wall-clock deadlines never depend on the calendar and are left out, as are deadlines already on
    ``calendar.version``. The caller keeps each deadline's first due date (``original_due_at``) and
    stores ``due.due_at``, ``due.provisional`` and ``due.calendar_version``."""
    policies = policies or Policies.load()
    out: list[Recomputed[D]] = []
    for deadline in open_deadlines:
        if policies.rule(deadline.kind).working_days is None or deadline.calendar_version == calendar.version:
            continue
        due = due_for(deadline.kind, deadline.start, policies=policies, calendar=calendar)
        out.append(Recomputed(deadline=deadline, due=due))
    return out
