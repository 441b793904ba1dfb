"""A 监测方案's new and rising incidents reach its owners even when no alert opens (alert openings and level
rises reach them through ``routing.WithPlanOwners``).

- **new**: the first time an incident carries the plan's id.
- **rising**: since the plan's last notice about it, the incident's post count at least doubled (and is at
  least ``RISING_MIN_POSTS``), or its severity level rose.

When the alert's own notice of the same step (the alert opened, or its level rose) already reached the
owners, the plan's notice is kept as a record only (status ``covered``), so nobody hears it twice.

Each notice goes through the outbox (``outbox.enqueue_incident``): its threshold
(``p<plan>:new:<posts>:<rank>``, ``p<plan>:posts:<posts>``, ``p<plan>:level:<rank>``) is part of the
dedup key, so a notice is queued once, and it is dispatched with the same rate limits and digests as any
other. The thresholds already queued for an incident are the state: the largest post count and level rank
in them are what the incident had when its owners last heard. A plan's ``channels``, when it names any,
are the channels its notices go to (and only those)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.models import Notification
from alerting.notify.registry import ConfiguredChannel
from alerting.outbox import IncidentNotice, enqueue_incident, record_covered
from alerting.plan_routing import Owners, owner_recipients
from nlp.plans.models import PlanRow
from yuqing.schemas import SEVERITY_ORDER, Incident, severity_rank

RISING_MIN_POSTS = 8  # below this, doubling (1 → 2 posts) is noise, not a rising incident


@dataclass(frozen=True, slots=True)
class Heard:
    """What the plan's owners were last told about the incident."""

    posts: int
    rank: int


def _heard(thresholds: list[str]) -> Heard | None:
    if not thresholds:
        return None
    posts = rank = 0
    for threshold in thresholds:
        parts = threshold.split(":")
        if parts[1] == "new" and len(parts) == 4:
            posts, rank = max(posts, int(parts[2])), max(rank, int(parts[3]))
        elif parts[1] == "posts":
            posts = max(posts, int(parts[2]))
        elif parts[1] == "level":
            rank = max(rank, int(parts[2]))
    return Heard(posts, rank)


def plan_notice(plan: PlanRow, incident: Incident, heard: Heard | None) -> IncidentNotice | None:
    """The notice the plan's owners are due about ``incident``, if any."""
    level = incident.severity.level
    rank = severity_rank(level)
    posts = incident.post_count
    facts = f"帖文 {posts} 条，来源 {incident.source_count} 个，级别 {level or '未定级'}"
    subject = f"[监测方案 {plan.name}] {incident.title}"
    if heard is None:
        threshold, what = f"p{plan.id}:new:{posts}:{rank}", f"监测方案「{plan.name}」命中新事件"
    elif rank > heard.rank:
        threshold = f"p{plan.id}:level:{rank}"
        what = f"监测方案「{plan.name}」的事件级别升至 {SEVERITY_ORDER[rank - 1]}"
    elif posts >= max(2 * heard.posts, RISING_MIN_POSTS):
        threshold = f"p{plan.id}:posts:{posts}"
        what = f"监测方案「{plan.name}」的事件升温：帖文由 {heard.posts} 条增至 {posts} 条"
    else:
        return None
    return IncidentNotice(
        incident_id=incident.id,
        threshold=threshold,
        subject=f"{subject} — {'新事件' if heard is None else '升温'}",
        body=f"{what}\n{facts}",
        level=level,
    )


def notify_plan_owners(
    session: Session,
    incident: Incident,
    now: datetime,
    *,
    directory: Any,
    channels: dict[str, ConfiguredChannel],
    console_url: str,
    told: bool = False,
) -> int:
    """Queue the new/rising notices of the incident's active plans; returns the notification rows added.
    ``told``: the alert's own notice of this step (it opened, or its level rose) already went to the plans'
    owners (``routing.WithPlanOwners``), so the plan notice is only recorded (``outbox.record_covered``),
    not sent a second time; the next rising notice counts from it."""
    if not incident.plan_ids:
        return 0
    active = select(PlanRow).where(PlanRow.id.in_(incident.plan_ids), PlanRow.paused.is_(False))
    plans = session.scalars(active.order_by(PlanRow.id)).all()
    if not plans:
        return 0
    queued = list(
        session.scalars(
            select(Notification.threshold).distinct().where(Notification.incident_id == incident.id)
        )
    )
    added = 0
    for plan in plans:
        prefix = f"p{plan.id}:"
        notice = plan_notice(plan, incident, _heard([t for t in queued if t.startswith(prefix)]))
        if notice is None:
            continue
        if told:
            added += record_covered(session, notice, f"plan:{plan.id}", now)
            continue
        owners = Owners(tuple(plan.owner_users or []), tuple(plan.owner_departments or []))
        added += enqueue_incident(
            session,
            notice,
            owner_recipients(directory, owners),
            now,
            channels=channels,
            console_url=console_url,
            only=list(plan.channels or []) or None,
        )
    return added
