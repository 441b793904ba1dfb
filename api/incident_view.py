"""What the incident page shows: the incident, its alert, the post timeline (from the search store),
hourly heat and sentiment series, the effect review of the response, locations, similar and merged
incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from alerting import read_models, service
from alerting.effect_review import EffectReview, review
from api import incident_reads as read
from api.deps import AppState, Principal
from api.incident_insights import (
    KeywordCount,
    PlaceCount,
    SourceShare,
    place_counts,
    source_split,
    top_keywords,
)
from api.problems import ProblemError
from api.schemas import PostOut
from incidents.mapping import IncidentOut
from incidents.models import IncidentRow
from incidents.series import SeriesPoint
from yuqing.storage import StoreError

MAX_TIMELINE = 200  # posts shown on the page (the latest)
MAX_EFFECT_POSTS = 2000  # posts read for the charts and the effect review
SHORT_SPAN = timedelta(hours=6)


class IncidentDetail(BaseModel):
    incident: IncidentOut
    alert: service.AlertDetail | None
    merged_alerts: list[service.AlertRead]
    posts: list[PostOut]
    posts_error: str | None = None
    series: list[SeriesPoint]
    effect: EffectReview | None = None
    similar: list[IncidentOut]
    merged: list[IncidentOut]
    sources: list[SourceShare] = []
    keywords: list[KeywordCount] = []
    places: list[PlaceCount] = []


def _alerts_for(session: Session, incident_id: str, now: datetime) -> list[service.AlertDetail]:
    ids = read_models.alert_ids_of_incident(session, incident_id)
    return [service.get_alert(session, alert_id=i, now=now) for i in ids]


def visible_incident(session: Session, incident_id: str, principal: Principal) -> IncidentRow:
    row = read.visible_row(session, incident_id, principal)
    if row is None:
        raise ProblemError(404, "not-found", f"没有编号为 {incident_id} 的事件")
    return row


def _posts_of(docs: list[dict[str, Any]]) -> list[PostOut]:
    return sorted((PostOut.from_store(d) for d in docs), key=lambda p: p.posted_at)


def _timeline_docs(state: AppState, session: Session, incident_id: str) -> list[dict[str, Any]]:
    """The stored posts of the incident (the latest ``MAX_EFFECT_POSTS`` to join it)."""
    post_ids = read.latest_post_ids(session, incident_id, MAX_EFFECT_POSTS)
    if not post_ids:
        return []
    try:
        return state.store.get(list(post_ids))
    except StoreError as exc:
        raise ProblemError(503, "search-unavailable", f"检索服务不可用：{exc}") from None


def bucket_width(posts: list[PostOut]) -> timedelta:
    """Ten minutes for an incident a few hours old, an hour for a longer one."""
    times = [p.posted_at for p in posts]
    return timedelta(minutes=10) if times and max(times) - min(times) <= SHORT_SPAN else timedelta(hours=1)


def post_series(posts: list[PostOut]) -> list[SeriesPoint]:
    """Posts, heat and sentiment per time bucket (empty buckets included, so the axis is even)."""
    if not posts:
        return []
    width = bucket_width(posts)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)

    def floor(t: datetime) -> datetime:
        return epoch + ((t - epoch) // width) * width

    times = [p.posted_at for p in posts]
    start, end = floor(min(times)), floor(max(times))
    buckets: dict[datetime, SeriesPoint] = {}
    at = start
    while at <= end:
        buckets[at] = SeriesPoint(start=at, posts=0, heat=0.0, negative=0, neutral=0, positive=0)
        at += width
    for post, when in zip(posts, times, strict=True):
        point = buckets[floor(when)]
        point.posts += 1
        point.heat += post.heat
        setattr(point, post.sentiment, getattr(point, post.sentiment) + 1)
    return [buckets[k] for k in sorted(buckets)]


def incident_detail(state: AppState, session: Session, row: IncidentRow, *, now: datetime) -> IncidentDetail:
    alerts = _alerts_for(session, row.id, now)
    current = next((a for a in alerts if a.merged_into_id is None), alerts[0] if alerts else None)
    merged_alerts: list[service.AlertRead] = []
    if current is not None:
        merged_ids = read_models.alerts_merged_into(session, current.id)
        merged_alerts = [service.get_alert(session, alert_id=i, now=now) for i in merged_ids]
    try:
        docs, posts_error = _timeline_docs(state, session, row.id), None
    except ProblemError as exc:  # the store is down: the incident and its alert are still worth showing
        docs, posts_error = [], exc.detail
    posts = _posts_of(docs)
    return IncidentDetail(
        incident=IncidentOut.of(row),
        posts_error=posts_error,
        alert=current,
        merged_alerts=merged_alerts,
        posts=posts[-MAX_TIMELINE:],
        series=post_series(posts),
        effect=(
            review(posts, current.deadlines, now, current.releases)
            if current is not None and not posts_error
            else None
        ),
        similar=read.similar_incidents(session, row),
        merged=read.merged_incidents(session, row),
        sources=source_split(posts),
        keywords=top_keywords(docs),
        places=place_counts(posts, row.locations or []),
    )
