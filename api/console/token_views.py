"""The console page where a user manages their own API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from sqlalchemy import select
from starlette.responses import Response

from api.auth.tokens import issue_token, revoke_token
from api.console.render import render
from api.console.views import see_other
from api.deps import DB, Now, Principal, console_user
from api.ids import TokenId
from api.models import ApiTokenRow, UserRow
from api.problems import ProblemError

router = APIRouter(include_in_schema=False)


def _page(request: Request, session: DB, principal: Principal, new_token: str | None = None) -> Response:
    tokens = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.user_id == principal.id).order_by(ApiTokenRow.id.desc())
    ).all()
    return render(
        request,
        "tokens.html",
        {"tokens": tokens, "new_token": new_token, "nav": "tokens"},
        headers={"Cache-Control": "no-store"},
    )


@router.get("/tokens")
def tokens_page(request: Request, session: DB, principal: Principal = console_user("tokens.own")) -> Response:
    return _page(request, session, principal)


@router.post("/tokens")
def create_token(
    request: Request,
    session: DB,
    now: Now,
    name: Annotated[str, Form(min_length=1, max_length=80)],
    principal: Principal = console_user("tokens.own"),
) -> Response:
    user = session.get(UserRow, principal.id)
    assert user is not None
    _, plain = issue_token(session, user, name, now=now)
    session.commit()
    return _page(request, session, principal, new_token=plain)


@router.post("/tokens/{token_id}/revoke")
def revoke(
    token_id: TokenId, session: DB, now: Now, principal: Principal = console_user("tokens.own")
) -> Response:
    user = session.get(UserRow, principal.id)
    if user is None or not revoke_token(session, user, token_id, now=now):
        raise ProblemError(404, "not-found", f"没有编号为 {token_id} 的有效令牌")
    session.commit()
    return see_other("/tokens")
