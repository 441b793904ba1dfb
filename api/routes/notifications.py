"""In-console notifications: mark one read."""

from __future__ import annotations

from fastapi import APIRouter

from alerting import service
from api.deps import DB, Now, Principal, api_user
from api.ids import NotificationId
from api.notifications import mark_read

router = APIRouter(prefix="/notifications", tags=["alerts"])


@router.post("/{notification_id}/read", response_model=service.NotificationRead, summary="通知标记为已读")
def read(
    notification_id: NotificationId, session: DB, now: Now, principal: Principal = api_user("alerts.view")
) -> service.NotificationRead:
    result = mark_read(session, notification_id, principal, now=now)
    session.commit()
    return result
