"""`yuqing deadline` and `yuqing departments import|list` as scripts use them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alerting.directory import Directory
from tests.conftest import prepare_schema
from yuqing.cli.main import app
from yuqing.db.session import make_engine
from yuqing.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
DEPARTMENTS = ROOT / "alerting" / "config" / "departments.yaml"
runner = CliRunner()


def deadline(*args: str) -> dict:
    result = runner.invoke(app, ["deadline", *args])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


@pytest.mark.parametrize(
    "kind",
    ["authoritative_info", "press_conference", "response", "message_reply", "policy_interpretation",
     "reprint"],
)
def test_every_kind_prints_kind_due_at_with_offset_and_provisional(kind: str) -> None:
    out = deadline(kind, "2026-11-22T10:00:00+08:00")
    assert out["kind"] == kind and isinstance(out["provisional"], bool)
    due = datetime.fromisoformat(out["due_at"])
    assert due.utcoffset() is not None and due > datetime.fromisoformat(out["start"])


def test_national_day_example() -> None:
    out = deadline("message_reply", "2026-09-30T10:00:00+08:00")
    assert out == {
        "kind": "message_reply", "start": "2026-09-30T10:00:00+08:00",
        "due_at": "2026-10-10T23:59:59+08:00", "provisional": False,
    }


def test_reprint_is_24_hours_from_publication() -> None:
    out = deadline("reprint", "2026-12-04T10:00:00+08:00")
    assert {k: out[k] for k in ("kind", "due_at", "provisional")} == {
        "kind": "reprint", "due_at": "2026-12-05T10:00:00+08:00", "provisional": False,
    }


def test_wall_clock_kind_and_start_in_another_offset() -> None:
    out = deadline("authoritative_info", "2026-11-22T02:00:00Z")
    assert datetime.fromisoformat(out["due_at"]) == datetime.fromisoformat("2026-11-22T07:00:00+00:00")
    assert out["due_at"].endswith("+08:00")


def test_naive_start_is_beijing_time() -> None:
    assert deadline("response", "2026-11-22T10:00:00")["due_at"] == "2026-11-24T10:00:00+08:00"


def test_uncovered_year_is_provisional_until_an_override(tmp_path: Path) -> None:
    before = deadline("policy_interpretation", "2027-02-04T09:00:00+08:00")
    assert before["provisional"] is True
    override = tmp_path / "2027.yaml"
    override.write_text("years:\n  2027:\n    holidays: [[2027-02-05, 2027-02-12]]\n", encoding="utf-8")
    after = deadline("policy_interpretation", "2027-02-04T09:00:00+08:00", "--overrides", str(override))
    assert after["provisional"] is False
    assert after["due_at"] != before["due_at"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["reply", "2026-11-22T10:00:00+08:00"], "unknown deadline kind 'reply'"),
        (["response", "next tuesday"], "not an ISO-8601 time"),
        (["message_reply", "2026-11-22", "--overrides", "/nonexistent/h.yaml"], "no such holiday override"),
    ],
)
def test_bad_input_exits_2_with_a_message(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["deadline", *args])
    assert result.exit_code == 2
    assert message in result.stderr and result.stdout == ""


def test_installed_command_prints_one_json_object() -> None:
    exe = Path(sys.executable).with_name("yuqing")
    proc = subprocess.run([str(exe), "deadline", "press_conference", "2026-11-22T10:00:00+08:00"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["due_at"] == "2026-11-23T10:00:00+08:00"


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'yuqing.sqlite3'}"
    engine = make_engine(url)
    prepare_schema(engine)
    engine.dispose()
    monkeypatch.setenv("YUQING_DB_URL", url)
    monkeypatch.setenv("YUQING_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_departments_import_then_list(db_env: str) -> None:
    imported = runner.invoke(app, ["departments", "import", str(DEPARTMENTS)])
    assert imported.exit_code == 0, imported.stderr
    expected = Directory.load_yaml(DEPARTMENTS)
    assert f"imported {len(expected.departments)} departments" in imported.stdout

    listed = runner.invoke(app, ["departments", "list", "--json", "--region", "411300"])
    assert listed.exit_code == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert rows and all(r["region"].startswith("4113") for r in rows)
    assert {r["id"] for r in rows} == {d.id for d in expected.departments if d.region.startswith("4113")}
    assert all("head" in r and "leader_in_charge" in r for r in rows)

    text = runner.invoke(app, ["departments", "list"])
    assert "南阳市生态环境局" in text.stdout and "分管领导" in text.stdout

    engine = make_engine(db_env)
    with engine.connect() as conn:
        audit = conn.exec_driver_sql("select action, details from audit_log").all()
    engine.dispose()
    assert [a[0] for a in audit] == ["directory.import"]


def test_departments_import_refuses_a_bad_file_and_keeps_the_stored_one(db_env: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["departments", "import", str(DEPARTMENTS)]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("home_region: '34'\ndepartments:\n  - {id: x, name: X, type: 网信办, region: '3x'}\n",
                   encoding="utf-8")
    result = runner.invoke(app, ["departments", "import", str(bad)])
    assert result.exit_code == 2 and "departments.0.region" in result.stderr
    listed = runner.invoke(app, ["departments", "list", "--json"])
    assert len(listed.stdout.splitlines()) == len(Directory.load_yaml(DEPARTMENTS).departments)


def test_departments_list_on_an_empty_database(db_env: str) -> None:
    result = runner.invoke(app, ["departments", "list"])
    assert result.exit_code == 2 and "departments import" in result.stderr

