"""Console pages for alerts: the live board and the alert page (incident, clocks, effect review, actions).
Incidents without an alert, 热点事件 and 人工研判 are in ``incident_views``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from alerting import service
from alerting.state import FINAL, OPEN, Action, can
from api import alert_actions as actions
from api.console import board_views as board
from api.console.department_picker import department_picker
from api.console.incident_charts import source_chart, trend_charts
from api.console.labels import ConsoleLabels
from api.console.render import render
from api.console.views import see_other
from api.deps import DB, AppState, Now, Principal, State, console_user
from api.field_errors import describe
from api.ids import AlertId
from api.incident_view import incident_detail
from api.live import alerts_version
from api.problems import ProblemError
from incidents.models import IncidentRow
from reports.incident import read_review
from yuqing.domain import ACTION_LABELS, INCIDENT_KIND_LABELS, STATUS_LABELS
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
    "consult",
    "return",
    "supervise",
    "snooze",
    "unsnooze",
    "close",
    "merge",
)


# what each action's form calls its fields, where the general names (api.field_errors) are not enough
ACTION_FIELD_LABELS: dict[str, dict[str, str]] = {
    "reassign": {"reason": "转派理由"},
    "consult": {"reason": "会商理由", "assisting": "协办单位", "lead_department_id": "牵头单位"},
    "return": {"reason": "退回理由"},
    "info_published": {"evidence": "发布内容与渠道"},
    "press_conference": {"evidence": "发布会时间、地点、发布人"},
    "release": {"note": "发布内容与渠道"},
    "spokesperson": {"name": "发声人姓名"},
    "supervise": {"reason": "督办事由"},
    "snooze": {"reason": "暂缓理由"},
    "merge": {"reason": "合并理由"},
}
IN_PLACE_ACTIONS = ("reassign", "consult", "return", "release", "response_line", "spokesperson")  # when open


BoardView = Literal["all", "new", "overdue", "supervised", "major", "recent", "closed", "message"]
BOARD_VIEWS: dict[str, str] = {
    "all": "全部待处置",
    "new": STATUS_LABELS["new"],
    "overdue": "已超时",
    "supervised": STATUS_LABELS["supervised"],
    "major": "重大及以上",
    "recent": "最近新增",
    "closed": STATUS_LABELS["closed"],
    "message": INCIDENT_KIND_LABELS["message"],  # 留言 cases: on this tab only, never crowding the others
}
NOT_MESSAGES = [k for k in INCIDENT_KIND_LABELS if k != "message"]


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
    filters["kinds"] = ["message"] if view == "message" else NOT_MESSAGES
    page = service.list_alerts(
        session, now=now, department_id=principal.department_scope, sort="urgency", limit=200, **filters
    )
    return {**board.row_context(session, principal, page.items, now), "view": view, "views": BOARD_VIEWS}


def any_board_context(
    request: Request, session: Session, principal: Principal, now: datetime, view: str
) -> dict[str, Any]:
    """The open views, or the closed/recent views with their filters; an unknown view is a Chinese 422."""
    if view not in BOARD_VIEWS:
        raise board.bad_view(view, BOARD_VIEWS)
    if view in board.ENDED_VIEWS:
        context = board.ended_context(session, principal, now, view, board.ended_filters(request))
        return {**context, "view": view, "views": BOARD_VIEWS}
    return board_context(session, principal, now, view)  # type: ignore[arg-type]


@router.get("/alerts")
def alerts_index() -> Response:
    return see_other("/board")


@router.get("/board")
def board_page(
    request: Request,
    state: State,
    session: DB,
    now: Now,
    view: str = "all",
    principal: Principal = console_user("alerts.view"),
) -> Response:
    context = any_board_context(request, session, principal, now, view)
    version = alerts_version(session, principal.department_scope)
    query = request.url.query
    return render(request, "board.html", {**context, "nav": "board", "poll_seconds": BOARD_POLL_SECONDS,
                                          "alerts_version": version,
                                          "counters": board.counters_for(session, principal, now),
                                          "fragment_query": query or "view=all",
                                          "return_to": "/board" + (f"?{query}" if query else ""),
                                          **board.filter_choices(session, state, principal)})


@router.get("/board/rows")
def board_rows(
    request: Request,
    session: DB,
    now: Now,
    view: str = "all",
    principal: Principal = console_user("alerts.view"),
) -> Response:
    context = any_board_context(request, session, principal, now, view)
    query = request.url.query
    back = "/board" + (f"?{query}" if query else "")
    response = render(request, "_board_rows.html", {**context, "return_to": back})
    response.headers["X-Alerts-Version"] = alerts_version(session, principal.department_scope)
    response.headers[board.COUNTERS_HEADER] = board.counters_for(session, principal, now).header()
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
    return {
        "incident": detail.incident,
        "posts_error": detail.posts_error,
        "posts": detail.posts,
        "series": series,
        "similar": detail.similar,
        "merged": detail.merged,
        "merged_alerts": detail.merged_alerts,
        "effect": detail.effect,
        **trend_charts(detail),
        "sources": detail.sources,
        "source_chart": source_chart(detail),
        "keywords": detail.keywords,
        "places": detail.places,
        "report_review": read_review(session, row.id),
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
    allowed = allowed_actions(principal, alert)
    picker = None
    if "reassign" in allowed or "consult" in allowed:
        picker = department_picker(
            directory,
            locations=alert.locations,
            region_code=alert.region_code,
            current_id=alert.department_id,
            region_name=ConsoleLabels(state).region,
        )
    context = {
        **incident_context(state, session, row, now),
        "alert": alert,
        "now": now,
        "error": error,
        "history": service.alert_history(session, alert_id=alert_id),
        "actions": allowed,
        "departments": directory.departments,
        "picker": picker,
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
    posted = await request.form()
    # a multiple choice (会商's 协办 departments) arrives as several values: the body model reads them joined
    form = {
        k: ",".join(str(v) for v in posted.getlist(k) if v != "")
        for k in dict.fromkeys(posted.keys())
        if k != "csrf_token" and any(v != "" for v in posted.getlist(k))
    }
    back = board.return_path(form.pop("next", None))  # 签收 from a board row or a workbench card
    try:
        body = actions.BODY_FOR[action].model_validate(form)
        actions.perform(session, state.settings, action, alert_id, body, principal, now=now)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return alert_page_response(
            request,
            state,
            session,
            principal,
            alert_id,
            now,
            status_code=422,
            error=f"无法{ACTION_LABELS[action]}：请填写完整。"
            + describe(exc.errors(), ACTION_FIELD_LABELS.get(action)),
        )
    except ProblemError as exc:
        session.rollback()
        if exc.status == 404:
            raise
        return alert_page_response(
            request, state, session, principal, alert_id, now, error=exc.detail, status_code=exc.status
        )
    if back is not None:
        return see_other(back)
    if action == "return" and principal.department_scope is not None:
        return see_other("/department?done=return")  # the case has left this department's view
    return see_other(f"/alerts/{alert_id}?done={action}")
