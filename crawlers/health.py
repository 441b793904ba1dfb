"""Source health for the API and console: last success, items in the last hour/day, errors by kind,
recent problems, and the "silent source" signal (a source that used to yield items has yielded none
for longer than its ``silent_after``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crawlers.config import Source
from crawlers.models import CrawlProblem, CrawlRun, CrawlSourceState

HealthStatus = Literal["ok", "silent", "failing", "never_run"]
FAILING_AFTER_RUNS = 3  # consecutive runs that yield no item and only problems make a source failing


class ProblemSample(BaseModel):
    at: AwareDatetime
    kind: str
    url: str | None = None
    reason: str


class SourceHealth(BaseModel):
    source_id: str
    name: str
    kind: str
    type: str
    status: HealthStatus
    last_run_at: AwareDatetime | None = None
    last_success_at: AwareDatetime | None = None
    last_item_at: AwareDatetime | None = None
    items_last_hour: int = 0
    items_last_day: int = 0
    items_total: int = 0
    errors_last_day: dict[str, int] = Field(default_factory=dict, description="problem kind -> count")
    silent: bool = Field(default=False, description="used to yield items, none for longer than silent_after")
    silent_after_seconds: int
    reason: str | None = Field(default=None, description="why the source is failing (or silent)")
    recent_problems: list[ProblemSample] = Field(default_factory=list)


def source_health(
    session: Session, now: datetime, *, sources: Sequence[Source] = (), recent: int = 5
) -> list[SourceHealth]:
    """Health of every source the crawler has run, plus ``sources`` it has not run yet, by source id."""
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=1)
    emitted = CrawlRun.items_new + CrawlRun.items_updated
    last_hour = dict(
        session.execute(
            select(CrawlRun.source_id, func.sum(emitted))
            .where(CrawlRun.finished_at >= hour_ago)
            .group_by(CrawlRun.source_id)
        ).all()
    )
    last_day = dict(
        session.execute(
            select(CrawlRun.source_id, func.sum(emitted))
            .where(CrawlRun.finished_at >= day_ago)
            .group_by(CrawlRun.source_id)
        ).all()
    )
    errors: dict[str, Counter[str]] = {}
    for source_id, kind, count in session.execute(
        select(CrawlProblem.source_id, CrawlProblem.kind, func.count())
        .where(CrawlProblem.at >= day_ago)
        .group_by(CrawlProblem.source_id, CrawlProblem.kind)
    ):
        errors.setdefault(source_id, Counter())[kind] = count
    result = []
    for state in session.scalars(select(CrawlSourceState).order_by(CrawlSourceState.source_id)):
        samples = session.scalars(
            select(CrawlProblem)
            .where(CrawlProblem.source_id == state.source_id)
            .order_by(CrawlProblem.at.desc(), CrawlProblem.id.desc())
            .limit(recent)
        ).all()
        silent = bool(
            state.items_total
            and state.last_item_at is not None
            and now - state.last_item_at > timedelta(seconds=state.silent_after_s)
        )
        failing = state.last_run_at is not None and (
            state.last_success_at is None or state.last_success_at < state.last_run_at
        )
        reason = None
        if failing:
            reason = "the last run fetched nothing" + _kinds(errors.get(state.source_id))
        else:
            runs = session.scalars(
                select(CrawlRun)
                .where(CrawlRun.source_id == state.source_id)
                .order_by(CrawlRun.finished_at.desc(), CrawlRun.id.desc())
                .limit(FAILING_AFTER_RUNS)
            ).all()
            if len(runs) == FAILING_AFTER_RUNS and all(not r.items_found and r.errors for r in runs):
                failing = True
                kinds: Counter[str] = Counter()
                for run in runs:
                    kinds.update(run.errors)
                reason = f"no item in the last {FAILING_AFTER_RUNS} runs, only problems" + _kinds(kinds)
        status: HealthStatus = (
            "never_run"
            if state.last_run_at is None
            else "failing"
            if failing
            else "silent"
            if silent
            else "ok"
        )
        result.append(
            SourceHealth(
                source_id=state.source_id,
                name=state.name,
                kind=state.kind,
                type=state.type,
                status=status,
                last_run_at=state.last_run_at,
                last_success_at=state.last_success_at,
                last_item_at=state.last_item_at,
                items_last_hour=int(last_hour.get(state.source_id) or 0),
                items_last_day=int(last_day.get(state.source_id) or 0),
                items_total=state.items_total,
                errors_last_day=dict(errors.get(state.source_id, {})),
                silent=silent,
                silent_after_seconds=state.silent_after_s,
                reason=reason if failing else None,
                recent_problems=[
                    ProblemSample(at=p.at, kind=p.kind, url=p.url, reason=p.reason) for p in samples
                ],
            )
        )
    known = {h.source_id for h in result}
    result.extend(
        SourceHealth(
            source_id=s.id,
            name=s.name,
            kind=s.kind,
            type=s.type,
            status="never_run",
            silent_after_seconds=s.silent_after,
        )
        for s in sources
        if s.id not in known
    )
    return sorted(result, key=lambda h: h.source_id)


def _kinds(counts: Counter[str] | dict[str, int] | None) -> str:
    if not counts:
        return ""
    return ": " + ", ".join(f"{kind} ×{n}" for kind, n in sorted(counts.items()))
