"""One incident: posts timeline, series, places, similar and merged incidents, and its alert."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import DB, Now, Principal, State, api_user
from api.incident_view import IncidentDetail, incident_detail, visible_incident

router = APIRouter(prefix="/incidents", tags=["incidents"])


@router.get(
    "/{incident_id}", response_model=IncidentDetail, summary="事件详情：帖子时间线、走势、相似与合并事件"
)
def get_incident(
    incident_id: str, state: State, session: DB, now: Now, principal: Principal = api_user("alerts.view")
) -> IncidentDetail:
    row = visible_incident(session, incident_id, principal)
    return incident_detail(state, session, row, now=now)
