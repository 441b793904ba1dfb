"""Incidents: the hottest recent ones, and one incident with its posts timeline, series, places, similar
and merged incidents, effect review and alert."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from alerting import service
from api.deps import DB, Now, Principal, State, api_user
from api.incident_reads import IncidentPage, IncidentSort, list_incidents
from api.incident_view import IncidentDetail, incident_detail, visible_incident
from api.problems import ProblemError
from api.schemas import NO_NUL
from yuqing.schemas import SeverityLevel

router = APIRouter(prefix="/incidents", tags=["incidents"])

@router.get("", response_model=IncidentPage, summary="热点事件：近期活跃事件，默认按热度排序（分页）")
def get_incidents(
    session: DB,
    now: Now,
    hours: Annotated[int, Query(ge=1, le=24 * 90, description="最近多少小时内仍有新帖的事件")] = 24,
    category: Annotated[str | None, Query(max_length=40, description="一级分类")] = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2,12}$", description="行政区划代码前缀，如 34（安徽）、3408（安庆）")
    ] = None,
    severity_at_least: Annotated[SeverityLevel | None, Query(description="定级不低于")] = None,
    q: Annotated[str | None, Query(max_length=200, description="标题关键词或事件 id")] = None,
    alerted: Annotated[bool | None, Query(description="只看已生成 / 未生成预警的事件")] = None,
    sort: Annotated[IncidentSort, Query()] = "heat",
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    principal: Principal = api_user("alerts.view"),
) -> IncidentPage:
    return list_incidents(session, principal, now=now, hours=hours, category=category, region=region,
                          severity_at_least=severity_at_least, q=q, alerted=alerted, sort=sort,
                          offset=offset, limit=limit)


@router.get(
    "/{incident_id}",
    response_model=IncidentDetail,
    summary="事件详情：帖子时间线、走势、效果评估、相似与合并事件",
)
def get_incident(
    incident_id: str, state: State, session: DB, now: Now, principal: Principal = api_user("alerts.view")
) -> IncidentDetail:
    row = visible_incident(session, incident_id, principal)
    return incident_detail(state, session, row, now=now)


class ManualAlertIn(BaseModel):
    level: SeverityLevel = Field(description="预警级别；已有预警时只能上调")
    reason: Annotated[
        str, Field(min_length=1, max_length=500, pattern=NO_NUL, description="研判理由（记入处置记录）")
    ]


@router.post(
    "/{incident_id}/alert",
    response_model=service.AlertDetail,
    status_code=201,
    summary="人工研判：为事件生成预警，或上调其预警级别",
    responses={200: {"description": "已上调既有预警的级别"}},
)
def manual_alert(
    incident_id: str,
    body: ManualAlertIn,
    state: State,
    session: DB,
    now: Now,
    response: Response,
    principal: Principal = api_user("alerts.dispatch"),
) -> service.AlertDetail:
    from alerting.manual import ConfigUnavailable, ManualAlertRefused
    from alerting.manual import manual_alert as open_or_raise

    row = visible_incident(session, incident_id, principal)
    try:
        result = open_or_raise(session, state.settings, row, level=body.level, reason=body.reason,
                               actor=principal.name, channel=principal.channel, now=now)
    except ManualAlertRefused as exc:
        raise ProblemError(409, "manual-alert-refused", f"无法生成或上调预警：{exc}") from None
    except ConfigUnavailable as exc:
        raise ProblemError(503, "alerting-config-unavailable", f"预警配置不可用：{exc}") from None
    assert result.alert_id is not None
    if result.outcome == "raised":
        response.status_code = 200
    return service.get_alert(session, alert_id=result.alert_id, now=now)
