"""Login rate limiting, kept in the database so every API process sees the same count. Within ``WINDOW``
a login is refused (429) once there were

- ``MAX_FAILURES`` failures for one user name from one client address (guessing one password),
- ``MAX_FAILURES_PER_ADDRESS`` failures from one client address, whatever the names (password spraying:
  one password tried against many names),
- ``MAX_FAILURES_OVERALL`` failures from all addresses together (spraying from many addresses).

Each refusal lasts until enough failures have left the window. A success clears the failures of that name
from that address only. Refused attempts are not recorded, so the table stays small. The client address
is the peer's, or — only when the peer is one of ``YUQING_TRUSTED_PROXIES`` — the one its
``X-Forwarded-For`` names (``api.main``); a client cannot pick its own address to escape the limit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.models import LoginAttemptRow

log = logging.getLogger(__name__)

MAX_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 20
MAX_FAILURES_OVERALL = 200
WINDOW = timedelta(minutes=15)

Scope = Literal["name", "address", "overall"]


@dataclass(frozen=True)
class Refusal:
    scope: Scope  # which limit was reached
    limit: int
    retry_after: int  # seconds until the next attempt is considered


def _wait(session: Session, conditions: tuple[Any, ...], limit: int, now: datetime) -> int:
    """Seconds until fewer than ``limit`` failures matching ``conditions`` remain in the window; 0 now."""
    failures = (*conditions, LoginAttemptRow.success.is_(False), LoginAttemptRow.at > now - WINDOW)
    nth_newest = session.scalar(
        select(LoginAttemptRow.at)
        .where(*failures)
        .order_by(LoginAttemptRow.at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    if nth_newest is None:
        return 0
    return max(1, int((nth_newest + WINDOW - now).total_seconds()) + 1)


def refusal(session: Session, name: str, ip: str, *, now: datetime) -> Refusal | None:
    """Why (name, ip) may not try to log in now, or None when it may."""
    checks: tuple[tuple[Scope, tuple[Any, ...], int], ...] = (
        ("overall", (), MAX_FAILURES_OVERALL),
        ("address", (LoginAttemptRow.ip == ip[:64],), MAX_FAILURES_PER_ADDRESS),
        ("name", (LoginAttemptRow.name == name[:80], LoginAttemptRow.ip == ip[:64]), MAX_FAILURES),
    )
    for scope, conditions, limit in checks:
        wait = _wait(session, conditions, limit, now)
        if wait:
            if scope != "name":
                log.warning("login refused: %s limit of %d failures reached (ip %s)", scope, limit, ip)
            return Refusal(scope, limit, wait)
    return None


def record_attempt(session: Session, name: str, ip: str, *, success: bool, now: datetime) -> None:
    if success:
        session.execute(
            delete(LoginAttemptRow).where(LoginAttemptRow.name == name[:80], LoginAttemptRow.ip == ip[:64])
        )
    session.add(LoginAttemptRow(name=name[:80], ip=ip[:64], at=now, success=success))
    session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < now - WINDOW * 4))
