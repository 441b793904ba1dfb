"""Login, logout, who am I, and API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select

from api.auth.login import attempt_login
from api.auth.sessions import SessionData, password_version
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
    start_session(browser, user)
    return me_out(Principal.of(user, "session"), browser.csrf)


def start_session(browser: SessionData, user: UserRow) -> None:
    """Log ``user`` in on this browser, with a fresh CSRF token (no fixation of the old one)."""
    fresh = SessionData(uid=user.id, changed=True, pwv=password_version(user.password_hash))
    browser.uid, browser.csrf, browser.pwv, browser.changed = fresh.uid, fresh.csrf, fresh.pwv, True


@router.post("/logout", status_code=204, summary="退出登录")
def logout(browser: Session_, principal: Principal = api_user()) -> Response:
    fresh = SessionData(changed=True)
    browser.uid, browser.csrf, browser.changed = None, fresh.csrf, True
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
