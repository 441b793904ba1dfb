"""考核: how each department answered its alerts against the statutory deadlines, over a period.

The period is a range of Asia/Shanghai dates ``[date_from, date_to)``; an alert belongs to it when its
``first_seen`` (the incident's first detection) falls inside. Every alert counts for the department it
is assigned to now (the one that answers for it); reassignments away from a department (转派, 退回值班室,
会商 lead, from ``alert_assignments``; the rules' own moves are not the department's doing) are counted for
the department that gave the alert up. Merged alerts are left out: each is a duplicate of an alert that
is counted.

Each deadline clock (``alert_deadlines``) is, as of ``now``, exactly one of:

=========  ================================================================================
on_time    met (the matching action was recorded) at or before ``due_at``
late       met after ``due_at``
breached   not met, not stopped, ``due_at`` passed (the escalation may not have fired yet)
stopped    stopped without being met (a level rise replaced it, the alert was merged or closed):
           not applicable, left out of the rate
pending    running and not due yet: neither a success nor a failure, left out of the rate
=========  ================================================================================

``on_time_rate = on_time / (on_time + late + breached)``, None when nothing is assessable. Durations
(first detection → first acknowledgement, first detection → first 权威信息/回应 published) come from the
audit log, so an acknowledgement later undone by a timeout or a level rise still counts when it happened.
Median and 90th percentile interpolate linearly between the closest ranks (as ``percentile_cont``).

Counting is done by SQL (CASE inside COUNT, GROUP BY) that SQLite and PostgreSQL both run unchanged;
only the percentiles are worked out in Python.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import String, and_, case, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from alerting.assignments import ASSESSED_KINDS
from alerting.clocks import DEADLINE_KINDS
from alerting.models import Alert, AlertAssignment, AlertDeadline, Supervision
from alerting.state import Action, Status
from yuqing.clock import CN_TZ
from yuqing.db.models import AuditLog

DEFAULT_DAYS = 30
MAX_SPAN_DAYS = 366
EARLIEST = date(2000, 1, 1)  # dates outside this range are typing mistakes, not periods
LATEST = date(2100, 1, 1)
RATE_WARN = 0.8  # an on-time rate under this shows amber
RATE_BAD = 0.6  # under this, red
OUTCOMES = ("on_time", "late", "breached", "stopped", "pending")
ACK_ACTIONS = (Action.ACKNOWLEDGE.value, Action.START_RESPONSE.value, Action.PUBLISH_INFO.value)
PUBLISH_ACTIONS = (Action.PUBLISH_INFO.value,)


class PeriodError(ValueError):
    """The requested period is not usable; the message is Chinese and says why (the API answers 422)."""


@dataclass(frozen=True)
class Period:
    date_from: date  # first day, inclusive
    date_to: date  # the day after the last one (exclusive)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.date_from, time(), CN_TZ).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.date_to, time(), CN_TZ).astimezone(UTC)

    @property
    def last_day(self) -> date:
        return self.date_to - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days


def parse_day(text: str | None, what: str) -> date | None:
    """A ``YYYY-MM-DD`` date from a form or query string; empty means "not given"."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        if len(text) != 10:
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{what}“{text}”不是有效日期，请用 YYYY-MM-DD 格式") from None


def resolve_period(date_from: date | None, date_to: date | None, *, now: datetime) -> Period:
    """The period asked for; without ``date_to`` it ends after today (Beijing time), without
    ``date_from`` it covers the ``DEFAULT_DAYS`` days before ``date_to``."""
    for day, what in ((date_from, "开始日期"), (date_to, "结束日期")):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise PeriodError(f"{what} {day.isoformat()} 超出可统计范围（{EARLIEST.year}—{LATEST.year} 年）")
    end = date_to or now.astimezone(CN_TZ).date() + timedelta(days=1)
    start = date_from or end - timedelta(days=DEFAULT_DAYS)
    if start > end:
        raise PeriodError(f"开始日期 {start.isoformat()} 晚于结束日期 {end.isoformat()}")
    if (end - start).days > MAX_SPAN_DAYS:
        raise PeriodError(f"统计区间 {(end - start).days} 天，超过上限 {MAX_SPAN_DAYS} 天，请缩小范围")
    return Period(start, end)


