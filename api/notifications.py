"""Marking an in-console notification read, for someone who may see its alert. A department's workbench shows
one notice per event (the same message to its contacts and its head is one event), so marking it read marks
that event's copies to the same department read too."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from alerting import service
from alerting.read_models import notification_event_ids, notification_target
from api.alert_actions import visible_alert
from api.deps import Principal
from api.problems import ProblemError


def mark_read(
    session: Session, notification_id: int, principal: Principal, *, now: datetime
) -> service.NotificationRead:
    row = notification_target(session, notification_id)
    if row is None:
        raise ProblemError(404, "not-found", f"没有编号为 {notification_id} 的通知")
    if row.recipient == f"user:{principal.name}":  # one's own notice (a 监测方案's): it is one's to read
        return service.mark_read(session, notification_id=notification_id, now=now)
    try:
        if row.alert_id is None:  # a 监测方案 notice to a department's workbench: that department's to read
            department = row.recipient.split(":")[1] if department_prefixes(row.recipient) else None
            if department is None or principal.department_scope not in (None, department):
                raise ProblemError(404, "not-found", "")
        else:
            visible_alert(session, row.alert_id, principal)
    except ProblemError:
        raise ProblemError(404, "not-found", f"没有编号为 {notification_id} 的通知") from None
    for sibling in notification_event_ids(session, notification_id, department_prefixes(row.recipient)):
        if sibling != notification_id:
            service.mark_read(session, notification_id=sibling, now=now)
    return service.mark_read(session, notification_id=notification_id, now=now)


WORKBENCH_ROLES = ("department", "department_head")  # whose notices a department's workbench shows


def department_prefixes(recipient: str) -> list[str]:
    """``department:d1:张三`` → the recipient prefixes of department d1's workbench (none for others)."""
    role, _, rest = recipient.partition(":")
    department = rest.split(":", 1)[0]
    if role not in WORKBENCH_ROLES or not department:
        return []
    return [f"{r}:{department}:" for r in WORKBENCH_ROLES]
