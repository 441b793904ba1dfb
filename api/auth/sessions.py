"""Signed session cookies (itsdangerous) that carry the user id, a CSRF token and the id of a server-side
session (``user_sessions``).

A login stores the session (its id's SHA-256); logging out and a password reset delete it, so a cookie
saved before then is refused afterwards even though its signature is still good. Sessions last
``MAX_AGE_SECONDS`` from login.

Every visitor gets a session with a random CSRF token (also before logging in, so the login form is
protected too). State-changing console requests must send that token in the ``csrf_token`` form field or
the ``X-CSRF-Token`` header. Cookies are HttpOnly, SameSite=Lax, and Secure when the console is served
over https (``YUQING_CONSOLE_URL``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.models import UserRow, UserSessionRow
from yuqing.settings import Settings

COOKIE_NAME = "yuqing_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
MAX_AGE_SECONDS = 12 * 3600


def secret_key(settings: Settings) -> str:
    """``YUQING_SECRET_KEY``, else a random key generated once into the data dir."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.ensure_data_dir()) / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


@dataclass
class SessionData:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    uid: int | None = None
    changed: bool = False
    pwv: str | None = None  # the password version the user logged in with (see password_version)
    sid: str | None = None  # the server-side session (see open_session)


def password_version(password_hash: str) -> str:
    """A short fingerprint of the user's stored password hash. A session is valid only while it matches,
    so resetting a password ends every session logged in with the old one."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class SessionCodec:
    def __init__(self, settings: Settings) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key(settings), salt="yuqing-session")
        self.secure = settings.console_url.startswith("https://")

    def load(self, cookie: str | None) -> SessionData:
        if cookie:
            try:
                data = self._serializer.loads(cookie, max_age=MAX_AGE_SECONDS)
                return SessionData(
                    csrf=str(data["csrf"]), uid=data.get("uid"), pwv=data.get("pwv"), sid=data.get("sid")
                )
            except (BadSignature, KeyError, TypeError):
                pass
        return SessionData(changed=True)

    def save(self, response: Response, data: SessionData, *, https: bool = False) -> None:
        """Secure when the console URL is https or this request came over TLS (directly or via a proxy
        whose X-Forwarded-Proto uvicorn trusts)."""
        response.set_cookie(
            COOKIE_NAME,
            self._serializer.dumps({"uid": data.uid, "csrf": data.csrf, "pwv": data.pwv, "sid": data.sid}),
            max_age=MAX_AGE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=self.secure or https,
            path="/",
        )


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and given != "" and hmac.compare_digest(expected.encode(), given.encode())


# -- server-side sessions ---------------------------------------------------------------------------

MAX_AGE = timedelta(seconds=MAX_AGE_SECONDS)


def _digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def open_session(session: Session, user: UserRow, *, now: datetime) -> str:
    """Store a new session for ``user``; returns its id for the cookie. Expired sessions are purged."""
    session.execute(delete(UserSessionRow).where(UserSessionRow.created_at < now - MAX_AGE))
    sid = secrets.token_urlsafe(32)
    session.add(UserSessionRow(id_hash=_digest(sid), user_id=user.id, created_at=now))
    return sid


def session_alive(session: Session, sid: str | None, user_id: int, *, now: datetime) -> bool:
    """Whether the cookie's session is still open for this user (not logged out, reset or expired)."""
    if not sid:
        return False
    row = session.get(UserSessionRow, _digest(sid))
    return row is not None and row.user_id == user_id and row.created_at > now - MAX_AGE


def end_session(session: Session, sid: str | None) -> None:
    if sid:
        session.execute(delete(UserSessionRow).where(UserSessionRow.id_hash == _digest(sid)))


def end_user_sessions(session: Session, user_id: int) -> int:
    """End every browser session of a user (password reset); returns how many were open."""
    result = session.execute(delete(UserSessionRow).where(UserSessionRow.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)
