"""The console's user administration (系统管理员 only): the user list, a form to create a user, and one
user's page to change role / department / display name, deactivate or reactivate, and reset the
password. The rules and the audit entries are the API's (``api.auth.users``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.auth.roles import ROLE_LABELS, Role
from api.auth.users import (
    UserConflict,
    UserError,
    UserNotFound,
    admin_create_user,
    admin_reset_password,
    admin_update_user,
    department_names,
    get_user,
)
from api.console.render import render
from api.console.views import see_other
from api.deps import DB, Now, Principal, State, console_user
from api.ids import UserId
from api.models import UserRow
from api.problems import ProblemError
from api.routes.users import all_users
from yuqing.settings import Settings

router = APIRouter(include_in_schema=False)

DONE = {
    "created": "已新建用户 {name}",
    "updated": "已保存 {name} 的修改",
    "deactivated": "已停用 {name}：其登录会话与 API 令牌已立即失效",
    "reactivated": "已重新启用 {name}",
    "password": "已重置 {name} 的密码，其会话已结束、API 令牌已吊销（新密码请通过线下渠道告知本人）",
}

Text80 = Annotated[str, Form(max_length=80)]
Reason = Annotated[str, Form(max_length=2000)]
Password = Annotated[str, Form(max_length=200)]


ADMIN = console_user("users.manage")


def _status(exc: UserError) -> int:
    return 409 if isinstance(exc, UserConflict) else 422


def _page(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    target: UserRow | None = None,
    error: str | None = None,
    form: dict[str, Any] | None = None,
    flash: str | None = None,
    status_code: int = 200,
) -> Response:
    departments = department_names(session, settings)
    context = {
        "nav": "users",
        "users": all_users(session) if target is None else [],
        "target": target,
        "departments": departments,
        "roles": [(r.value, ROLE_LABELS[r]) for r in Role],
        "error": error,
        "form": form or {},
        "flash": flash,
    }
    return render(
        request, "users.html", context, status_code=status_code, headers={"Cache-Control": "no-store"}
    )


def _flash(session: Session, done: str, user_id: int | None) -> str | None:
    if done not in DONE or user_id is None:
        return None
    try:
        return DONE[done].format(name=get_user(session, user_id).name)
    except UserNotFound:
        return None


def _target(session: Session, user_id: int) -> UserRow:
    try:
        return get_user(session, user_id)
    except UserNotFound as exc:
        raise ProblemError(404, "not-found", str(exc)) from None


@router.get("/users")
def users_page(
    request: Request,
    session: DB,
    state: State,
    done: str = "",
    id: int | None = None,
    principal: Principal = ADMIN,
) -> Response:
    return _page(request, session, state.settings, flash=_flash(session, done, id))


@router.post("/users")
def create_user(
    request: Request,
    session: DB,
    state: State,
    now: Now,
    name: Text80,
    role: Annotated[str, Form(max_length=20)],
    password: Password,
    display_name: Text80 = "",
    department_id: Annotated[str, Form(max_length=40)] = "",
    principal: Principal = ADMIN,
) -> Response:
    try:
        user = admin_create_user(
            session,
            actor=principal.name,
            actor_id=principal.id,
            channel=principal.channel,
            name=name.strip(),
            role=role,
            password=password,
            display_name=display_name,
            department_id=department_id or None,
            departments=department_names(session, state.settings),
            now=now,
        )
        session.commit()
    except UserError as exc:
        session.rollback()
        form = {"name": name, "display_name": display_name, "role": role, "department_id": department_id}
        return _page(
            request,
            session,
            state.settings,
            error=f"无法新建用户：{exc}",
            form=form,
            status_code=_status(exc),
        )
    return see_other(f"/users?done=created&id={user.id}")


@router.get("/users/{user_id}")
def user_page(
    request: Request,
    user_id: UserId,
    session: DB,
    state: State,
    done: str = "",
    principal: Principal = ADMIN,
) -> Response:
    target = _target(session, user_id)
    return _page(request, session, state.settings, target=target, flash=_flash(session, done, user_id))


def _update(
    request: Request,
    session: Session,
    settings: Settings,
    principal: Principal,
    user_id: int,
    changes: dict[str, Any],
    reason: str,
    now: Any,
    done: str,
) -> Response:
    target = _target(session, user_id)
    try:
        admin_update_user(
            session,
            target,
            actor=principal.name,
            actor_id=principal.id,
            channel=principal.channel,
            changes=changes,
            departments=department_names(session, settings),
            reason=reason,
            now=now,
        )
        session.commit()
    except UserError as exc:
        session.rollback()
        return _page(
            request,
            session,
            settings,
            target=_target(session, user_id),
            error=str(exc),
            form={**changes, "reason": reason},
            status_code=_status(exc),
        )
    return see_other(f"/users/{user_id}?done={done}")


@router.post("/users/{user_id}")
def update_user(
    request: Request,
    user_id: UserId,
    session: DB,
    state: State,
    now: Now,
    role: Annotated[str, Form(max_length=20)],
    display_name: Text80 = "",
    department_id: Annotated[str, Form(max_length=40)] = "",
    reason: Reason = "",
    principal: Principal = ADMIN,
) -> Response:
    changes = {"display_name": display_name, "role": role, "department_id": department_id or None}
    return _update(request, session, state.settings, principal, user_id, changes, reason, now, "updated")


@router.post("/users/{user_id}/deactivate")
def deactivate(
    request: Request,
    user_id: UserId,
    session: DB,
    state: State,
    now: Now,
    reason: Reason = "",
    principal: Principal = ADMIN,
) -> Response:
    changes = {"active": False}
    return _update(request, session, state.settings, principal, user_id, changes, reason, now, "deactivated")


@router.post("/users/{user_id}/reactivate")
def reactivate(
    request: Request,
    user_id: UserId,
    session: DB,
    state: State,
    now: Now,
    reason: Reason = "",
    principal: Principal = ADMIN,
) -> Response:
    changes = {"active": True}
    return _update(request, session, state.settings, principal, user_id, changes, reason, now, "reactivated")


@router.post("/users/{user_id}/password")
def reset_password(
    request: Request,
    user_id: UserId,
    session: DB,
    state: State,
    now: Now,
    password: Password,
    reason: Reason = "",
    principal: Principal = ADMIN,
) -> Response:
    target = _target(session, user_id)
    try:
        admin_reset_password(
            session,
            target,
            password,
            actor=principal.name,
            actor_id=principal.id,
            channel=principal.channel,
            reason=reason,
            now=now,
        )
        session.commit()
    except UserError as exc:
        session.rollback()
        return _page(
            request,
            session,
            state.settings,
            target=_target(session, user_id),
            error=f"无法重置密码：{exc}",
            form={"reason": reason},
            status_code=_status(exc),
        )
    return see_other(f"/users/{user_id}?done=password")
