"""The reads the API and console make of incidents: 热点事件 (incidents active in a recent window, hottest
first, with their alert if they have one), one incident as a department may see it, its posts, similar
and merged incidents.

热点事件 is what the duty officer scans for "what is hot, where" before (or without) an alert. Merged
incidents are left out (their posts count in the incident they were merged into). A department handler
sees only the incidents its department has an alert for, as on the incident page. Alert-side facts come
from ``alerting.read_models``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from alerting import read_models
from incidents.mapping import IncidentOut
from incidents.models import IncidentPost, IncidentRow
from yuqing.schemas import SEVERITY_ORDER

IncidentSort = Literal["heat", "burst", "newest", "negative"]
MAX_RELATED = 8


class Scoped(Protocol):
    """Who is reading: a department handler has a scope (their department), others None."""

    @property
    def department_scope(self) -> str | None: ...


class IncidentSummary(IncidentOut):
    """An incident as the incident page shows it, with its current alert's id, level and status."""

    alert_id: int | None = None
    alert_level: str | None = None
    alert_status: str | None = None


class IncidentPage(BaseModel):
    items: list[IncidentSummary]
    total: int
    offset: int
    limit: int
    since: datetime


def _filtered(
    principal: Scoped,
    since: datetime,
    category: str | None,
    region: str | None,
    severity_at_least: str | None,
    q: str | None,
    alerted: bool | None,
) -> Select[Any]:
    alert = read_models.current_alerts()
    query = (
        select(IncidentRow, alert.c.id, alert.c.level, alert.c.status)
        .outerjoin(alert, alert.c.incident_id == IncidentRow.id)
        .where(IncidentRow.merged_into.is_(None), IncidentRow.last_seen >= since)
    )
    if principal.department_scope is not None:
        query = query.where(alert.c.department_id == principal.department_scope)
    if category:
        query = query.where(IncidentRow.category == category)
    if region:
        query = query.where(IncidentRow.location_code.startswith(region))
    if severity_at_least:
        levels = SEVERITY_ORDER[SEVERITY_ORDER.index(severity_at_least):]
        # the level shown: the alert's once there is one, else the incident's candidate
        query = query.where(func.coalesce(alert.c.level, IncidentRow.severity).in_(levels))
    if q:
        query = query.where(or_(IncidentRow.title.contains(q), IncidentRow.id == q))
    if alerted is not None:
        query = query.where(alert.c.id.is_not(None) if alerted else alert.c.id.is_(None))
    return query


def list_incidents(
    session: Session,
    principal: Scoped,
    *,
    now: datetime,
    hours: int = 24,
    category: str | None = None,
    region: str | None = None,
    severity_at_least: str | None = None,
    q: str | None = None,
    alerted: bool | None = None,
    sort: IncidentSort = "heat",
    offset: int = 0,
    limit: int = 50,
) -> IncidentPage:
    since = now - timedelta(hours=hours)
    query = _filtered(principal, since, category, region, severity_at_least, q, alerted)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order: tuple[Any, ...] = {
        "heat": (IncidentRow.heat.desc(),),
        "burst": (IncidentRow.burst.desc(), IncidentRow.heat.desc()),
        "newest": (IncidentRow.first_seen.desc(),),
        "negative": (IncidentRow.negative_share.desc(), IncidentRow.heat.desc()),
    }[sort]
    page = query.order_by(*order, IncidentRow.id).offset(offset).limit(limit)
    rows: list[Any] = list(session.execute(page))
    items = [
        IncidentSummary(
            **IncidentOut.of(row).model_dump(),
            alert_id=alert_id,
            alert_level=level,
            alert_status=status,
        )
        for row, alert_id, level, status in rows
    ]
    return IncidentPage(items=items, total=total, offset=offset, limit=limit, since=since)


def visible_row(session: Session, incident_id: str, principal: Scoped) -> IncidentRow | None:
    """The incident, if it exists and the reader may see it (a department: one its department has an alert
    for)."""
    row = session.get(IncidentRow, incident_id)
    if row is None:
        return None
    scope = principal.department_scope
    if scope is not None and not read_models.incident_has_alert_of(session, incident_id, scope):
        return None
    return row


def current_alert_id(session: Session, incident_id: str) -> int | None:
    """The incident's alert that has not been merged into another, if any."""
    return read_models.current_alert_of_incident(session, incident_id)


def latest_post_ids(session: Session, incident_id: str, limit: int) -> Sequence[str]:
    """The ids of the incident's posts, the latest to join it first."""
    return session.scalars(
        select(IncidentPost.post_id)
        .where(IncidentPost.incident_id == incident_id)
        .order_by(IncidentPost.added_at.desc())
        .limit(limit)
    ).all()


def similar_incidents(session: Session, row: IncidentRow) -> list[IncidentOut]:
    """Other incidents of the same category in the same place, or sharing keywords; hottest first."""
    conditions = []
    if row.category and row.location_code:
        conditions.append(
            (IncidentRow.category == row.category)
            & IncidentRow.location_code.startswith(row.location_code[:4])
        )
    candidates = session.scalars(
        select(IncidentRow)
        .where(
            IncidentRow.id != row.id,
            IncidentRow.merged_into.is_(None),
            or_(*conditions) if conditions else IncidentRow.category == row.category,
        )
        .order_by(IncidentRow.heat.desc())
        .limit(50)
    ).all()
    words = set(row.keywords or [])
    scored = defaultdict(list)
    for other in candidates:
        scored[len(words & set(other.keywords or []))].append(other)
    ordered = [o for n in sorted(scored, reverse=True) for o in scored[n]]
    return [IncidentOut.of(o) for o in ordered[:MAX_RELATED]]


def merged_incidents(session: Session, row: IncidentRow) -> list[IncidentOut]:
    """The incidents merged into this one, and the one it was merged into."""
    rows = session.scalars(
        select(IncidentRow).where(
            or_(IncidentRow.merged_into == row.id, IncidentRow.id == (row.merged_into or ""))
        )
    ).all()
    return [IncidentOut.of(m) for m in rows]
