"""The notification pipeline around the channels: route → dedup → queue → rate limit / digest → send →
retry with backoff → send log. Channels only send; everything else is here.

- ``enqueue`` writes one ``notifications`` row per (alert, deadline, threshold, repeat, recipient, channel);
  the unique ``dedup_key`` makes queueing the same notice twice a no-op (restarts never page twice).
- ``dispatch`` claims due rows per channel, sends at most the channel's per-minute budget (robots: 20) and
  folds the overflow into one digest message, then records every attempt in ``notification_attempts``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from alerting.insert_once import insert_once
from alerting.models import Alert, AlertDeadline, Notification, NotificationAttempt
from alerting.notify.base import OutgoingMessage, SendResult
from alerting.notify.registry import ConfiguredChannel
from alerting.rules import ROLE_NAMES, Retry
from yuqing.clock import CN_TZ
from yuqing.domain import DEADLINE_LABELS, STATUS_LABELS

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=10)  # a claimed row not recorded by then is sent again (crash mid-send)
KIND_NAMES = DEADLINE_LABELS


@dataclass(frozen=True, slots=True)
class Recipient:
    role: str
    key: str  # stable id: role:department-id or role:person
    name: str
    email: str | None = None
    robots: frozenset[str] = frozenset()  # robot channels named in the person's directory entry
    phone: str | None = None  # sms
    wecom_userid: str | None = None  # wecom_app: WeCom 应用消息 to this person
    dingtalk_userid: str | None = None  # dingtalk_work: DingTalk 工作通知 to this person
    only_channels: frozenset[str] | None = None  # a 监测方案 owner: only the plan's channels (None: any)


def alert_link(console_url: str, alert_id: int) -> str:
    return f"{console_url.rstrip('/')}/alerts/{alert_id}"


def compose(alert: Alert, deadline: AlertDeadline | None, threshold: str, repeat: int) -> tuple[str, str]:
    """Subject and body of a notice about ``alert`` at ``threshold``."""
    subject = f"[{alert.level}] {alert.title}"
    dept = alert.department_name or "未分配"
    if deadline is not None:
        kind = KIND_NAMES.get(deadline.kind, deadline.kind)
        due = deadline.due_at.astimezone(CN_TZ).strftime("%Y-%m-%d %H:%M")
        if threshold == "breach":
            what = f"「{kind}」时限已于 {due} 届满，未见办结，已启动督办" + (
                f"（第 {repeat + 1} 次提醒）" if repeat else ""
            )
        else:
            what = f"「{kind}」时限已过 {threshold}，截止 {due}"
        subject = f"{subject} — {kind}{'超时' if threshold == 'breach' else '提醒'}"
    elif threshold == "unacknowledged":
        what = "预警尚未签收，请立即签收并处置" + (f"（第 {repeat + 1} 次提醒）" if repeat else "")
        subject = f"{subject} — 未签收"
    elif threshold == "reassigned":
        what = f"预警已改派至{dept}，请签收并处置"
        subject = f"{subject} — 改派"
    elif threshold == "handed_over":
        what = f"预警已由本单位改派至{dept}（原因见处置记录），请做好交接"
        subject = f"{subject} — 已改派他单位"
    elif threshold == "assisting":
        what = f"会商：本单位为协办单位，请配合牵头单位{dept}处置"
        subject = f"{subject} — 协办"
    elif threshold.startswith("level:"):
        what = f"预警级别升至 {alert.level}，请重新研判并按新时限处置"
        subject = f"{subject} — 级别上升"
    else:
        what = "新预警，请签收并处置"
    body = f"{what}\n责任单位：{dept}\n状态：{STATUS_LABELS.get(alert.status, alert.status)}"
    return subject, body


def _recipient_allowed(channel: ConfiguredChannel, recipients: list[Recipient]) -> list[Recipient]:
    """Per-person channels take everyone (or the roles they list); a group robot takes the recipients whose
    directory entry names it, plus the roles it lists."""
    roles = channel.config.roles
    recipients = [r for r in recipients if r.only_channels is None or channel.name in r.only_channels]
    if channel.kind.per_recipient:
        return [r for r in recipients if roles is None or r.role in roles]
    return [r for r in recipients if channel.name in r.robots or (roles is not None and r.role in roles)]


def enqueue(
    session: Session,
    alert: Alert,
    deadline: AlertDeadline | None,
    threshold: str,
    repeat: int,
    recipients: list[Recipient],
    now: datetime,
    *,
    channels: dict[str, ConfiguredChannel],
    console_url: str,
) -> int:
    """Queue the notice for every recipient on every channel that takes it; returns rows added."""
    subject, body = compose(alert, deadline, threshold, repeat)
    link = alert_link(console_url, alert.id)
    scope = f"{alert.id}:{deadline.kind if deadline else '-'}:{threshold}#{repeat}"
    added = 0
    for channel in channels.values():
        levels = channel.config.levels
        if levels is not None and alert.level not in levels:
            continue
        wanted = _recipient_allowed(channel, recipients)
        if not wanted:
            continue
        rows: list[tuple[str, str | None, str]] = []
        if channel.kind.per_recipient:
            for r in wanted:
                address = getattr(r, channel.kind.needs_address) if channel.kind.needs_address else None
                if channel.kind.needs_address and not address:
                    continue
                rows.append((r.key, address, body))
        else:
            names = "、".join(f"{ROLE_NAMES.get(r.role, r.role)} {r.name}" for r in wanted)
            rows.append((f"channel:{channel.name}", None, f"{body}\n请 {names} 处理"))
        for recipient, address, text in rows:
            added += _insert(
                session,
                Notification(
                    dedup_key=f"{scope}:{recipient}:{channel.name}"[:200],
                    alert_id=alert.id,
                    deadline_id=deadline.id if deadline else None,
                    threshold=threshold,
                    channel=channel.name,
                    recipient=recipient,
                    address=address,
                    subject=subject,
                    body=text,
                    link=link,
                    status="queued",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                ),
            )
    return added


@dataclass(frozen=True, slots=True)
class IncidentNotice:
    """A notice about an incident that may have no alert (a 监测方案's new or rising incident)."""

    incident_id: str
    threshold: str  # e.g. p3:new:8:2 — with the incident id and recipient, the dedup key
    subject: str
    body: str
    level: str | None


def enqueue_incident(
    session: Session,
    notice: IncidentNotice,
    recipients: list[Recipient],
    now: datetime,
    *,
    channels: dict[str, ConfiguredChannel],
    console_url: str,
    only: list[str] | None = None,
) -> int:
    """Queue an incident notice like ``enqueue`` does an alert's (dedup, then the same dispatch: rate limits
    and digests). ``only`` — a plan's own channels — replaces the usual choice: each named channel takes
    every recipient it can reach, a group robot the whole notice; unknown names are skipped."""
    link = f"{console_url.rstrip('/')}/incidents/{notice.incident_id}"
    chosen = [channels[n] for n in only if n in channels] if only else list(channels.values())
    added = 0
    for channel in chosen:
        levels = channel.config.levels
        if not only and levels is not None and notice.level not in levels:
            continue
        wanted = recipients if only else _recipient_allowed(channel, recipients)
        rows: list[tuple[str, str | None, str]] = []
        if channel.kind.per_recipient:
            for r in wanted:
                address = getattr(r, channel.kind.needs_address) if channel.kind.needs_address else None
                if not channel.kind.needs_address or address:
                    rows.append((r.key, address, notice.body))
        elif wanted:
            names = "、".join(r.name for r in wanted)
            rows.append((f"channel:{channel.name}", None, f"{notice.body}\n请 {names} 关注"))
        for recipient, address, text in rows:
            row = _incident_row(notice, recipient, channel.name, now, address=address, body=text, link=link)
            added += _insert(session, row)
    return added


def _incident_row(
    notice: IncidentNotice,
    recipient: str,
    channel: str,
    now: datetime,
    *,
    address: str | None,
    body: str,
    link: str,
) -> Notification:
    """The notification row of an incident notice for one recipient on one channel (no alert)."""
    return Notification(
        dedup_key=f"inc:{notice.incident_id}:{notice.threshold}:{recipient}:{channel}"[:200],
        alert_id=None,
        incident_id=notice.incident_id,
        deadline_id=None,
        threshold=notice.threshold[:24],
        channel=channel,
        recipient=recipient,
        address=address,
        subject=notice.subject,
        body=body,
        link=link,
        status="queued",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def _insert(session: Session, row: Notification) -> int:
    return int(insert_once(session, row, "dedup_key"))


COVERED = "covered"  # the status of a notice kept as a record only: never sent


def record_covered(session: Session, notice: IncidentNotice, recipient: str, now: datetime) -> int:
    """Keep an incident notice as a record that is never sent, for ``recipient`` (e.g. ``plan:7``): its
    readers heard the same in another notice of the same step (an alert's own first or level notice), and
    what they heard must stay known for the next one. Once per threshold, like every notice."""
    row = _incident_row(notice, recipient, COVERED, now, address=None, body=notice.body, link="")
    row.status = COVERED
    return _insert(session, row)


@dataclass(slots=True)
class DispatchStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    digests: int = 0

    def count(self, result: SendResult, size: int) -> None:
        self.sent += size if result.outcome == "sent" else 0
        self.retried += size if result.outcome == "retry" else 0
        self.failed += size if result.outcome == "failed" else 0
        self.digests += size > 1


def _used_budget(session: Session, channel: str, now: datetime) -> int:
    """Messages this channel sent (tried) in the last minute; a digest is one message."""
    return (
        session.scalar(
            select(func.count(func.distinct(NotificationAttempt.message_ref))).where(
                NotificationAttempt.channel == channel, NotificationAttempt.at > now - timedelta(minutes=1)
            )
        )
        or 0
    )


def _claim(
    factory: sessionmaker[Session], channel: ConfiguredChannel, now: datetime, limit: int
) -> list[Notification]:
    with factory() as session, session.begin():
        due = list(
            session.scalars(
                select(Notification)
                .where(
                    Notification.channel == channel.name,
                    or_(Notification.status == "queued", Notification.status == "sending"),
                    Notification.next_attempt_at <= now,
                )
                .order_by(Notification.next_attempt_at, Notification.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for row in due:
            row.status, row.next_attempt_at = "sending", now + CLAIM_LEASE
        return due


def _digest(rows: list[Notification], console_url: str) -> OutgoingMessage:
    lines = [f"- {r.subject}：{r.body.splitlines()[0]} ({r.link})" for r in rows]
    return OutgoingMessage(
        subject=f"舆情预警汇总：{len(rows)} 条提醒",
        body="\n".join(lines),
        link=f"{console_url.rstrip('/')}/alerts",
        recipient=rows[0].recipient,
        address=rows[0].address,
        alert_ids=tuple(sorted({r.alert_id for r in rows if r.alert_id is not None})),
        digest_size=len(rows),
    )


def _message(row: Notification, level: str | None) -> OutgoingMessage:
    return OutgoingMessage(
        subject=row.subject,
        body=row.body,
        link=row.link,
        recipient=row.recipient,
        address=row.address,
        alert_ids=(row.alert_id,) if row.alert_id is not None else (),
        level=level,
        extra={"threshold": row.threshold},
    )


def _record(
    session: Session, rows: list[Notification], result: SendResult, now: datetime, retry: Retry, channel: str
) -> None:
    ref = uuid.uuid4().hex
    for row in rows:
        row = session.merge(row)
        row.attempts += 1
        session.add(
            NotificationAttempt(
                notification_id=row.id,
                channel=channel,
                at=now,
                result=result.outcome,
                detail=result.detail[:2000],
                digest_size=len(rows),
                message_ref=ref,
            )
        )
        row.last_detail = result.detail[:2000]
        if result.outcome == "sent":
            row.status, row.sent_at = "sent", now
        elif result.outcome == "retry" and row.attempts < retry.max_attempts:
            row.status, row.next_attempt_at = "queued", now + retry.delay(row.attempts)
        else:
            row.status = "failed"


def _groups(rows: list[Notification], budget: int | None) -> list[list[Notification]]:
    """One message per row within the budget; over it, budget-1 rows as they are and the rest folded into
    one digest per recipient (more recipients than budget: the rest wait for the next minute)."""
    if budget is None or len(rows) <= budget:
        return [[r] for r in rows]
    groups = [[r] for r in rows[: budget - 1]]
    overflow: dict[str, list[Notification]] = {}
    for r in rows[budget - 1 :]:
        overflow.setdefault(f"{r.recipient}|{r.address}", []).append(r)
    groups.extend(overflow.values())
    return groups[:budget]


def _send(channel: ConfiguredChannel, message: OutgoingMessage) -> SendResult:
    try:
        return channel.channel.send(message)
    except Exception as exc:  # a channel bug is recorded as a failed attempt, not a crash of the worker
        log.exception("channel %s raised instead of returning a SendResult", channel.name)
        return SendResult.retry(f"channel error: {exc.__class__.__name__}: {exc}")


def _dispatch_channel(
    factory: sessionmaker[Session],
    channel: ConfiguredChannel,
    now: datetime,
    *,
    retry: Retry,
    console_url: str,
    batch: int,
    stats: DispatchStats,
) -> int:
    """Claim and send one batch of the channel's due rows; returns how many rows were claimed."""
    with factory() as session:
        used = _used_budget(session, channel.name, now)
    budget = None if channel.per_minute is None else max(0, channel.per_minute - used)
    if budget == 0:
        return 0
    rows = _claim(factory, channel, now, batch)
    if not rows:
        return 0
    with factory() as session:
        levels = dict(
            session.execute(
                select(Alert.id, Alert.level).where(Alert.id.in_({r.alert_id for r in rows}))
            ).all()
        )
    groups = _groups(rows, budget)
    for group in groups:
        if len(group) > 1:
            message = _digest(group, console_url)
        else:
            message = _message(group[0], levels.get(group[0].alert_id or 0))
        result = _send(channel, message)
        with factory() as session, session.begin():
            _record(session, group, result, now, retry, channel.name)
        stats.count(result, len(group))
        if result.outcome != "sent":
            log.warning("notification via %s: %s: %s", channel.name, result.outcome, result.detail)
    sent_ids = {r.id for g in groups for r in g}
    waiting = [r.id for r in rows if r.id not in sent_ids]
    if waiting:
        with factory() as session, session.begin():
            for row in session.scalars(select(Notification).where(Notification.id.in_(waiting))):
                row.status, row.next_attempt_at = "queued", now
    return len(rows) if budget is None else 0


def dispatch(
    factory: sessionmaker[Session],
    channels: dict[str, ConfiguredChannel],
    now: datetime,
    *,
    retry: Retry,
    console_url: str,
    batch: int = 200,
    max_batches: int = 10,
) -> DispatchStats:
    """Send what is due on every channel; each send is recorded in its own transaction. Channels without
    a rate limit are drained (up to ``max_batches`` batches a call); limited ones send one budget's worth."""
    stats = DispatchStats()
    for channel in channels.values():
        for _ in range(max_batches):
            claimed = _dispatch_channel(
                factory, channel, now, retry=retry, console_url=console_url, batch=batch, stats=stats
            )
            if claimed < batch:
                break
    return stats


def used_budget(session: Session, channel: str, now: datetime) -> int:
    """Messages the outbox sent (tried) on ``channel`` in the last minute: other senders on the same
    channels (the 日报 / 周报) count it against the channel's per-minute limit."""
    return _used_budget(session, channel, now)
