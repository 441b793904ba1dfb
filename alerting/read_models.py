"""What the API and the console read about alerts (pydantic models built from the ORM rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from alerting.models import Alert, AlertAssist, AlertDeadline, Notification, Supervision
from yuqing.domain import RELEASE_KINDS

DeadlineState = Literal["open", "met", "breached", "stopped"]


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DeadlineRead(_Read):
    id: int
    kind: str
    start: datetime
    due_at: datetime
    original_due_at: datetime
    provisional: bool
    met_at: datetime | None
    stopped_at: datetime | None
    breached_at: datetime | None
    state: DeadlineState
    remaining_seconds: float | None  # open deadlines only; negative once overdue

    @classmethod
    def of(cls, row: AlertDeadline, now: datetime) -> DeadlineRead:
        if row.met_at is not None:
            state: DeadlineState = "met"
        elif row.stopped_at is not None:
            state = "stopped"
        elif row.breached_at is not None or row.due_at <= now:
            state = "breached"
        else:
            state = "open"
        remaining = (row.due_at - now).total_seconds() if row.stopped_at is None else None
        return cls.model_validate(
            {
                **{
                    c: getattr(row, c)
                    for c in (
                        "id",
                        "kind",
                        "start",
                        "due_at",
                        "original_due_at",
                        "provisional",
                        "met_at",
                        "stopped_at",
                        "breached_at",
                    )
                },
                "state": state,
                "remaining_seconds": remaining,
            }
        )


class AlertRead(_Read):
    id: int
    incident_id: str
    incident_version: int
    title: str
    level: str
    status: str
    resume_status: str | None
    matched_rules: list[str]
    category: str | None
    locations: list[dict[str, Any]]
    heat: float
    first_seen: datetime
    created_at: datetime
    updated_at: datetime
    department_id: str | None
    department_name: str | None
    region_code: str | None
    assignment_reason: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    snoozed_until: datetime | None
    snooze_reason: str | None
    info_link: str | None
    press_link: str | None
    review: str | None
    response_line: str | None = None
    response_line_approved_by: str | None = None
    response_line_approved_at: datetime | None = None
    spokesperson_name: str | None = None
    spokesperson_role: str | None = None
    spoke_at: datetime | None = None
    closed_at: datetime | None
    merged_into_id: int | None
    next_due_kind: str | None = None
    next_due_at: datetime | None = None
    overdue: bool = False

    @classmethod
    def of(cls, alert: Alert, open_deadlines: list[AlertDeadline], now: datetime) -> AlertRead:
        read = cls.model_validate(alert)
        if open_deadlines:
            first = min(open_deadlines, key=lambda d: d.due_at)
            read.next_due_kind, read.next_due_at, read.overdue = first.kind, first.due_at, first.due_at <= now
        return read


class SupervisionRead(_Read):
    id: int
    deadline_id: int | None
    opened_at: datetime
    opened_by: str
    reason: str
    supervisor: str | None
    closed_at: datetime | None


class ReleaseRead(_Read):
    """One release of 持续发布; ``deadlines_met``: the clocks it met (first 权威信息 / 发布会 only)."""

    id: int
    kind: str
    label: str = ""
    released_at: datetime
    link: str
    note: str
    recorded_by: str
    deadlines_met: list[str]

    @model_validator(mode="after")
    def _label(self) -> ReleaseRead:
        self.label = RELEASE_KINDS.get(self.kind, self.kind)
        return self


class AssistRead(_Read):
    """会商: one 协办 department of the case."""

    department_id: str
    department_name: str
    added_at: datetime
    added_by: str
    reason: str


class AlertDetail(AlertRead):
    info_evidence: str | None
    press_evidence: str | None
    deadlines: list[DeadlineRead]
    supervisions: list[SupervisionRead]
    releases: list[ReleaseRead] = []
    assisting: list[AssistRead] = []


class NotificationRead(_Read):
    id: int
    alert_id: int
    threshold: str
    channel: str
    recipient: str
    address: str | None
    subject: str
    body: str
    link: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    read_at: datetime | None
    last_detail: str | None

    @classmethod
    def of(cls, row: Notification) -> NotificationRead:
        return cls.model_validate(row)


class AuditEntryRead(_Read):
    id: int
    at: datetime
    actor: str
    channel: str
    action: str
    reason: str | None
    details: dict[str, Any]


class AlertPage(BaseModel):
    items: list[AlertRead]
    total: int
    offset: int
    limit: int


class DepartmentSummary(BaseModel):
    """For leaders: per department, what is open, overdue, under 督办 and escalated."""

    department_id: str | None
    department_name: str | None
    open: int
    overdue: int
    supervised: int
    escalations_24h: int


def supervision_reads(rows: list[Supervision]) -> list[SupervisionRead]:
    return [SupervisionRead.model_validate(r) for r in rows]


def helped_by(department_id: str) -> Select[tuple[int]]:
    """The ids of the alerts ``department_id`` helps on (会商 协办)."""
    return select(AlertAssist.alert_id).where(
        AlertAssist.department_id == department_id, AlertAssist.removed_at.is_(None)
    )


def assists_of(session: Session, alert_id: int) -> list[AssistRead]:
    """The alert's 协办 departments, in the order they joined."""
    rows = session.scalars(
        select(AlertAssist)
        .where(AlertAssist.alert_id == alert_id, AlertAssist.removed_at.is_(None))
        .order_by(AlertAssist.added_at, AlertAssist.id)
    )
    return [AssistRead.model_validate(r) for r in rows]
