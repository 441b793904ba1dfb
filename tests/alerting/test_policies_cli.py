"""`yuqing policies add|list` as officers and scripts use them, and `yuqing deadline reprint`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import prepare_schema
from yuqing.cli.main import app
from yuqing.clock import CN_TZ, utcnow
from yuqing.db.session import make_engine
from yuqing.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
DEPARTMENTS = ROOT / "alerting" / "config" / "departments.yaml"
runner = CliRunner()


def test_deadline_reprint_is_24_hours_from_publication() -> None:
    result = runner.invoke(app, ["deadline", "reprint", "2026-12-04T10:00:00+08:00"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert {k: out[k] for k in ("kind", "due_at", "provisional")} == {
        "kind": "reprint", "due_at": "2026-12-05T10:00:00+08:00", "provisional": False
    }


@pytest.fixture
def db_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'yuqing.sqlite3'}"
    engine = make_engine(url)
    prepare_schema(engine)
    engine.dispose()
    monkeypatch.setenv("YUQING_DB_URL", url)
    monkeypatch.setenv("YUQING_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    assert runner.invoke(app, ["departments", "import", str(DEPARTMENTS)]).exit_code == 0
    yield url
    get_settings.cache_clear()


def _iso(hours_ago: float) -> str:
    return (utcnow() - timedelta(hours=hours_ago)).astimezone(CN_TZ).replace(microsecond=0).isoformat()


def test_add_opens_the_cases_and_list_shows_them(db_env: str) -> None:
    local = runner.invoke(app, [
        "policies", "add", "--title", "南阳市教育局关于规范课后服务的通知",
        "--url", "https://www.nanyang.example/zc/1.html", "--published-at", _iso(1),
        "--issuer", "南阳市教育局",
    ])
    assert local.exit_code == 0, local.stderr
    assert "政策解读预警 #1" in local.stdout and "南阳市教育局" in local.stdout
    published = _iso(2)
    key = runner.invoke(app, [
        "policies", "add", "--title", "河南省稳就业若干政策措施", "--url", "https://www.henan.example/zc/2.html",
        "--published-at", published, "--level", "provincial", "--region", "4113", "--json",
    ])
    assert key.exit_code == 0, key.stderr
    out = json.loads(key.stdout)
    assert (out["outcome"], out["deadline"], out["key"]) == ("created", "reprint", True)
    assert out["region"] == "4113"
    assert out["due_at"] == (datetime.fromisoformat(published) + timedelta(hours=24)).isoformat()
    again = runner.invoke(app, [
        "policies", "add", "--title", "河南省稳就业若干政策措施", "--url", "https://www.henan.example/zc/2.html",
        "--published-at", published, "--level", "provincial",
    ])
    assert again.exit_code == 0 and "已登记过" in again.stdout

    listed = runner.invoke(app, ["policies", "list", "--json"])
    assert listed.exit_code == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["deadline"], r["deadline_state"], r["status_label"]) for r in rows] == [
        ("reprint", "open", "待签收"), ("policy_interpretation", "open", "待签收"),
    ]
    text = runner.invoke(app, ["policies", "list"])
    assert "政策转载" in text.stdout and "省级·重要" in text.stdout and "计时中" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--url", "https://a.example/1", "--published-at", "2026-12-01T10:00:00+08:00"], "缺少 --title"),
        (["--title", "T", "--published-at", "2026-12-01T10:00:00+08:00"], "缺少 --url"),
        (["--title", "T", "--url", "https://a.example/1"], "缺少 --published-at"),
        (["--title", "T", "--url", "https://a.example/1", "--published-at", "2026/12/01"], "不是 ISO-8601"),
        (["--title", "T", "--url", "https://a.example/1", "--published-at", "2099-01-01T00:00:00+08:00"],
         "晚于当前时间"),
        (["--title", "T", "--url", "https://a.example/1", "--published-at", "2026-12-01", "--level", "city"],
         "--level 'city' 无效"),
        (["--title", "T", "--url", "a.example/1", "--published-at", "2026-12-01"], "不是 http(s) 地址"),
        (["--title", "T", "--url", "https://a.example/1", "--published-at", "2026-12-01", "--region", "4x"],
         "--region"),
    ],
)
def test_bad_input_exits_2_with_the_reason_and_registers_nothing(db_env: str, args: list[str],
                                                                  message: str) -> None:
    result = runner.invoke(app, ["policies", "add", *args])
    assert result.exit_code == 2 and message in result.stderr and result.stdout == ""
    assert runner.invoke(app, ["policies", "list", "--json"]).stdout == ""
