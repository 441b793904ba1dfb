"""One generic spider per source type; the source's YAML is all a spider knows about a site.

Spiders yield ``CrawledItem`` and ``Problem`` objects; failed requests end in ``on_error``, which turns
the failure into a Problem with a kind (timeout, http_404, robots, redirect_loop, too_large, …).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import scrapy
from parsel import Selector
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionRefusedError as TxConnectionRefused
from twisted.internet.error import DNSLookupError, TCPTimedOutError
from twisted.internet.error import TimeoutError as TxTimeoutError
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseFailed, ResponseNeverReceived

from crawlers.config import HtmlSource, JsonApiSource, RssSource, Source
from crawlers.extract import (
    bad_url_problem,
    build_item,
    feed_entries,
    http_url,
    json_fields,
    json_path,
    merge_fields,
    select,
    select_fields,
    select_links,
)
from crawlers.items import CrawledItem, Problem
from crawlers.text import decode_page
from yuqing.safe_input import JsonLimitError, loads_bounded

Output = CrawledItem | Problem | scrapy.Request


def classify_failure(failure: Failure) -> tuple[str, str]:
    """(kind, reason) of a failed request."""
    exc = failure.value
    if isinstance(exc, HttpError):
        status = exc.response.status
        return f"http_{status}", f"HTTP {status}"
    if isinstance(exc, DownloadTimeoutError | TxTimeoutError | TCPTimedOutError | TimeoutError):
        return "timeout", str(exc) or "timed out"
    if isinstance(exc, CannotResolveHostError | DNSLookupError):
        return "dns", str(exc)
    if isinstance(exc, DownloadCancelledError):
        return "too_large", str(exc)
    if isinstance(exc, IgnoreRequest):
        text = str(exc)
        if "robots" in text:
            return "robots", "forbidden by robots.txt"
        if "redirect" in text:
            return "redirect_loop", "too many redirects (redirect loop?)"
        return "ignored", text
    if isinstance(
        exc,
        DownloadConnectionRefusedError
        | DownloadFailedError
        | ResponseDataLossError
        | TxConnectionRefused
        | ResponseFailed
        | ResponseNeverReceived
        | ConnectionError,
    ):
        return "connection", str(exc) or exc.__class__.__name__
    return "fetch_error", f"{exc.__class__.__name__}: {exc}"


class SourceSpider(scrapy.Spider):
    """Common part: the source, ``now`` for relative dates, page decoding and error handling."""

    source: Source

    def __init__(self, source: Source, now: datetime, **kwargs: Any) -> None:
        super().__init__(name=source.id, **kwargs)
        self.source = source
        self.now = now

    def request(self, url: str, callback: Any, **kwargs: Any) -> scrapy.Request:
        # dont_filter: a redirect back to a URL already fetched must count towards REDIRECT_MAX_TIMES and
        # end as a "redirect_loop" problem instead of vanishing in the duplicate filter.
        return scrapy.Request(url, callback=callback, errback=self.on_error, dont_filter=True, **kwargs)

    def on_error(self, failure: Failure) -> Iterator[Problem]:
        kind, reason = classify_failure(failure)
        request = getattr(failure, "request", None)
        yield Problem(
            source_id=self.source.id, kind=kind, url=request.url if request else None, reason=reason
        )

    def page_text(self, response: Response) -> tuple[str, list[Problem]]:
        scrapy_text = None
        declared = None
        if isinstance(response, TextResponse):
            declared = response.encoding
            try:
                scrapy_text = response.text
            except (UnicodeDecodeError, LookupError):
                scrapy_text = None
        text, note = decode_page(response.body, scrapy_text, declared, self.source.encoding)
        problems = (
            [Problem(source_id=self.source.id, kind="encoding", url=response.url, reason=note)]
            if note
            else []
        )
        return text, problems

    def html(self, response: Response) -> tuple[Selector, list[Problem]]:
        text, problems = self.page_text(response)
        return Selector(text=text or "<html></html>", type="html", base_url=response.url), problems

    def item(self, url: str | None, fields: dict[str, Any]) -> Iterator[CrawledItem | Problem]:
        item, problems = build_item(self.source, url, fields, self.now)
        yield from problems
        if item is not None:
            yield item


class DetailPageSpider(SourceSpider):
    """Spiders that may follow each entry to its page and take the ``detail`` selectors' fields there."""

    source: RssSource | HtmlSource

    def entry(self, response: Response, link: str | None, fields: dict[str, Any]) -> Iterator[Output]:
        """Follow one entry's link to its detail page, or build the item from the list/feed fields.
        A link that is not http(s) (javascript:, data:, file: …) is neither followed nor kept."""
        url = response.urljoin(link.strip()) if link else None
        if url is not None and http_url(url) is None:
            yield bad_url_problem(self.source.id, url, "entry")
            return
        if url and self.source.detail is not None:
            yield self.request(url, self.parse_detail, cb_kwargs={"base": fields})
        else:
            yield from self.item(url, fields)

    def parse_detail(self, response: Response, base: dict[str, Any]) -> Iterator[Output]:
        page, problems = self.html(response)
        yield from problems
        assert self.source.detail is not None
        yield from self.item(response.url, merge_fields(base, select_fields(page, self.source.detail)))


