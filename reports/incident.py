"""The incident 专报 / 复盘: everything the report says about one incident, read from the database (the
incident, its alert, clocks, releases, audit history and 复盘) and the search store (its posts).

Every figure is computed here from those rows, so the HTML, PDF and Word renderings say the same."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting import service
from alerting.effect_review import EffectReview, review
from alerting.models import Alert
from alerting.read_models import AuditEntryRead, DeadlineRead
from incidents.mapping import IncidentOut
from incidents.models import IncidentPost, IncidentRow
from incidents.series import SeriesPoint
from reports.models import IncidentReview
from reports.rule_titles import rule_ground, rule_titles
from reports.text import cn_datetime, cn_duration, pct
from yuqing.clock import CN_TZ
from yuqing.domain import ACTION_LABELS, DEADLINE_LABELS, RELEASE_KINDS, SPEAKER_ROLES, STATUS_LABELS
from yuqing.storage import SearchStore, StoreError
from yuqing.storage.post_view import PostOut

MAX_POSTS = 2000  # posts read for the charts and the effect review (as the incident page)
TYPICAL_POSTS = 8


class IncidentNotFound(LookupError):
    def __init__(self, incident_id: str) -> None:
        super().__init__(f"没有编号为 {incident_id} 的事件")
        self.incident_id = incident_id


@dataclass
class ClockLine:
    """时限执行: one clock, when it was due and how it ended."""

    kind: str
    label: str
    start: datetime
    due_at: datetime
    state: str  # open | met | breached | stopped
    outcome: str  # e.g. 按时完成（提前 1 小时 20 分）, 超时 2 小时 5 分完成
    met_at: datetime | None
    late_seconds: float | None  # positive: late by this much; negative: early; None: not done


@dataclass
class TimelineEntry:
    """处置经过: one step (签收, 转派 with its reason, a release, 发布会, 口径 …)."""

    at: datetime
    action: str
    label: str
    actor: str
    detail: str
    link: str | None = None


@dataclass
class ReviewText:
    problems: str
    measures: str
    updated_by: str
    updated_at: datetime


@dataclass
class IncidentReport:
    generated_at: datetime
    incident: IncidentOut
    places: list[tuple[str, str]]  # (name, code)
    level: str | None
    grounds: list[str]  # 定级依据: the severity triggers and the alert rules that matched
    alert: service.AlertDetail | None
    posts: list[PostOut]
    posts_error: str | None
    series: list[SeriesPoint]
    sources: list[tuple[str, int]]
    typical: list[PostOut]
    timeline: list[TimelineEntry]
    clocks: list[ClockLine]
    effect: EffectReview | None
    review: ReviewText | None

    @property
    def title(self) -> str:
        return f"关于“{self.incident.title}”的舆情专报"


def clock_line(d: DeadlineRead, now: datetime) -> ClockLine:
    label = DEADLINE_LABELS.get(d.kind, d.kind)
    if d.met_at is not None:
        late = (d.met_at - d.due_at).total_seconds()
        outcome = (f"超时 {cn_duration(late)} 完成" if late > 0
                   else f"按时完成（提前 {cn_duration(-late)}）")
        return ClockLine(d.kind, label, d.start, d.due_at, "met", outcome, d.met_at, late)
    if d.stopped_at is not None:
        late = (d.stopped_at - d.due_at).total_seconds()
        why = f"，停止时已超时 {cn_duration(late)}" if d.breached_at is not None and late > 0 else ""
        return ClockLine(d.kind, label, d.start, d.due_at, "stopped", f"未完成即停止{why}", None,
                         late if d.breached_at is not None else None)
    late = (now - d.due_at).total_seconds()
    if late >= 0:
        outcome = f"已超时 {cn_duration(late)}，尚未完成"
        return ClockLine(d.kind, label, d.start, d.due_at, "breached", outcome, None, late)
    outcome = f"计时中，剩余 {cn_duration(-late)}"
    return ClockLine(d.kind, label, d.start, d.due_at, "open", outcome, None, None)


def hourly_series(posts: list[PostOut]) -> list[SeriesPoint]:
    """Posts, heat and sentiment per hour (Beijing time; empty hours included, so the axis is even)."""
    if not posts:
        return []

    def floor(t: datetime) -> datetime:
        return t.astimezone(CN_TZ).replace(minute=0, second=0, microsecond=0)

    start, end = floor(min(p.posted_at for p in posts)), floor(max(p.posted_at for p in posts))
    buckets: dict[datetime, SeriesPoint] = {}
    at = start
    while at <= end:
        buckets[at] = SeriesPoint(start=at, posts=0, heat=0.0, negative=0, neutral=0, positive=0)
        at += timedelta(hours=1)
    for post in posts:
        point = buckets[floor(post.posted_at)]
        point.posts += 1
        point.heat += post.heat
        if post.sentiment in ("negative", "neutral", "positive"):
            setattr(point, post.sentiment, getattr(point, post.sentiment) + 1)
    return [buckets[k] for k in sorted(buckets)]


def _detail(entry: AuditEntryRead) -> tuple[str, str | None]:
    details = entry.details or {}
    reason = entry.reason or ""
    if entry.action == "reassign":
        src = (details.get("from") or {}).get("department_name") or "未分派"
        dst = (details.get("to") or {}).get("department_name") or ""
        return f"由{src}转派至{dst}；原因：{reason}", None
    if entry.action == "release":
        kind = RELEASE_KINDS.get(str(details.get("kind", "")), "")
        return f"{kind}：{reason}".strip("："), details.get("link")
    if entry.action == "response_line":
        return f"口径：{reason}（审核：{details.get('approved_by', '')}）", None
    if entry.action in ("publish_info", "hold_press_conference"):
        met = "、".join(DEADLINE_LABELS.get(k, k) for k in details.get("deadlines_met") or [])
        parts = (str(details.get("evidence") or reason), f"完成时限：{met}" if met else "")
        text = "；".join(t for t in parts if t)
        return text, details.get("link")
    return reason, details.get("link") if isinstance(details.get("link"), str) else None


def timeline(history: list[AuditEntryRead]) -> list[TimelineEntry]:
    entries = []
    for e in history:
        detail, link = _detail(e)
        entries.append(TimelineEntry(e.at, e.action, ACTION_LABELS.get(e.action, e.action), e.actor, detail,
                                     link))
    return entries


def _posts(store: SearchStore, session: Session, incident_id: str) -> list[PostOut]:
    ids = session.scalars(
        select(IncidentPost.post_id)
        .where(IncidentPost.incident_id == incident_id)
        .order_by(IncidentPost.added_at.desc())
        .limit(MAX_POSTS)
    ).all()
    if not ids:
        return []
    return sorted((PostOut.from_store(d) for d in store.get(list(ids))), key=lambda p: p.posted_at)


def read_review(session: Session, incident_id: str) -> ReviewText | None:
    row = session.get(IncidentReview, incident_id)
    if row is None:
        return None
    return ReviewText(row.problems, row.measures, row.updated_by, row.updated_at)


def current_alert_id(session: Session, incident_id: str) -> int | None:
    return session.scalar(
        select(Alert.id)
        .where(Alert.incident_id == incident_id, Alert.merged_into_id.is_(None))
        .order_by(Alert.id)
        .limit(1)
    )


def gather(session: Session, store: SearchStore | None, incident_id: str, *, now: datetime) -> IncidentReport:
    """The report's contents; ``IncidentNotFound`` for an unknown id. A search store that is down leaves
    the post sections empty with the reason (the clocks and the timeline are still worth reporting)."""
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise IncidentNotFound(incident_id)
    alert_id = current_alert_id(session, incident_id)
    alert = service.get_alert(session, alert_id=alert_id, now=now) if alert_id is not None else None
    posts: list[PostOut] = []
    posts_error = None
    if store is None:
        posts_error = "未连接检索服务"
    else:
        try:
            posts = _posts(store, session, incident_id)
        except StoreError as exc:
            posts_error = f"检索服务不可用：{exc}"
    history = service.alert_history(session, alert_id=alert_id) if alert_id is not None else []
    grounds = [f"触发条件：{t}" for t in row.severity_triggers or []]
    if alert is not None:
        titles = rule_titles()
        grounds += [rule_ground(r, titles) for r in alert.matched_rules]
    places = [(str(loc.get("name", "")), str(loc.get("code", ""))) for loc in row.locations or []]
    sources = Counter(p.source_id for p in posts).most_common(10)
    typical = sorted(posts, key=lambda p: (-p.heat, p.posted_at))[:TYPICAL_POSTS]
    effect = None
    if alert is not None and not posts_error:
        effect = review(posts, alert.deadlines, now, alert.releases)
    return IncidentReport(
        generated_at=now,
        incident=IncidentOut.of(row),
        places=places,
        level=alert.level if alert is not None else row.severity,
        grounds=grounds,
        alert=alert,
        posts=posts,
        posts_error=posts_error,
        series=hourly_series(posts),
        sources=sources,
        typical=typical,
        timeline=timeline(history),
        clocks=[clock_line(d, now) for d in alert.deadlines] if alert is not None else [],
        effect=effect,
        review=read_review(session, incident_id),
    )


def negative_share(report: IncidentReport) -> float:
    """From the posts read when there are any (what the charts show), else the incident's own figure."""
    if report.posts:
        return sum(p.sentiment == "negative" for p in report.posts) / len(report.posts)
    return report.incident.negative_share


