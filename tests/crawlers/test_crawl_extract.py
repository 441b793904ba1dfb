"""Extraction without a network: spiders parse responses built in memory."""

from datetime import datetime

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse

from crawlers.config import HtmlSource, JsonApiSource, RssSource, source_from_dict
from crawlers.extract import canonical_url, json_path, parse_count
from crawlers.items import CrawledItem, Problem
from crawlers.spiders import HtmlSpider, JsonApiSpider, RssSpider
from crawlers.text import decode_page, html_to_text
from sample_site.server import HERE
from yuqing.clock import CN_TZ

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CN_TZ)
BAD_LIST = (HERE / "templates" / "bad_list.html").read_bytes()


def html_source(**extra: object) -> HtmlSource:
    data = {
        "id": "bad-list",
        "name": "坏页面",
        "type": "html",
        "start_urls": ["http://site.test/bad/list.html"],
        "list": {
            "item": "li.it",
            "link": "a::attr(href)",
            "title": "a::text",
            "content": "p.c",
            "published_at": "span.d::text",
        },
        **extra,
    }
    source = source_from_dict(data)
    assert isinstance(source, HtmlSource)
    return source


def outputs(results: object) -> tuple[list[CrawledItem], list[Problem], list[Request]]:
    items, problems, requests = [], [], []
    for out in results:  # type: ignore[attr-defined]
        {CrawledItem: items, Problem: problems, Request: requests}[type(out)].append(out)
    return items, problems, requests


def test_a_page_with_broken_entries_still_yields_the_good_ones() -> None:
    spider = HtmlSpider(source=html_source(), now=NOW)
    response = HtmlResponse("http://site.test/bad/list.html", body=BAD_LIST, encoding="utf-8")
    items, problems, _ = outputs(spider.parse_list(response, page_no=1))
    by_url = {i.url: i for i in items}
    assert set(by_url) == {
        "http://site.test/bad/item/ok1.html",
        "http://site.test/bad/item/nodate.html",
        "http://site.test/bad/item/ok2.html",
    }
    assert by_url["http://site.test/bad/item/ok1.html"].published_at == datetime(
        2026, 11, 22, 19, 0, tzinfo=CN_TZ
    )
    assert by_url["http://site.test/bad/item/nodate.html"].published_at is None
    assert "电梯停了三天" in by_url["http://site.test/bad/item/ok2.html"].content
    kinds = sorted(p.kind for p in problems)
    assert kinds == ["bad_date", "missing_field", "missing_field"]
    reasons = " | ".join(p.reason for p in problems)
    assert "missing url" in reasons and "missing title or content" in reasons and "大约在冬季" in reasons


def test_required_fields_from_the_yaml_skip_items_without_them() -> None:
    spider = HtmlSpider(source=html_source(required=["published_at"]), now=NOW)
    response = HtmlResponse("http://site.test/bad/list.html", body=BAD_LIST, encoding="utf-8")
    items, problems, _ = outputs(spider.parse_list(response, page_no=1))
    assert all(i.published_at is not None or "nodate" in i.url for i in items)
    assert any(p.kind == "missing_field" and "published_at" in p.reason for p in problems)


def test_a_list_selector_matching_nothing_is_reported() -> None:
    spider = HtmlSpider(source=html_source(), now=NOW)
    response = HtmlResponse(
        "http://site.test/x", body="<html><body>改版了</body></html>".encode(), encoding="utf-8"
    )
    items, problems, _ = outputs(spider.parse_list(response, page_no=1))
    assert items == [] and [p.kind for p in problems] == ["parse"]


def test_paging_stops_at_max_pages() -> None:
    source = html_source(
        max_pages=2, list={"item": "li", "link": "a::attr(href)", "next": "a.next::attr(href)"}
    )
    spider = HtmlSpider(source=source, now=NOW)
    page = b'<ul><li><a href="/p/1">one</a></li></ul><a class="next" href="/list?page=3">next</a>'
    response = HtmlResponse("http://site.test/list?page=2", body=page, encoding="utf-8")
    assert not [r for r in outputs(spider.parse_list(response, page_no=2))[2] if "list" in r.url]
    requests = outputs(spider.parse_list(response, page_no=1))[2]
    assert [r.url for r in requests] == ["http://site.test/list?page=3"]


def test_html_to_text_drops_scripts_styles_navigation_and_keeps_paragraphs() -> None:
    html = (
        "<div><nav>首页 新闻</nav><script>var a='统计';</script><style>p{}</style>"
        "<p>　　第一段，<b>加粗</b>文字。</p><p>第二段&nbsp;内容</p><!-- 注释 --><footer>版权</footer></div>"
    )
    assert html_to_text(html) == "第一段，加粗文字。\n第二段 内容"


