"""Login, logout, who am I, and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from api.auth.login import attempt_login
from api.auth.sessions import SessionData, end_session, open_session, password_version
from api.auth.tokens import issue_token, revoke_token
from api.deps import DB, Now, Principal, api_user, browser_session
from api.ids import TokenId
from api.models import ApiTokenRow, UserRow
from api.problems import ProblemError
from api.schemas import LoginIn, MeOut, NewTokenOut, TokenIn, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"])

Session_ = Annotated[SessionData, Depends(browser_session)]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def me_out(principal: Principal, csrf: str | None) -> MeOut:
    return MeOut(
        name=principal.name,
        display_name=principal.display_name,
        role=principal.role.value,
        role_label=principal.role_label,
        department_id=principal.department_id,
        csrf_token=csrf,
    )


@router.post("/login", response_model=MeOut, summary="登录（JSON），建立浏览器会话")
def login(body: LoginIn, request: Request, session: DB, now: Now, browser: Session_) -> MeOut:
    user = attempt_login(session, body.name, body.password, client_ip(request), now=now)
    start_session(session, browser, user, now=now)
    session.commit()  # before the cookie reaches the browser
    return me_out(Principal.of(user, "session"), browser.csrf)


def start_session(session: OrmSession, browser: SessionData, user: UserRow, *, now: datetime) -> None:
    """Log ``user`` in on this browser: a new server-side session and a fresh CSRF token (no fixation of
    the old ones)."""
    end_session(session, browser.sid)
    fresh = SessionData(
        uid=user.id,
        changed=True,
        pwv=password_version(user.password_hash),
        sid=open_session(session, user, now=now),
    )
    browser.uid, browser.csrf, browser.pwv, browser.sid = fresh.uid, fresh.csrf, fresh.pwv, fresh.sid
    browser.changed = True


def end_browser_session(session: OrmSession, browser: SessionData) -> None:
    """Log out: the server-side session ends (a saved copy of the cookie no longer works) and this browser
    gets an anonymous session with a new CSRF token."""
    end_session(session, browser.sid)
    fresh = SessionData(changed=True)
    browser.uid, browser.csrf, browser.pwv, browser.sid, browser.changed = None, fresh.csrf, None, None, True


@router.post("/logout", status_code=204, summary="退出登录（结束服务器端会话）")
def logout(session: DB, browser: Session_, principal: Principal = api_user()) -> Response:
    end_browser_session(session, browser)
    session.commit()
    return Response(status_code=204)


@router.get("/me", response_model=MeOut, summary="当前用户")
def me(browser: Session_, principal: Principal = api_user()) -> MeOut:
    return me_out(principal, browser.csrf if principal.via == "session" else None)


def _token_out(row: ApiTokenRow) -> TokenOut:
    return TokenOut(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


@router.get("/tokens", response_model=list[TokenOut], summary="我的 API 令牌")
def list_tokens(session: DB, principal: Principal = api_user("tokens.own")) -> list[TokenOut]:
    rows = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.user_id == principal.id).order_by(ApiTokenRow.id)
    ).all()
    return [_token_out(r) for r in rows]


@router.post("/tokens", response_model=NewTokenOut, status_code=201, summary="新建 API 令牌（只显示一次）")
def create_token(
    body: TokenIn, session: DB, now: Now, principal: Principal = api_user("tokens.own")
) -> NewTokenOut:
    user = session.get(UserRow, principal.id)
    assert user is not None
    row, plain = issue_token(session, user, body.name, now=now)
    session.commit()
    return NewTokenOut(**_token_out(row).model_dump(), token=plain)


@router.delete("/tokens/{token_id}", status_code=204, summary="吊销 API 令牌")
def delete_token(
    token_id: TokenId, session: DB, now: Now, principal: Principal = api_user("tokens.own")
) -> Response:
    user = session.get(UserRow, principal.id)
    if user is None or not revoke_token(session, user, token_id, now=now):
        raise ProblemError(404, "not-found", f"没有编号为 {token_id} 的有效令牌")
    session.commit()
    return Response(status_code=204)
