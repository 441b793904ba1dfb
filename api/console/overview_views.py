"""Console pages for leaders (escalations, overdue by department, incidents by region), departments (the
queue, deadlines and what to do) and source health."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from starlette.responses import Response

from alerting.models import AlertDeadline
from api.alert_actions import load_directory
from api.console.render import render
from api.console.views import see_other
from api.deps import DB, Now, Principal, State, console_user
from api.ids import NotificationId
from api.notifications import mark_read
from api.overview import department_queue, leader_overview
from crawlers.health import source_health
from yuqing.ops_alerts import open_alerts

router = APIRouter(include_in_schema=False)


@router.get("/leader")
def leader_page(
    request: Request, state: State, session: DB, now: Now, principal: Principal = console_user("leader.view")
) -> Response:
    overview = leader_overview(session, load_directory(session, state.settings), now=now)
    top = overview.regions[:15]
    chart = {"labels": [r.region_name for r in top], "values": [r.incidents for r in top]}
    return render(
        request, "leader.html", {"nav": "leader", "o": overview, "now": now, "regions_chart": chart}
    )


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
    directory = load_directory(session, state.settings)
    target = principal.department_scope or department_id or directory.duty_office().id
    queue = department_queue(session, target, directory, now=now)
    ids = [item.alert.id for item in queue.items]
    deadlines: dict[int, list[AlertDeadline]] = {}
    if ids:
        for d in session.scalars(
            select(AlertDeadline).where(AlertDeadline.alert_id.in_(ids)).order_by(AlertDeadline.due_at)
        ):
            deadlines.setdefault(d.alert_id, []).append(d)
    return render(
        request,
        "department.html",
        {
            "nav": "department",
            "queue": queue,
            "deadlines": deadlines,
            "now": now,
            "departments": directory.departments if principal.department_scope is None else [],
            "department_name": queue.department_name,
            "flash": "已退回值班室" if done == "return" else None,
        },
    )


@router.post("/notifications/{notification_id}/read")
def notification_read(
    notification_id: NotificationId, session: DB, now: Now, principal: Principal = console_user("alerts.view")
) -> Response:
    mark_read(session, notification_id, principal, now=now)
    session.commit()
    return see_other("/department")


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
