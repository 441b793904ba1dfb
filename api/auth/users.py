"""Creating users and checking their logins."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.passwords import hash_password, needs_rehash, verify_password
from api.auth.roles import Role
from api.models import UserRow
from yuqing.clock import Clock, SystemClock
from yuqing.db.session import Database


class UserError(ValueError):
    """The user cannot be created as asked; the message says why."""


class DemoLogin(NamedTuple):
    name: str
    password: str
    role: str


def create_user(
    session: Session,
    name: str,
    role: str,
    password: str,
    *,
    department_id: str | None = None,
    display_name: str = "",
    now: datetime,
) -> UserRow:
    try:
        role = Role(role)
    except ValueError:
        raise UserError(f"未知角色 {role!r}; 可选: {', '.join(r.value for r in Role)}") from None
    if not name or len(name) > 80 or not name.isprintable() or " " in name:
        raise UserError("用户名须为 1-80 个可见字符，不含空格")
    if role is Role.DEPARTMENT and not department_id:
        raise UserError("部门处置人必须指定 --department")
    if role is not Role.DEPARTMENT and department_id:
        raise UserError("只有部门处置人（department）可以指定部门")
    if session.scalar(select(UserRow).where(UserRow.name == name)) is not None:
        raise UserError(f"用户 {name} 已存在")
    try:
        password_hash = hash_password(password)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    user = UserRow(
        name=name,
        display_name=display_name or name,
        role=role.value,
        department_id=department_id,
        password_hash=password_hash,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def user_by_name(session: Session, name: str) -> UserRow | None:
    return session.scalar(select(UserRow).where(UserRow.name == name))


def check_password(session: Session, name: str, password: str) -> UserRow | None:
    """The active user with this name and password, else None (same cost either way)."""
    user = user_by_name(session, name)
    if user is None or not user.active:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))

DEMO_USERS: tuple[tuple[str, Role, str], ...] = (
    ("admin", Role.ADMIN, "系统管理员"),
    ("duty", Role.DUTY_OFFICER, "值班员"),
    ("dept", Role.DEPARTMENT, "部门处置人"),
    ("leader", Role.LEADER, "值班领导"),
    ("analyst", Role.ANALYST, "舆情分析员"),
)


def ensure_demo_users(
    db: Database, department_id: str | None = None, *, clock: Clock | None = None
) -> list[DemoLogin]:
    """One user per role with a fresh random password each (existing demo users get a new password),
    so ``yuqing demo`` can print working logins. The department handler belongs to ``department_id``
    (default: the first department of the directory)."""
    now = (clock or SystemClock()).now()
    logins: list[DemoLogin] = []
    with db.transaction() as session:
        department_id = department_id or first_department_id(session) or DEMO_FALLBACK_DEPARTMENT
        for name, role, display in DEMO_USERS:
            password = secrets.token_urlsafe(9)
            user = user_by_name(session, name)
            if user is None:
                create_user(
                    session,
                    name,
                    role,
                    password,
                    now=now,
                    display_name=display,
                    department_id=department_id if role is Role.DEPARTMENT else None,
                )
            else:
                user.password_hash = hash_password(password)
                user.role = role.value
                user.active = True
                user.department_id = department_id if role is Role.DEPARTMENT else None
            logins.append(DemoLogin(name, password, role.value))
    return logins


DEMO_FALLBACK_DEPARTMENT = "demo"


def first_department_id(session: Session) -> str | None:
    """The duty office of the department directory (the stored one, else the configured YAML file): it
    receives every alert that cannot be placed, so the demo's department handler has work to see."""
    from alerting.directory import DirectoryError
    from alerting.worker import load_directory
    from yuqing.settings import get_settings

    try:
        return load_directory(session, get_settings()).duty_office().id
    except (DirectoryError, KeyError):
        return None
