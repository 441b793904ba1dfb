"""Crawled post links (issue 10, items 1 and 16): only http(s) links are kept — a ``javascript:``,
``data:``, ``vbscript:`` or ``file:`` link is a ``bad_url`` problem of the source and its item is dropped —
the console renders a post's 原文 link only through the ``http_url`` filter, and a link selector matching
several nodes gives several links, never one joined URL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from api.console.render import TEMPLATES_DIR, http_url, templates
from crawlers.config import source_from_dict
from crawlers.crawl import crawl_round
from crawlers.extract import admit_item
from crawlers.fetch import fetch_round
from crawlers.health import source_health
from crawlers.items import CrawledItem
from tests.crawlers.local_site import Pages
from yuqing.bus import Bus
from yuqing.clock import CN_TZ, FakeClock
from yuqing.db.session import Database

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CN_TZ)
SETTINGS = {"DOWNLOAD_TIMEOUT": 5, "RETRY_TIMES": 0, "LOG_LEVEL": "CRITICAL", "ROBOTSTXT_OBEY": False}
HOSTILE = [
    "javascript:alert(document.domain)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "http:\\\\evil.example",
    "//",
]


@pytest.mark.parametrize("url", HOSTILE)
def test_the_console_filter_and_the_crawler_door_refuse_non_http_links(url: str) -> None:
    assert http_url(url) is None
    item, problems = admit_item(CrawledItem(source_id="s", url=url, title="t"))
    assert item is None and [p.kind for p in problems] == ["bad_url"]


def test_http_and_https_links_pass() -> None:
    for url in ("https://news.example.cn/a?id=1#x", "http://127.0.0.1:8765/board/msg/1.html"):
        assert http_url(url) == url
        item, problems = admit_item(CrawledItem(source_id="s", url=url, title="t"))
        assert item is not None and item.url == url and problems == []


def _post_link_lines() -> list[tuple[str, str]]:
    lines = []
    for path in sorted(Path(TEMPLATES_DIR).glob("*.html")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "原文" in line and "href" in line:
                lines.append((path.name, line))
    return lines


def test_every_post_link_in_the_console_templates_goes_through_the_filter() -> None:
    lines = _post_link_lines()
    assert {name for name, _ in lines} >= {"incident.html", "search.html", "post.html"}
    for name, line in lines:
        for url in HOSTILE:
            context = {key: {"url": url, "id": "p1"} for key in ("p", "hit", "post")}
            html = templates.env.from_string(line).render(**context)
            assert "原文" in html and "href=\"javascript" not in html.lower(), (name, html)
            assert 'href="' + url.split(":")[0] not in html or url.startswith("//"), (name, html)
            assert "/posts/p1" in html or name != "incident.html"
        good = "https://news.example.cn/a/1.html"
        context = {key: {"url": good, "id": "p1"} for key in ("p", "hit", "post")}
        assert f'href="{good}"' in templates.env.from_string(line).render(**context), name


def test_a_feed_and_a_page_with_script_links_keep_only_http_posts(
    pages: Pages, db: Database, bus: Bus, raw_posts: object
) -> None:
    pages.add(
        "/feed.xml",
        "<rss><channel>"
        "<item><title>正常条目</title><link>/item/1.html</link><description>路灯不亮</description></item>"
        "<item><title>恶意条目</title><link>javascript:alert(document.domain)</link>"
        "<description>xss</description></item>"
        "<item><title>数据条目</title><link>data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;</link>"
        "<description>xss</description></item>"
        "</channel></rss>",
        content_type="application/rss+xml; charset=utf-8",
    )
    pages.add(
        "/list.html",
        '<ul><li class="it"><a href="/ok.html">好的帖子</a></li>'
        '<li class="it"><a href="vbscript:msgbox(1)">坏的帖子</a></li>'
        '<li class="it"><a href="file:///etc/passwd">文件帖子</a></li></ul>',
    )
    sources = [
        source_from_dict(
            {"id": "feed", "name": "feed", "type": "rss", "start_urls": [pages.url("/feed.xml")]}
        ),
        source_from_dict(
            {
                "id": "list",
                "name": "list",
                "type": "html",
                "start_urls": [pages.url("/list.html")],
                "list": {"item": "li.it", "link": "a::attr(href)", "title": "a::text"},
            }
        ),
    ]
    producer = bus.producer()
    summaries = crawl_round(sources, db=db, producer=producer, clock=FakeClock(NOW), scrapy_settings=SETTINGS)
    producer.close()
    posts = raw_posts()  # type: ignore[operator]
    assert sorted(p.title for _, p in posts) == ["好的帖子", "正常条目"]
    assert all(p.url.startswith("http://127.0.0.1:") for _, p in posts)
    assert summaries["feed"].errors == {"bad_url": 2} and summaries["list"].errors == {"bad_url": 2}
    with db.transaction() as session:
        health = {h.source_id: h for h in source_health(session, NOW)}
    assert health["feed"].errors_last_day == {"bad_url": 2}
    assert any("javascript:alert" in p.reason for p in health["feed"].recent_problems)


def test_a_link_selector_matching_several_nodes_gives_several_links(pages: Pages) -> None:
    pages.add(
        "/multi.html",
        '<ul><li class="it"><a href="/detail/1">一号</a> <a href="/detail/2">二号</a>'
        '<a href="/detail/1">一号重复</a><p class="c">两条链接的条目</p></li></ul>'
        '<div class="pager"><a class="next" href="/multi.html?p=2">下一页</a>'
        '<a class="next" href="/multi.html?p=2">下一页</a></div>',
    )
    pages.add("/detail/1", "<h1>详情一</h1><div class='b'>内容一</div>")
    pages.add("/detail/2", "<h1>详情二</h1><div class='b'>内容二</div>")
    source = source_from_dict(
        {
            "id": "multi",
            "name": "multi",
            "type": "html",
            "max_pages": 1,
            "start_urls": [pages.url("/multi.html")],
            "list": {"item": "li.it", "link": "a::attr(href)", "next": "a.next::attr(href)"},
            "detail": {"title": "h1::text", "content": "div.b"},
        }
    )
    events = list(fetch_round([source], NOW, settings=SETTINGS))
    urls = sorted(e.item.url for e in events if e.item is not None)
    assert urls == [pages.url("/detail/1"), pages.url("/detail/2")]
    assert not [e for e in events if e.problem is not None]
    assert not any("/detail/1/detail/2" in (e.page.url if e.page else "") for e in events)