class RssSpider(DetailPageSpider):
    source: RssSource

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.start_urls:
            yield self.request(url, self.parse_feed)

    def parse_feed(self, response: Response) -> Iterator[Output]:
        text, problems = self.page_text(response)
        yield from problems
        try:
            feed = Selector(text=text, type="xml")
        except ValueError as exc:
            yield Problem(
                source_id=self.source.id, kind="parse", url=response.url, reason=f"not a feed: {exc}"
            )
            return
        feed.remove_namespaces()
        entries = list(feed_entries(feed))
        if not entries:
            yield Problem(
                source_id=self.source.id,
                kind="parse",
                url=response.url,
                reason="no <item> or <entry> in the feed",
            )
        for link, fields in entries:
            yield from self.entry(response, link, fields)


class HtmlSpider(DetailPageSpider):
    source: HtmlSource

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.start_urls:
            yield self.request(url, self.parse_list, cb_kwargs={"page_no": 1})

    def parse_list(self, response: Response, page_no: int) -> Iterator[Output]:
        page, problems = self.html(response)
        yield from problems
        spec = self.source.list
        entries = select(page, spec.item)
        if not entries:
            yield Problem(
                source_id=self.source.id,
                kind="parse",
                url=response.url,
                reason=f"list.item {spec.item!r} matched nothing on the page",
            )
        for entry in entries:
            fields = select_fields(entry, spec)
            # a link selector matching several nodes gives several entries, never one joined URL
            hrefs: list[str | None] = [*select_links(entry, spec.link)] or [None]
            for href in hrefs:
                yield from self.entry(response, href, fields)
        next_links = [response.urljoin(h) for h in select_links(page, spec.next)]
        next_url = next((u for u in next_links if http_url(u)), None)  # a pager's first usable "next"
        if next_url and page_no < self.source.max_pages:
            yield self.request(next_url, self.parse_list, cb_kwargs={"page_no": page_no + 1})


class JsonApiSpider(SourceSpider):
    source: JsonApiSource

    def page_url(self, page: int) -> str:
        api = self.source.api
        return api.url.replace("{page}", str(page)).replace("{size}", str(api.page_size))

    async def start(self) -> AsyncIterator[scrapy.Request]:
        page = self.source.api.start_page
        yield self.request(self.page_url(page), self.parse_page, cb_kwargs={"page": page})

    def parse_page(self, response: Response, page: int) -> Iterator[Output]:
        text, problems = self.page_text(response)
        yield from problems
        try:
            data = loads_bounded(text)  # size and nesting bounded: a 100,000-deep document is a problem
        except JsonLimitError as exc:
            yield Problem(source_id=self.source.id, kind="parse", url=response.url, reason=str(exc))
            return
        entries = json_path(data, self.source.api.items)
        if not isinstance(entries, list):
            yield Problem(
                source_id=self.source.id,
                kind="parse",
                url=response.url,
                reason=f"api.items {self.source.api.items!r} is not a list in the response",
            )
            return
        for entry in entries:
            if not isinstance(entry, dict):
                yield Problem(
                    source_id=self.source.id,
                    kind="parse",
                    url=response.url,
                    reason="an item is not a JSON object; skipped",
                )
                continue
            fields = json_fields(entry, self.source.fields)
            url = fields.pop("url", None)
            url = response.urljoin(url.strip()) if url else None
            if url is not None and http_url(url) is None:
                yield bad_url_problem(self.source.id, url)
                continue
            yield from self.item(url, fields)
        has_more = json_path(data, self.source.api.has_more) if self.source.api.has_more else bool(entries)
        pages_done = page - self.source.api.start_page + 1
        if entries and has_more and pages_done < self.source.max_pages:
            yield self.request(self.page_url(page + 1), self.parse_page, cb_kwargs={"page": page + 1})


SPIDERS: dict[str, type[SourceSpider]] = {"rss": RssSpider, "html": HtmlSpider, "json_api": JsonApiSpider}
