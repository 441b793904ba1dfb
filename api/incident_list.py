"""热点事件: incidents active in a recent window, hottest first, with their alert if they have one.

What the duty officer scans for "what is hot, where" before (or without) an alert. Merged incidents are
left out (their posts count in the incident they were merged into). A department handler sees only the
incidents its department has an alert for, as on the incident page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from alerting.models import Alert
from api.deps import Principal
from api.incident_view import IncidentOut
from yuqing.db.models import IncidentRow
from yuqing.schemas import SEVERITY_ORDER

IncidentSort = Literal["heat", "burst", "newest", "negative"]


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
    principal: Principal,
    since: datetime,
    category: str | None,
    region: str | None,
    severity_at_least: str | None,
    q: str | None,
    alerted: bool | None,
) -> Select[Any]:
    alert = Alert.__table__.alias("a")
    query = (
        select(IncidentRow, alert.c.id, alert.c.level, alert.c.status)
        .outerjoin(alert, and_(alert.c.incident_id == IncidentRow.id, alert.c.merged_into_id.is_(None)))
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
    principal: Principal,
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
