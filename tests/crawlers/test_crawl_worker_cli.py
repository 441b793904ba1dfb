"""The crawler stage as the demo runs it, and the officer's commands."""

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from crawlers import cli
from crawlers.worker import run
from yuqing.bus import open_bus
from yuqing.schemas import RawPost
from yuqing.settings import PROJECT_ROOT, get_settings, load_settings
from yuqing.topology import Topics

SOURCES_DIR = PROJECT_ROOT / "crawlers" / "sources"


def cli_app() -> typer.Typer:
    app = typer.Typer()
    cli.register(app)
    return app


@pytest.fixture
def sources_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "sources"
    folder.mkdir()
    shutil.copy(SOURCES_DIR / "nanyang-news.yaml", folder)
    replay = (SOURCES_DIR / "fengqiu-drill-replay.yaml").read_text(encoding="utf-8")
    data = (SOURCES_DIR / "../../sample_site/data/fengqiu_explosion_replay.jsonl").resolve()
    (folder / "replay.yaml").write_text(
        replay.replace("../../sample_site/data/fengqiu_explosion_replay.jsonl", str(data)), encoding="utf-8"
    )
    (folder / "broken.yaml").write_text("id: broken\ntype: html\n", encoding="utf-8")
    return folder


def test_worker_runs_every_source_until_stop(
    site: str, sources_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUQING_SAMPLE_SITE_URL", site)
    settings = load_settings(data_dir=tmp_path / "var", sources_dir=sources_dir)
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(settings, stop))
    worker.start()
    seen: dict[str, int] = {}
    bus = open_bus(settings.bus_url, partitions=settings.bus_partitions)
    consumer = bus.consumer("worker-test", [Topics.RAW_POSTS])
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (
            seen.get("nanyang-news") == 8 and seen.get("fengqiu-drill-replay")
        ):
            for message in consumer.poll(timeout=0.5, max_records=100):
                post = RawPost.model_validate_json(message.value)
                seen[post.source_id] = seen.get(post.source_id, 0) + 1
    finally:
        stop.set()
        worker.join(30)
        consumer.close()
        bus.close()
    assert not worker.is_alive(), "the worker must end when stop is set"
    assert seen.get("nanyang-news") == 8
    assert seen.get("fengqiu-drill-replay", 0) >= 1


def test_sources_test_prints_items_as_json_lines_and_emits_nothing(
    site: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUQING_SAMPLE_SITE_URL", site)
    monkeypatch.setenv("YUQING_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    result = CliRunner().invoke(cli_app(), ["sources", "test", str(SOURCES_DIR / "ningyang-letters.yaml")])
    assert result.exit_code == 0, result.output
    items = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(items) == 6
    for item in items:
        assert set(item) >= {"url", "title", "content", "published_at", "author", "counts", "source_id"}
        assert item["source_id"] == "ningyang-letters" and item["published_at"].endswith("+08:00")
    assert "6 item(s) from ningyang-letters" in result.stderr
    assert not (tmp_path / "var").exists()


def test_sources_test_fails_when_nothing_can_be_extracted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUQING_SAMPLE_SITE_URL", "http://127.0.0.1:9")  # nothing listens there
    result = CliRunner().invoke(cli_app(), ["sources", "test", str(SOURCES_DIR / "nanyang-news.yaml")])
    assert result.exit_code == 1
    assert "connection" in result.stderr and "0 item(s) from nanyang-news" in result.stderr


def test_sources_test_refuses_an_invalid_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: x\ntype: rss\n", encoding="utf-8")
    result = CliRunner().invoke(cli_app(), ["sources", "test", str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.stderr


def test_crawl_once_emits_then_nothing_new(
    site: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YUQING_SAMPLE_SITE_URL", site)
    monkeypatch.setenv("YUQING_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setattr("yuqing.cli.core_cmds.stop_on_signals", threading.Event)  # keep pytest's handlers
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(cli_app(), ["crawl", "shaoyang-social", "--once"])
        assert first.exit_code == 0, first.output
        assert "new=9 updated=0" in first.stderr
        second = CliRunner().invoke(cli_app(), ["crawl", "shaoyang-social", "--once"])
        assert "new=0 updated=0" in second.stderr
        unknown = CliRunner().invoke(cli_app(), ["crawl", "no-such-source", "--once"])
        assert unknown.exit_code == 2 and "no enabled source 'no-such-source'" in unknown.stderr
        health = CliRunner().invoke(cli_app(), ["sources", "health", "--json"])
        rows = {row["source_id"]: row for row in map(json.loads, health.stdout.splitlines())}
        assert rows["shaoyang-social"]["items_last_day"] == 9 and rows["shaoyang-social"]["status"] == "ok"
        assert rows["nanyang-news"]["status"] == "never_run"  # configured, not crawled yet
    finally:
        get_settings.cache_clear()
