"""Hostile but plausible input over HTTP (issue 10, items 2, 3 and 12): mis-declared charsets both ways
(header and <meta>), a 100,000-level JSON document, a selector that fails at run time, and text that is
not valid Unicode — each a named problem counted in the source's health, never a traceback or a lost
round."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from crawlers.config import source_from_dict
from crawlers.crawl import crawl_round
from crawlers.fetch import fetch_round
from crawlers.health import source_health
from tests.crawlers.local_site import Pages
from yuqing.bus import Bus
from yuqing.clock import CN_TZ, FakeClock
from yuqing.db.session import Database
from yuqing.schemas import RawPost

NewPosts = Callable[[], list[tuple[str | None, RawPost]]]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CN_TZ)
SETTINGS = {"DOWNLOAD_TIMEOUT": 5, "RETRY_TIMES": 0, "LOG_LEVEL": "CRITICAL", "ROBOTSTXT_OBEY": False}
TITLE = "群众反映供暖不热"
MOJIBAKE = "缇や紬鍙嶆槧渚涙殩涓嶇儹"


def html_source(source_id: str, url: str) -> Any:
    return source_from_dict(
        {
            "id": source_id,
            "name": source_id,
            "type": "html",
            "start_urls": [url],
            "list": {"item": "li.it", "link": "a::attr(href)", "title": "a::text"},
        }
    )


def page(title: str, meta: str = "") -> str:
    head = f'<head><meta charset="{meta}"></head>' if meta else "<head></head>"
    return f'<html>{head}<body><ul><li class="it"><a href="/p/1.html">{title}</a></li></ul></body></html>'


@pytest.mark.parametrize(
    ("body", "content_type", "title", "declared"),
    [
        (page(TITLE).encode("utf-8"), "text/html; charset=gbk", TITLE, "gb18030"),
        (page(TITLE, meta="gbk").encode("utf-8"), "text/html", TITLE, "gb18030"),
        (page(TITLE).encode("gbk"), "text/html; charset=utf-8", TITLE, "utf-8"),
        (page(TITLE, meta="utf-8").encode("gbk"), "text/html", TITLE, "utf-8"),
        # short GBK text whose bytes happen to be valid UTF-8 (学校围墙 reads as ѧУΧǽ)
        (page("学校围墙").encode("gbk"), "text/html; charset=utf-8", "学校围墙", "utf-8"),
        (page("学校围墙", meta="utf-8").encode("gbk"), "text/html", "学校围墙", "utf-8"),
    ],
    ids=["utf8-as-gbk-header", "utf8-as-gbk-meta", "gbk-as-utf8-header", "gbk-as-utf8-meta",
         "valid-utf8-gbk-header", "valid-utf8-gbk-meta"],
)
def test_a_mis_declared_charset_is_decoded_as_the_bytes_say_and_recorded(
    pages: Pages, body: bytes, content_type: str, title: str, declared: str
) -> None:
    url = pages.add("/list.html", body, content_type=content_type)
    events = list(fetch_round([html_source("cs", url)], NOW, settings=SETTINGS))
    [item] = [e.item for e in events if e.item is not None]
    assert item.title == title and MOJIBAKE not in item.title
    [problem] = [e.problem for e in events if e.problem is not None]
    assert problem.kind == "encoding" and f"declared encoding {declared}" in problem.reason


@pytest.mark.parametrize(
    ("title", "encoding", "content_type", "meta"),
    [
        (TITLE, "utf-8", "text/html; charset=utf-8", ""),
        (TITLE, "gbk", "text/html", "gbk"),
        (TITLE, "gb18030", "text/html; charset=gb18030", ""),
        ("Привет мир, это тест Café", "utf-8", "text/html; charset=utf-8", ""),
    ],
    ids=["utf8", "gbk-meta", "gb18030-header", "russian-utf8"],
)
def test_a_correctly_declared_charset_is_left_alone(
    pages: Pages, title: str, encoding: str, content_type: str, meta: str
) -> None:
    url = pages.add("/list.html", page(title, meta=meta).encode(encoding), content_type=content_type)
    events = list(fetch_round([html_source("cs", url)], NOW, settings=SETTINGS))
    assert [e.item.title for e in events if e.item is not None] == [title]
    assert [e.problem for e in events if e.problem is not None] == []


def test_a_deeply_nested_json_answer_and_a_failing_selector_are_parse_problems_in_health(
    pages: Pages, db: Database, bus: Bus, raw_posts: NewPosts
) -> None:
    pages.add("/deep", "[" * 100_000 + "]" * 100_000, content_type="application/json")
    pages.add("/deep-object", '{"data": ' * 100_000 + "1" + "}" * 100_000, content_type="application/json")
    pages.add("/ok", json.dumps({"data": {"list": [{"id": 1, "text": "小区停水三天"}]}}),
              content_type="application/json")
    pages.add("/list.html", page("正常标题"))
    api = {"items": "data.list"}
    fields = {"url_template": pages.url("/post/{id}"), "content": "text"}
    sources = [
        source_from_dict({"id": "deep", "name": "deep", "type": "json_api",
                          "api": {**api, "url": pages.url("/deep?page={page}")}, "fields": fields}),
        source_from_dict({"id": "deep-object", "name": "deep", "type": "json_api",
                          "api": {**api, "url": pages.url("/deep-object?page={page}")}, "fields": fields}),
        source_from_dict({"id": "ok", "name": "ok", "type": "json_api",
                          "api": {**api, "url": pages.url("/ok?page={page}")}, "fields": fields}),
        source_from_dict({"id": "bad-xpath", "name": "bad", "type": "html",
                          "start_urls": [pages.url("/list.html")],
                          "list": {"item": "//li[no-such-function()]", "link": "./a/@href"}}),
    ]
    producer = bus.producer()
    summaries = crawl_round(sources, db=db, producer=producer, clock=FakeClock(NOW), scrapy_settings=SETTINGS)
    producer.close()
    assert dict(summaries["deep"].errors) == {"parse": 1}
    assert dict(summaries["deep-object"].errors) == {"parse": 1}
    assert dict(summaries["bad-xpath"].errors) == {"parse": 1}
    assert summaries["ok"].new == 1 and not summaries["ok"].errors
    assert [p.content for _, p in raw_posts()] == ["小区停水三天"]
    with db.transaction() as session:
        health = {h.source_id: h for h in source_health(session, NOW)}
    for source_id in ("deep", "deep-object"):
        assert health[source_id].errors_last_day == {"parse": 1}
        [problem] = health[source_id].recent_problems
        assert "nested deeper than" in problem.reason and "Traceback" not in problem.reason
    [problem] = health["bad-xpath"].recent_problems
    assert problem.kind == "parse" and "ValueError" in problem.reason
    assert "Unregistered function" in problem.reason


def test_text_that_is_not_valid_unicode_is_replaced_and_recorded(
    pages: Pages, db: Database, bus: Bus, raw_posts: NewPosts
) -> None:
    body = (
        '{"data": {"list": [{"id": 1, "text": "坏字符\\ud800在这里", "user": "\\udfff"}, '
        '{"id": 2, "text": "好的"}]}}'
    )
    pages.add("/api", body, content_type="application/json")
    source = source_from_dict(
        {
            "id": "surrogates",
            "name": "s",
            "type": "json_api",
            "max_pages": 1,
            "api": {"url": pages.url("/api?page={page}"), "items": "data.list"},
            "fields": {"url_template": pages.url("/post/{id}"), "content": "text", "author": "user"},
        }
    )
    producer = bus.producer()
    summary = crawl_round([source], db=db, producer=producer, clock=FakeClock(NOW), scrapy_settings=SETTINGS)
    producer.close()
    assert summary["surrogates"].new == 2 and dict(summary["surrogates"].errors) == {"bad_text": 1}
    posts = sorted(p.content for _, p in raw_posts())
    assert posts == ["坏字符\ufffd在这里", "好的"]