def summary_lines(report: IncidentReport) -> list[tuple[str, str]]:
    """事件概述 as label / value pairs (the same in every format)."""
    inc = report.incident
    alert = report.alert
    places = "、".join(f"{n}（{c}）" for n, c in report.places) or "未识别"
    lines = [
        ("事件编号", inc.id),
        ("首次发现", cn_datetime(inc.first_seen)),
        ("最近动态", cn_datetime(inc.last_seen)),
        ("涉及地区", places),
        ("事件类别", inc.category or "未分类"),
        ("预警级别", report.level or "未定级"),
        ("定级依据", "；".join(report.grounds) or "无"),
        ("帖文数 / 信源数", f"{inc.post_count} / {inc.source_count}"),
        ("热度", f"{inc.heat:.1f}"),
        ("负面占比", pct(negative_share(report))),
    ]
    if alert is not None:
        lines += [
            ("预警编号", str(alert.id)),
            ("当前状态", STATUS_LABELS.get(alert.status, alert.status)),
            ("责任部门", alert.department_name or "未分派"),
        ]
        if alert.response_line:
            approver = alert.response_line_approved_by or ""
            lines.append(("回应口径", f"{alert.response_line}（审核：{approver}）"))
        if alert.spokesperson_name:
            role = SPEAKER_ROLES.get(alert.spokesperson_role or "", "")
            lines.append(("发声人", f"{role}{alert.spokesperson_name}（{cn_datetime(alert.spoke_at)}）"))
    return lines


def effect_window_text(effect: EffectReview) -> str:
    if effect.before is None or effect.after is None:
        return ""
    span = effect.before.end - effect.before.start
    return f"回应前后各 {span / timedelta(hours=1):g} 小时"
