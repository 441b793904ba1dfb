"""``yuqing plans add / list / test / pause`` against a data dir with stored posts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nlp.plans.matcher import matches
from tests.plans.conftest import real_posts
from yuqing.cli.main import app
from yuqing.expression import parse_plan
from yuqing.settings import get_settings
from yuqing.storage import open_store

PLAN = "(物业|业主|小区)+(停车|车位|噪音)-表扬"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("YUQING_DATA_DIR", str(tmp_path / "var"))
    for name in ("YUQING_SEARCH_URL", "YUQING_DB_URL", "YUQING_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    store = open_store(get_settings().search_url)
    store.index(real_posts(200))
    store.close()
    yield CliRunner()
    get_settings.cache_clear()


def test_add_list_test_and_pause(runner: CliRunner) -> None:
    posts = real_posts(200)
    node = parse_plan(PLAN)
    expected = [p.id for p in sorted(posts, key=lambda p: p.published_at, reverse=True)
                if matches(node, p.title, p.content)]

    result = runner.invoke(app, ["plans", "test", PLAN, "--json", "--size", "500"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == expected
    assert all("score" in line and "title" in line for line in lines)

    result = runner.invoke(app, ["plans", "add", "小区停车", PLAN, "--channel", "console"])
    assert result.exit_code == 0, result.output
    assert f"back-fill: {len(expected)} stored posts match" in result.stdout

    listed = runner.invoke(app, ["plans", "list", "--json"]).stdout.splitlines()
    listed = [json.loads(line) for line in listed]
    assert [(p["name"], p["expression"], p["backfill_hits"], p["paused"]) for p in listed] == [
        ("小区停车", PLAN, len(expected), False)]

    search = runner.invoke(app, ["search", "", "--json", "--size", "500"])
    with_plan = [json.loads(line)["id"] for line in search.stdout.splitlines()
                 if json.loads(line).get("plan_ids") == [listed[0]["id"]]]
    assert sorted(with_plan) == sorted(expected)
    by_plan = runner.invoke(app, ["search", "", "--plan", str(listed[0]["id"]), "--json", "--size", "500"])
    assert sorted(json.loads(line)["id"] for line in by_plan.stdout.splitlines()) == sorted(expected)
    assert runner.invoke(app, ["search", "", "--plan", "0"]).exit_code == 2

    assert runner.invoke(app, ["plans", "pause", "小区停车"]).exit_code == 0
    assert json.loads(runner.invoke(app, ["plans", "list", "--json"]).stdout)["paused"] is True
    assert runner.invoke(app, ["plans", "resume", "1"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plans", "add", "x", "(封丘|新乡"], "第 1 个字符"),
        (["plans", "add", "x", ""], "表达式为空"),
        (["plans", "add", "x", "字" * 500], "最多 100 个"),
        (["plans", "add", "x", "|".join(f"词{i}" for i in range(5000))], "超过 1000 个"),
        (["plans", "add", "x", ".*"], "不含文字"),
        (["plans", "add", "x", "a", "--owner", "nobody"], "既不是用户也不是部门"),
        (["plans", "test", "--", "-演练"], "必须出现的词"),  # -- before an expression starting with -
        (["plans", "test", "a", "--size", "0"], "--size"),
        (["plans", "pause", "nope"], "no plan"),
    ],
)
def test_bad_input_is_a_message_and_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
