"""The ``api`` stage serves until stopped, and ``yuqing users`` creates users and tokens."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx
import pytest
from factories import DIRECTORY
from sqlalchemy import select
from typer.testing import CliRunner, Result

from alerting.directory import Directory
from api.auth.roles import Role
from api.auth.users import check_password, ensure_demo_users
from api.models import UserRow
from api.server import listen_address, run
from yuqing.cli.main import app as cli
from yuqing.clock import FakeClock, utcnow
from yuqing.db.migrate import create_schema
from yuqing.db.session import Database, make_engine
from yuqing.settings import Settings, load_settings


def _prepared_settings(tmp_path: Path, **overrides: object) -> Settings:
    settings = load_settings(data_dir=tmp_path / "var", **overrides)
    engine = make_engine(settings.db_url)
    create_schema(engine)
    engine.dispose()
    return settings


def test_listen_address_follows_the_console_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("YUQING_API_HOST", raising=False)
    monkeypatch.delenv("YUQING_API_PORT", raising=False)
    settings = load_settings(data_dir=tmp_path, console_url="http://0.0.0.0:8123")
    assert listen_address(settings) == ("0.0.0.0", 8123)
    monkeypatch.setenv("YUQING_API_PORT", "9001")
    assert listen_address(load_settings(data_dir=tmp_path, console_url="http://0.0.0.0:8123")) == (
        "0.0.0.0",
        9001,
    ), "the environment's port wins over the console URL's"


def test_api_stage_serves_until_stopped(tmp_path: Path) -> None:
    settings = _prepared_settings(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(settings, stop), kwargs={"host": "127.0.0.1", "port": port})
    thread.start()
    try:
        for _ in range(200):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.TransportError:
                stop.wait(0.05)
        assert response.json()["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/api/alerts").status_code == 401
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()


def test_users_create_and_token_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _prepared_settings(tmp_path)
    monkeypatch.setenv("YUQING_DATA_DIR", str(settings.data_dir))
    from yuqing.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    try:
        made = runner.invoke(
            cli, ["users", "create", "zhang", "--role", "duty_officer", "--password", "s3cret-pass"]
        )
        assert made.exit_code == 0, made.output
        again = runner.invoke(
            cli, ["users", "create", "zhang", "--role", "duty_officer", "--password", "s3cret-pass"]
        )
        assert again.exit_code == 2 and "已存在" in again.output
        no_dept = runner.invoke(
            cli, ["users", "create", "li", "--role", "department", "--password", "s3cret-pass"]
        )
        assert no_dept.exit_code == 2 and "--department" in no_dept.output
        bad_role = runner.invoke(
            cli, ["users", "create", "wu", "--role", "boss", "--password", "s3cret-pass"]
        )
        assert bad_role.exit_code == 2 and "未知角色" in bad_role.output
        token = runner.invoke(cli, ["users", "token", "zhang"])
        assert token.exit_code == 0 and token.output.strip().startswith("yq_")
        assert runner.invoke(cli, ["users", "token", "nobody"]).exit_code == 2
    finally:
        get_settings.cache_clear()


def test_users_create_checks_the_department_as_the_console_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The directory imported into the database, else the YAML file: the rule of the console and
    /api/users (api.auth.users.check_department), not only imported departments."""
    settings = _prepared_settings(tmp_path)
    monkeypatch.setenv("YUQING_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("YUQING_DEPARTMENTS_FILE", str(DIRECTORY))  # nothing imported into the database
    from yuqing.settings import get_settings

    get_settings.cache_clear()
    runner = CliRunner()

    def create(name: str, department: str) -> Result:
        args = ["users", "create", name, "--role", "department", "--department", department]
        return runner.invoke(cli, [*args, "--password", "s3cret-pass"])

    try:
        from_yaml = create("li", "aq-sthj")
        assert from_yaml.exit_code == 0, from_yaml.output
        unknown = create("wang", "no-such-dept")
        assert unknown.exit_code == 2
        assert "yuqing users create: 没有编号为 no-such-dept 的部门" in unknown.output

        missing = tmp_path / "gone.yaml"
        monkeypatch.setenv("YUQING_DEPARTMENTS_FILE", str(missing))
        get_settings.cache_clear()
        unreadable = create("zhao", "aq-sthj")
        assert unreadable.exit_code == 2
        assert "部门目录无法读取" in unreadable.output and str(missing) in unreadable.output

        db = Database(make_engine(settings.db_url))
        with db.transaction() as session:  # once imported, the stored directory is the one that counts
            Directory.load_yaml(DIRECTORY).save(session, now=utcnow())
        imported = create("zhao", "hf-sthj")
        assert imported.exit_code == 0, imported.output
        with db.session() as session:
            made = {u.name: u.department_id for u in session.scalars(select(UserRow))}
        db.close()
        assert made == {"li": "aq-sthj", "zhao": "hf-sthj"}
    finally:
        get_settings.cache_clear()


def test_demo_users_one_per_role_with_working_passwords(database: Database, clock: FakeClock) -> None:
    with database.transaction() as session:
        Directory.load_yaml(DIRECTORY).save(session, now=clock.now())
    logins = ensure_demo_users(database, clock=clock)
    assert sorted(role for _, _, role in logins) == sorted(r.value for r in Role)
    again = ensure_demo_users(database, clock=clock)  # a second demo run: same users, new passwords
    with database.transaction() as session:
        for name, password, role in again:
            user = check_password(session, name, password)
            assert user is not None and user.role == role
            assert user.department_id == ("ah-wxb" if role == "department" else None)
        assert all(check_password(session, name, old) is None for name, old, _ in logins)
