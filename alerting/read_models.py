"""What the API and the console read about alerts (pydantic models built from the ORM rows)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import Select, Subquery, and_, case, func, or_, select
from sqlalchemy.orm import Session

from alerting.models import Alert, AlertAssist, AlertDeadline, Notification, Supervision
from alerting.state import FINAL, OPEN
from yuqing.db.id_bounds import column_max
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
    incident_kind: str = "opinion"  # yuqing.domain.INCIDENT_KINDS: message = a 留言 case
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
    alert_id: int | None
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
    incident_id: str | None = None  # a 监测方案 notice about an incident (alert_id None when none opened)

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


# --- read queries for the console's board, wall screen, leader view and workbench ----------------------
# (queries only: what changes alerts stays in alerting.service)

OPEN_STATUSES = tuple(sorted(OPEN))
FINAL_STATUSES = tuple(sorted(FINAL))
MAJOR_LEVELS = ("重大", "特别重大")
LEVELS_HIGH_FIRST = ("特别重大", "重大", "较大", "一般")
DUE_SOON = timedelta(hours=1)
EndedView = Literal["closed", "recent"]


class BoardCounters(BaseModel):
    """The duty room's counters over the open alerts one user sees: by level, how many have their next
    clock due within the hour, how many are overdue (the next clock passed), how many nobody has 签收."""

    open: int = 0
    by_level: dict[str, int] = {}
    due_within_hour: int = 0
    overdue: int = 0
    unacknowledged: int = 0

    def header(self) -> str:
        """The counters as the board's fragment sends them (ASCII JSON for an HTTP header)."""
        levels = {f"l{4 - i}": self.by_level.get(lv, 0) for i, lv in enumerate(LEVELS_HIGH_FIRST)}
        return json.dumps(
            {"open": self.open, "due_1h": self.due_within_hour, "overdue": self.overdue,
             "unacked": self.unacknowledged, **levels}
        )


def next_open_due() -> Select[int, datetime]:
    """Per alert, the earliest due time of a clock still running (met and stopped clocks do not count)."""
    return (
        select(AlertDeadline.alert_id, func.min(AlertDeadline.due_at).label("next_due"))
        .where(AlertDeadline.stopped_at.is_(None))
        .group_by(AlertDeadline.alert_id)
    )


def board_counters(session: Session, *, now: datetime, department_id: str | None = None) -> BoardCounters:
    due = next_open_due().subquery()
    query = (
        select(
            Alert.level,
            func.count(Alert.id),
            func.sum(case((due.c.next_due <= now, 1), else_=0)),
            func.sum(case((and_(due.c.next_due > now, due.c.next_due <= now + DUE_SOON), 1), else_=0)),
            func.sum(case((Alert.acknowledged_at.is_(None), 1), else_=0)),
        )
        .outerjoin(due, due.c.alert_id == Alert.id)
        .where(Alert.status.in_(OPEN_STATUSES))
        .group_by(Alert.level)
    )
    if department_id is not None:
        query = query.where(Alert.department_id == department_id)
    out = BoardCounters(by_level={lv: 0 for lv in LEVELS_HIGH_FIRST})
    for level, count, overdue, soon, unacked in session.execute(query):
        out.by_level[level] = out.by_level.get(level, 0) + int(count)
        out.open += int(count)
        out.overdue += int(overdue or 0)
        out.due_within_hour += int(soon or 0)
        out.unacknowledged += int(unacked or 0)
    return out


class EndedFilters(BaseModel):
    """The closed and recent views' filters: within how many days, one level, one department, title words."""

    days: int = 7
    level: str | None = None
    department_id: str | None = None
    q: str | None = None


def ended_or_recent_alerts(
    session: Session,
    *,
    view: EndedView,
    now: datetime,
    filters: EndedFilters,
    scope: str | None = None,
    limit: int = 200,
) -> tuple[list[AlertRead], int]:
    """``closed``: alerts closed (关闭（复盘）) or merged in the period, the latest first (a merged alert
    ends when it was merged: its last update). ``recent``: alerts created in the period, in any status,
    newest first. ``scope``: the only department a user may see. Returns the rows and how many match."""
    since = now - timedelta(days=filters.days)
    if view == "closed":
        ended = func.coalesce(Alert.closed_at, Alert.updated_at)
        query = select(Alert).where(Alert.status.in_(FINAL_STATUSES), ended >= since)
        order = (ended.desc(), Alert.id.desc())
    else:
        query = select(Alert).where(Alert.created_at >= since)
        order = (Alert.created_at.desc(), Alert.id.desc())
    if scope is not None:
        query = query.where(Alert.department_id == scope)
    if filters.level:
        query = query.where(Alert.level == filters.level)
    if filters.department_id:
        query = query.where(Alert.department_id == filters.department_id)
    if filters.q:
        query = query.where(Alert.title.contains(filters.q, autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(*order).limit(limit)))
    running = open_deadlines_by_alert(session, [a.id for a in rows])
    return [AlertRead.of(a, running.get(a.id, []), now) for a in rows], total


def open_deadlines_by_alert(session: Session, alert_ids: Sequence[int]) -> dict[int, list[AlertDeadline]]:
    out: dict[int, list[AlertDeadline]] = {}
    if alert_ids:
        for d in session.scalars(
            select(AlertDeadline).where(
                AlertDeadline.alert_id.in_(alert_ids), AlertDeadline.stopped_at.is_(None)
            )
        ):
            out.setdefault(d.alert_id, []).append(d)
    return out


