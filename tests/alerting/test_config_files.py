"""Hostile or mistaken config files (issue 10, items 8 and 15): a GBK file, unknown and duplicate keys,
non-http(s) webhook URLs, unset ``url_env``, department ids with ``/`` or spaces, alias bombs and
self-referencing aliases each give ONE line naming the file, the field and the fix — in the CLI and in
the running stage's log, which keeps the last good config."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alerting.calendar import CalendarError, read_overrides
from alerting.clocks import Policies, PolicyError
from alerting.directory import Directory, DirectoryError
from alerting.rules import RulesError, RulesFile, load_config
from response_playbooks import PlaybookError, load_playbooks
from tests.conftest import prepare_schema
from yuqing.cli.main import app
from yuqing.db.session import make_engine
from yuqing.settings import PROJECT_ROOT, get_settings

runner = CliRunner()
RULES = PROJECT_ROOT / "alerting" / "config" / "rules.yaml"
DEPARTMENTS = PROJECT_ROOT / "alerting" / "config" / "departments.yaml"
GOOD_RULE = "rules:\n  - {name: 规则一, level: 一般, when: {heat_at_least: 1}}\n"

BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)
)


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize(
    ("content", "field", "words"),
    [
        (GOOD_RULE.encode("gbk"), "file", ["not UTF-8", "GBK", "iconv"]),
        (GOOD_RULE + "escalaton: {}\n", "escalaton", ["unknown key", "fix:"]),
        (GOOD_RULE + "rules: []\n", "rules", ["given twice", "first at line 1", "keep one"]),
        (
            GOOD_RULE + "notifications:\n  channels:\n    - {name: hook, type: webhook, "
            "options: {url: 'file:///etc/passwd'}}\n",
            "notifications.channels.0.options",
            ["not an http(s) URL", "fix:"],
        ),
        (
            GOOD_RULE + "notifications:\n  channels:\n    - {name: hook, type: webhook, "
            "options: {url: 'javascript:alert(1)'}}\n",
            "notifications.channels.0.options",
            ["not an http(s) URL"],
        ),
        (
            GOOD_RULE + "notifications:\n  channels:\n    - {name: hook, type: webhook, "
            "options: {url_env: YUQING_TEST_SURELY_UNSET_URL}}\n",
            "notifications.channels.0.options.url_env",
            ["YUQING_TEST_SURELY_UNSET_URL is not set", "fix: export"],
        ),
        (BOMB + GOOD_RULE, "line", ["alias bomb"]),
        ("name: &a [*a]\n" + GOOD_RULE, "line 1", ["refers to the collection that contains it"]),
        ("x: " + "[" * 100_000 + "]" * 100_000 + "\n" + GOOD_RULE, "", ["nested deeper"]),
    ],
    ids=["gbk", "unknown-key", "duplicate-key", "file-url", "javascript-url", "unset-url-env",
         "billion-laughs", "self-alias", "deep-nesting"],
)
def test_rules_check_gives_one_line_naming_file_field_and_fix(
    tmp_path: Path, content: str | bytes, field: str, words: list[str]
) -> None:
    os.environ.pop("YUQING_TEST_SURELY_UNSET_URL", None)
    path = tmp_path / "rules.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    started = time.monotonic()
    result = runner.invoke(app, ["rules", "check", str(path)])
    assert time.monotonic() - started < 10
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert str(path) in line and f": {field}" in line, line
    for word in words:
        assert word in line, line


def test_a_set_url_env_and_an_https_webhook_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUQING_TEST_HOOK_URL", "https://hooks.example.cn/x")
    path = tmp_path / "rules.yaml"
    path.write_text(
        GOOD_RULE + "notifications:\n  channels:\n    - {name: hook, type: webhook, "
        "options: {url_env: YUQING_TEST_HOOK_URL}}\n    - {name: hook2, type: webhook, "
        "options: {url: 'https://hooks.example.cn/y'}}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 0, result.output


def test_the_running_stage_logs_one_line_and_keeps_the_last_good_rules(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(RULES.read_bytes())
    rules = RulesFile(path)
    good = rules.current()
    self_alias = "name: &a [*a]\n" + GOOD_RULE
    bad_edits = (GOOD_RULE.encode("gbk"), (BOMB + GOOD_RULE).encode(), self_alias.encode())
    for bad in bad_edits:
        path.write_bytes(bad)
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="alerting.rules"):
            assert rules.current() is good
        assert rules.last_error is not None and str(path) in rules.last_error
        assert "\n" not in rules.last_error
        [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert record.exc_info is None and "keeping the last good ones" in record.getMessage()


def test_every_alerting_config_reader_uses_the_safe_loader(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB, encoding="utf-8")
    gbk = tmp_path / "gbk.yaml"
    gbk.write_bytes("years: {}\n# 节假日\n".encode("gbk"))
    for path in (bomb, gbk):
        for load, error in (
            (load_config, RulesError),
            (Policies.load, PolicyError),
            (Directory.load_yaml, DirectoryError),
            (read_overrides, CalendarError),
        ):
            with pytest.raises(error) as info:
                load(path)
            assert str(path) in str(info.value) and "\n" not in str(info.value)
        folder = tmp_path / f"playbooks-{path.stem}"
        folder.mkdir()
        (folder / "default.yaml").write_bytes(path.read_bytes())
        with pytest.raises(PlaybookError) as info:
            load_playbooks(folder)
        assert "default.yaml" in str(info.value) and "\n" not in str(info.value)


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


@pytest.mark.parametrize(
    ("transform", "field", "words"),
    [
        (lambda t: t.encode("gbk"), "file", ["not UTF-8", "iconv"]),
        (
            lambda t: t.replace("id: ha-wxb", "id: HA WXB/../x", 1).encode(),
            "departments.0.id",
            ["no spaces or '/'"],
        ),
        (lambda t: t.replace("id: ha-wxb", "id: ha/wxb", 1).encode(), "departments.0.id", ["fix:"]),
        (lambda t: (t + "\nhome_region: '41'\n").encode(), "home_region", ["given twice"]),
        (lambda t: (t + "\nextra_thing: 1\n").encode(), "extra_thing", ["unknown key", "fix:"]),
    ],
    ids=["gbk", "id-with-space-and-slash", "id-with-slash", "duplicate-key", "unknown-key"],
)
def test_departments_import_gives_one_line_and_keeps_the_stored_directory(
    db_env: str, tmp_path: Path, transform: object, field: str, words: list[str]
) -> None:
    assert runner.invoke(app, ["departments", "import", str(DEPARTMENTS)]).exit_code == 0
    bad = tmp_path / "departments.yaml"
    bad.write_bytes(transform(DEPARTMENTS.read_text(encoding="utf-8")))  # type: ignore[operator]
    result = runner.invoke(app, ["departments", "import", str(bad)])
    assert result.exit_code == 2, result.output
    line = one_line(result.stderr)
    assert str(bad) in line and field in line, line
    for word in words:
        assert word in line, line
    listed = runner.invoke(app, ["departments", "list", "--json"])
    assert len(listed.stdout.splitlines()) == len(Directory.load_yaml(DEPARTMENTS).departments)
