"""Incidents: the hottest recent ones, and one incident with its posts timeline, series, places, similar
and merged incidents, effect review and alert."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import DB, Now, Principal, State, api_user
from api.incident_list import IncidentPage, IncidentSort, list_incidents
from api.incident_view import IncidentDetail, incident_detail, visible_incident

router = APIRouter(prefix="/incidents", tags=["incidents"])

Level = Literal["一般", "较大", "重大", "特别重大"]


@router.get("", response_model=IncidentPage, summary="热点事件：近期活跃事件，默认按热度排序（分页）")
def get_incidents(
    session: DB,
    now: Now,
    hours: Annotated[int, Query(ge=1, le=24 * 90, description="最近多少小时内仍有新帖的事件")] = 24,
    category: Annotated[str | None, Query(max_length=40, description="一级分类")] = None,
    region: Annotated[
        str | None, Query(pattern=r"^\d{2,12}$", description="行政区划代码前缀，如 34（安徽）、3408（安庆）")
    ] = None,
    severity_at_least: Annotated[Level | None, Query(description="定级不低于")] = None,
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