@dataclass
class _Counts:
    total: int = 0
    on_time: int = 0
    late: int = 0
    breached: int = 0
    stopped: int = 0
    pending: int = 0

    def add(self, other: _Counts) -> None:
        for name in ("total", *OUTCOMES):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class KindPerformance(BaseModel):
    """Deadline clocks of one kind (or of every kind: ``kind`` = "all"), by outcome as of ``as_of``."""

    kind: str
    total: int = Field(description="clocks of this kind")
    on_time: int = Field(description="met at or before the due time")
    late: int = Field(description="met after the due time")
    breached: int = Field(description="not met, still running, past the due time")
    stopped: int = Field(description="stopped without being met: not applicable, not in the rate")
    pending: int = Field(description="running, not due yet: not in the rate")
    assessed: int = Field(description="on_time + late + breached: the rate's denominator")
    on_time_rate: float | None = Field(description="on_time / assessed, 0..1; null when nothing is assessed")

    @classmethod
    def of(cls, kind: str, c: _Counts) -> KindPerformance:
        assessed = c.on_time + c.late + c.breached
        return cls(
            kind=kind,
            total=c.total,
            on_time=c.on_time,
            late=c.late,
            breached=c.breached,
            stopped=c.stopped,
            pending=c.pending,
            assessed=assessed,
            on_time_rate=c.on_time / assessed if assessed else None,
        )


class DurationStats(BaseModel):
    count: int = Field(description="alerts measured")
    median_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def of(cls, values: Iterable[float]) -> DurationStats:
        ordered = sorted(values)
        return cls(
            count=len(ordered), median_seconds=quantile(ordered, 0.5), p90_seconds=quantile(ordered, 0.9)
        )


class DepartmentPerformance(BaseModel):
    department_id: str | None = Field(description="null: alerts assigned to no department")
    department_name: str | None
    alerts: int = Field(description="alerts first detected in the period and assigned here now")
    deadlines: list[KindPerformance] = Field(description="per deadline kind present in the period")
    total: KindPerformance = Field(description="every kind together")
    on_time_rate: float | None = Field(description="total.on_time_rate, repeated for sorting and charts")
    to_acknowledge: DurationStats = Field(description="first detection → first acknowledgement")
    to_publish: DurationStats = Field(description="first detection → first information published")
    supervisions: int = Field(description="督办 records opened on these alerts")
    reassigned_away: int = Field(description="times an alert of the period was reassigned away from here")


class PerformanceReport(BaseModel):
    date_from: date = Field(description="first day (Asia/Shanghai), inclusive")
    date_to: date = Field(description="end day (Asia/Shanghai), exclusive")
    timezone: str = "Asia/Shanghai"
    as_of: datetime = Field(description="pending / breached are judged at this time")
    kinds: list[str] = Field(description="the deadline kinds present, in statutory order")
    departments: list[DepartmentPerformance] = Field(description="worst on-time rate first")
    overall: DepartmentPerformance = Field(description="every department together (department_id null)")
    department_names_unavailable: str | None = Field(
        default=None,
        description="set when the department directory could not be read, to why: department_name is "
        "then the name stored on the alerts, null when none was (show department_id)",
    )


