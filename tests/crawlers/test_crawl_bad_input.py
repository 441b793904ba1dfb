"""Misbehaving pages over HTTP: each problem is counted by kind for its source, nothing crashes, and the
good items of a page still come through."""

import threading
import time
from collections.abc import Callable
from datetime import datetime

from crawlers.config import source_from_dict
from crawlers.crawl import crawl_round
from crawlers.fetch import fetch_round
from crawlers.health import source_health
from yuqing.bus import Bus
from yuqing.clock import CN_TZ, FakeClock
from yuqing.db.session import Database
from yuqing.schemas import RawPost

NewPosts = Callable[[], list[tuple[str | None, RawPost]]]  # the raw_posts fixture

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CN_TZ)
SETTINGS = {
    "DOWNLOAD_TIMEOUT": 2,
    "DOWNLOAD_MAXSIZE": 1024 * 1024,
    "RETRY_TIMES": 1,
    "RETRY_BACKOFF_BASE": 0.05,
    "REDIRECT_MAX_TIMES": 3,
    "LOG_LEVEL": "CRITICAL",
}
LIST = {
    "item": "li.it",
    "link": "a::attr(href)",
    "title": "a::text",
    "content": "p.c",
    "published_at": "span.d::text",
}


def html(source_id: str, *paths: str, site: str) -> dict[str, object]:
    return {
        "id": source_id,
        "name": source_id,
        "type": "html",
        "start_urls": [site + p for p in paths],
        "list": LIST,
    }


def test_bad_pages_are_counted_by_kind_per_source_and_good_items_still_come(
    site: str, db: Database, bus: Bus, raw_posts: NewPosts
) -> None:
    sources = [
        source_from_dict(d)
        for d in (
            html("broken-list", "/bad/list.html", site=site),
            html("lying-charset", "/bad/lying-charset.html", site=site),
            html("flaky", "/bad/flaky?key=a&fail=1", site=site),
            html(
                "failing",
                "/bad/404",
                "/bad/500",
                "/bad/loop",
                "/bad/huge",
                "/bad/slow?s=6",
                "/private/secret.html",
                site=site,
            ),
            {"id": "broken-feed", "name": "feed", "type": "rss", "start_urls": [f"{site}/bad/feed.xml"]},
            {
                "id": "not-json",
                "name": "api",
                "type": "json_api",
                "api": {"url": f"{site}/bad/notjson?page={{page}}", "items": "data.list"},
                "fields": {"url": "url", "content": "text"},
            },
        )
    ]
    producer = bus.producer()
    summaries = crawl_round(sources, db=db, producer=producer, clock=FakeClock(NOW), scrapy_settings=SETTINGS)
    producer.close()

    assert dict(summaries["failing"].errors) == {
        "http_404": 1,
        "http_500": 1,
        "redirect_loop": 1,
        "too_large": 1,
        "timeout": 1,
        "robots": 1,
    }
    assert summaries["failing"].items_found == 0
    assert dict(summaries["broken-list"].errors) == {"missing_field": 2, "bad_date": 1}
    assert summaries["broken-list"].new == 3
    assert dict(summaries["lying-charset"].errors) == {"encoding": 1}
    assert (summaries["flaky"].new, dict(summaries["flaky"].errors)) == (1, {})  # 503, retried
    assert (summaries["broken-feed"].new, dict(summaries["broken-feed"].errors)) == (1, {"missing_field": 1})
    assert summaries["not-json"].errors["parse"] == 1

    titles = {p.title for _, p in raw_posts()}
    assert titles == {
        "正常条目：城区路灯不亮已经一周",
        "时间看不懂的条目",
        "未闭合标签的条目：小区电梯坏了",
        "县城自来水有异味",
        "重试后才拿到的条目",
        "完整的条目",
    }

    with db.transaction() as session:
        health = {h.source_id: h for h in source_health(session, NOW)}
    failing = health["failing"]
    assert failing.status == "failing" and failing.last_success_at is None
    assert failing.errors_last_day == {
        "http_404": 1,
        "http_500": 1,
        "redirect_loop": 1,
        "too_large": 1,
        "timeout": 1,
        "robots": 1,
    }
    assert {p.kind for p in failing.recent_problems} <= set(failing.errors_last_day)
    assert health["broken-list"].status == "ok" and health["broken-list"].items_last_hour == 3
    assert any("大约在冬季" in p.reason for p in health["broken-list"].recent_problems)


def test_stop_ends_a_running_round_promptly(site: str) -> None:
    source = source_from_dict(html("slow", "/bad/slow?s=25", site=site))
    stop = threading.Event()
    threading.Timer(1.0, stop.set).start()
    started = time.monotonic()
    events = list(
        fetch_round(
            [source], NOW, settings={"DOWNLOAD_TIMEOUT": 60, "LOG_LEVEL": "CRITICAL"}, stop=stop, grace=3
        )
    )
    assert time.monotonic() - started < 10
    assert not [e for e in events if e.item is not None]
    assert not [e for e in events if e.problem is not None and e.problem.kind == "crawler_crashed"]


def test_an_unreachable_site_is_a_connection_problem_not_a_crash() -> None:
    source = source_from_dict(html("nowhere", "/x", site="http://127.0.0.1:9"))
    events = list(fetch_round([source], NOW, settings={**SETTINGS, "ROBOTSTXT_OBEY": False}))
    assert [e.problem.kind for e in events if e.problem is not None] == ["connection"]
