"""效果评估: did the government's response calm the incident? Measured from the incident's own posts.

The response time is when the first answering deadline was met (information published, the 48 h
response, a 留言 reply or a policy interpretation). The posts in the window before it are compared with
the posts in an equally long window after it: posts per hour, negative share and heat per hour. The
verdict is a rule over those figures, stated with the figures, so an analyst can check it and write the
复盘 from it; it is ``provisional`` while the window after the response is still running.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal, Protocol

from pydantic import BaseModel

from alerting.read_models import DeadlineRead, ReleaseRead
from yuqing.clock import CN_TZ
from yuqing.domain import INFO_KINDS

RESPONSE_KINDS = INFO_KINDS  # the deadlines an answer meets (信息发布、回应、答复、解读、转载)
MAX_WINDOW = timedelta(hours=6)
MIN_WINDOW = timedelta(hours=1)
MIN_POSTS = 3  # fewer posts than this in either window: too little to judge
VOLUME_DROP = 0.5  # after/before posts per hour at or under this: the discussion fell back
NEGATIVE_POINTS = 0.10  # a change in negative share of at least this many points counts


class PostFigures(Protocol):
    """What the review reads of a post (api.schemas.PostOut has it)."""

    @property
    def posted_at(self) -> datetime: ...

    @property
    def sentiment(self) -> str: ...

    @property
    def heat(self) -> float: ...


Verdict = Literal["未回应", "数据不足", "舆情回落", "负面下降", "舆情未缓解", "变化不明显"]


class WindowFigures(BaseModel):
    start: datetime
    end: datetime
    posts: int
    posts_per_hour: float
    negative_share: float | None
    heat_per_hour: float


class ReleaseMark(BaseModel):
    """One release of 持续发布, as the review shows it on the time axis."""

    at: datetime
    kind: str
    label: str


class EffectReview(BaseModel):
    responded_at: datetime | None
    response_kind: str | None
    releases: list[ReleaseMark] = []
    before: WindowFigures | None = None
    after: WindowFigures | None = None
    verdict: Verdict
    summary: str
    provisional: bool = False


def _figures(posts: Sequence[PostFigures], start: datetime, end: datetime) -> WindowFigures:
    inside = [p for p in posts if start <= p.posted_at < end]
    hours = max((end - start).total_seconds() / 3600, 1e-9)
    negative = sum(p.sentiment == "negative" for p in inside)
    return WindowFigures(
        start=start,
        end=end,
        posts=len(inside),
        posts_per_hour=round(len(inside) / hours, 2),
        negative_share=round(negative / len(inside), 4) if inside else None,
        heat_per_hour=round(sum(p.heat for p in inside) / hours, 2),
    )


def first_response(deadlines: Sequence[DeadlineRead]) -> tuple[datetime, str] | None:
    met = [(d.met_at, d.kind) for d in deadlines if d.kind in RESPONSE_KINDS and d.met_at is not None]
    return min(met) if met else None


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def _releases_text(marks: Sequence[ReleaseMark]) -> str:
    if not marks:
        return ""
    times = "、".join(f"{m.label} {m.at.astimezone(CN_TZ):%m-%d %H:%M}" for m in marks)
    return f"发布 {len(marks)} 次：{times}。"


def review(
    posts: Sequence[PostFigures],
    deadlines: Sequence[DeadlineRead],
    now: datetime,
    releases: Sequence[ReleaseRead] = (),
) -> EffectReview:
    """The effect review of one alert's response, from its incident's posts; the releases of 持续发布
    are listed with their times."""
    marks = [ReleaseMark(at=r.released_at, kind=r.kind, label=r.label) for r in releases]
    response = first_response(deadlines)
    if response is None:
        summary = "尚未记录回应（权威信息发布或答复），暂无法评估效果。" + _releases_text(marks)
        return EffectReview(responded_at=None, response_kind=None, releases=marks, verdict="未回应",
                            summary=summary)
    responded_at, kind = response
    earliest = min((p.posted_at for p in posts), default=responded_at)
    window = min(MAX_WINDOW, max(MIN_WINDOW, responded_at - earliest))
    before = _figures(posts, responded_at - window, responded_at)
    after_end = responded_at + window
    provisional = now < after_end
    after = _figures(posts, responded_at, min(after_end, now) if provisional else after_end)
    hours = window.total_seconds() / 3600
    base = EffectReview(responded_at=responded_at, response_kind=kind, releases=marks, before=before,
                        after=after, verdict="变化不明显", summary="", provisional=provisional)
    if before.posts < MIN_POSTS or (after.posts < MIN_POSTS and provisional):
        base.verdict = "数据不足"
        base.summary = (f"回应前后各 {hours:g} 小时内帖子过少（回应前 {before.posts} 条、"
                        f"回应后 {after.posts} 条），不足以判断效果。") + _releases_text(marks)
        return base
    ratio = after.posts_per_hour / before.posts_per_hour
    neg_before = before.negative_share or 0.0
    neg_after = after.negative_share if after.negative_share is not None else neg_before
    change = neg_after - neg_before
    parts = [
        f"回应后 {hours:g} 小时内发帖 {after.posts_per_hour:g} 条/时"
        f"（回应前 {before.posts_per_hour:g} 条/时，{(ratio - 1) * 100:+.0f}%）",
        f"负面占比 {_pct(neg_after)}（回应前 {_pct(neg_before)}，{change * 100:+.0f} 个百分点）",
    ]
    if ratio <= VOLUME_DROP and change <= 0:
        base.verdict = "舆情回落"
    elif change <= -NEGATIVE_POINTS:
        base.verdict = "负面下降"
    elif ratio > 1 or change >= NEGATIVE_POINTS:
        base.verdict = "舆情未缓解"
    pending = "（评估窗口尚未结束）" if provisional else ""
    base.summary = "；".join(parts) + f"。结论：{base.verdict}{pending}。" + _releases_text(marks)
    return base
