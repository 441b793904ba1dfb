"""``yuqing worker crawler``: run every enabled source on its own interval until ``stop`` is set.

Sources are re-read from ``settings.sources_dir`` before every dispatch, so an officer's new or edited
YAML takes effect without a restart; a broken edit is logged in one line and the source keeps running on
its last good version (a new broken file is left out).

Scheduling: every source has its own deadline (``next_due``). A due source is crawled on its own, in a
worker thread running one crawl subprocess for it (crawlers.fetch), so a slow or hanging site delays only
itself: the others are still dispatched when they are due. At most ``parallel`` crawls run at once and at
most ``per_host`` of them fetch from the same site (host and port) — politeness towards a site that
several sources watch; inside a crawl, Scrapy's per-domain delay and concurrency apply. Replay sources
run in their own scheduler thread, one source at a time, so a long crawl never delays a drill's timing.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawlers.config import JsonApiSource, Source, load_source_files
from crawlers.crawl import RunSummary, crawl_round, record_failure
from crawlers.health import SourceHealth, source_health
from yuqing.bus import Producer, open_bus
from yuqing.clock import Clock, SystemClock
from yuqing.db.session import Database
from yuqing.ops_alerts import sync
from yuqing.settings import Settings
from yuqing.stage_engines import open_engines

log = logging.getLogger(__name__)
MAX_SLEEP = 5.0
TICK = 0.2  # how often finished crawls are collected while some run
ROUND_DEADLINE = 30 * 60.0  # a crawl still running after this (a site trickling bytes) is stopped
PARALLEL_CRAWLS = 4  # crawl subprocesses at once
PER_HOST = 2  # of which at most this many fetch from one site


def source_hosts(source: Source) -> set[str]:
    """The sites (host:port) a source fetches from, for the per-site politeness limit."""
    urls = [source.api.url] if isinstance(source, JsonApiSource) else list(getattr(source, "start_urls", []))
    return {urlsplit(u).netloc.lower() for u in urls if urlsplit(u).netloc}


class Scheduler:
    """Runs each source of one family (replay or fetched) whenever its own interval has passed."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        clock: Clock,
        family: Callable[[Source], bool],
        name: str,
        *,
        parallel: int = PARALLEL_CRAWLS,
        per_host: int | None = PER_HOST,
        scrapy_settings: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.family = family
        self.name = name
        self.parallel = max(1, parallel)
        self.per_host = per_host
        self.scrapy_settings = scrapy_settings
        self.next_due: dict[str, datetime] = {}
        self.reported: set[str] = set()
        self.last_good: dict[Path, Source] = {}

    def sources(self) -> list[Source]:
        """The enabled sources of the folder; a file whose edit broke it keeps its last good version."""
        sources: list[Source] = []
        seen: set[Path] = set()
        for file, source, problems in load_source_files(self.settings.sources_dir):
            seen.add(file)
            if source is not None:
                self.last_good[file] = source
            elif file in self.last_good:
                source = self.last_good[file]
            for problem in problems:
                key = str(problem)
                if key not in self.reported:
                    self.reported.add(key)
                    kept = f"; keeping its last good version ({source.id})" if source is not None else ""
                    log.error("source file not (re)loaded: %s%s", problem, kept)
            if source is not None and source.enabled and self.family(source):
                sources.append(source)
        for gone in set(self.last_good) - seen:
            del self.last_good[gone]
        ids: set[str] = set()
        unique = []
        for source in sources:  # a last good version may share its id with a newer file
            if source.id not in ids:
                ids.add(source.id)
                unique.append(source)
        return unique

    def crawl_one(self, source: Source, producer: Producer, stop: threading.Event) -> RunSummary:
        """One crawl of one source; an error is recorded in the source's health, never raised further."""
        started = self.clock.now()
        try:
            return crawl_round(
                [source],
                db=self.db,
                producer=producer,
                clock=self.clock,
                stop=stop,
                deadline=ROUND_DEADLINE,
                scrapy_settings=self.scrapy_settings,
            )[source.id]
        except Exception as exc:
            log.exception("%s: crawl of %s failed; retrying at its next interval", self.name, source.id)
            summary = RunSummary(source.id)
            summary.errors["crawler_crashed"] += 1
            try:
                record_failure(self.db, source, started, self.clock.now(), f"{type(exc).__name__}: {exc}")
            except Exception:
                log.exception("%s: could not record the failed crawl of %s", self.name, source.id)
            return summary

    def run(self, stop: threading.Event) -> None:
        bus = open_bus(self.settings.bus_url, partitions=self.settings.bus_partitions)
        producer = bus.producer()
        pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix=f"crawler-{self.name}")
        running: dict[str, tuple[Future[RunSummary], Source]] = {}
        sources: list[Source] = []
        try:
            while not stop.is_set():
                if self.collect(running):
                    self.raise_health_alerts(sources)
                now = self.clock.now()
                sources = self.sources()
                self.dispatch(sources, running, now, pool, producer, stop)
                upcoming = [self.next_due[s.id] for s in sources if s.id in self.next_due]
                wait = min([(t - self.clock.now()).total_seconds() for t in upcoming] or [MAX_SLEEP])
                stop.wait(max(0.05, min(wait, TICK if running else MAX_SLEEP)))
        finally:
            stop.set()
            pool.shutdown(wait=True)  # running crawls end promptly: they watch ``stop``
            self.collect(running)
            producer.close()
            bus.close()

    def dispatch(
        self,
        sources: list[Source],
        running: dict[str, tuple[Future[RunSummary], Source]],
        now: datetime,
        pool: ThreadPoolExecutor,
        producer: Producer,
        stop: threading.Event,
    ) -> None:
        """Start the due sources, most overdue first, within the parallel and per-site limits."""
        busy: Counter[str] = Counter(h for _, s in running.values() for h in source_hosts(s))
        due = sorted(
            (s for s in sources if s.id not in running and self.next_due.get(s.id, now) <= now),
            key=lambda s: self.next_due.get(s.id, now),
        )
        for source in due:
            if len(running) >= self.parallel:
                break
            hosts = source_hosts(source)
            if self.per_host is not None and any(busy[h] >= self.per_host for h in hosts):
                continue  # the site is busy with other sources; this one starts when a slot frees
            self.next_due[source.id] = now + timedelta(seconds=source.interval)
            running[source.id] = (pool.submit(self.crawl_one, source, producer, stop), source)
            busy.update(hosts)

    def collect(self, running: dict[str, tuple[Future[RunSummary], Source]]) -> bool:
        """Log the crawls that finished; True when there were any."""
        done = [sid for sid, (future, _) in running.items() if future.done()]
        for source_id in done:
            future, _ = running.pop(source_id)
            s = future.result()
            log.info(
                "%s: %s pages=%d found=%d new=%d updated=%d errors=%s",
                self.name,
                source_id,
                s.pages,
                s.items_found,
                s.new,
                s.updated,
                dict(s.errors) or "-",
            )
        return bool(done)

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
    return f"{h.name}: failing — {h.reason}" if h.reason else f"{h.name}: failing ({errors})"


def run(settings: Settings, stop: threading.Event, clock: Clock | None = None) -> None:
    """The crawler stage: fetched sources and replay sources, each family in its own thread."""
    clock = clock or SystemClock()
    with open_engines(settings, bus=False) as engines:
        _run_schedulers(settings, engines.db, clock, stop)


def _run_schedulers(settings: Settings, db: Database, clock: Clock, stop: threading.Event) -> None:
    schedulers = [
        Scheduler(settings, db, clock, lambda s: s.type != "replay", "crawl"),
        Scheduler(settings, db, clock, lambda s: s.type == "replay", "replay", parallel=1, per_host=None),
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
