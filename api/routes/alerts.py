"""Alerts: the list (most urgent first), one alert with deadlines and history, and the actions."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from alerting import service
from api import alert_actions as actions
from api.deps import DB, Now, Principal, State, api_user
from api.ids import AlertId
from yuqing.domain import IncidentKind, StatusName
from yuqing.schemas import SEVERITY_ORDER

router = APIRouter(prefix="/alerts", tags=["alerts"])

Level = Literal["一般", "较大", "重大", "特别重大"]
Status = StatusName
assert set(Level.__args__) == set(SEVERITY_ORDER)  # type: ignore[attr-defined]


@router.get("", response_model=service.AlertPage, summary="预警列表（默认按紧急程度排序，分页）")
def list_alerts(
    session: DB,
    now: Now,
    status: Annotated[list[Status] | None, Query(description="状态（可多选）；默认全部")] = None,
    level: Annotated[list[Level] | None, Query(description="级别（可多选）")] = None,
    department: Annotated[
        str | None, Query(max_length=60, description="部门 id（部门处置人只能看本部门）")
    ] = None,
    overdue: Annotated[bool | None, Query(description="只看已超时 / 未超时")] = None,
    q: Annotated[str | None, Query(max_length=200, description="标题关键词或事件 id")] = None,
    sort: Annotated[Literal["urgency", "newest", "level"], Query()] = "urgency",
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    principal: Principal = api_user("alerts.view"),
    kind: Annotated[
        list[IncidentKind] | None,
        Query(description="事件类型（可多选）：opinion 政务舆情、message 留言咨询、policy 政策文件"),
    ] = None,
) -> service.AlertPage:
    scope = principal.department_scope
    if scope is not None and department not in (None, scope):
        return service.AlertPage(items=[], total=0, offset=offset, limit=limit)
    return service.list_alerts(
        session,
        now=now,
        statuses=status,
        levels=level,
        department_id=scope or department,
        overdue=overdue,
        q=q,
        sort=sort,
        offset=offset,
        limit=limit,
        kinds=kind,
    )


@router.get("/{alert_id}", response_model=service.AlertDetail, summary="一条预警：时限、督办与状态")
def get_alert(
    alert_id: AlertId, session: DB, now: Now, principal: Principal = api_user("alerts.view")
) -> service.AlertDetail:
    actions.visible_alert(session, alert_id, principal)
    return service.get_alert(session, alert_id=alert_id, now=now)


@router.get(
    "/{alert_id}/history", response_model=list[service.AuditEntryRead], summary="处置记录（审计日志）"
)
def alert_history(
    alert_id: AlertId, session: DB, principal: Principal = api_user("alerts.view")
) -> list[service.AuditEntryRead]:
    actions.visible_alert(session, alert_id, principal)
    return service.alert_history(session, alert_id=alert_id)


@router.get("/{alert_id}/notifications", response_model=list[service.NotificationRead], summary="已发通知")
def alert_notifications(
    alert_id: AlertId, session: DB, principal: Principal = api_user("alerts.view")
) -> list[service.NotificationRead]:
    actions.visible_alert(session, alert_id, principal)
    return service.alert_notifications(session, alert_id=alert_id)


@router.get("/{alert_id}/releases", response_model=list[service.ReleaseRead], summary="持续发布：历次发布")
def alert_releases(
    alert_id: AlertId, session: DB, principal: Principal = api_user("alerts.view")
) -> list[service.ReleaseRead]:
    actions.visible_alert(session, alert_id, principal)
    return service.alert_releases(session, alert_id=alert_id)


def _action_route(name: str, path: str, summary: str) -> None:
    body_model = actions.BODY_FOR[name]

    def endpoint(
        alert_id: AlertId,
        body: body_model,  # type: ignore[valid-type]  # the action's body model, chosen per route
        session: DB,
        state: State,
        now: Now,
        principal: Principal = api_user(),
    ) -> service.AlertRead:
        result = actions.perform(session, state.settings, name, alert_id, body, principal, now=now)
        session.commit()
        return result

    endpoint.__annotations__["body"] = body_model  # a real class: the string would not resolve here
    endpoint.__name__ = f"alert_{name}"
    router.add_api_route(
        f"/{{alert_id}}/{path}", endpoint, methods=["POST"], response_model=service.AlertRead, summary=summary
    )


for _name, _path, _summary in (
    ("acknowledge", "acknowledge", "签收"),
    ("start_response", "start-response", "开始处置"),
    ("reassign", "reassign", "转派到另一部门（值班员、管理员；须写明理由）"),
    ("return", "return", "退回值班室（部门处置人：不属本部门的案件，须写明理由）"),
    ("info_published", "info-published", "记录权威信息发布，停止相应时限；再次发布记入持续发布"),
    ("press_conference", "press-conference", "记录新闻发布会已召开（再次召开记入持续发布）"),
    ("release", "releases", "持续发布：记录一次发布（权威信息、进展通报、发布会）"),
    ("response_line", "response-line", "回应口径：记录商定的口径、审定人与审定时间"),
    ("spokesperson", "spokesperson", "记录发声人（新闻发言人或主要负责人）"),
    ("supervise", "supervision", "督办"),
    ("snooze", "snooze", "暂缓提醒（法定时限不停）"),
    ("unsnooze", "unsnooze", "恢复提醒"),
    ("close", "close", "关闭并复盘"),
    ("merge", "merge", "合并到另一条预警"),
    ("consult", "consult", "会商：指定牵头单位与协办单位（值班员、管理员；须写明理由）"),
):
    _action_route(_name, _path, _summary)
