"""The duty room's board beyond the open queue: the counters (open by level, due within the hour, overdue,
not yet 签收), the closed and recent views with their filters, the wall screen (``/board/wall``: large type,
the ten most urgent cases, fitted to 1920×1080 and 3840×2160), and what a row shows about its owner (the
department and, once acknowledged, the person) and whether it can be 签收 with one click."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from alerting import service
from alerting.read_models import (
    LEVELS_HIGH_FIRST,
    BoardCounters,
    EndedFilters,
    EndedView,
    board_counters,
    deadlines_by_alert,
    ended_or_recent_alerts,
)
from alerting.state import Action, can
from api.alert_actions import PERMISSION_FOR, load_directory
from api.console.render import render
from api.deps import DB, Now, Principal, console_user
from api.live import alerts_version
from api.models import UserRow
from api.problems import ProblemError

router = APIRouter(include_in_schema=False)

ENDED_VIEWS: tuple[EndedView, ...] = ("recent", "closed")
PERIODS: dict[int, str] = {1: "近 24 小时", 7: "近 7 天", 30: "近 30 天", 90: "近 90 天"}
WALL_ROWS = 10
WALL_POLL_SECONDS = 10
COUNTERS_HEADER = "X-Board-Counters"


def bad_view(view: str, views: Mapping[str, str]) -> ProblemError:
    names = "、".join(views.values())
    return ProblemError(422, "validation-error", f"看板没有「{view[:40]}」这个视图，可选：{names}")


def ended_filters(request: Request) -> EndedFilters:
    """The closed/recent views' filters from the query string; a bad value is a Chinese 422 naming it."""
    params = request.query_params
    raw_days = params.get("days") or "7"
    if not raw_days.isdigit() or int(raw_days) not in PERIODS:
        choices = "、".join(PERIODS.values())
        raise ProblemError(422, "validation-error", f"时间范围「{raw_days[:20]}」无效，可选：{choices}")
    level = params.get("level") or None
    if level is not None and level not in LEVELS_HIGH_FIRST:
        choices = "、".join(LEVELS_HIGH_FIRST)
        raise ProblemError(422, "validation-error", f"级别「{level[:20]}」无效，可选：{choices}")
    department_id = (params.get("department_id") or "").strip() or None
    if department_id is not None and len(department_id) > 60:
        raise ProblemError(422, "validation-error", "责任部门编号过长（最多 60 个字符）")
    q = (params.get("q") or "").strip() or None
    if q is not None and (len(q) > 100 or "\x00" in q):
        raise ProblemError(422, "validation-error", "标题关键词过长（最多 100 个字）或含有非法字符")
    return EndedFilters(days=int(raw_days), level=level, department_id=department_id, q=q)


RETURN_PAGES = ("/board", "/department", "/plans")


def return_path(value: object) -> str | None:
    """Where a one-click action from a list goes back to: the board or the workbench, nowhere else."""
    if not isinstance(value, str) or len(value) > 500 or "\\" in value or "//" in value:
        return None
    path = value.split("?", 1)[0]
    return value if path in RETURN_PAGES or path == "/board/wall" else None


def display_names(session: Session, names: Iterable[str | None]) -> dict[str, str]:
    """Login names (what the audit log and ``acknowledged_by`` keep) → the person's display name."""
    wanted = sorted({n for n in names if n})
    if not wanted:
        return {}
    rows = session.execute(select(UserRow.name, UserRow.display_name).where(UserRow.name.in_(wanted)))
    return {name: shown or name for name, shown in rows}


def may_acknowledge(principal: Principal) -> bool:
    return principal.can(PERMISSION_FOR["acknowledge"])


def row_context(
    session: Session, principal: Principal, alerts: list[service.AlertRead], now: datetime
) -> dict[str, Any]:
    """What the rows template needs besides the alerts: their clocks, who acknowledged them (by name),
    and which ones this user can 签收 from the row."""
    ack = may_acknowledge(principal)
    return {
        "alerts": alerts,
        "deadlines": deadlines_by_alert(session, [a.id for a in alerts], now),
        "people": display_names(session, (a.acknowledged_by for a in alerts)),
        "ackable": {a.id for a in alerts if ack and can(Action.ACKNOWLEDGE, a.status)},
        "now": now,
    }


def ended_context(
    session: Session, principal: Principal, now: datetime, view: EndedView, filters: EndedFilters
) -> dict[str, Any]:
    rows, total = ended_or_recent_alerts(
        session, view=view, now=now, filters=filters, scope=principal.department_scope
    )
    return {**row_context(session, principal, rows, now), "filters": filters, "matched": total}


def counters_for(session: Session, principal: Principal, now: datetime) -> BoardCounters:
    return board_counters(session, now=now, department_id=principal.department_scope)


def filter_choices(session: Session, state: Any, principal: Principal) -> dict[str, Any]:
    departments = [] if principal.department_scope else load_directory(session, state.settings).departments
    return {"periods": PERIODS, "levels": LEVELS_HIGH_FIRST, "departments": departments}


def wall_context(session: Session, principal: Principal, now: datetime) -> dict[str, Any]:
    from api.console.alert_views import board_context  # the open queue in the board's urgency order

    context = board_context(session, principal, now, "all")
    alerts = context["alerts"][:WALL_ROWS]
    counters = counters_for(session, principal, now)
    return {
        **row_context(session, principal, alerts, now),
        "counters": counters,
        "more": max(0, counters.open - len(alerts)),
    }


@router.get("/board/wall")
def wall_page(
    request: Request, session: DB, now: Now, principal: Principal = console_user("alerts.view")
) -> Response:
    context = wall_context(session, principal, now)
    return render(
        request,
        "board_wall.html",
        {
            **context,
            "nav": "board",
            "poll_seconds": WALL_POLL_SECONDS,
            "alerts_version": alerts_version(session, principal.department_scope),
        },
    )


@router.get("/board/wall/rows")
def wall_rows(
    request: Request, session: DB, now: Now, principal: Principal = console_user("alerts.view")
) -> Response:
    context = wall_context(session, principal, now)
    response = render(request, "_wall_rows.html", context)
    response.headers["X-Alerts-Version"] = alerts_version(session, principal.department_scope)
    response.headers[COUNTERS_HEADER] = context["counters"].header()
    return response
