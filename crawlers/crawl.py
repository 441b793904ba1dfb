"""One crawl round: fetch (Scrapy subprocess) or replay, decide new/update/seen, emit raw posts keyed by
source, and record runs and problems for source health.

Order for at-least-once: posts are sent and flushed before the state that marks them emitted is
committed, so a crash in between re-emits (downstream stages are idempotent by post id) but never loses.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from crawlers.config import ReplaySource, Source
from crawlers.extract import admit_item
from crawlers.fetch import fetch_round
from crawlers.items import CrawledItem, PageFetched, Problem, RoundEvent
from crawlers.models import CrawlProblem, CrawlRun, CrawlSourceState
from crawlers.replay import due_lines, load_replay
from crawlers.state import decide
from yuqing.bus import Producer
from yuqing.clock import Clock
from yuqing.db.session import Database
from yuqing.safe_input import valid_unicode
from yuqing.topology import Topics

log = logging.getLogger(__name__)
COMMIT_EVERY = 100
MAX_PROBLEMS_STORED_PER_RUN = 50
HEALTH_HISTORY = timedelta(days=8)  # health looks back one day; a week more for investigating


@dataclass
class RunSummary:
    source_id: str
    pages: int = 0
    items_found: int = 0
    new: int = 0
    updated: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def emitted(self) -> int:
        return self.new + self.updated


class RoundRecorder:
    """Turns events into emitted posts and health rows for the sources of one round."""

    def __init__(self, db: Database, producer: Producer, sources: Sequence[Source], now: datetime) -> None:
        self.db = db
        self.producer = producer
        self.sources = {s.id: s for s in sources}
        self.now = now
        self.summaries = {s.id: RunSummary(s.id) for s in sources}
        self.session: Session = db.session()
        self.pending = 0
        self.stored_problems: Counter[str] = Counter()

    def event(self, event: RoundEvent) -> None:
        if event.item is not None:
            self.item(event.item)
        elif event.problem is not None:
            self.problem(event.problem)
        elif event.page is not None and event.page.source_id in self.summaries and self.counts(event.page):
            self.summaries[event.page.source_id].pages += 1

    @staticmethod
    def counts(page: PageFetched) -> bool:
        """A page of content fetched successfully (robots.txt is not one)."""
        return page.status < 400 and not page.url.endswith("/robots.txt")

    def item(self, item: CrawledItem) -> None:
        source = self.sources.get(item.source_id)
        if source is None:
            return
        summary = self.summaries[source.id]
        summary.items_found += 1
        admitted, problems = admit_item(item)  # http(s) links only, valid Unicode: at the door
        for problem in problems:
            self.problem(problem)
        if admitted is None:
            return
        try:
            verdict, post = decide(self.session, source, admitted, self.now)
        except Exception as exc:  # noqa: BLE001 - one bad item never fails its source's round
            self.problem(
                Problem(
                    source_id=source.id,
                    kind="bad_item",
                    url=admitted.url,
                    reason=f"skipped: {type(exc).__name__}: {str(exc)[:300]}",
                )
            )
            return
        if post is None:
            return
        self.producer.send(Topics.RAW_POSTS, post, key=source.id)
        if verdict == "new":
            summary.new += 1
        else:
            summary.updated += 1
        self.pending += 1
        if self.pending >= COMMIT_EVERY:
            self.checkpoint()

    def problem(self, problem: Problem) -> None:
        if problem.source_id not in self.summaries:
            return
        problem = problem.model_copy(
            update={
                "reason": valid_unicode(problem.reason)[0],
                "url": valid_unicode(problem.url)[0] if problem.url is not None else None,
            }
        )
        log.warning(
            "source %s: %s %s: %s", problem.source_id, problem.kind, problem.url or "", problem.reason
        )
        self.summaries[problem.source_id].errors[problem.kind] += 1
        if self.stored_problems[problem.source_id] < MAX_PROBLEMS_STORED_PER_RUN:
            self.stored_problems[problem.source_id] += 1
            self.session.add(
                CrawlProblem(
                    source_id=problem.source_id,
                    at=self.now,
                    kind=problem.kind,
                    url=problem.url,
                    reason=problem.reason[:2000],
                )
            )

    def checkpoint(self) -> None:
        """Flush the sent posts, then commit the state that says they were emitted."""
        self.producer.flush()
        self.session.commit()
        self.pending = 0

    def finish(self, finished_at: datetime) -> dict[str, RunSummary]:
        self.producer.flush()
        for source_id, summary in self.summaries.items():
            source = self.sources[source_id]
            self.session.add(
                CrawlRun(
                    source_id=source_id,
                    started_at=self.now,
                    finished_at=finished_at,
                    pages=summary.pages,
                    items_found=summary.items_found,
                    items_new=summary.new,
                    items_updated=summary.updated,
                    errors=dict(summary.errors),
                )
            )
            state = source_state(self.session, source)
            state.last_run_at = finished_at
            replay_ok = source.type == "replay" and "replay_file" not in summary.errors
            if summary.pages or summary.items_found or replay_ok:
                state.last_success_at = finished_at
            if summary.emitted:
                state.last_item_at = finished_at
                state.items_total += summary.emitted
        self.prune(finished_at - HEALTH_HISTORY)
        self.session.commit()
        self.session.close()
        return self.summaries

    def prune(self, before: datetime) -> None:
        """Runs and problems older than the health history of these sources are no longer needed."""
        ids = list(self.summaries)
        self.session.execute(
            delete(CrawlRun).where(CrawlRun.source_id.in_(ids), CrawlRun.finished_at < before)
        )
        self.session.execute(
            delete(CrawlProblem).where(CrawlProblem.source_id.in_(ids), CrawlProblem.at < before)
        )


def source_state(session: Session, source: Source) -> CrawlSourceState:
    """The source's state row (created on first use), refreshed with what its YAML says now."""
    state = session.get(CrawlSourceState, source.id)
    if state is None:
        state = CrawlSourceState(source_id=source.id, items_total=0, replay_position=0)
        session.add(state)
    state.name = source.name
    state.kind = source.kind
    state.type = source.type
    state.silent_after_s = source.silent_after
    return state


