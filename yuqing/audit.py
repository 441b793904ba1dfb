"""The append-only audit log: every change of state goes through ``record``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from yuqing.db.models import AuditLog

Channel = Literal["console", "api", "chat", "system", "cli"]


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    channel: Channel,
    action: str,
    object_type: str,
    object_id: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    entry = AuditLog(
        at=at, actor=actor, channel=channel, action=action, object_type=object_type,
        object_id=str(object_id), reason=reason, details=details or {},
    )
    session.add(entry)
    return entry


def record_alert(
    session: Session,
    *,
    alert_id: int,
    at: datetime,
    actor: str,
    channel: Channel,
    action: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """An entry about one alert: what its history page and 考核 read."""
    return record(
        session, at=at, actor=actor, channel=channel, action=action, object_type="alert",
        object_id=str(alert_id), reason=reason, details=details,
    )
