"""The crawl subprocess: ``python -m crawlers.round_process`` reads a round on stdin, prints events on stdout.

Twisted's reactor cannot be restarted, so every crawl round runs in a fresh process (see crawlers.fetch).
Input: ``{"sources": [...], "now": ISO time, "settings": {...}}``. Output: one ``RoundEvent`` JSON per line.
Scrapy's own log goes to stderr. SIGTERM/SIGINT stop the crawl gracefully (a second one forcefully).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from twisted.python.failure import Failure

from crawlers.config import Source, source_from_dict
from crawlers.items import CrawledItem, PageFetched, Problem, RoundEvent
from crawlers.scrapy_settings import BASE_SETTINGS, source_settings
from crawlers.spiders import SPIDERS
from yuqing.safe_input import valid_unicode_deep


class EventWriter:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def write(self, event: RoundEvent) -> None:
        try:
            line = event.model_dump_json(exclude_none=True)
        except ValueError:  # text that is not valid Unicode (a lone surrogate): replaced, never lost
            data, _ = valid_unicode_deep(event.model_dump(mode="json", exclude_none=True))
            line = json.dumps(data, ensure_ascii=False)
        self.out.write(line + "\n")
        self.out.flush()

    def spider_listener(self, source_id: str) -> Callable[..., None]:
        """A spider_error listener: an exception in a spider callback is a named ``parse`` problem of the
        source (counted in its health), not just a traceback in Scrapy's log."""

        def on_error(failure: Failure, response: Response | None = None, **_: Any) -> None:
            exc = failure.value
            reason = f"the spider failed on this page: {type(exc).__name__}: {str(exc)[:300]}"
            url = response.url if response is not None else None
            self.write(RoundEvent(problem=Problem(source_id=source_id, kind="parse", url=url, reason=reason)))

        return on_error

    def on_item(self, item: Any, **_: Any) -> None:
        if isinstance(item, CrawledItem):
            self.write(RoundEvent(item=item))
        elif isinstance(item, Problem):
            self.write(RoundEvent(problem=item))

    def page_listener(self, source_id: str) -> Callable[..., None]:
        """A response_received listener for one source's crawler."""

        def on_response(response: Response, **_: Any) -> None:
            page = PageFetched(source_id=source_id, url=response.url, status=response.status)
            self.write(RoundEvent(page=page))

        return on_response


def run_round(sources: list[Source], now: datetime, overrides: dict[str, Any], out: TextIO) -> None:
    settings = {**BASE_SETTINGS, **overrides}
    process = CrawlerProcess(settings)
    writer = EventWriter(out)
    for source in sources:
        spider_cls = SPIDERS[source.type]
        custom = {**source_settings(source), **overrides}
        cls = type(
            f"{spider_cls.__name__}_{source.id.replace('-', '_')}",
            (spider_cls,),
            {"custom_settings": custom, "name": source.id},
        )
        crawler = process.create_crawler(cls)
        crawler.signals.connect(writer.on_item, signal=signals.item_scraped)
        listener = writer.page_listener(source.id)
        crawler.signals.connect(listener, signal=signals.response_received, weak=False)
        crawler.signals.connect(writer.spider_listener(source.id), signal=signals.spider_error, weak=False)
        process.crawl(crawler, source=source, now=now)
    process.start()


def main() -> None:
    request = json.load(sys.stdin)
    sources = [source_from_dict(s) for s in request["sources"]]
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but events on the real stdout
    run_round(sources, datetime.fromisoformat(request["now"]), request.get("settings", {}), out)
    out.flush()
    sys.stderr.flush()
    os._exit(0)  # the round is over and every event is written: skip the slow interpreter teardown


if __name__ == "__main__":
    main()