def test_lying_charset_header_is_detected_and_reported() -> None:
    body = "<html><body><p>县城自来水有异味，请尽快检测。</p></body></html>".encode("gbk")
    response = TextResponse(
        "http://site.test/x", body=body, headers={"Content-Type": "text/html; charset=utf-8"}
    )
    text, note = decode_page(response.body, response.text, response.encoding)
    assert "县城自来水有异味" in text
    assert note is not None and "gb18030" in note


@pytest.mark.parametrize("head", ['<meta charset="gbk">', ""])
def test_gbk_declared_in_meta_or_undeclared_is_read_without_a_note(head: str) -> None:
    body = f"<html><head>{head}</head><body>宁阳县问政：自来水发黄浑浊，烧开后有沉淀。</body></html>".encode(
        "gbk"
    )
    response = HtmlResponse("http://site.test/x", body=body)
    text, note = decode_page(response.body, response.text, response.encoding)
    assert "自来水发黄浑浊" in text and note is None


def test_rss_entries_without_links_are_skipped_with_a_reason() -> None:
    source = source_from_dict(
        {"id": "feed", "name": "feed", "type": "rss", "start_urls": ["http://site.test/f"]}
    )
    assert isinstance(source, RssSource)
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        "<item><title>有链接</title><link>http://site.test/a</link><dc:creator>记者</dc:creator>"
        "<pubDate>Sun, 22 Nov 2026 10:05:00 +0800</pubDate><description><![CDATA[<p>正文</p>]]></description>"
        "</item><item><title>没有链接</title></item></channel></rss>"
    ).encode()
    response = TextResponse("http://site.test/f", body=feed, headers={"Content-Type": "application/rss+xml"})
    items, problems, _ = outputs(RssSpider(source=source, now=NOW).parse_feed(response))
    assert [(i.title, i.content, i.author) for i in items] == [("有链接", "正文", "记者")]
    assert items[0].published_at == datetime(2026, 11, 22, 10, 5, tzinfo=CN_TZ)
    assert [p.kind for p in problems] == ["missing_field"]


def test_json_api_items_that_are_not_objects_or_lack_fields_are_skipped() -> None:
    source = source_from_dict(
        {
            "id": "api",
            "name": "api",
            "type": "json_api",
            "api": {"url": "http://site.test/api?page={page}", "items": "data.list", "has_more": "data.more"},
            "fields": {
                "url_template": "http://site.test/s/{id}",
                "content": "text",
                "published_at": "t",
                "author": "user.name",
                "counts": {"like": "likes"},
            },
        }
    )
    assert isinstance(source, JsonApiSource)
    body = (
        '{"data": {"more": true, "list": [{"id": 1, "text": "正文一", "t": "3分钟前", "user": {"name": "甲"},'
        ' "likes": "1.2万"}, "oops", {"text": "没有id"}, {"id": 4, "text": ""}]}}'
    ).encode()
    response = TextResponse(
        "http://site.test/api?page=1", body=body, headers={"Content-Type": "application/json"}
    )
    items, problems, requests = outputs(JsonApiSpider(source=source, now=NOW).parse_page(response, page=1))
    assert [(i.url, i.content, i.author, i.counts.like) for i in items] == [
        ("http://site.test/s/1", "正文一", "甲", 12000)
    ]
    assert items[0].published_at == datetime(2026, 11, 23, 11, 57, tzinfo=CN_TZ)
    assert sorted(p.kind for p in problems) == ["missing_field", "missing_field", "parse"]
    assert [r.url for r in requests] == ["http://site.test/api?page=2"]


def test_json_api_non_json_answer_is_a_parse_problem() -> None:
    source = source_from_dict(
        {
            "id": "api",
            "name": "api",
            "type": "json_api",
            "api": {"url": "http://site.test/api?page={page}", "items": "list"},
            "fields": {"url": "u", "content": "c"},
        }
    )
    response = TextResponse(
        "http://site.test/api?page=1", body=b"<html>maintenance</html>", headers={"Content-Type": "text/html"}
    )
    items, problems, requests = outputs(JsonApiSpider(source=source, now=NOW).parse_page(response, page=1))
    assert (items, requests, [p.kind for p in problems]) == ([], [], ["parse"])


def test_counts_and_paths() -> None:
    assert [parse_count(t) for t in ("回复(12)", "1.2万", "3k", "1,234 次", "无", 7)] == [
        12,
        12000,
        3000,
        1234,
        None,
        7,
    ]
    assert json_path({"a": [{"b": 1}]}, "a.0.b") == 1
    assert json_path({"a": []}, "a.3") is None


def test_canonical_url_drops_fragments_and_tracking_and_sorts_the_query() -> None:
    assert canonical_url("http://Site.test/a?b=2&utm_source=x&a=1#reply") == canonical_url(
        "http://site.test/a?a=1&b=2"
    )
