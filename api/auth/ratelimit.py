"""Login rate limiting, kept in the database so every API process sees the same count:
at most ``MAX_FAILURES`` failed logins per (user name, client IP) within ``WINDOW``; after that the next
attempt is refused until the oldest failure leaves the window. A success clears the count."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.models import LoginAttemptRow

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)


def retry_after(session: Session, name: str, ip: str, *, now: datetime) -> int:
    """Seconds until (name, ip) may try again; 0 when allowed now."""
    since = now - WINDOW
    failures = (
        LoginAttemptRow.name == name,
        LoginAttemptRow.ip == ip,
        LoginAttemptRow.success.is_(False),
        LoginAttemptRow.at > since,
    )
    count = session.scalar(select(func.count()).select_from(LoginAttemptRow).where(*failures)) or 0
    if count < MAX_FAILURES:
        return 0
    recent = session.scalars(
        select(LoginAttemptRow.at).where(*failures).order_by(LoginAttemptRow.at.desc()).limit(MAX_FAILURES)
    ).all()
    oldest_counted = min(recent)
    return max(1, int((oldest_counted + WINDOW - now).total_seconds()) + 1)


def record_attempt(session: Session, name: str, ip: str, *, success: bool, now: datetime) -> None:
    if success:
        session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.name == name, LoginAttemptRow.ip == ip))
    session.add(LoginAttemptRow(name=name[:80], ip=ip[:64], at=now, success=success))
    session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < now - WINDOW * 4))
