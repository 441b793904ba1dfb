"""User administration through /api/users and the console's /users page: only admins, CSRF, the CLI's
rules plus the department directory, last-admin protection, deactivation that stops logins, sessions
and tokens at once, password resets, and an audit entry for every change (never with a password)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from factories import DEPT_A, PASSWORD, login, page_csrf
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.auth.tokens import issue_token
from api.auth.users import user_by_name
from api.models import UserRow
from yuqing.clock import FakeClock
from yuqing.db.models import AuditLog
from yuqing.db.session import Database

NEW_PASSWORD = "river-clean-2026"


def _admin(client: TestClient) -> dict[str, str]:
    """Log the admin in; the headers a cookie-authenticated state change needs."""
    return {"X-CSRF-Token": login(client, "admin")}


def _user_id(database: Database, name: str) -> int:
    with database.transaction() as session:
        user = user_by_name(session, name)
        assert user is not None
        return user.id


def _token(database: Database, clock: FakeClock, name: str) -> dict[str, str]:
    with database.transaction() as session:
        user = user_by_name(session, name)
        assert user is not None
        return {"Authorization": f"Bearer {issue_token(session, user, 'test', now=clock.now())[1]}"}


def _audit(database: Database, action: str | None = None) -> list[AuditLog]:
    with database.transaction() as session:
        query = select(AuditLog).where(AuditLog.object_type == "user").order_by(AuditLog.id)
        if action:
            query = query.where(AuditLog.action == action)
        rows = list(session.scalars(query))
        session.expunge_all()
        return rows


def _problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["detail"])


def _new_dept_user(client: TestClient, headers: dict[str, str], name: str = "zhang") -> dict[str, Any]:
    response = client.post(
        "/api/users",
        json={
            "name": name,
            "display_name": "张三",
            "role": "department",
            "department_id": DEPT_A,
            "password": NEW_PASSWORD,
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_admin_lists_users_with_chinese_roles_and_department_names(client: TestClient) -> None:
    _admin(client)
    users = {u["name"]: u for u in client.get("/api/users").json()}
    assert set(users) == {"admin", "duty", "dept_a", "dept_b", "leader", "analyst"}
    assert users["duty"]["role_label"] == "值班员"
    assert users["dept_a"]["role_label"] == "部门处置人"
    assert users["dept_a"]["department_id"] == DEPT_A
    assert users["dept_a"]["department_name"] == "安庆市生态环境局"
    assert users["leader"]["department_name"] is None and users["leader"]["active"] is True
    assert "password_hash" not in users["admin"] and users["admin"]["created_at"]
    page = client.get("/users")
    assert page.status_code == 200
    assert "安庆市生态环境局" in page.text and "部门处置人" in page.text and "值班员" in page.text
    assert 'href="/users"' in page.text  # the admin's nav link


def test_admin_creates_a_department_user_who_logs_in_to_their_department(
    client: TestClient, database: Database
) -> None:
    headers = _admin(client)
    created = _new_dept_user(client, headers)
    assert created["role_label"] == "部门处置人" and created["department_name"] == "安庆市生态环境局"
    assert created["active"] is True and created["display_name"] == "张三"
    entry = _audit(database, "user.create")[-1]
    assert (entry.actor, entry.channel, entry.object_id) == ("admin", "console", str(created["id"]))
    assert entry.details["name"] == "zhang"
    assert entry.details["role"] == "department" and entry.details["department_id"] == DEPT_A
    assert NEW_PASSWORD not in json.dumps(entry.details) + (entry.reason or "")
    assert NEW_PASSWORD not in json.dumps(created)

    client.cookies.clear()
    login(client, "zhang", NEW_PASSWORD)
    me = client.get("/api/auth/me").json()
    assert me["role"] == "department" and me["department_id"] == DEPT_A
    assert client.get("/department").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"role": "department"}, 422, "部门处置人必须指定"),
        ({"role": "department", "department_id": "no-such-dept"}, 422, "没有编号为 no-such-dept 的部门"),
        ({"role": "leader", "department_id": DEPT_A}, 422, "只有部门处置人（department）可以指定部门"),
        ({"role": "analyst", "password": "short"}, 422, "密码至少 8 位"),
        ({"role": "analyst", "name": "two words"}, 422, "用户名须为 1-80 个可见字符，不含空格"),
        ({"role": "analyst", "name": ""}, 422, "用户名须为"),
        ({"role": "analyst", "name": "duty"}, 409, "用户 duty 已存在"),
        ({"role": "superuser"}, 422, "role"),
        ({"role": "analyst", "display_name": "a\x00b"}, 422, "display_name"),
        ({"role": "department", "department_id": "d" * 41}, 422, "department_id"),
    ],
)
def test_create_refuses_invalid_users_with_a_clear_message(
    client: TestClient, database: Database, body: dict[str, Any], status: int, message: str
) -> None:
    headers = _admin(client)
    response = client.post(
        "/api/users", json={"name": "wang", "password": NEW_PASSWORD, **body}, headers=headers
    )
    assert message in _problem(response, status)
    assert not _audit(database, "user.create")


def test_role_change_needs_a_reason_takes_effect_at_once_and_is_audited(
    client: TestClient, database: Database, clock: FakeClock
) -> None:
    dept_token = _token(database, clock, "dept_a")
    assert client.get("/api/auth/me", headers=dept_token).json()["role"] == "department"
    headers = _admin(client)
    uid = _user_id(database, "dept_a")
    missing = client.patch(f"/api/users/{uid}", json={"role": "duty_officer"}, headers=headers)
    assert "须填写理由" in _problem(missing, 422)

    changed = client.patch(
        f"/api/users/{uid}", json={"role": "duty_officer", "reason": "调入值班室"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["role_label"] == "值班员" and changed.json()["department_id"] is None
    me = client.get("/api/auth/me", headers=dept_token).json()
    assert me["role"] == "duty_officer" and me["department_id"] is None

    back = client.patch(
        f"/api/users/{uid}",
        json={"role": "department", "department_id": "hf-sthj", "display_name": "李四", "reason": "回部门"},
        headers=headers,
    )
    assert back.json()["department_name"] == "合肥市生态环境局" and back.json()["display_name"] == "李四"
    to_nowhere = client.patch(
        f"/api/users/{uid}", json={"department_id": None, "reason": "x"}, headers=headers
    )
    assert "部门处置人必须指定部门" in _problem(to_nowhere, 422)
    unknown = client.patch(
        f"/api/users/{uid}", json={"department_id": "nope", "reason": "x"}, headers=headers
    )
    assert "没有编号为 nope 的部门" in _problem(unknown, 422)
    assert _problem(client.patch("/api/users/99999", json={"role": "leader"}, headers=headers), 404)

    entries = _audit(database, "user.update")
    assert [e.reason for e in entries] == ["调入值班室", "回部门"]
    assert entries[0].details["changes"] == {
        "role": ["department", "duty_officer"],
        "department_id": [DEPT_A, None],
    }
    assert all((e.actor, e.channel, e.object_id) == ("admin", "console", str(uid)) for e in entries)
    assert all(e.details["name"] == "dept_a" for e in entries)


def test_deactivation_refuses_login_and_stops_sessions_and_tokens_at_once(
    client: TestClient, app: FastAPI, database: Database, clock: FakeClock
) -> None:
    uid = _user_id(database, "dept_a")
    token = _token(database, clock, "dept_a")
    with TestClient(app) as dept:
        login(dept, "dept_a")
        assert dept.get("/department").status_code == 200
        assert client.get("/api/alerts", headers=token).status_code == 200

        headers = _admin(client)
        no_reason = client.patch(f"/api/users/{uid}", json={"active": False}, headers=headers)
        assert "须填写理由" in _problem(no_reason, 422)
        off = client.patch(f"/api/users/{uid}", json={"active": False, "reason": "离职"}, headers=headers)
        assert off.status_code == 200 and off.json()["active"] is False

        page = dept.get("/department", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
        assert _problem(dept.get("/api/auth/me"), 401)
        assert "API 令牌无效或已吊销" in _problem(client.get("/api/alerts", headers=token), 401)

        csrf = page_csrf(dept)
        refused = dept.post(
            "/login",
            data={"name": "dept_a", "password": PASSWORD, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert refused.status_code == 401 and "用户名或密码错误" in refused.text
        assert _problem(dept.post("/api/auth/login", json={"name": "dept_a", "password": PASSWORD}), 401)

        on = client.patch(f"/api/users/{uid}", json={"active": True, "reason": "返聘"}, headers=headers)
        assert on.json()["active"] is True
        login(dept, "dept_a")
        assert dept.get("/department").status_code == 200

    off_entry, on_entry = _audit(database, "user.deactivate") + _audit(database, "user.reactivate")
    assert (off_entry.reason, off_entry.details["changes"]) == ("离职", {"active": [True, False]})
    assert (on_entry.reason, on_entry.object_id, on_entry.actor) == ("返聘", str(uid), "admin")


def test_an_admin_cannot_deactivate_themself_or_remove_the_last_active_admin(
    client: TestClient, database: Database, clock: FakeClock
) -> None:
    headers = _admin(client)
    admin_id = _user_id(database, "admin")
    self_off = client.patch(f"/api/users/{admin_id}", json={"active": False, "reason": "x"}, headers=headers)
    assert "不能停用自己的账号" in _problem(self_off, 409)
    demote = client.patch(f"/api/users/{admin_id}", json={"role": "leader", "reason": "x"}, headers=headers)
    assert "最后一名在用的系统管理员" in _problem(demote, 409)

    # a second admin: now either may step down, but the last one standing may not
    second = client.post(
        "/api/users", json={"name": "chief", "role": "admin", "password": NEW_PASSWORD}, headers=headers
    ).json()
    chief = _token(database, clock, "chief")
    assert (
        client.patch(
            f"/api/users/{admin_id}", json={"role": "leader", "reason": "轮岗"}, headers=headers
        ).json()["role"]
        == "leader"
    )
    assert _problem(client.get("/api/users", headers=headers), 403)  # the former admin lost access at once
    last = client.patch(f"/api/users/{second['id']}", json={"active": False, "reason": "x"}, headers=chief)
    assert "不能停用自己的账号" in _problem(last, 409)
    last_role = client.patch(
        f"/api/users/{second['id']}", json={"role": "analyst", "reason": "x"}, headers=chief
    )
    assert "最后一名在用的系统管理员" in _problem(last_role, 409)
    with database.transaction() as session:
        admins = session.scalars(
            select(UserRow.name).where(UserRow.role == "admin", UserRow.active.is_(True))
        )
        assert list(admins) == ["chief"]
    entry = _audit(database, "user.update")[-1]
    assert (entry.actor, entry.channel) == ("admin", "console")


@pytest.mark.parametrize("name", ["duty", "dept_a", "leader", "analyst"])
def test_non_admins_are_denied_the_page_and_the_api(
    client: TestClient, database: Database, clock: FakeClock, name: str
) -> None:
    csrf = login(client, name)
    uid = _user_id(database, "duty")
    denied = _problem(client.get("/api/users"), 403)
    assert "无权执行：用户管理" in denied
    body = {"name": "x1", "role": "admin", "password": NEW_PASSWORD}
    assert _problem(client.post("/api/users", json=body, headers={"X-CSRF-Token": csrf}), 403)
    patch = {"role": "admin", "reason": "x"}
    assert _problem(client.patch(f"/api/users/{uid}", json=patch, headers={"X-CSRF-Token": csrf}), 403)
    reset = {"password": NEW_PASSWORD, "reason": "x"}
    assert _problem(
        client.post(f"/api/users/{uid}/password", json=reset, headers={"X-CSRF-Token": csrf}), 403
    )
    token = _token(database, clock, name)
    assert _problem(client.get("/api/users", headers=token), 403)
    page = client.get("/users", headers={"accept": "text/html"})
    assert page.status_code == 403 and "无权执行：用户管理" in page.text
    form = client.post("/users", data={**body, "csrf_token": csrf}, headers={"accept": "text/html"})
    assert form.status_code == 403
    assert 'href="/users"' not in client.get("/search").text
    assert not _audit(database)
    with database.transaction() as session:
        assert user_by_name(session, "x1") is None


def test_state_changes_need_the_csrf_token(client: TestClient, database: Database) -> None:
    headers = _admin(client)
    body = {"name": "x2", "role": "analyst", "password": NEW_PASSWORD}
    assert "CSRF" in _problem(client.post("/api/users", json=body), 403)
    form = client.post("/users", data=body, headers={"accept": "text/html"})
    assert form.status_code == 403 and "CSRF" in form.text
    uid = _user_id(database, "duty")
    assert _problem(client.patch(f"/api/users/{uid}", json={"active": False, "reason": "x"}), 403)
    assert _problem(client.post(f"/users/{uid}/deactivate", data={"reason": "x"}), 403)
    assert client.post("/api/users", json=body, headers=headers).status_code == 201


def test_password_reset_replaces_the_password_and_is_never_logged(
    client: TestClient, app: FastAPI, database: Database
) -> None:
    headers = _admin(client)
    uid = _user_id(database, "analyst")
    short = client.post(
        f"/api/users/{uid}/password", json={"password": "1234567", "reason": "x"}, headers=headers
    )
    assert "密码至少 8 位" in _problem(short, 422)
    no_reason = client.post(f"/api/users/{uid}/password", json={"password": NEW_PASSWORD}, headers=headers)
    assert "须填写理由" in _problem(no_reason, 422)
    reset = client.post(
        f"/api/users/{uid}/password", json={"password": NEW_PASSWORD, "reason": "本人遗忘"}, headers=headers
    )
    assert reset.status_code == 204 and reset.content == b""
    with TestClient(app) as other:
        assert _problem(other.post("/api/auth/login", json={"name": "analyst", "password": PASSWORD}), 401)
        ok = other.post("/api/auth/login", json={"name": "analyst", "password": NEW_PASSWORD})
        assert ok.status_code == 200
    (entry,) = _audit(database, "user.password_reset")
    assert (entry.actor, entry.channel, entry.object_id, entry.reason) == (
        "admin",
        "console",
        str(uid),
        "本人遗忘",
    )
    assert NEW_PASSWORD not in json.dumps(entry.details)


def test_token_calls_are_audited_as_the_api_channel(
    client: TestClient, database: Database, clock: FakeClock
) -> None:
    token = _token(database, clock, "admin")
    created = client.post(
        "/api/users", json={"name": "robot", "role": "analyst", "password": NEW_PASSWORD}, headers=token
    )
    assert created.status_code == 201
    changed = client.patch(
        f"/api/users/{created.json()['id']}", json={"display_name": "机器人"}, headers=token
    )  # a display name alone needs no reason
    assert changed.json()["display_name"] == "机器人"
    longest = client.post(
        "/api/users", json={"name": "n" * 80, "role": "leader", "password": NEW_PASSWORD}, headers=token
    )
    assert longest.status_code == 201, longest.text  # the longest name fits the audit log too
    entries = _audit(database)
    assert [(e.action, e.channel, e.actor) for e in entries] == [
        ("user.create", "api", "admin"),
        ("user.update", "api", "admin"),
        ("user.create", "api", "admin"),
    ]
    assert entries[1].details["changes"] == {"display_name": ["robot", "机器人"]}


def test_console_forms_create_edit_deactivate_and_reset(client: TestClient, database: Database) -> None:
    csrf = login(client, "admin")
    missing = client.post(
        "/users",
        data={"name": "zhao", "role": "department", "password": NEW_PASSWORD, "csrf_token": csrf},
    )
    assert missing.status_code == 422 and "无法新建用户：部门处置人必须指定" in missing.text
    assert 'value="zhao"' in missing.text and NEW_PASSWORD not in missing.text
    created = client.post(
        "/users",
        data={
            "name": "zhao",
            "display_name": "赵六",
            "role": "department",
            "department_id": DEPT_A,
            "password": NEW_PASSWORD,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    listing = client.get(created.headers["location"])
    assert "已新建用户 zhao" in listing.text and "赵六" in listing.text
    uid = _user_id(database, "zhao")

    edited = client.post(
        f"/users/{uid}",
        data={
            "display_name": "赵六",
            "role": "leader",
            "department_id": DEPT_A,
            "reason": "x",
            "csrf_token": csrf,
        },
    )
    assert edited.status_code == 422 and "只有部门处置人" in edited.text
    edited = client.post(
        f"/users/{uid}",
        data={"display_name": "赵六", "role": "leader", "reason": "升任", "csrf_token": csrf},
    )
    assert edited.status_code == 200 and "已保存 zhao 的修改" in edited.text
    off = client.post(f"/users/{uid}/deactivate", data={"reason": "调离", "csrf_token": csrf})
    assert "已停用 zhao" in off.text and "已停用" in off.text
    admin_id = _user_id(database, "admin")
    self_off = client.post(f"/users/{admin_id}/deactivate", data={"reason": "x", "csrf_token": csrf})
    assert self_off.status_code == 409 and "不能停用自己的账号" in self_off.text
    reset = client.post(
        f"/users/{uid}/password", data={"password": NEW_PASSWORD, "reason": "x", "csrf_token": csrf}
    )
    assert "已重置 zhao 的密码" in reset.text and NEW_PASSWORD not in reset.text
    assert client.get("/users/99999", headers={"accept": "text/html"}).status_code == 404
    assert [(e.action, e.channel) for e in _audit(database)] == [
        ("user.create", "console"),
        ("user.update", "console"),
        ("user.deactivate", "console"),
        ("user.password_reset", "console"),
    ]


def test_hostile_display_names_are_shown_as_text(client: TestClient) -> None:
    headers = _admin(client)
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    created = client.post(
        "/api/users",
        json={"name": "evil", "display_name": hostile, "role": "analyst", "password": NEW_PASSWORD},
        headers=headers,
    )
    assert created.status_code == 201
    for path in ("/users", f"/users/{created.json()['id']}"):
        text = client.get(path).text
        assert "<script>alert(1)" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_a_password_reset_ends_the_sessions_logged_in_with_the_old_password(
    client: TestClient, app: FastAPI, database: Database
) -> None:
    with TestClient(app) as analyst:
        login(analyst, "analyst")
        assert analyst.get("/api/auth/me").status_code == 200
        headers = _admin(client)
        uid = _user_id(database, "analyst")
        reset = client.post(
            f"/api/users/{uid}/password", json={"password": NEW_PASSWORD, "reason": "账号疑似泄露"},
            headers=headers,
        )
        assert reset.status_code == 204
        assert _problem(analyst.get("/api/auth/me"), 401)  # the old session is over
        page = analyst.get("/search", follow_redirects=False)
        assert page.status_code in (302, 303) and "/login" in page.headers["location"]
        login(analyst, "analyst", NEW_PASSWORD)
        assert analyst.get("/api/auth/me").status_code == 200
    assert client.get("/api/users", headers=headers).status_code == 200  # the admin's own session lives on


def test_a_password_reset_revokes_the_users_api_tokens(
    client: TestClient, app: FastAPI, database: Database
) -> None:
    with TestClient(app) as analyst:
        csrf = login(analyst, "analyst")
        made = [
            analyst.post("/api/auth/tokens", json={"name": n}, headers={"X-CSRF-Token": csrf}).json()
            for n in ("bi", "etl")
        ]
        revoked = analyst.delete(f"/api/auth/tokens/{made[1]['id']}", headers={"X-CSRF-Token": csrf})
        assert revoked.status_code == 204
        bearer = {"Authorization": f"Bearer {made[0]['token']}"}
        assert analyst.get("/api/auth/me", headers=bearer).status_code == 200
    headers = _admin(client)
    uid = _user_id(database, "analyst")
    page = client.get(f"/users/{uid}").text
    assert "API 令牌全部吊销" in page  # the admin is told before resetting
    reset = client.post(
        f"/api/users/{uid}/password",
        json={"password": NEW_PASSWORD, "reason": "账号疑似泄露"},
        headers=headers,
    )
    assert reset.status_code == 204
    with TestClient(app) as bot:
        assert _problem(bot.get("/api/auth/me", headers=bearer), 401)
    (entry,) = _audit(database, "user.password_reset")
    assert entry.details["tokens_revoked"] == 1 and entry.details["sessions_ended"] == 1
    with TestClient(app) as analyst:
        login(analyst, "analyst", NEW_PASSWORD)
        tokens = analyst.get("/api/auth/tokens").json()
        assert {t["name"]: t["revoked_at"] is not None for t in tokens} == {"bi": True, "etl": True}