def replay_events(session: Session, source: ReplaySource, now: datetime) -> Iterable[RoundEvent]:
    """The replay lines due now. The replay starts at its first crawl; its position is saved in the same
    transaction as the emitted posts' state, so a restart resumes where the last committed round ended."""
    replay = load_replay(source)
    state = source_state(session, source)
    starting = state.replay_started_at is None
    for problem in replay.problems:
        if starting or not replay.lines:  # a broken line is reported once; a missing file every round
            yield RoundEvent(problem=problem)
    if starting:
        state.replay_started_at = now
        state.replay_position = 0
    started = state.replay_started_at or now
    items, position = due_lines(source, replay, started, state.replay_position, now)
    state.replay_position = position
    for item in items:
        yield RoundEvent(item=item)


def _record(recorder: RoundRecorder, batch: list[RoundEvent]) -> None:
    for event in batch:
        recorder.event(event)
    batch.clear()
    recorder.checkpoint()


def crawl_round(
    sources: Sequence[Source],
    *,
    db: Database,
    producer: Producer,
    clock: Clock,
    stop: threading.Event | None = None,
    scrapy_settings: dict[str, Any] | None = None,
    deadline: float | None = None,
) -> dict[str, RunSummary]:
    """Crawl ``sources`` once and emit what is new or changed; returns a summary per source."""
    now = clock.now()
    recorder = RoundRecorder(db, producer, sources, now)
    try:
        for source in sources:
            if isinstance(source, ReplaySource):
                try:
                    events = list(replay_events(recorder.session, source, now))
                except Exception as exc:
                    log.exception("replay %s failed this round", source.id)
                    events = [
                        RoundEvent(
                            problem=Problem(
                                source_id=source.id,
                                kind="crawler_crashed",
                                reason=f"replay failed: {type(exc).__name__}: {str(exc)[:300]}",
                            )
                        )
                    ]
                for event in events:
                    recorder.event(event)
        fetched = [s for s in sources if not isinstance(s, ReplaySource)]
        # Events are recorded in batches, so no database transaction stays open while a slow site is
        # still being fetched (crawls of other sources run at the same time and write too).
        batch: list[RoundEvent] = []
        for event in fetch_round(fetched, now, settings=scrapy_settings, stop=stop, deadline=deadline):
            batch.append(event)
            if len(batch) >= COMMIT_EVERY:
                _record(recorder, batch)
        _record(recorder, batch)
    except BaseException:
        recorder.session.rollback()
        recorder.session.close()
        raise
    return recorder.finish(clock.now())


def record_failure(db: Database, source: Source, started: datetime, finished: datetime, reason: str) -> None:
    """A crawl that failed outright: a run with a ``crawler_crashed`` problem, so health shows it."""
    with db.transaction() as session:
        session.add(
            CrawlRun(
                source_id=source.id,
                started_at=started,
                finished_at=finished,
                pages=0,
                items_found=0,
                items_new=0,
                items_updated=0,
                errors={"crawler_crashed": 1},
            )
        )
        session.add(
            CrawlProblem(
                source_id=source.id,
                at=finished,
                kind="crawler_crashed",
                url=None,
                reason=valid_unicode(reason)[0][:2000],
            )
        )
        source_state(session, source).last_run_at = finished
