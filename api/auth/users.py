"""Creating users and checking their logins."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.passwords import hash_password, needs_rehash, verify_password
from api.auth.roles import Role
from api.auth.sessions import end_user_sessions
from api.auth.tokens import revoke_user_tokens
from api.models import UserRow
from yuqing import audit
from yuqing.audit import Channel
from yuqing.clock import Clock, SystemClock
from yuqing.db.session import Database
from yuqing.settings import Settings


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
    from alerting.directory import DirectoryError, load_directory
    from yuqing.settings import get_settings

    try:
        return load_directory(session, get_settings()).duty_office().id
    except (DirectoryError, KeyError):
        return None


# -- administration (the console's 用户管理 page and /api/users) -------------------------------------


class UserConflict(UserError):
    """The change is well-formed but not allowed in the current state (duplicate, last admin …)."""


class UserNotFound(UserError):
    """No user with that id."""


def department_names(session: Session, settings: Settings) -> dict[str, str]:
    """Department id → name from the directory the alerting uses (stored, else the YAML file); empty when
    the directory cannot be read (lists then show ids, and no department can be given)."""
    from alerting.directory import department_names as directory_names

    return directory_names(session, settings).names


def check_department(
    department_id: str | None, departments: Mapping[str, str], *, unavailable: str | None = None
) -> None:
    """A given department must be in the directory (``department_names``): the one rule for the console,
    /api/users and ``yuqing users create``. ``unavailable``: why the directory could not be read, if known,
    for the message."""
    if not department_id or department_id in departments:
        return
    if unavailable:
        raise UserError(f"部门目录无法读取，不能核对部门 {department_id}：{unavailable}")
    raise UserError(f"没有编号为 {department_id} 的部门：部门目录（已导入数据库的，否则 YAML 文件）中没有它")


def get_user(session: Session, user_id: int) -> UserRow:
    user = session.get(UserRow, user_id) if 0 < user_id < 2**31 else None
    if user is None:
        raise UserNotFound(f"没有编号为 {user_id} 的用户")
    return user


def _other_active_admins(session: Session, user: UserRow) -> int:
    """Active admins besides ``user``, with their rows locked (PostgreSQL) so two admins cannot demote
    each other at the same moment and leave none."""
    rows = session.scalars(
        select(UserRow.id)
        .where(UserRow.role == Role.ADMIN.value, UserRow.active.is_(True), UserRow.id != user.id)
        .with_for_update()
    ).all()
    return len(rows)


def _keep_an_admin(session: Session, user: UserRow, *, role: str, active: bool) -> None:
    was_admin = user.active and user.role == Role.ADMIN.value
    stays_admin = active and role == Role.ADMIN.value
    if was_admin and not stays_admin and _other_active_admins(session, user) == 0:
        raise UserConflict(f"{user.name} 是最后一名在用的系统管理员：请先为其他人授予系统管理员角色")


def admin_create_user(
    session: Session,
    *,
    actor: str,
    actor_id: int,
    channel: Channel,
    name: str,
    role: str,
    password: str,
    display_name: str = "",
    department_id: str | None = None,
    departments: Mapping[str, str],
    reason: str | None = None,
    now: datetime,
) -> UserRow:
    """Create a user as an administrator would: the CLI's rules plus the department directory, audited
    (without the password)."""
    department_id = department_id or None
    if user_by_name(session, name) is not None:
        raise UserConflict(f"用户 {name} 已存在")
    if role == Role.DEPARTMENT.value:
        if not department_id:
            raise UserError("部门处置人必须指定部门")
        check_department(department_id, departments)
    user = create_user(
        session, name, role, password, department_id=department_id, display_name=display_name.strip(), now=now
    )
    audit.record(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action="user.create",
        object_type="user",
        object_id=str(user.id),
        reason=(reason or "").strip() or None,
        details={
            "name": user.name,
            "role": user.role,
            "department_id": user.department_id,
            "display_name": user.display_name,
            "by_user_id": actor_id,
        },
    )
    return user


def _role_of(changes: Mapping[str, Any], user: UserRow) -> str:
    role = str(changes.get("role") or user.role)
    try:
        Role(role)
    except ValueError:
        raise UserError(f"未知角色 {role!r}; 可选: {', '.join(r.value for r in Role)}") from None
    return role


def _department_of(
    changes: Mapping[str, Any], user: UserRow, role: str, departments: Mapping[str, str]
) -> str | None:
    """The department after the change: only a department handler has one, from the directory."""
    if "department_id" in changes:
        department_id = changes["department_id"] or None
    else:
        department_id = user.department_id if role == Role.DEPARTMENT.value else None
    if role == Role.DEPARTMENT.value and not department_id:
        raise UserError("部门处置人必须指定部门")
    if role != Role.DEPARTMENT.value and department_id:
        raise UserError("只有部门处置人（department）可以指定部门")
    if department_id != user.department_id:
        check_department(department_id, departments)
    return department_id


def _wanted(user: UserRow, changes: Mapping[str, Any], departments: Mapping[str, str]) -> dict[str, Any]:
    """The user's fields as ``changes`` ask for them (unchanged ones as they are), checked."""
    role = _role_of(changes, user)
    department_id = _department_of(changes, user, role, departments)
    active = bool(changes["active"]) if changes.get("active") is not None else user.active
    display_name = changes.get("display_name")
    display_name = display_name.strip() if isinstance(display_name, str) and display_name.strip() else None
    return {
        "display_name": display_name if display_name is not None else user.display_name,
        "role": role,
        "department_id": department_id,
        "active": active,
    }


