"""``yuqing search`` against the store YUQING_SEARCH_URL names."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import jieba
import pytest
import typer
from typer.testing import CliRunner

from yuqing.cli.search_cmd import register
from yuqing.clock import CN_TZ
from yuqing.schemas import EnrichedPost, Location, Tags
from yuqing.settings import get_settings
from yuqing.storage import open_store


def post(pid: str, title: str, published: datetime, *, category: str, code: str) -> EnrichedPost:
    return EnrichedPost(id=pid, source_id="weibo", url=f"https://example.cn/{pid}", title=title,
                        content="", published_at=published, fetched_at=published,
                        tokens=jieba.lcut(title),
                        tags=Tags(category=category, locations=[Location(name=code, code=code)]))


POSTS = [
    post("water", "朝阳区自来水浑浊", datetime(2025, 3, 1, 23, 30, tzinfo=CN_TZ),
         category="供水", code="110105"),
    post("metro", "地铁站的自来水停了", datetime(2025, 3, 2, 8, 0, tzinfo=CN_TZ),
         category="交通", code="310101"),
]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    url = f"sqlite:///{tmp_path / 'search.sqlite3'}"
    store = open_store(url)
    store.index(POSTS)
    store.close()
    monkeypatch.setenv("YUQING_SEARCH_URL", url)
    monkeypatch.setenv("YUQING_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # with two commands, typer keeps "search" as a sub-command name
    result = runner.invoke(app, ["search", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_lines_carry_the_posts_best_first(cli: CliRunner) -> None:
    code, out, _ = invoke(cli, "自来水 浑浊", "--json")  # side by side: any of them, best first
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["id"] for line in lines] == ["water", "metro"]
    assert lines[0]["title"] == "朝阳区自来水浑浊"
    assert lines[0]["score"] > lines[1]["score"] > 0


def test_filters_reach_the_store(cli: CliRunner) -> None:
    def found(*args: str) -> list[str]:
        code, out, err = invoke(cli, "自来水", "--json", *args)
        assert code == 0, err
        return [json.loads(line)["id"] for line in out.splitlines()]

    assert found("--category", "交通") == ["metro"]
    assert found("--location", "110000") == ["water"]
    assert found("--to", "2025-03-01") == ["water"]  # a bare --to date includes that China day
    assert found("--from", "2025-03-02T00:00") == ["metro"]
    assert found("--source", "other") == []
    assert found("--sentiment", "positive") == []
    assert found("--size", "1", "--sort", "time") == ["metro"]


def test_table_shows_title_china_time_source_category_and_score(cli: CliRunner) -> None:
    code, out, _ = invoke(cli, "浑浊")
    assert code == 0
    assert "朝阳区自来水浑浊" in out
    assert "2025-03-01 23:30" in out  # 15:30 UTC shown in China time
    assert "weibo" in out and "供水" in out
    assert "1 of 1 posts" in out


def test_expressions_and_their_errors(cli: CliRunner) -> None:
    code, out, _ = invoke(cli, "自来水-浑浊", "--json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["metro"]
    code, out, _ = invoke(cli, "不存在的词语xyz", "--json")  # an unknown word: nothing, not its characters
    assert (code, out) == (0, "")
    code, _, err = invoke(cli, "(自来水|地铁")
    assert code == 2
    assert "第 1 个字符" in err and "没有配对" in err


def test_nothing_found_says_so(cli: CliRunner) -> None:
    code, out, _ = invoke(cli, "公园")
    assert (code, out.strip()) == (0, "no posts found (0 in all)")


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "yesterday"), "--from 'yesterday': use YYYY-MM-DD"),
    (("--to", "2025-13-01"), "--to '2025-13-01'"),
    (("--sentiment", "angry"), "--sentiment 'angry': use one of negative, neutral, positive"),
    (("--size", "0"), "--size 0"),
    (("--sort", "random"), "--sort 'random'"),
])
def test_bad_options_exit_2_with_a_clear_message(cli: CliRunner, args: tuple[str, ...], message: str) -> None:
    code, out, err = invoke(cli, "自来水", *args)
    assert code == 2
    assert message in err
    assert out == ""
