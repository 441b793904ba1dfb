"""GET /api/health: open, for load balancers and the demo supervisor."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import DB, Now
from api.problems import ProblemError
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="存活检查（无需登录）")
def health(session: DB, now: Now) -> Health:
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure means "not healthy"
        raise ProblemError(503, "database-unavailable", f"数据库不可用：{type(exc).__name__}") from None
    return Health(status="ok", time=now, database="ok")
