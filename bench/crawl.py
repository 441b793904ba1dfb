"""Crawl speed on the bundled sample site: pages per second of one Scrapy round.

    python bench/crawl.py [--copies 10]

Each copy of the five default fetched sources (RSS, two boards, forum, JSON API) is its own spider in the
same round, all against one local sample-site server. Prints the round's pages/s including the crawl
subprocess's start-up and shut-down, and the steady rate between the first and the last page; then the
same round through the whole crawler path (incremental state in SQLite, posts emitted to the SQLite bus),
first with every post new, then again with nothing new.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# Python puts bench/ first on sys.path, where a script named like a package would shadow the package
# that the database migrations import; take it off.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parents[1]))  # the sample site is not in the package

from crawlers.config import Source, load_sources, source_from_dict  # noqa: E402
from crawlers.crawl import crawl_round  # noqa: E402
from crawlers.fetch import fetch_round  # noqa: E402
from sample_site import serve_sample_site  # noqa: E402
from yuqing.bus import open_bus  # noqa: E402
from yuqing.clock import SystemClock  # noqa: E402
from yuqing.db.session import open_database  # noqa: E402

SOURCES = Path(__file__).resolve().parents[1] / "crawlers" / "sources"


def copies(sources: list[Source], n: int) -> list[Source]:
    out = []
    for i in range(n):
        for source in sources:
            out.append(source_from_dict({**source.model_dump(mode="json"), "id": f"{source.id}-{i}"}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10, help="copies of the five default sources")
    args = parser.parse_args()
    base, stop = serve_sample_site()
    try:
        sources, _ = load_sources(SOURCES, {"sample_site": base})
        fetched = copies([s for s in sources if s.type != "replay"], args.copies)
        pages = items = problems = 0
        first = last = None
        started = time.perf_counter()
        for event in fetch_round(fetched, SystemClock().now(), settings={"LOG_LEVEL": "ERROR"}):
            if event.page is not None and not event.page.url.endswith("/robots.txt"):
                pages += 1
                now = time.perf_counter()
                first = first or now
                last = now
            items += event.item is not None
            problems += event.problem is not None
        total = time.perf_counter() - started
        print(f"sources: {len(fetched)}  pages: {pages}  items: {items}  problems: {problems}")
        print(
            f"round: {total:.2f} s  ->  {pages / total:.1f} pages/s (with subprocess start-up and shut-down)"
        )
        if first is not None and last is not None and last > first:
            print(f"steady: {pages / (last - first):.1f} pages/s (first to last page)")
        pipeline(fetched)
    finally:
        stop()


def pipeline(sources: list[Source]) -> None:
    """The same sources through crawl_round: state decisions, emission to the SQLite bus, health rows."""
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/yuqing.sqlite3")
        bus = open_bus(f"sqlite:///{tmp}/bus.sqlite3")
        producer = bus.producer()
        for label in ("first crawl (all new)", "second crawl (nothing new)"):
            started = time.perf_counter()
            summaries = crawl_round(
                sources, db=db, producer=producer, clock=SystemClock(), scrapy_settings={"LOG_LEVEL": "ERROR"}
            )
            took = time.perf_counter() - started
            pages = sum(s.pages for s in summaries.values())
            emitted = sum(s.emitted for s in summaries.values())
            print(
                f"pipeline, {label}: {pages} pages, {emitted} posts emitted in {took:.2f} s  ->  "
                f"{pages / took:.1f} pages/s"
            )
        producer.close()
        bus.close()
        db.close()


if __name__ == "__main__":
    main()
