from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from crawlers import cli
from crawlers.config import (
    HtmlSource,
    JsonApiSource,
    ReplaySource,
    check_sources,
    load_sources,
    parse_interval,
)
from yuqing.settings import PROJECT_ROOT

SOURCES_DIR = PROJECT_ROOT / "crawlers" / "sources"

GOOD_HTML = """
id: test-board
name: 测试留言板
type: html
start_urls: ["{sample_site}/board/list?page=1"]
interval: 10m
region: "4113"
kind: gov
weight: 1.5
list:
  item: "tr.msg-row"
  link: "a.msg-title::attr(href)"
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_sources_validate_and_follow_the_sample_site_url() -> None:
    sources, problems = load_sources(SOURCES_DIR, {"sample_site": "http://example.test:9999"})
    assert problems == []
    by_type = {s.type for s in sources}
    assert by_type == {"rss", "html", "json_api", "replay"}
    board = next(s for s in sources if s.id == "nanyang-board")
    assert isinstance(board, HtmlSource)
    assert board.start_urls == ["http://example.test:9999/board/list?page=1"]
    assert board.interval == 600 and board.kind == "gov" and board.region == "4113"
    api = next(s for s in sources if isinstance(s, JsonApiSource))
    assert api.api.url == "http://example.test:9999/api/posts?page={page}&size={size}"
    replay = next(s for s in sources if isinstance(s, ReplaySource))
    assert replay.file.is_file()


def test_sample_site_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_SAMPLE_SITE_URL", "http://10.0.0.5:8765/")
    sources, _ = load_sources(SOURCES_DIR)
    news = next(s for s in sources if s.id == "nanyang-news")
    assert news.start_urls == ["http://10.0.0.5:8765/news/rss.xml"]


@pytest.mark.parametrize(
    ("value", "seconds"), [("10m", 600), ("1h30m", 5400), ("45s", 45), ("2d", 172800), (90, 90), ("120", 120)]
)
def test_intervals(value: str | int, seconds: int) -> None:
    assert parse_interval(value) == seconds


@pytest.mark.parametrize("value", ["10 minutes", "0m", "-5m", "m", ""])
def test_bad_intervals_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_interval(value)


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        (GOOD_HTML.replace("interval: 10m", "interval: ten minutes"), "interval", "not a duration"),
        (GOOD_HTML.replace("type: html", "type: ftp"), "type", "rss"),
        (
            GOOD_HTML.replace('start_urls: ["{sample_site}/board/list?page=1"]', "start_urls: []"),
            "start_urls",
            "at least one URL",
        ),
        (GOOD_HTML.replace('  link: "a.msg-title::attr(href)"\n', ""), "list.link", "Field required"),
        (GOOD_HTML.replace("kind: gov", "kind: blog"), "kind", "news"),
        (GOOD_HTML.replace('region: "4113"', 'region: "Nanyang"'), "region", "pattern"),
        (GOOD_HTML + "timezone: Mars/Olympus\n", "timezone", "unknown timezone"),
        (GOOD_HTML + "selectors: {}\n", "selectors", "Extra inputs"),
        (GOOD_HTML.replace("name: 测试留言板\n", ""), "name", "Field required"),
        ("id: x\n  bad: [yaml", "line", "not valid YAML"),
        ("- just\n- a list\n", "file", "mapping"),
    ],
)
def test_check_names_the_file_the_field_and_the_problem(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    path = write(tmp_path, "bad.yaml", text)
    problems = check_sources(tmp_path)
    assert problems, "a broken file must be reported"
    assert any(p.path == path and p.field.startswith(field) and problem in p.problem for p in problems), (
        problems
    )


def test_json_api_needs_a_page_placeholder_and_a_url_mapping(tmp_path: Path) -> None:
    write(
        tmp_path,
        "api.yaml",
        """
id: api
name: API
type: json_api
api: {url: "http://x.test/posts", items: data.list}
fields: {content: text}
""",
    )
    messages = {(p.field, p.problem) for p in check_sources(tmp_path)}
    assert any(f == "api.url" and "{page}" in m for f, m in messages)
    assert any(f == "fields" and "url_template" in m for f, m in messages)


def test_a_replay_file_that_does_not_exist_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "replay.yaml", "id: drill\nname: 演练\ntype: replay\nfile: missing.jsonl\nspeed: 60\n")
    [problem] = check_sources(tmp_path)
    assert problem.field == "file" and "missing.jsonl is not a file" in problem.problem


def test_two_files_with_one_id_are_reported_and_only_the_first_is_loaded(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", GOOD_HTML)
    second = write(tmp_path, "b.yaml", GOOD_HTML.replace("测试留言板", "另一个"))
    problems = check_sources(tmp_path)
    assert [(p.path, p.field) for p in problems] == [(second, "id")]
    sources, _ = load_sources(tmp_path)
    assert [s.name for s in sources] == ["测试留言板"]


def test_broken_files_are_left_out_and_the_rest_still_load(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", GOOD_HTML)
    write(tmp_path, "broken.yaml", "id: [")
    sources, problems = load_sources(tmp_path)
    assert [s.id for s in sources] == ["test-board"]
    assert len(problems) == 1 and problems[0].path.name == "broken.yaml"


def test_disabled_sources_are_not_loaded(tmp_path: Path) -> None:
    write(tmp_path, "off.yaml", GOOD_HTML + "enabled: false\n")
    assert load_sources(tmp_path)[0] == []


def cli_app() -> typer.Typer:
    app = typer.Typer()
    cli.register(app)
    return app


def test_cli_check_exits_non_zero_and_prints_file_field_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", GOOD_HTML.replace("kind: gov", "kind: blog"))
    result = CliRunner().invoke(cli_app(), ["sources", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{path}: kind:" in result.output


def test_cli_check_accepts_the_default_sources() -> None:
    result = CliRunner().invoke(cli_app(), ["sources", "check", str(SOURCES_DIR)])
    assert result.exit_code == 0, result.output
    assert "ok: 8 source file(s)" in result.output  # 6 + nanyang-policy + xinxiang-board-replay
