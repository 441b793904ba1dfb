"""In-console notifications: one's own unread ones (我的通知), mark one read."""

from __future__ import annotations

from fastapi import APIRouter

from alerting import service
from alerting.read_models import user_notices
from api.deps import DB, Now, Principal, api_user
from api.ids import NotificationId
from api.notifications import mark_read

router = APIRouter(prefix="/notifications", tags=["alerts"])


@router.get("/mine", response_model=list[service.NotificationRead], summary="我的未读通知")
def mine(session: DB, principal: Principal = api_user("alerts.view")) -> list[service.NotificationRead]:
    """The caller's own unread in-console notices (a 监测方案 owner's: ``user:NAME``), newest first."""
    return user_notices(session, principal.name)


@router.post("/{notification_id}/read", response_model=service.NotificationRead, summary="通知标记为已读")
def read(
    notification_id: NotificationId, session: DB, now: Now, principal: Principal = api_user("alerts.view")
) -> service.NotificationRead:
    result = mark_read(session, notification_id, principal, now=now)
    session.commit()
    return result
