"""Request dependencies: the database session, who is asking (session cookie or bearer token), role
checks, CSRF on state-changing requests, and the department scope every alert query must honour."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from threading import Lock
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.auth.roles import ROLE_LABELS, Role, allowed
from api.auth.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SessionCodec,
    SessionData,
    csrf_matches,
    password_version,
    session_alive,
)
from api.auth.tokens import user_for_token
from api.models import UserRow
from api.problems import LoginRequired, ProblemError
from yuqing.clock import Clock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage import SearchStore, open_store

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class AppState:
    settings: Settings
    db: Database
    clock: Clock
    codec: SessionCodec
    store_factory: Callable[[], SearchStore]
    _store: SearchStore | None = None
    _lock: Lock = field(default_factory=Lock)

    @property
    def store(self) -> SearchStore:
        with self._lock:
            if self._store is None:
                self._store = self.store_factory()
            return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def default_store_factory(settings: Settings) -> Callable[[], SearchStore]:
    def factory() -> SearchStore:
        store = open_store(settings.search_url, index_prefix=settings.es_index_prefix)
        store.ensure_schema()
        return store

    return factory


def app_state(request: Request) -> AppState:
    return request.app.state.yuqing


State = Annotated[AppState, Depends(app_state)]


def db_session(state: State) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on any error."""
    with state.db.transaction() as session:
        yield session


DB = Annotated[Session, Depends(db_session)]


def now(state: State) -> datetime:
    return state.clock.now()


Now = Annotated[datetime, Depends(now)]


@dataclass(frozen=True)
class Principal:
    id: int
    name: str
    display_name: str
    role: Role
    department_id: str | None
    via: Literal["session", "token"]

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def department_scope(self) -> str | None:
        """The only department whose alerts this user may see, or None for every department."""
        return self.department_id if self.role is Role.DEPARTMENT else None

    @property
    def channel(self) -> Literal["console", "api"]:
        """How the audit log names where an action came from."""
        return "console" if self.via == "session" else "api"

    def can(self, permission: str) -> bool:
        return allowed(self.role, permission)

    @classmethod
    def of(cls, user: UserRow, via: Literal["session", "token"]) -> Principal:
        return cls(
            user.id, user.name, user.display_name or user.name, Role(user.role), user.department_id, via
        )


def browser_session(request: Request) -> SessionData:
    return request.state.session


def authenticate(request: Request, session: Session, when: datetime) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        user = user_for_token(session, header[7:].strip(), now=when)
        if user is None:
            raise ProblemError(
                401,
                "invalid-token",
                "API 令牌无效或已吊销",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return Principal.of(user, "token")
    browser = browser_session(request)
    if browser.uid is None:
        return None
    user = session.get(UserRow, browser.uid)
    if user is None or not user.active or browser.pwv != password_version(user.password_hash):
        return None  # gone, deactivated, or the password was changed since this session logged in
    if not session_alive(session, browser.sid, user.id, now=when):
        return None  # logged out, or ended by a password reset
    return Principal.of(user, "session")


async def check_csrf(request: Request, principal: Principal) -> None:
    """A cookie-authenticated request that changes state must carry the session's CSRF token."""
    if request.method in SAFE_METHODS or principal.via == "token":
        return
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not csrf_matches(browser_session(request).csrf, given):
        raise ProblemError(403, "csrf", "CSRF 校验失败：请刷新页面后重试")


async def api_principal(request: Request, session: DB, when: Now) -> Principal:
    principal = authenticate(request, session, when)
    if principal is None:
        raise ProblemError(
            401,
            "unauthenticated",
            "需要登录或 API 令牌（Authorization: Bearer …）",
            headers={"WWW-Authenticate": "Bearer"},
        )
    await check_csrf(request, principal)
    return principal


async def console_principal(request: Request, session: DB, when: Now) -> Principal:
    principal = authenticate(request, session, when)
    if principal is None:
        raise LoginRequired()
    await check_csrf(request, principal)
    return principal


def _require(base: Callable[..., Any], permissions: tuple[str, ...]) -> Callable[..., Any]:
    async def dependency(request: Request, principal: Principal = Depends(base)) -> Principal:
        request.state.principal = principal
        missing = [p for p in permissions if not principal.can(p)]
        if missing:
            from api.auth.roles import PERMISSION_LABELS

            raise ProblemError(
                403,
                "forbidden",
                f"当前角色（{principal.role_label}）无权执行：{PERMISSION_LABELS[missing[0]]}",
            )
        return principal

    return dependency


def api_user(*permissions: str) -> Any:
    """``Depends`` for an API route: a token or session user holding every permission."""
    return Depends(_require(api_principal, permissions))


def console_user(*permissions: str) -> Any:
    """``Depends`` for a console page: redirects to the login page when nobody is logged in."""
    return Depends(_require(console_principal, permissions))
