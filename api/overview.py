"""The leader's overview (escalations, overdue by department, incidents by region) and a department's
workbench (its queue, deadlines and the playbook steps for each case)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerting import service
from alerting.directory import Directory
from alerting.read_models import MAJOR_LEVELS, incident_kinds, open_alerts_by_region
from alerting.state import OPEN
from incidents.models import IncidentRow
from nlp.location import place_name
from yuqing.schemas import severity_rank

REGION_WINDOW = timedelta(days=7)


class RegionCount(BaseModel):
    region_code: str
    region_name: str
    incidents: int
    alerts_open: int


class LeaderOverview(BaseModel):
    major: list[service.AlertRead] = []  # every open 重大/特别重大 case: 特别重大 first, nearest clock first
    escalations: list[service.AlertRead]
    overdue: list[service.AlertRead]
    departments: list[service.DepartmentSummary]
    regions: list[RegionCount]


class PlaybookStep(BaseModel):
    phase: str
    action: str
    owner: str
    within: str | None
    evidence: str | None


class QueueItem(BaseModel):
    alert: service.AlertRead
    playbook: str | None
    steps: list[PlaybookStep]


class DepartmentQueue(BaseModel):
    department_id: str
    department_name: str | None
    items: list[QueueItem]
    total: int
    notifications: list[service.NotificationRead]


NOTIFICATION_ROLES = ("department", "department_head")
MAX_NOTIFICATIONS = 20


def department_notifications(session: Session, department_id: str) -> list[service.NotificationRead]:
    """Unread console notifications to the department's contacts and head, newest first, one per event."""
    rows = [
        n
        for role in NOTIFICATION_ROLES
        for n in service.inbox(
            session, recipient_prefix=f"{role}:{department_id}:", unread_only=True, limit=MAX_NOTIFICATIONS
        )
    ]
    events: dict[tuple[object, ...], service.NotificationRead] = {}
    for n in sorted(rows, key=lambda n: (n.created_at, n.id), reverse=True):
        # one notice per event: the same message to the department's contacts and its head, queued together
        events.setdefault((n.alert_id, n.threshold, n.subject, n.created_at), n)
    return list(events.values())[:MAX_NOTIFICATIONS]


def _open(session: Session, now: datetime, **filters: object) -> list[service.AlertRead]:
    return service.list_alerts(session, now=now, statuses=sorted(OPEN), limit=100, **filters).items  # type: ignore[arg-type]


def leader_overview(session: Session, directory: Directory | None, *, now: datetime) -> LeaderOverview:
    since = now - REGION_WINDOW
    incidents = dict(
        session.execute(
            select(IncidentRow.location_code, func.count())
            .where(IncidentRow.last_seen >= since, IncidentRow.merged_into.is_(None))
            .group_by(IncidentRow.location_code)
        ).all()
    )
    alerts = open_alerts_by_region(session)
    regions = []
    codes = [c for c in {*incidents, *alerts} if c is not None]
    for code in sorted(codes, key=lambda c: (-(incidents.get(c) or 0), c)):
        name = directory.region_name(code, "") if directory else ""
        name = name or place_name(code)
        regions.append(
            RegionCount(
                region_code=code,
                region_name=name,
                incidents=incidents.get(code, 0),
                alerts_open=alerts.get(code, 0),
            )
        )
    return LeaderOverview(
        major=open_major_alerts(session, now=now),
        escalations=service.list_alerts(session, now=now, statuses=["supervised"], limit=100).items,
        overdue=_open(session, now, overdue=True),
        departments=service.leader_overview(session, now=now),
        regions=regions,
    )


def open_major_alerts(session: Session, *, now: datetime) -> list[service.AlertRead]:
    """Every open 重大/特别重大 alert: 特别重大 first, then the nearest running clock first."""
    major = service.list_alerts(
        session, now=now, statuses=sorted(OPEN), levels=list(MAJOR_LEVELS), sort="urgency", limit=200
    ).items
    return sorted(major, key=lambda a: -severity_rank(a.level))  # a stable sort: urgency within a level


def department_queue(
    session: Session, department_id: str, directory: Directory | None, *, now: datetime
) -> DepartmentQueue:
    from response_playbooks import load_playbooks
    from response_playbooks import select as select_playbook

    books = load_playbooks()
    page = service.department_alerts(session, department_id=department_id, now=now, limit=100)
    kinds = incident_kinds(session, [a.id for a in page.items])
    items = []
    for alert in page.items:
        book = select_playbook(
            books,
            category=alert.category,
            level=alert.level,
            kind=kinds.get(alert.id, "opinion"),
            text=alert.title,
        )
        items.append(
            QueueItem(
                alert=alert,
                playbook=book.name,
                steps=[
                    PlaybookStep(
                        phase=s.phase, action=s.action, owner=s.owner, within=s.within, evidence=s.evidence
                    )
                    for s in book.steps
                ],
            )
        )
    dept = directory.department(department_id) if directory else None
    return DepartmentQueue(
        department_id=department_id,
        department_name=dept.name if dept else None,
        items=items,
        total=page.total,
        notifications=department_notifications(session, department_id),
    )


