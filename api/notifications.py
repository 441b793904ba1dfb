"""Marking an in-console notification read, for someone who may see its alert."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from alerting import service
from alerting.models import Notification
from api.alert_actions import visible_alert
from api.deps import Principal
from api.problems import ProblemError


def mark_read(
    session: Session, notification_id: int, principal: Principal, *, now: datetime
) -> service.NotificationRead:
    row = session.get(Notification, notification_id)
    if row is None:
        raise ProblemError(404, "not-found", f"没有编号为 {notification_id} 的通知")
    try:
        visible_alert(session, row.alert_id, principal)
    except ProblemError:
        raise ProblemError(404, "not-found", f"没有编号为 {notification_id} 的通知") from None
    return service.mark_read(session, notification_id=notification_id, now=now)
