"""Bad selectors and hostile source files (issue 10, items 8 and 15): ``yuqing sources check`` compiles
every selector and XPath, and a GBK file, unknown or duplicate keys, an alias bomb or a self-referencing
alias are one line naming the file, the field and the fix — quickly, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from crawlers import cli
from crawlers.config import check_sources, load_sources

GOOD = """\
id: board
name: 测试留言板
type: html
start_urls: ["http://127.0.0.1:9/list"]
list:
  item: "li.it"
  link: "a::attr(href)"
  title: "a::text"
detail:
  content: "//div[@id='body']"
"""

BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)


def cli_app() -> typer.Typer:
    app = typer.Typer()
    cli.register(app)
    return app


@pytest.mark.parametrize(
    ("content", "field", "words"),
    [
        (GOOD.replace("li.it", "table..[[bad"), "list.item", ["invalid CSS selector", "fix:"]),
        (GOOD.replace('"a::attr(href)"', '"a::attr(href"'), "list.link", ["invalid CSS selector"]),
        (GOOD.replace("//div[@id='body']", "//div[@@bad"), "detail.content", ["invalid XPath", "fix:"]),
        (GOOD + "  counts: {reply: 'span..x'}\n", "detail.counts.reply", ["invalid CSS selector"]),
        (GOOD.encode("gbk"), "file", ["not UTF-8", "iconv"]),
        (GOOD + "intervall: 10m\n", "intervall", ["unknown key", "fix:"]),
        (GOOD + "name: 另一个名字\n", "line 11: name", ["given twice", "first at line 2", "keep one"]),
        (BOMB + GOOD, "line", ["alias bomb"]),
        ("x: &a [*a]\n" + GOOD, "line 1", ["refers to the collection that contains it", "fix:"]),
        ("x: " + "[" * 50_000 + "]" * 50_000 + "\n" + GOOD, "", ["nested deeper"]),
        (GOOD + "# " + "x" * 300_000 + "\n", "file", ["larger than"]),
    ],
    ids=["bad-css", "bad-css-attr", "bad-xpath", "bad-count-css", "gbk", "unknown-key", "duplicate-key",
         "billion-laughs", "self-alias", "deep-nesting", "too-large"],
)
def test_sources_check_gives_one_line_naming_file_field_and_fix(
    tmp_path: Path, content: str | bytes, field: str, words: list[str]
) -> None:
    path = tmp_path / "board.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    started = time.monotonic()
    result = CliRunner().invoke(cli_app(), ["sources", "check", str(tmp_path)])
    assert time.monotonic() - started < 10
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{path}: {field}"), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert load_sources(tmp_path)[0] == []  # left out of crawling too


def test_good_selectors_of_every_kind_compile(tmp_path: Path) -> None:
    title = "title: \"xpath:.//a/text()\"\n  next: \"(//a[has-class('n')])[1]/@href\""
    text = GOOD.replace('title: "a::text"', title)
    (tmp_path / "ok.yaml").write_text(
        text + "  counts: {reply: 'css:span.r::text', like: './span[@class=\"l\"]'}\n", encoding="utf-8"
    )
    assert check_sources(tmp_path) == []


def test_aliases_that_expand_modestly_still_work(tmp_path: Path) -> None:
    text = GOOD.replace('title: "a::text"', 'title: &t "a::text"') + "  title: *t\n"
    (tmp_path / "ok.yaml").write_text(text, encoding="utf-8")
    [source] = load_sources(tmp_path)[0]
    assert source.detail is not None and source.detail.title == "a::text"