def quantile(ordered: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont) on sorted values."""
    if not ordered:
        return None
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def rate_class(rate: float | None) -> str:
    """``bad`` under 60 %, ``warn`` under 80 %, ``ok`` otherwise, ``none`` when there is no rate."""
    if rate is None:
        return "none"
    return "bad" if rate < RATE_BAD else "warn" if rate < RATE_WARN else "ok"


def _in_period(period: Period) -> ColumnElement[bool]:
    return and_(
        Alert.first_seen >= period.start, Alert.first_seen < period.end, Alert.status != Status.MERGED.value
    )


def _outcome_columns(now: datetime) -> list[Any]:
    d = AlertDeadline
    met, not_met = d.met_at.is_not(None), d.met_at.is_(None)
    running = and_(not_met, d.stopped_at.is_(None))
    conditions = {
        "on_time": and_(met, d.met_at <= d.due_at),
        "late": and_(met, d.met_at > d.due_at),
        "breached": and_(running, d.due_at <= now),
        "stopped": and_(not_met, d.stopped_at.is_not(None)),
        "pending": and_(running, d.due_at > now),
    }
    return [func.count(case((cond, 1))).label(name) for name, cond in conditions.items()]


def _first_actions(session: Session, period: Period, actions: tuple[str, ...]) -> dict[int, datetime]:
    rows = session.execute(
        select(Alert.id, func.min(AuditLog.at))
        .join(AuditLog, AuditLog.object_id == cast(Alert.id, String))
        .where(_in_period(period), AuditLog.object_type == "alert", AuditLog.action.in_(actions))
        .group_by(Alert.id)
    )
    return {alert_id: at for alert_id, at in rows}


_AlertRow = tuple[int, str | None, str | None, datetime, datetime | None]  # id, dept, name, first seen, ack


def _alerts(session: Session, period: Period) -> list[_AlertRow]:
    rows = session.execute(
        select(Alert.id, Alert.department_id, Alert.department_name, Alert.first_seen, Alert.acknowledged_at)
        .where(_in_period(period))
        .order_by(Alert.id)
    )
    return [(a, dept, name, first_seen, acked) for a, dept, name, first_seen, acked in rows]


def _deadline_counts(session: Session, period: Period, now: datetime) -> dict[str | None, dict[str, _Counts]]:
    """Per department, per deadline kind: the clocks by outcome (SQL does the counting)."""
    counts: dict[str | None, dict[str, _Counts]] = {}
    for row in session.execute(
        select(Alert.department_id, AlertDeadline.kind, func.count().label("total"), *_outcome_columns(now))
        .join(AlertDeadline, AlertDeadline.alert_id == Alert.id)
        .where(_in_period(period))
        .group_by(Alert.department_id, AlertDeadline.kind)
    ):
        counts.setdefault(row.department_id, {})[row.kind] = _Counts(
            total=row.total, **{name: getattr(row, name) for name in OUTCOMES}
        )
    return counts


def _supervisions(session: Session, period: Period) -> dict[str | None, int]:
    rows = session.execute(
        select(Alert.department_id, func.count(Supervision.id))
        .join(Supervision, Supervision.alert_id == Alert.id)
        .where(_in_period(period))
        .group_by(Alert.department_id)
    )
    return {dept: n for dept, n in rows}


def _reassigned_away(
    session: Session, period: Period
) -> tuple[dict[str | None, int], dict[str | None, str | None]]:
    """Per department: a person's moves (``ASSESSED_KINDS``) away from it, and its name at the first one."""
    away: dict[str | None, int] = {}
    named: dict[str | None, str | None] = {}
    for dept, dept_name in session.execute(
        select(AlertAssignment.from_department_id, AlertAssignment.from_department_name)
        .join(Alert, AlertAssignment.alert_id == Alert.id)
        .where(_in_period(period), AlertAssignment.kind.in_(ASSESSED_KINDS))
        .order_by(AlertAssignment.at, AlertAssignment.id)
    ):
        away[dept] = away.get(dept, 0) + 1
        named.setdefault(dept, dept_name)
    return away, named


def _seconds(since: datetime, until: datetime) -> float:
    return max(0.0, (until - since).total_seconds())


def _durations(
    session: Session, period: Period, alerts: list[_AlertRow]
) -> tuple[dict[str | None, list[float]], dict[str | None, list[float]]]:
    """Per department: first detection → first acknowledgement, and → first information published."""
    acked = _first_actions(session, period, ACK_ACTIONS)
    published = _first_actions(session, period, PUBLISH_ACTIONS)
    to_ack: dict[str | None, list[float]] = {}
    to_publish: dict[str | None, list[float]] = {}
    for alert_id, dept, _, first_seen, acknowledged_at in alerts:
        first_ack = min((t for t in (acked.get(alert_id), acknowledged_at) if t is not None), default=None)
        if first_ack is not None:
            to_ack.setdefault(dept, []).append(_seconds(first_seen, first_ack))
        if alert_id in published:
            to_publish.setdefault(dept, []).append(_seconds(first_seen, published[alert_id]))
    return to_ack, to_publish


def _kinds_present(counts: dict[str | None, dict[str, _Counts]]) -> list[str]:
    """The deadline kinds of the period in statutory order (unknown kinds last, by name)."""
    order = {k: i for i, k in enumerate(DEADLINE_KINDS)}
    return sorted({k for per in counts.values() for k in per}, key=lambda k: (order.get(k, len(order)), k))


