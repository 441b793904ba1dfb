"""Scheduling, health and replay robustness (issue 10, items 4, 5, 8 and 12):

- a source whose runs yield no item and only problems becomes ``failing`` after FAILING_AFTER_RUNS runs,
  with the reason, and raises the operational alert;
- one hanging site does not stretch the other sources' intervals;
- a source file broken by an edit keeps running on its last good version, logged in one line;
- one bad replay line (a lone surrogate, a 100,000-deep array, not JSON) never fails its source's round
  nor another's, and nothing is emitted twice because of it.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from crawlers.config import source_from_dict
from crawlers.crawl import crawl_round
from crawlers.health import FAILING_AFTER_RUNS, source_health
from crawlers.worker import Scheduler
from tests.crawlers.local_site import Pages, serve_pages
from yuqing.bus import Bus
from yuqing.clock import CN_TZ, FakeClock, SystemClock
from yuqing.db.session import Database
from yuqing.ops_alerts import open_alerts
from yuqing.schemas import RawPost
from yuqing.settings import load_settings

NewPosts = Callable[[], list[tuple[str | None, RawPost]]]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CN_TZ)
SETTINGS = {"DOWNLOAD_TIMEOUT": 5, "RETRY_TIMES": 0, "LOG_LEVEL": "CRITICAL", "ROBOTSTXT_OBEY": False}
FEED = (
    "<rss><channel><item><title>路灯不亮</title><link>/item/1.html</link>"
    "<description>城区路灯不亮一周</description></item></channel></rss>"
)


def test_a_source_yielding_only_problems_becomes_failing_with_the_reason(
    pages: Pages, db: Database, bus: Bus, tmp_path: Path
) -> None:
    pages.add("/feed.xml", "<html><body><h1>网站改版中</h1></body></html>")  # HTML where RSS is expected
    pages.add("/api", "<html><body>维护中</body></html>")  # a JSON API answering HTML
    sources = [
        source_from_dict(
            {"id": "feed", "name": "新闻源", "type": "rss", "start_urls": [pages.url("/feed.xml")]}
        ),
        source_from_dict(
            {
                "id": "api",
                "name": "接口源",
                "type": "json_api",
                "api": {"url": pages.url("/api?page={page}"), "items": "data.list"},
                "fields": {"url": "url", "content": "text"},
            }
        ),
    ]
    clock = FakeClock(NOW)
    scheduler = Scheduler(load_settings(data_dir=tmp_path), db, clock, lambda s: True, "crawl")
    producer = bus.producer()
    for run in range(1, FAILING_AFTER_RUNS + 1):
        crawl_round(sources, db=db, producer=producer, clock=clock, scrapy_settings=SETTINGS)
        scheduler.raise_health_alerts(sources)
        with db.transaction() as session:
            health = {h.source_id: h for h in source_health(session, clock.now())}
        for source_id in ("feed", "api"):
            if run < FAILING_AFTER_RUNS:
                assert health[source_id].status == "ok" and health[source_id].reason is None
            else:
                assert health[source_id].status == "failing"
                assert health[source_id].reason == f"no item in the last {FAILING_AFTER_RUNS} runs, only " \
                    f"problems: parse ×{FAILING_AFTER_RUNS}"
        clock.advance(timedelta(minutes=10))
    with db.transaction() as session:
        alerts = {a.subject: a for a in open_alerts(session)}
    assert set(alerts) == {"feed", "api"} and "only problems" in alerts["feed"].detail

    pages.add("/feed.xml", FEED, content_type="application/rss+xml; charset=utf-8")  # the site is fixed
    crawl_round(sources[:1], db=db, producer=producer, clock=clock, scrapy_settings=SETTINGS)
    scheduler.raise_health_alerts(sources[:1])
    producer.close()
    with db.transaction() as session:
        health = {h.source_id: h for h in source_health(session, clock.now())}
        assert health["feed"].status == "ok" and health["api"].status == "failing"
        assert [a.subject for a in open_alerts(session)] == ["api"]


def _write_html_source(folder: Path, source_id: str, url: str, interval: str) -> Path:
    path = folder / f"{source_id}.yaml"
    path.write_text(
        f"id: {source_id}\nname: {source_id}\ntype: html\nstart_urls: ['{url}']\ninterval: {interval}\n"
        "obey_robots: false\nlist: {item: li.it, link: 'a::attr(href)', title: 'a::text'}\n",
        encoding="utf-8",
    )
    return path


def test_one_hanging_site_does_not_delay_the_other_sources(
    pages: Pages, db: Database, tmp_path: Path
) -> None:
    slow, slow_server = serve_pages()  # another site, which never answers in time
    hang = 200  # seconds: longer than the whole test may wait
    slow.add("/list.html", "<ul></ul>", delay=hang)
    folder = tmp_path / "sources"
    folder.mkdir()
    interval = 4
    for name in ("fast-a", "fast-b"):
        pages.add(f"/{name}.html", f'<ul><li class="it"><a href="/{name}/1.html">{name} 的帖子</a></li></ul>')
        _write_html_source(folder, name, pages.url(f"/{name}.html"), f"{interval}s")
    _write_html_source(folder, "hanging", slow.url("/list.html"), f"{interval}s")
    settings = load_settings(data_dir=tmp_path / "var", sources_dir=folder)
    scheduler = Scheduler(
        settings, db, SystemClock(), lambda s: True, "crawl",
        scrapy_settings={"DOWNLOAD_TIMEOUT": hang - 10, "RETRY_TIMES": 0, "LOG_LEVEL": "CRITICAL"},
    )
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop,))
    started = time.monotonic()
    thread.start()
    fast = ("fast-a", "fast-b")
    try:  # until each fast source was crawled three times (a loaded machine starts crawls slowly)
        while time.monotonic() - started < 120 and any(len(pages.hits_of(f"/{n}.html")) < 3 for n in fast):
            time.sleep(0.5)
    finally:
        stop.set()
        thread.join(60)
        slow.closing.set()
        slow_server.shutdown()
        slow_server.server_close()
    assert not thread.is_alive(), "stop must end the scheduler and its running crawls"
    assert len(slow.hits_of("/list.html")) == 1  # still hanging all along
    for name in fast:
        hits = [started, *pages.hits_of(f"/{name}.html")]
        gaps = [b - a for a, b in itertools.pairwise(hits)]
        assert len(hits) - 1 >= 3, (name, gaps)
        # its own interval plus a crawl's start-up, never the other site's hang (on a quiet machine the
        # gaps are about interval + 1 s; on a loaded one up to 12 s were seen)
        assert max(gaps) < interval + 26 < hang, (name, gaps)


def test_a_broken_edit_keeps_the_last_good_source_and_says_so_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, db: Database
) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    path = _write_html_source(folder, "board", "http://127.0.0.1:9/list.html", "10m")
    scheduler = Scheduler(load_settings(data_dir=tmp_path, sources_dir=folder), db, FakeClock(NOW),
                          lambda s: True, "crawl")
    [good] = scheduler.sources()
    path.write_text(path.read_text(encoding="utf-8").replace("li.it", "li..bad"), encoding="utf-8")
    (folder / "new.yaml").write_bytes("id: new\nname: 新来源\n".encode("gbk"))
    with caplog.at_level(logging.ERROR, logger="crawlers.worker"):
        assert scheduler.sources() == [good]
        assert scheduler.sources() == [good]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and all(r.exc_info is None for r in caplog.records)
    [kept] = [m for m in messages if "board.yaml" in m]
    assert "list.item" in kept and "invalid CSS selector" in kept and "keeping its last good version" in kept
    [new] = [m for m in messages if "new.yaml" in m]
    assert "not UTF-8" in new and "keeping" not in new


def _replay_line(url: str, title: str) -> str:
    at = "2026-11-21T14:00:00+08:00"  # every line is due at the replay's first round
    return json.dumps(
        {"url": url, "title": title, "content": f"{title}的内容", "published_at": at, "seen_at": at},
        ensure_ascii=False,
    )


def _replay_source(folder: Path, source_id: str, lines: list[str]) -> object:
    data = folder / f"{source_id}.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return source_from_dict(
        {"id": source_id, "name": source_id, "type": "replay", "file": str(data), "speed": 1000,
         "interval": "5s", "kind": "social"}
    )


def test_one_bad_replay_line_fails_nothing_and_emits_nothing_twice(
    tmp_path: Path, db: Database, bus: Bus, raw_posts: NewPosts
) -> None:
    surrogate = (
        '{"url": "https://drill.example/b/2", "title": "坏\\ud800字", "content": "孤立代理项\\udc00", '
        '"published_at": "2026-11-21T14:00:00+08:00"}'
    )
    sources = [
        _replay_source(tmp_path, "replay-a", [_replay_line(f"https://drill.example/a/{i}", f"甲{i}")
                                             for i in range(3)]),
        _replay_source(tmp_path, "replay-b", [
            _replay_line("https://drill.example/b/1", "乙1"),
            surrogate,
            "[" * 100_000 + "]" * 100_000,
            "not json at all",
            _replay_line("javascript:alert(1)", "恶意链接"),
            _replay_line("https://drill.example/b/3", "乙3"),
        ]),
        _replay_source(tmp_path, "replay-c", [_replay_line(f"https://drill.example/c/{i}", f"丙{i}")
                                             for i in range(2)]),
    ]
    clock = FakeClock(NOW)
    producer = bus.producer()
    summaries = crawl_round(sources, db=db, producer=producer, clock=clock)  # type: ignore[arg-type]
    assert dict(summaries["replay-b"].errors) == {"bad_text": 1, "parse": 2, "bad_url": 1}
    first = raw_posts()
    titles = sorted(p.title for _, p in first)
    assert titles == sorted(["甲0", "甲1", "甲2", "乙1", "坏\ufffd字", "乙3", "丙0", "丙1"])
    assert len({p.id for _, p in first}) == len(first)
    for _ in range(3):
        clock.advance(timedelta(seconds=5))
        crawl_round(sources, db=db, producer=producer, clock=clock)  # type: ignore[arg-type]
    assert raw_posts() == []  # nothing again, nothing twice

    late = _replay_source(tmp_path, "replay-d", [_replay_line("https://drill.example/d/1", "丁1")])
    crawl_round([*sources, late], db=db, producer=producer, clock=clock)  # type: ignore[list-item]
    producer.close()
    assert [p.title for _, p in raw_posts()] == ["丁1"]
    with db.transaction() as session:
        health = {h.source_id: h for h in source_health(session, clock.now())}
    assert health["replay-b"].status == "ok" and health["replay-b"].items_total == 3
    assert health["replay-b"].errors_last_day == {"bad_text": 1, "parse": 2, "bad_url": 1}
    assert {h.status for h in health.values()} == {"ok"}
