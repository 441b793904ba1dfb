"""Signed session cookies (itsdangerous) that carry the user id and a CSRF token.

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
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

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
                return SessionData(csrf=str(data["csrf"]), uid=data.get("uid"), pwv=data.get("pwv"))
            except (BadSignature, KeyError, TypeError):
                pass
        return SessionData(changed=True)

    def save(self, response: Response, data: SessionData, *, https: bool = False) -> None:
        """Secure when the console URL is https or this request came over TLS (directly or via a proxy
        whose X-Forwarded-Proto uvicorn trusts)."""
        response.set_cookie(
            COOKIE_NAME,
            self._serializer.dumps({"uid": data.uid, "csrf": data.csrf, "pwv": data.pwv}),
            max_age=MAX_AGE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=self.secure or https,
            path="/",
        )


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())
