"""Console pages for alerts: the live board and the alert page (incident, clocks, effect review, actions).
Incidents without an alert, 热点事件 and 人工研判 are in ``incident_views``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from alerting import service
from alerting.models import AlertDeadline
from alerting.state import FINAL, OPEN, Action, can
from api import alert_actions as actions
from api.console.render import cn_time, render
from api.console.views import see_other
from api.deps import DB, AppState, Now, Principal, State, console_user
from api.ids import AlertId
from api.incident_view import incident_detail
from api.live import alerts_version
from api.problems import ProblemError
from reports.incident import read_review
from yuqing.db.models import IncidentRow
from yuqing.domain import ACTION_LABELS, STATUS_LABELS
from yuqing.schemas import SEVERITY_ORDER, severity_rank

router = APIRouter(include_in_schema=False)

BOARD_POLL_SECONDS = 10
STATE_ACTION = {
    "acknowledge": Action.ACKNOWLEDGE,
    "start_response": Action.START_RESPONSE,
    "info_published": Action.PUBLISH_INFO,
    "press_conference": Action.HOLD_PRESS_CONFERENCE,
    "supervise": Action.SUPERVISE,
    "snooze": Action.SNOOZE,
    "unsnooze": Action.UNSNOOZE,
    "close": Action.CLOSE,
    "merge": Action.MERGE,
}
ACTION_ORDER = (
    "acknowledge",
    "start_response",
    "info_published",
    "press_conference",
    "release",
    "response_line",
    "spokesperson",
    "reassign",
    "return",
    "supervise",
    "snooze",
    "unsnooze",
    "close",
    "merge",
)


IN_PLACE_ACTIONS = ("reassign", "return", "release", "response_line", "spokesperson")  # any open alert


BoardView = Literal["all", "new", "overdue", "supervised", "major"]
BOARD_VIEWS: dict[str, str] = {
    "all": "全部待处置",
    "new": STATUS_LABELS["new"],
    "overdue": "已超时",
    "supervised": STATUS_LABELS["supervised"],
    "major": "重大及以上",
}


def board_context(session: Session, principal: Principal, now: datetime, view: BoardView) -> dict[str, Any]:
    filters: dict[str, Any] = {"statuses": sorted(OPEN)}
    if view == "new":
        filters["statuses"] = ["new"]
    elif view == "supervised":
        filters["statuses"] = ["supervised"]
    elif view == "overdue":
        filters["overdue"] = True
    elif view == "major":
        filters["levels"] = ["重大", "特别重大"]
    page = service.list_alerts(
        session, now=now, department_id=principal.department_scope, sort="urgency", limit=200, **filters
    )
    deadlines: dict[int, list[AlertDeadline]] = {}
    ids = [a.id for a in page.items]
    if ids:
        for d in session.scalars(
            select(AlertDeadline).where(AlertDeadline.alert_id.in_(ids)).order_by(AlertDeadline.due_at)
        ):
            deadlines.setdefault(d.alert_id, []).append(d)
    return {"alerts": page.items, "deadlines": deadlines, "now": now, "view": view, "views": BOARD_VIEWS}


@router.get("/alerts")
def alerts_index() -> Response:
    return see_other("/board")


@router.get("/board")
def board(
    request: Request,
    session: DB,
    now: Now,
    view: BoardView = "all",
    principal: Principal = console_user("alerts.view"),
) -> Response:
    context = board_context(session, principal, now, view)
    version = alerts_version(session, principal.department_scope)
    return render(request, "board.html", {**context, "nav": "board", "poll_seconds": BOARD_POLL_SECONDS,
                                          "alerts_version": version})


@router.get("/board/rows")
def board_rows(
    request: Request,
    session: DB,
    now: Now,
    view: BoardView = "all",
    principal: Principal = console_user("alerts.view"),
) -> Response:
    response = render(request, "_board_rows.html", board_context(session, principal, now, view))
    response.headers["X-Alerts-Version"] = alerts_version(session, principal.department_scope)
    return response


def allowed_actions(principal: Principal, alert: service.AlertRead) -> list[str]:
    """The actions this user may take on the alert now. Who may 转派 (dispatch) is offered that; a
    department handler is offered 退回值班室 (with a reason) instead."""
    names = []
    for name in ACTION_ORDER:
        if not principal.can(actions.PERMISSION_FOR[name]):
            continue
        if name == "return" and principal.can("alerts.dispatch"):
            continue
        state_action = STATE_ACTION.get(name)
        if (state_action is not None and can(state_action, alert.status)) or (
            name in IN_PLACE_ACTIONS and alert.status in OPEN
        ):
            names.append(name)
    return names


def incident_context(
    state: AppState, session: Session, row: IncidentRow | None, now: datetime
) -> dict[str, Any]:
    if row is None:
        return {"incident": None, "posts": [], "series": [], "similar": [], "merged": [], "merged_alerts": [],
                "effect": None}
    detail = incident_detail(state, session, row, now=now)
    series = detail.series
    spans_days = bool(series) and series[0].start.date() != series[-1].start.date()
    labels = [cn_time(p.start, "%m-%d %H:%M" if spans_days else "%H:%M") for p in series]
    return {
        "incident": detail.incident,
        "posts_error": detail.posts_error,
        "posts": detail.posts,
        "series": series,
        "similar": detail.similar,
        "merged": detail.merged,
        "merged_alerts": detail.merged_alerts,
        "effect": detail.effect,
        "report_review": read_review(session, row.id),
        "heat_chart": {
            "labels": labels,
            "posts": [p.posts for p in series],
            "heat": [round(p.heat, 1) for p in series],
        },
        "sentiment_chart": {
            "labels": labels,
            **{k: [getattr(p, k) for p in series] for k in ("negative", "neutral", "positive")},
        },
    }


def alert_page_response(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    alert_id: int,
    now: datetime,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    actions.visible_alert(session, alert_id, principal)
    alert = service.get_alert(session, alert_id=alert_id, now=now)
    row = session.get(IncidentRow, alert.incident_id)
    directory = actions.load_directory(session, state.settings)
    done = request.query_params.get("done")
    context = {
        **incident_context(state, session, row, now),
        "alert": alert,
        "now": now,
        "error": error,
        "history": service.alert_history(session, alert_id=alert_id),
        "actions": allowed_actions(principal, alert),
        "departments": directory.departments,
        "flash": f"已{ACTION_LABELS[done]}" if done in ACTION_LABELS else None,
        "nav": "department" if principal.department_scope else "board",
        "manual_levels": manual_levels(principal, alert.level, alert.status),
    }
    return render(request, "incident.html", context, status_code=status_code)


def manual_levels(principal: Principal, level: str | None, status: str | None) -> list[str]:
    """The levels this user may set by 人工研判: above the alert's own, on an alert still open."""
    if not principal.can("alerts.dispatch") or status in FINAL:
        return []
    return [lv for lv in SEVERITY_ORDER if severity_rank(lv) > severity_rank(level)]


