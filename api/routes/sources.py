"""Source health: last success, items per hour/day, errors, silent sources."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.deps import DB, Now, Principal, api_user
from crawlers.health import SourceHealth, source_health
from yuqing.ops_alerts import open_alerts

router = APIRouter(prefix="/sources", tags=["sources"])


@router.get("/health", response_model=list[SourceHealth], summary="各信源健康状态")
def health(session: DB, now: Now, principal: Principal = api_user("sources.view")) -> list[SourceHealth]:
    return source_health(session, now)


class OperationalAlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    subject: str
    detail: str
    opened_at: datetime
    last_seen_at: datetime


@router.get("/alerts", response_model=list[OperationalAlertOut], summary="运行告警：静默或故障的信源")
def operational_alerts(
    session: DB, principal: Principal = api_user("sources.view")
) -> list[OperationalAlertOut]:
    return [OperationalAlertOut.model_validate(row) for row in open_alerts(session)]
