"""Console pages for leaders (escalations, overdue by department, incidents by region), departments (the
queue, deadlines and what to do) and source health."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from alerting.read_models import AlertRead, deadlines_by_alert
from api.alert_actions import load_directory
from api.console.board_views import display_names, return_path, row_context
from api.console.render import render
from api.console.views import see_other
from api.deps import DB, AppState, Now, Principal, State, console_user
from api.ids import NotificationId
from api.live import alerts_version
from api.notifications import mark_read
from api.overview import department_queue, leader_overview, open_major_alerts
from crawlers.health import source_health
from yuqing.ops_alerts import open_alerts

router = APIRouter(include_in_schema=False)

DEPARTMENT_POLL_SECONDS = 10


@router.get("/leader")
def leader_page(
    request: Request, state: State, session: DB, now: Now, principal: Principal = console_user("leader.view")
) -> Response:
    overview = leader_overview(session, load_directory(session, state.settings), now=now)
    top = overview.regions[:15]
    chart = {"labels": [r.region_name for r in top], "values": [r.incidents for r in top]}
    return render(
        request,
        "leader.html",
        {
            "nav": "leader",
            "regions_chart": chart,
            **major_context(session, overview.major, now),
            "o": overview,
            "poll_seconds": DEPARTMENT_POLL_SECONDS,
            "alerts_version": alerts_version(session, None),
        },
    )


def major_context(session: Session, major: list[AlertRead], now: datetime) -> dict[str, Any]:
    return {
        "o": {"major": major},
        "now": now,
        "deadlines": deadlines_by_alert(session, [a.id for a in major], now),
        "people": display_names(session, (a.acknowledged_by for a in major)),
    }


@router.get("/leader/major")
def leader_major(
    request: Request, session: DB, now: Now, principal: Principal = console_user("leader.view")
) -> Response:
    """The leader view's live part: the open 重大/特别重大 cases, fetched when the alert stream says so."""
    context = major_context(session, open_major_alerts(session, now=now), now)
    response = render(request, "_leader_major.html", context)
    response.headers["X-Alerts-Version"] = alerts_version(session, None)
    return response


def department_context(
    state: AppState, session: Session, principal: Principal, now: datetime, department_id: str | None
) -> dict[str, Any]:
    """The workbench's queue (with every clock), its notices (one per event) and the one-click 签收."""
    directory = load_directory(session, state.settings)
    target = principal.department_scope or department_id or directory.duty_office().id
    queue = department_queue(session, target, directory, now=now)
    alerts = [item.alert for item in queue.items]
    query = urlencode({"department_id": target}) if principal.department_scope is None else ""
    return {
        **row_context(session, principal, alerts, now),
        "queue": queue,
        "departments": directory.departments if principal.department_scope is None else [],
        "department_name": queue.department_name,
        "fragment_url": "/department/items" + (f"?{query}" if query else ""),
        "return_to": "/department" + (f"?{query}" if query else ""),
        "is_duty_office": target == directory.duty_office().id,
    }


@router.get("/department")
def department_page(
    request: Request,
    state: State,
    session: DB,
    now: Now,
    department_id: Annotated[str | None, Query(max_length=60)] = None,
    done: Annotated[str, Query(max_length=20)] = "",
    principal: Principal = console_user("department.view"),
) -> Response:
    context = department_context(state, session, principal, now, department_id)
    return render(
        request,
        "department.html",
        {
            **context,
            "nav": "department",
            "poll_seconds": DEPARTMENT_POLL_SECONDS,
            "alerts_version": alerts_version(session, principal.department_scope),
            "flash": "已退回值班室" if done == "return" else None,
        },
    )


@router.get("/department/items")
def department_items(
    request: Request,
    state: State,
    session: DB,
    now: Now,
    department_id: Annotated[str | None, Query(max_length=60)] = None,
    principal: Principal = console_user("department.view"),
) -> Response:
    """The workbench's live part (notices and cards), fetched when the alert stream says something changed."""
    context = department_context(state, session, principal, now, department_id)
    response = render(request, "_department_items.html", context)
    response.headers["X-Alerts-Version"] = alerts_version(session, principal.department_scope)
    return response


@router.post("/notifications/{notification_id}/read")
def notification_read(
    notification_id: NotificationId,
    session: DB,
    now: Now,
    next: Annotated[str, Form(max_length=500)] = "/department",
    principal: Principal = console_user("alerts.view"),
) -> Response:
    mark_read(session, notification_id, principal, now=now)
    session.commit()
    return see_other(return_path(next) or "/department")


@router.get("/sources")
def sources_page(
    request: Request, session: DB, now: Now, principal: Principal = console_user("sources.view")
) -> Response:
    return render(
        request,
        "sources.html",
        {
            "nav": "sources",
            "sources": source_health(session, now),
            "ops_alerts": open_alerts(session),
            "now": now,
        },
    )