@router.get("/alerts/{alert_id}")
def alert_page(
    request: Request,
    alert_id: AlertId,
    state: State,
    session: DB,
    now: Now,
    principal: Principal = console_user("alerts.view"),
) -> Response:
    return alert_page_response(request, state, session, principal, alert_id, now)


@router.post("/alerts/{alert_id}/actions/{action}")
async def alert_action(
    request: Request,
    alert_id: AlertId,
    action: actions.ActionName,
    state: State,
    session: DB,
    now: Now,
    principal: Principal = console_user("alerts.view"),
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if k != "csrf_token" and v != ""}
    try:
        body = actions.BODY_FOR[action].model_validate(form)
        actions.perform(session, state.settings, action, alert_id, body, principal, now=now)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        fields = "、".join(str(e["loc"][-1]) for e in exc.errors() if e.get("loc"))
        return alert_page_response(
            request,
            state,
            session,
            principal,
            alert_id,
            now,
            status_code=422,
            error=f"无法{ACTION_LABELS[action]}：请填写完整（{fields}）",
        )
    except ProblemError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return alert_page_response(
            request, state, session, principal, alert_id, now, error=exc.detail, status_code=exc.status
        )
    if action == "return" and principal.department_scope is not None:
        return see_other("/department?done=return")  # the case has left this department's view
    return see_other(f"/alerts/{alert_id}?done={action}")
