"""``yuqing worker crawler``: run every enabled source on its interval until ``stop`` is set.

Sources are re-read from ``settings.sources_dir`` before every round, so an officer's new or edited YAML
takes effect without a restart (a broken file is logged and left out). Scrapy sources run in one
subprocess per round (crawlers.fetch); replay sources run in their own thread so a long crawl round never
delays a drill's timing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from crawlers.config import Source, load_sources
from crawlers.crawl import crawl_round
from crawlers.health import SourceHealth, source_health
from crawlers.models import ensure_crawler_tables
from yuqing.bus import open_bus
from yuqing.clock import Clock, SystemClock
from yuqing.db.session import Database, open_database
from yuqing.ops_alerts import sync
from yuqing.settings import Settings

log = logging.getLogger(__name__)
MAX_SLEEP = 5.0
ROUND_DEADLINE = 30 * 60.0  # a round still running after this (a site trickling bytes) is stopped


class Scheduler:
    """Runs due sources of one family (replay or fetched) whenever their interval has passed."""

    def __init__(
        self, settings: Settings, db: Database, clock: Clock, family: Callable[[Source], bool], name: str
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.family = family
        self.name = name
        self.next_due: dict[str, datetime] = {}
        self.reported: set[str] = set()

    def sources(self) -> list[Source]:
        sources, problems = load_sources(self.settings.sources_dir)
        for problem in problems:
            if str(problem) not in self.reported:
                self.reported.add(str(problem))
                log.error("source file left out: %s", problem)
        return [s for s in sources if self.family(s)]

    def run(self, stop: threading.Event) -> None:
        bus = open_bus(self.settings.bus_url, partitions=self.settings.bus_partitions)
        producer = bus.producer()
        try:
            while not stop.is_set():
                now = self.clock.now()
                sources = self.sources()
                due = [s for s in sources if self.next_due.get(s.id, now) <= now]
                if due:
                    for source in due:
                        self.next_due[source.id] = now + timedelta(seconds=source.interval)
                    try:
                        summaries = crawl_round(
                            due,
                            db=self.db,
                            producer=producer,
                            clock=self.clock,
                            stop=stop,
                            deadline=ROUND_DEADLINE,
                        )
                    except Exception:
                        log.exception(
                            "%s: round over %s failed; retrying at the next interval",
                            self.name,
                            [s.id for s in due],
                        )
                        continue
                    for source in due:
                        s = summaries[source.id]
                        log.info(
                            "%s: %s pages=%d found=%d new=%d updated=%d errors=%s",
                            self.name,
                            source.id,
                            s.pages,
                            s.items_found,
                            s.new,
                            s.updated,
                            dict(s.errors) or "-",
                        )
                    self.raise_health_alerts(sources)
                upcoming = [self.next_due[s.id] for s in sources if s.id in self.next_due]
                wait = min([(t - self.clock.now()).total_seconds() for t in upcoming] or [MAX_SLEEP])
                stop.wait(max(0.05, min(wait, MAX_SLEEP)))
        finally:
            producer.close()
            bus.close()


    def raise_health_alerts(self, sources: list[Source]) -> None:
        """Open an operational alert for each silent or failing source; resolve the ones that recovered."""
        now = self.clock.now()
        try:
            with self.db.transaction() as session:
                checked = {s.id for s in sources}
                health = [h for h in source_health(session, now, sources=sources) if h.source_id in checked]
                for kind, status in (("source_silent", "silent"), ("source_failing", "failing")):
                    problems = {h.source_id: _health_detail(h) for h in health if h.status == status}
                    opened = sync(session, kind=kind, problems=problems, checked=checked, now=now,
                                  actor="system:crawler")
                    for subject in opened:
                        log.warning("operational alert %s: %s — %s", kind, subject, problems[subject])
        except Exception:
            log.exception("%s: source health check failed; crawling goes on", self.name)


def _health_detail(h: SourceHealth) -> str:
    if h.status == "silent":
        since = h.last_item_at.isoformat() if h.last_item_at else "never"
        return f"{h.name}: no items for over {h.silent_after_seconds // 60} min (last item {since})"
    errors = ", ".join(f"{k} ×{n}" for k, n in sorted(h.errors_last_day.items())) or "errors"
    return f"{h.name}: failing ({errors})"


def run(settings: Settings, stop: threading.Event, clock: Clock | None = None) -> None:
    """The crawler stage: fetched sources and replay sources, each family in its own thread."""
    settings.ensure_data_dir()
    clock = clock or SystemClock()
    db = open_database(settings.db_url)
    ensure_crawler_tables(db.engine)
    schedulers = [
        Scheduler(settings, db, clock, lambda s: s.type != "replay", "crawl"),
        Scheduler(settings, db, clock, lambda s: s.type == "replay", "replay"),
    ]
    failures: list[BaseException] = []
    threads = [
        threading.Thread(target=_guarded, args=(s, stop, failures), name=f"crawler-{s.name}")
        for s in schedulers
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        stop.set()
        db.close()
    if failures:
        raise failures[0]


def _guarded(scheduler: Scheduler, stop: threading.Event, failures: list[BaseException]) -> None:
    """A scheduler that cannot go on (bus unreachable) stops the whole stage rather than run half of it."""
    try:
        scheduler.run(stop)
    except Exception as exc:
        log.exception("crawler %s scheduler failed; stopping the crawler", scheduler.name)
        failures.append(exc)
        stop.set()