def deadlines_by_alert(
    session: Session, alert_ids: Sequence[int], now: datetime
) -> dict[int, list[DeadlineRead]]:
    """Every clock of these alerts (running, met, stopped), earliest due first, as the clock widget reads."""
    out: dict[int, list[DeadlineRead]] = {}
    if alert_ids:
        for d in session.scalars(
            select(AlertDeadline)
            .where(AlertDeadline.alert_id.in_(alert_ids))
            .order_by(AlertDeadline.due_at, AlertDeadline.id)
        ):
            out.setdefault(d.alert_id, []).append(DeadlineRead.of(d, now))
    return out


# What the incident reads (api.incident_reads) need of the alerts: an incident's alerts, by query or id.


def current_alerts() -> Subquery:
    """Each incident's alerts that are not merged into another (incident_id, id, level, status,
    department_id), for joining incidents with their alert."""
    return (
        select(Alert.incident_id, Alert.id, Alert.level, Alert.status, Alert.department_id)
        .where(Alert.merged_into_id.is_(None))
        .subquery("a")
    )


def alert_ids_of_incident(session: Session, incident_id: str) -> list[int]:
    """Every alert of the incident (merged ones too), oldest first."""
    return list(session.scalars(select(Alert.id).where(Alert.incident_id == incident_id).order_by(Alert.id)))


def current_alert_of_incident(session: Session, incident_id: str) -> int | None:
    """The incident's alert that has not been merged into another, if any."""
    return session.scalar(
        select(Alert.id)
        .where(Alert.incident_id == incident_id, Alert.merged_into_id.is_(None))
        .order_by(Alert.id)
        .limit(1)
    )


def incident_has_alert_of(session: Session, incident_id: str, department_id: str) -> bool:
    """Whether one of the incident's alerts is the department's."""
    found = session.scalar(
        select(Alert.id)
        .where(Alert.incident_id == incident_id, Alert.department_id == department_id)
        .limit(1)
    )
    return found is not None


def alerts_merged_into(session: Session, alert_id: int) -> list[int]:
    """The alerts merged into this one."""
    return list(session.scalars(select(Alert.id).where(Alert.merged_into_id == alert_id)))


def notification_event_ids(
    session: Session, notification_id: int, recipient_prefixes: Sequence[str]
) -> list[int]:
    """The unread console notifications of the same event as this one (the same alert, clock, threshold and
    message, queued at the same moment) for recipients under these prefixes: one notice to a department's
    contacts and head is one event on its workbench."""
    row = session.get(Notification, notification_id)
    if row is None:
        return []
    query = select(Notification.id).where(
        Notification.alert_id == row.alert_id,
        Notification.threshold == row.threshold,
        Notification.subject == row.subject,
        Notification.created_at == row.created_at,
        Notification.channel == row.channel,
        Notification.read_at.is_(None),
        or_(*(Notification.recipient.startswith(p) for p in recipient_prefixes)),
    )
    query = query.where(
        Notification.deadline_id.is_(None)
        if row.deadline_id is None
        else Notification.deadline_id == row.deadline_id
    )
    return sorted({row.id, *session.scalars(query)})


def helped_by(department_id: str) -> Select[int]:
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


# What the api reads about alerts and notifications besides the pages above (the api imports no
# alerting.models: these are its queries).

ALERT_ID_MAX = column_max(Alert.id)  # the largest alert id a path may name
NOTIFICATION_ID_MAX = column_max(Notification.id)


@dataclass(frozen=True)
class AlertAccess:
    """What deciding who may see or act on an alert needs: its department and status."""

    id: int
    department_id: str | None
    department_name: str | None
    status: str


def alert_access(session: Session, alert_id: int) -> AlertAccess | None:
    """The alert's department and status (None: no such alert)."""
    row = session.get(Alert, alert_id)
    if row is None:
        return None
    return AlertAccess(row.id, row.department_id, row.department_name, row.status)


@dataclass(frozen=True)
class NotificationTarget:
    """Whose a notification is: its alert and recipient."""

    id: int
    alert_id: int | None  # None: a 监测方案 owner's notice of an incident without an alert
    recipient: str


def notification_target(session: Session, notification_id: int) -> NotificationTarget | None:
    """The notification's alert and recipient (None: no such notification)."""
    row = session.get(Notification, notification_id)
    if row is None:
        return None
    return NotificationTarget(row.id, row.alert_id, row.recipient)


def alerts_version(session: Session, department_id: str | None) -> str:
    """The alerts a user sees (all, or one department's), summarised: changes whenever one is added or
    updated. The board page carries the version it was drawn at, so it knows whether an event is news."""
    query = select(func.count(Alert.id), func.max(Alert.updated_at))
    if department_id is not None:
        query = query.where(Alert.department_id == department_id)
    count, last = session.execute(query).one()
    return f"{count}:{last.isoformat() if last else '-'}"


def open_alerts_by_region(session: Session) -> dict[str | None, int]:
    """How many alerts are open in each region (None: alerts without a region)."""
    rows = session.execute(
        select(Alert.region_code, func.count())
        .where(Alert.status.in_(OPEN_STATUSES))
        .group_by(Alert.region_code)
    ).all()
    return {code: count for code, count in rows}


def incident_kinds(session: Session, alert_ids: Sequence[int]) -> dict[int, str]:
    """Each alert's incident kind (opinion, emergency, …), by alert id."""
    rows = session.execute(select(Alert.id, Alert.incident_kind).where(Alert.id.in_(list(alert_ids)))).all()
    return {alert_id: kind for alert_id, kind in rows}


def user_notices(session: Session, user_name: str, *, limit: int = 20) -> list[NotificationRead]:
    """A user's own unread in-console notices (``user:NAME``: a 监测方案 owner's), newest first."""
    rows = session.scalars(
        select(Notification)
        .where(
            Notification.channel == "console",
            Notification.recipient == f"user:{user_name}",
            Notification.read_at.is_(None),
        )
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return [NotificationRead.of(r) for r in rows]