def _check_change(
    session: Session, user: UserRow, diff: dict[str, list[Any]], *, reason: str | None, actor_id: int
) -> None:
    """A reason for anything but the display name; no self-deactivation; an active admin remains."""
    if set(diff) - {"display_name"} and not (reason or "").strip():
        raise UserError("修改角色、部门或停用/启用账号须填写理由（记入审计日志）")
    if user.id == actor_id and "active" in diff:
        raise UserConflict("不能停用自己的账号")
    role = diff["role"][1] if "role" in diff else user.role
    active = diff["active"][1] if "active" in diff else user.active
    _keep_an_admin(session, user, role=role, active=active)


def _update_action(diff: dict[str, list[Any]], active: bool) -> str:
    if set(diff) == {"active"}:
        return "user.deactivate" if not active else "user.reactivate"
    return "user.update"


def admin_update_user(
    session: Session,
    user: UserRow,
    *,
    actor: str,
    actor_id: int,
    channel: Channel,
    changes: Mapping[str, Any],
    departments: Mapping[str, str],
    reason: str | None = None,
    now: datetime,
) -> dict[str, list[Any]]:
    """Apply ``changes`` (any of display_name, role, department_id, active) and audit them; returns
    ``{field: [old, new]}`` for what actually changed. A role other than ``department`` drops the
    department; ``department`` needs one from the directory. An admin may not deactivate themself, and
    the last active admin stays an active admin."""
    wanted = _wanted(user, changes, departments)
    diff = {k: [getattr(user, k), v] for k, v in wanted.items() if getattr(user, k) != v}
    if not diff:
        return {}
    _check_change(session, user, diff, reason=reason, actor_id=actor_id)
    for key, (_, new) in diff.items():
        setattr(user, key, new)
    audit.record(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action=_update_action(diff, wanted["active"]),
        object_type="user",
        object_id=str(user.id),
        reason=(reason or "").strip() or None,
        details={"name": user.name, "changes": diff, "by_user_id": actor_id},
    )
    return diff


def admin_reset_password(
    session: Session,
    user: UserRow,
    password: str,
    *,
    actor: str,
    actor_id: int,
    channel: Channel,
    reason: str | None = None,
    now: datetime,
) -> None:
    """Set a new password (the same minimum as at creation), end the user's browser sessions and revoke
    their API tokens (whoever reset it for a leaked password must not leave a way in); the audit entry
    never holds the password."""
    if not (reason or "").strip():
        raise UserError("重置密码须填写理由（记入审计日志）")
    try:
        user.password_hash = hash_password(password)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    sessions_ended = end_user_sessions(session, user.id)
    tokens_revoked = revoke_user_tokens(session, user.id, now=now)
    audit.record(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action="user.password_reset",
        object_type="user",
        object_id=str(user.id),
        reason=(reason or "").strip() or None,
        details={
            "name": user.name,
            "by_user_id": actor_id,
            "sessions_ended": sessions_ended,
            "tokens_revoked": tokens_revoked,
        },
    )
