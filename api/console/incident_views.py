"""Console pages for incidents: 热点事件 (the hottest recent incidents), an incident without an alert, and
the 人工研判 form that makes an alert of an incident or raises its level."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.console.alert_views import alert_page_response, incident_context, manual_levels
from api.console.render import render
from api.console.views import see_other
from api.deps import DB, AppState, Now, Principal, State, console_user
from api.incident_reads import IncidentSort, current_alert_id, list_incidents
from api.incident_view import visible_incident
from incidents.models import IncidentRow
from nlp.location import place_name
from nlp.training.taxonomy import CATEGORIES
from yuqing.schemas import SEVERITY_ORDER

router = APIRouter(include_in_schema=False)


@router.get("/incidents")
def incidents_page(
    request: Request,
    session: DB,
    now: Now,
    hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24,
    category: Annotated[str | None, Query(max_length=40)] = None,
    region: Annotated[str | None, Query(max_length=12)] = None,
    level: Annotated[str | None, Query(max_length=8)] = None,
    alerted: Annotated[str | None, Query(max_length=5)] = None,
    sort: Annotated[IncidentSort, Query()] = "heat",
    principal: Principal = console_user("alerts.view"),
) -> Response:
    """热点事件: what is hot, where, and whether it already has an alert."""
    region_code = (region or "").strip()
    filters = {
        "hours": hours,
        "category": category if category in CATEGORIES else None,
        "region": region_code if region_code.isdigit() else None,
        "severity_at_least": level if level in SEVERITY_ORDER else None,
        "alerted": {"yes": True, "no": False}.get(alerted or ""),
    }
    page = list_incidents(session, principal, now=now, sort=sort, limit=100, **filters)  # type: ignore[arg-type]
    context = {
        "nav": "incidents",
        "page": page,
        "params": {"hours": hours, "category": category or "", "region": region_code, "level": level or "",
                   "alerted": alerted or "", "sort": sort},
        "region_error": bool(region_code) and not region_code.isdigit(),
        "categories": CATEGORIES,
        "levels": SEVERITY_ORDER,
        "place_name": place_name,
        "now": now,
    }
    return render(request, "incidents.html", context)


@router.get("/incidents/{incident_id}")
def incident_page(
    request: Request,
    incident_id: str,
    state: State,
    session: DB,
    now: Now,
    principal: Principal = console_user("alerts.view"),
) -> Response:
    row = visible_incident(session, incident_id, principal)
    alert_id = current_alert_id(session, incident_id)
    if alert_id is not None:
        return see_other(f"/alerts/{alert_id}")
    return incident_without_alert(request, state, session, principal, row, now)


def incident_without_alert(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    row: IncidentRow,
    now: datetime,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        **incident_context(state, session, row, now),
        "alert": None,
        "now": now,
        "error": error,
        "history": [],
        "actions": [],
        "departments": [],
        "nav": "incidents",
        "manual_levels": manual_levels(principal, None, None),
    }
    return render(request, "incident.html", context, status_code=status_code)


@router.post("/incidents/{incident_id}/alert")
async def manual_alert_form(
    request: Request,
    incident_id: str,
    state: State,
    session: DB,
    now: Now,
    principal: Principal = console_user("alerts.dispatch"),
) -> Response:
    """人工研判 from the console: make an alert of the incident, or raise its alert's level."""
    from alerting.manual import ConfigUnavailable, ManualAlertRefused, manual_alert

    row = visible_incident(session, incident_id, principal)
    form = await request.form()
    level, reason = str(form.get("level", "")), str(form.get("reason", ""))
    existing = current_alert_id(session, incident_id)
    try:
        if level not in SEVERITY_ORDER:
            raise ManualAlertRefused("请选择预警级别")
        result = manual_alert(session, state.settings, row, level=level, reason=reason[:500],
                              actor=principal.name, channel=principal.channel, now=now)
        session.commit()
    except (ManualAlertRefused, ConfigUnavailable) as exc:
        session.rollback()
        message = f"无法生成或上调预警：{exc}"
        if existing is not None:
            return alert_page_response(request, state, session, principal, existing, now, error=message,
                                       status_code=409)
        return incident_without_alert(request, state, session, principal, row, now, error=message,
                                      status_code=409)
    return see_other(f"/alerts/{result.alert_id}?done=manual_{result.outcome}")
