"""User administration (system administrators only): list, create, change role / department / display
name, deactivate and reactivate, reset a password. Every change is written to the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import APIRouter, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

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
from api.deps import DB, Now, Principal, State, api_user
from api.ids import UserId
from api.models import UserRow
from api.problems import ProblemError
from api.schemas import PasswordResetIn, UserAdminOut, UserCreateIn, UserUpdateIn

router = APIRouter(prefix="/users", tags=["users"])

ADMIN = api_user("users.manage")


def role_label(role: str) -> str:
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role


def user_out(user: UserRow, departments: dict[str, str]) -> UserAdminOut:
    return UserAdminOut(
        id=user.id,
        name=user.name,
        display_name=user.display_name or user.name,
        role=user.role,
        role_label=role_label(user.role),
        department_id=user.department_id,
        department_name=departments.get(user.department_id or ""),
        active=user.active,
        created_at=user.created_at,
    )


def all_users(session: Session) -> list[UserRow]:
    return list(session.scalars(select(UserRow).order_by(UserRow.active.desc(), UserRow.name)))


@contextmanager
def user_problems() -> Iterator[None]:
    """UserError and its kinds as problem details: 404 unknown user, 409 not allowed now, 422 invalid."""
    try:
        yield
    except UserNotFound as exc:
        raise ProblemError(404, "not-found", str(exc)) from None
    except UserConflict as exc:
        raise ProblemError(409, "user-conflict", str(exc)) from None
    except UserError as exc:
        raise ProblemError(422, "invalid-user", str(exc)) from None


@router.get("", response_model=list[UserAdminOut], summary="用户列表（系统管理员）")
def list_users(session: DB, state: State, principal: Principal = ADMIN) -> list[UserAdminOut]:
    departments = department_names(session, state.settings)
    return [user_out(u, departments) for u in all_users(session)]


@router.post("", response_model=UserAdminOut, status_code=201, summary="新建用户（系统管理员）")
def create_user(
    body: UserCreateIn, session: DB, state: State, now: Now, principal: Principal = ADMIN
) -> UserAdminOut:
    departments = department_names(session, state.settings)
    with user_problems():
        user = admin_create_user(
            session,
            actor=principal.name,
            actor_id=principal.id,
            channel=principal.channel,
            name=body.name,
            role=body.role,
            password=body.password,
            display_name=body.display_name,
            department_id=body.department_id,
            departments=departments,
            reason=body.reason,
            now=now,
        )
    session.commit()
    return user_out(user, departments)


@router.get("/{user_id}", response_model=UserAdminOut, summary="一个用户（系统管理员）")
def get_one(user_id: UserId, session: DB, state: State, principal: Principal = ADMIN) -> UserAdminOut:
    with user_problems():
        user = get_user(session, user_id)
    return user_out(user, department_names(session, state.settings))


@router.patch(
    "/{user_id}",
    response_model=UserAdminOut,
    summary="修改角色、部门、显示名，停用或启用（系统管理员；须写明理由）",
)
def update_user(
    user_id: UserId, body: UserUpdateIn, session: DB, state: State, now: Now, principal: Principal = ADMIN
) -> UserAdminOut:
    departments = department_names(session, state.settings)
    changes = body.model_dump(include=body.model_fields_set - {"reason"})
    with user_problems():
        user = get_user(session, user_id)
        admin_update_user(
            session,
            user,
            actor=principal.name,
            actor_id=principal.id,
            channel=principal.channel,
            changes=changes,
            departments=departments,
            reason=body.reason,
            now=now,
        )
    session.commit()
    return user_out(user, departments)


@router.post("/{user_id}/password", status_code=204, summary="重置密码（系统管理员；须写明理由）")
def reset_password(
    user_id: UserId, body: PasswordResetIn, session: DB, now: Now, principal: Principal = ADMIN
) -> Response:
    with user_problems():
        user = get_user(session, user_id)
        admin_reset_password(
            session,
            user,
            body.password,
            actor=principal.name,
            actor_id=principal.id,
            channel=principal.channel,
            reason=body.reason,
            now=now,
        )
    session.commit()
    return Response(status_code=204)