@dataclass
class _Facts:
    """Everything counted for the period, per department (None: no department)."""

    alerts: list[_AlertRow]
    alert_count: dict[str | None, int]
    names: dict[str | None, str | None]  # the name stored on the alerts, else on the first reassignment
    counts: dict[str | None, dict[str, _Counts]]
    supervisions: dict[str | None, int]
    away: dict[str | None, int]
    to_ack: dict[str | None, list[float]]
    to_publish: dict[str | None, list[float]]
    kinds: list[str]


def _facts(session: Session, period: Period, now: datetime) -> _Facts:
    alerts = _alerts(session, period)
    alert_count: dict[str | None, int] = {}
    names: dict[str | None, str | None] = {}
    for _, dept, name, _, _ in alerts:
        alert_count[dept] = alert_count.get(dept, 0) + 1
        names.setdefault(dept, name)
    counts = _deadline_counts(session, period, now)
    away, away_names = _reassigned_away(session, period)
    for dept, name in away_names.items():
        names.setdefault(dept, name)
    to_ack, to_publish = _durations(session, period, alerts)
    return _Facts(
        alerts, alert_count, names, counts, _supervisions(session, period), away, to_ack, to_publish,
        _kinds_present(counts),
    )


def _row(
    kinds: list[str],
    dept: str | None,
    name: str | None,
    n_alerts: int,
    per_kind: dict[str, _Counts],
    durations: tuple[list[float], list[float]],
    supervised: int,
    reassigned: int,
) -> DepartmentPerformance:
    total = _Counts()
    for c in per_kind.values():
        total.add(c)
    whole = KindPerformance.of("all", total)
    return DepartmentPerformance(
        department_id=dept,
        department_name=name,
        alerts=n_alerts,
        deadlines=[KindPerformance.of(k, per_kind.get(k) or _Counts()) for k in kinds],
        total=whole,
        on_time_rate=whole.on_time_rate,
        to_acknowledge=DurationStats.of(durations[0]),
        to_publish=DurationStats.of(durations[1]),
        supervisions=supervised,
        reassigned_away=reassigned,
    )


def _department_row(facts: _Facts, dept: str | None, names: Mapping[str, str]) -> DepartmentPerformance:
    return _row(
        facts.kinds,
        dept,
        names.get(dept or "") or facts.names.get(dept),
        facts.alert_count.get(dept, 0),
        facts.counts.get(dept, {}),
        (facts.to_ack.get(dept, []), facts.to_publish.get(dept, [])),
        facts.supervisions.get(dept, 0),
        facts.away.get(dept, 0),
    )


def _worst_first(d: DepartmentPerformance) -> tuple[bool, float, int, int, str]:
    """Lowest on-time rate first, then most breaches, most alerts; no rate at all last."""
    return (
        d.on_time_rate is None,
        d.on_time_rate or 0.0,
        -d.total.breached,
        -d.alerts,
        d.department_name or d.department_id or "",
    )


def _overall_row(facts: _Facts) -> DepartmentPerformance:
    everything: dict[str, _Counts] = {}
    for per in facts.counts.values():
        for kind, c in per.items():
            everything.setdefault(kind, _Counts()).add(c)
    return _row(
        facts.kinds,
        None,
        None,
        len(facts.alerts),
        everything,
        (
            [v for vals in facts.to_ack.values() for v in vals],
            [v for vals in facts.to_publish.values() for v in vals],
        ),
        sum(facts.supervisions.values()),
        sum(facts.away.values()),
    )


def department_performance(
    session: Session, period: Period, *, now: datetime, names: Mapping[str, str] | None = None
) -> PerformanceReport:
    """The report for ``period`` as of ``now``. ``names``: department names from the directory (the
    name stored on the alert is used for departments it does not list)."""
    facts = _facts(session, period, now)
    departments = [_department_row(facts, dept, names or {}) for dept in {*facts.alert_count, *facts.away}]
    departments.sort(key=_worst_first)
    return PerformanceReport(
        date_from=period.date_from,
        date_to=period.date_to,
        as_of=now,
        kinds=facts.kinds,
        departments=departments,
        overall=_overall_row(facts),
    )
