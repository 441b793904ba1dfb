"""What officers do to alerts, and what the console reads. Every function takes the session (the caller
commits), the actor, the channel (console / api / chat / cli) and ``now``, all keyword-only.

Errors: ``AlertNotFound`` (404), ``InvalidTransition`` (409, from alerting.state), ``InvalidRequest``
(422: a missing reason, link or evidence). Every change is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlparse

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from alerting import assignments, escalation
from alerting.directory import Directory
from alerting.models import Alert, AlertDeadline, AlertRelease, EscalationStep, Notification, Supervision
from alerting.read_models import (
    AlertDetail,
    AlertPage,
    AlertRead,
    AuditEntryRead,
    DeadlineRead,
    DepartmentSummary,
    NotificationRead,
    ReleaseRead,
    assists_of,
    helped_by,
    supervision_reads,
)
from alerting.state import FINAL, OPEN, Action, InvalidTransition, next_status, require
from yuqing import audit
from yuqing.clock import CN_TZ, aware
from yuqing.db.models import AuditLog
from yuqing.domain import INFO_KINDS, PRESS_KINDS, RELEASE_KINDS, SPEAKER_ROLES
from yuqing.schemas import SEVERITY_ORDER

__all__ = [
    "AlertDetail",
    "AlertNotFound",
    "AlertPage",
    "AlertRead",
    "AuditEntryRead",
    "DeadlineRead",
    "DepartmentSummary",
    "InvalidRequest",
    "InvalidTransition",
    "NotificationRead",
    "ReleaseRead",
    "acknowledge",
    "alert_history",
    "alert_notifications",
    "alert_releases",
    "close",
    "department_alerts",
    "get_alert",
    "inbox",
    "leader_overview",
    "list_alerts",
    "mark_read",
    "merge",
    "reassign",
    "record_info_published",
    "record_press_conference",
    "record_release",
    "record_response_line",
    "record_spokesperson",
    "request_supervision",
    "snooze",
    "start_response",
    "time_out_acknowledgement",
    "unsnooze",
]

Sort = Literal["urgency", "newest", "level"]


class AlertNotFound(LookupError):
    def __init__(self, alert_id: int) -> None:
        super().__init__(f"no alert {alert_id}")


class InvalidRequest(ValueError):
    """Something the action needs is missing or malformed (the API answers 422)."""


def _load(session: Session, alert_id: int) -> Alert:
    alert = session.scalar(select(Alert).where(Alert.id == alert_id).with_for_update())
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


def _need(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise InvalidRequest(f"{what} is required")
    return value.strip()


def _need_link(link: str | None) -> str:
    link = _need(link, "link")
    if urlparse(link).scheme not in ("http", "https") or not urlparse(link).netloc:
        raise InvalidRequest(f"link {link!r} must be an http(s) URL")
    return link


def _move(
    session: Session,
    alert: Alert,
    action: Action,
    *,
    actor: str,
    channel: audit.Channel,
    now: datetime,
    reason: str | None = None,
    details: dict[str, object] | None = None,
) -> None:
    before = alert.status
    alert.status = next_status(action, alert.status, resume=alert.resume_status)
    alert.updated_at = now
    audit.record_alert(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action=action.value,
        alert_id=alert.id,
        reason=reason,
        details={"from": before, "to": alert.status, **(details or {})},
    )


def _stop(
    session: Session, alert: Alert, kinds: Sequence[str] | None, now: datetime, *, met: bool
) -> list[str]:
    query = select(AlertDeadline).where(
        AlertDeadline.alert_id == alert.id, AlertDeadline.stopped_at.is_(None)
    )
    if kinds is not None:
        query = query.where(AlertDeadline.kind.in_(kinds))
    stopped = []
    for deadline in session.scalars(query):
        deadline.stopped_at = now
        if met:
            deadline.met_at = now
        escalation.cancel_pending(
            session, alert.id, now, f"deadline {'met' if met else 'stopped'}", deadline_id=deadline.id
        )
        stopped.append(deadline.kind)
    return stopped


def _end(session: Session, alert: Alert, now: datetime, why: str) -> None:
    """Closing or merging: stop every clock, cancel every timer, close the 督办 records."""
    _stop(session, alert, None, now, met=False)
    escalation.cancel_pending(session, alert.id, now, why)
    for record in session.scalars(
        select(Supervision).where(Supervision.alert_id == alert.id, Supervision.closed_at.is_(None))
    ):
        record.closed_at = now


# --- actions ------------------------------------------------------------------------------------------


def acknowledge(
    session: Session,
    *,
    alert_id: int,
    actor: str,
    channel: audit.Channel,
    now: datetime,
    note: str | None = None,
) -> AlertRead:
    alert = _load(session, alert_id)
    _move(session, alert, Action.ACKNOWLEDGE, actor=actor, channel=channel, now=now, reason=note)
    alert.acknowledged_at, alert.acknowledged_by = now, actor
    escalation.cancel_pending(session, alert.id, now, "acknowledged", threshold=escalation.UNACKNOWLEDGED)
    return _read(session, alert, now)


def start_response(
    session: Session,
    *,
    alert_id: int,
    actor: str,
    channel: audit.Channel,
    now: datetime,
    note: str | None = None,
) -> AlertRead:
    alert = _load(session, alert_id)
    _move(session, alert, Action.START_RESPONSE, actor=actor, channel=channel, now=now, reason=note)
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, actor
        escalation.cancel_pending(session, alert.id, now, "acknowledged", threshold=escalation.UNACKNOWLEDGED)
    return _read(session, alert, now)


def reassign(
    session: Session,
    *,
    alert_id: int,
    department_id: str,
    reason: str,
    directory: Directory,
    actor: str,
    channel: audit.Channel,
    now: datetime,
    kind: str = "manual",
) -> AlertRead:
    """Hand the alert to another department; the reason is required and kept in the audit log and in
    ``alert_assignments`` (``kind``: ``manual`` 转派, ``return`` 退回值班室)."""
    reason = _need(reason, "a reason for the reassignment")
    alert = _load(session, alert_id)
    require(Action.REASSIGN, alert.status)
    dept = directory.department(department_id)
    if dept is None:
        raise InvalidRequest(f"部门目录中没有编号为 {department_id!r} 的部门，预警仍由原单位负责")
    before = {"department_id": alert.department_id, "department_name": alert.department_name}
    alert.department_id, alert.department_name, alert.region_code = dept.id, dept.name, dept.region
    alert.assignment_reason = f"改派：{reason}"
    alert.updated_at = now
    audit.record_alert(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action="reassign",
        alert_id=alert.id,
        reason=reason,
        details={"from": before, "to": {"department_id": dept.id, "department_name": dept.name}},
    )
    assignments.record(
        session, alert, from_id=before["department_id"], from_name=before["department_name"], kind=kind,
        actor=actor, reason=reason, at=now,
    )
    escalation.notify_reassigned(session, alert, now)
    if before["department_id"] and before["department_id"] != dept.id:  # the old department is told too
        escalation.notify_handed_over(session, alert, before["department_id"], now)
    return _read(session, alert, now)


def _add_release(
    session: Session, alert: Alert, kind: str, link: str, note: str, actor: str, now: datetime, met: list[str]
) -> None:
    session.add(
        AlertRelease(
            alert_id=alert.id, kind=kind, released_at=now, link=link, note=note, recorded_by=actor,
            deadlines_met=met,
        )
    )


def record_release(
    session: Session,
    *,
    alert_id: int,
    kind: str,
    link: str,
    note: str,
    actor: str,
    channel: audit.Channel,
    now: datetime,
) -> AlertRead:
    """持续发布: one release on the alert's timeline. The first 权威信息 is ``record_info_published``
    (it meets the 5 h and answering clocks) and the first 发布会 is ``record_press_conference``; every
    later release (and any 进展通报) is added to the timeline while the alert is open, keeping its state."""
    if kind not in RELEASE_KINDS:
        raise InvalidRequest(f"release kind {kind!r} is not one of {', '.join(RELEASE_KINDS)}")
    link, note = _need_link(link), _need(note, "a note on the release")
    alert = _load(session, alert_id)
    if kind == "authoritative_info" and alert.info_link is None:
        return record_info_published(
            session, alert_id=alert_id, link=link, evidence=note, actor=actor, channel=channel, now=now
        )
    if kind == "press_conference" and alert.press_link is None:
        return record_press_conference(
            session, alert_id=alert_id, link=link, evidence=note, actor=actor, channel=channel, now=now
        )
    require(Action.RELEASE, alert.status)
    met = _stop(session, alert, [kind], now, met=True) if kind == "message_reply" else []  # 留言答复
    _add_release(session, alert, kind, link, note, actor, now, met)
    alert.updated_at = now
    audit.record_alert(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action=Action.RELEASE.value,
        alert_id=alert.id,
        reason=note,
        details={"kind": kind, "link": link},
    )
    return _read(session, alert, now)


def record_info_published(
    session: Session,
    *,
    alert_id: int,
    link: str,
    evidence: str,
    actor: str,
    channel: audit.Channel,
    now: datetime,
) -> AlertRead:
    """权威信息已发布: stops the authoritative-information, response and reply clocks. Once recorded, a
    further 权威信息 is a later release on the timeline (持续发布)."""
    link, evidence = _need_link(link), _need(evidence, "evidence")
    alert = _load(session, alert_id)
    if alert.info_link is not None:
        return record_release(
            session, alert_id=alert_id, kind="authoritative_info", link=link, note=evidence, actor=actor,
            channel=channel, now=now,
        )
    stopped = [k for k in INFO_KINDS if k in _open_kinds(session, alert)]
    _move(
        session,
        alert,
        Action.PUBLISH_INFO,
        actor=actor,
        channel=channel,
        now=now,
        details={"link": link, "evidence": evidence, "deadlines_met": stopped},
    )
    alert.info_link, alert.info_evidence = link, evidence
    _add_release(session, alert, "authoritative_info", link, evidence, actor, now, stopped)
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, actor
    _stop(session, alert, INFO_KINDS, now, met=True)
    escalation.cancel_pending(session, alert.id, now, "info published", threshold=escalation.UNACKNOWLEDGED)
    return _read(session, alert, now)


def record_press_conference(
    session: Session,
    *,
    alert_id: int,
    link: str,
    evidence: str,
    actor: str,
    channel: audit.Channel,
    now: datetime,
) -> AlertRead:
    """新闻发布会已举行: stops the press-conference clock. A later 发布会 is a release on the timeline."""
    link, evidence = _need_link(link), _need(evidence, "evidence")
    alert = _load(session, alert_id)
    if alert.press_link is not None:
        return record_release(
            session, alert_id=alert_id, kind="press_conference", link=link, note=evidence, actor=actor,
            channel=channel, now=now,
        )
    met = [k for k in PRESS_KINDS if k in _open_kinds(session, alert)]
    _move(
        session,
        alert,
        Action.HOLD_PRESS_CONFERENCE,
        actor=actor,
        channel=channel,
        now=now,
        details={"link": link, "evidence": evidence},
    )
    alert.press_link, alert.press_evidence = link, evidence
    _add_release(session, alert, "press_conference", link, evidence, actor, now, met)
    _stop(session, alert, PRESS_KINDS, now, met=True)
    return _read(session, alert, now)


def _past_or_now(at: datetime | None, now: datetime, what: str) -> datetime:
    if at is None:
        return now
    at = aware(at, CN_TZ)  # a console form sends local (Asia/Shanghai) time without an offset
    if at > now:
        raise InvalidRequest(f"{what} {at.isoformat()} is in the future")
    return at


def record_response_line(
    session: Session,
    *,
    alert_id: int,
    text: str,
    approved_by: str,
    actor: str,
    channel: audit.Channel,
    now: datetime,
    approved_at: datetime | None = None,
) -> AlertRead:
    """回应口径: the agreed wording of the response, who approved it and when (default: now). Recording
    it again replaces it; the audit log keeps every version."""
    text = _need(text, "the response line (口径) text")
    approved_by = _need(approved_by, "who approved the response line")
    approved = _past_or_now(approved_at, now, "approval time")
    alert = _load(session, alert_id)
    require(Action.RESPONSE_LINE, alert.status)
    previous = alert.response_line
    alert.response_line, alert.response_line_approved_by = text, approved_by
    alert.response_line_approved_at, alert.updated_at = approved, now
    audit.record_alert(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action=Action.RESPONSE_LINE.value,
        alert_id=alert.id,
        reason=text,
        details={"approved_by": approved_by, "approved_at": approved.isoformat(), "previous": previous},
    )
    return _read(session, alert, now)


def record_spokesperson(
    session: Session,
    *,
    alert_id: int,
    name: str,
    role: str,
    actor: str,
    channel: audit.Channel,
    now: datetime,
    spoke_at: datetime | None = None,
) -> AlertRead:
    """Who spoke for the government on this case: the 新闻发言人 or the 主要负责人 (带头发声), and when."""
    name = _need(name, "the speaker's name")
    if role not in SPEAKER_ROLES:
        raise InvalidRequest(f"speaker role {role!r} is not one of {', '.join(SPEAKER_ROLES)}")
    spoke = _past_or_now(spoke_at, now, "speaking time")
    alert = _load(session, alert_id)
    require(Action.SPOKESPERSON, alert.status)
    alert.spokesperson_name, alert.spokesperson_role, alert.spoke_at = name, role, spoke
    alert.updated_at = now
    audit.record_alert(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action=Action.SPOKESPERSON.value,
        alert_id=alert.id,
        reason=f"{SPEAKER_ROLES[role]}{name}",
        details={"name": name, "role": role, "spoke_at": spoke.isoformat()},
    )
    return _read(session, alert, now)


def request_supervision(
    session: Session,
    *,
    alert_id: int,
    reason: str,
    actor: str,
    channel: audit.Channel,
    now: datetime,
    supervisor: str | None = None,
) -> AlertRead:
    """Open a 督办 record by hand (a leader's instruction)."""
    reason = _need(reason, "a reason for the supervision")
    alert = _load(session, alert_id)
    require(Action.SUPERVISE, alert.status)
    escalation.open_supervision(
        session, alert, now, actor=actor, channel=channel, reason=reason, supervisor=supervisor
    )
    return _read(session, alert, now)


def snooze(
    session: Session,
    *,
    alert_id: int,
    until: datetime,
    reason: str,
    actor: str,
    channel: audit.Channel,
    now: datetime,
) -> AlertRead:
    """Silence reminders until ``until`` (breach escalation still runs: the statutory clocks do not stop)."""
    reason = _need(reason, "a reason for snoozing")
    if until.tzinfo is None or until <= now:
        raise InvalidRequest("snooze until must be a timezone-aware time in the future")
    alert = _load(session, alert_id)
    resume = alert.status
    _move(
        session,
        alert,
        Action.SNOOZE,
        actor=actor,
        channel=channel,
        now=now,
        reason=reason,
        details={"until": until.isoformat()},
    )
    alert.resume_status, alert.snoozed_until, alert.snooze_reason = resume, until, reason
    return _read(session, alert, now)


def unsnooze(
    session: Session,
    *,
    alert_id: int,
    actor: str,
    channel: audit.Channel,
    now: datetime,
    reason: str | None = None,
) -> AlertRead:
    alert = _load(session, alert_id)
    _move(session, alert, Action.UNSNOOZE, actor=actor, channel=channel, now=now, reason=reason)
    alert.resume_status = alert.snoozed_until = alert.snooze_reason = None
    escalation.restart_cycle(session, alert, now, "snooze ended")
    return _read(session, alert, now)


def close(
    session: Session, *, alert_id: int, review: str, actor: str, channel: audit.Channel, now: datetime
) -> AlertRead:
    """Close with a review (复盘). Needs published information, and the press conference when required."""
    review = _need(review, "a review")
    alert = _load(session, alert_id)
    require(Action.CLOSE, alert.status)
    if alert.info_link is None:
        raise InvalidRequest("record the published information (link and evidence) before closing")
    kinds = set(session.scalars(select(AlertDeadline.kind).where(AlertDeadline.alert_id == alert.id)))
    if "press_conference" in kinds and alert.press_link is None:
        raise InvalidRequest("this alert requires a press conference: record it before closing")
    _move(session, alert, Action.CLOSE, actor=actor, channel=channel, now=now, reason=review)
    alert.review, alert.closed_at = review, now
    _end(session, alert, now, "alert closed")
    return _read(session, alert, now)


def merge(
    session: Session,
    *,
    alert_id: int,
    into_id: int,
    reason: str,
    actor: str,
    channel: audit.Channel,
    now: datetime,
) -> AlertRead:
    """Merge this alert into another one (the same event seen twice); its clocks stop."""
    reason = _need(reason, "a reason for merging")
    if alert_id == into_id:
        raise InvalidRequest("an alert cannot be merged into itself")
    target = _load(session, into_id)
    if target.status in FINAL:
        raise InvalidRequest(f"alert {into_id} is {target.status}; merge into an open alert")
    alert = _load(session, alert_id)
    _move(
        session,
        alert,
        Action.MERGE,
        actor=actor,
        channel=channel,
        now=now,
        reason=reason,
        details={"into": into_id},
    )
    alert.merged_into_id = into_id
    _end(session, alert, now, f"merged into {into_id}")
    audit.record_alert(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action="merged_in",
        alert_id=into_id,
        reason=reason,
        details={"merged": alert_id},
    )
    return _read(session, alert, now)


def mark_read(session: Session, *, notification_id: int, now: datetime) -> NotificationRead:
    """The console showed this in-console notification to its recipient."""
    row = session.get(Notification, notification_id)
    if row is None:
        raise InvalidRequest(f"no notification {notification_id}")
    if row.read_at is None:
        row.read_at = now
    return NotificationRead.of(row)


# --- queries -----------------------------------------------------------------------------------------


def _open_kinds(session: Session, alert: Alert) -> set[str]:
    return set(
        session.scalars(
            select(AlertDeadline.kind).where(
                AlertDeadline.alert_id == alert.id, AlertDeadline.stopped_at.is_(None)
            )
        )
    )


def _open_deadlines(session: Session, alert_ids: Sequence[int]) -> dict[int, list[AlertDeadline]]:
    out: dict[int, list[AlertDeadline]] = {i: [] for i in alert_ids}
    if alert_ids:
        for d in session.scalars(
            select(AlertDeadline).where(
                AlertDeadline.alert_id.in_(alert_ids), AlertDeadline.stopped_at.is_(None)
            )
        ):
            out[d.alert_id].append(d)
    return out


def _read(session: Session, alert: Alert, now: datetime) -> AlertRead:
    session.flush()
    return AlertRead.of(alert, _open_deadlines(session, [alert.id])[alert.id], now)


def _next_due() -> Select[int, datetime]:
    return (
        select(AlertDeadline.alert_id, func.min(AlertDeadline.due_at).label("next_due"))
        .where(AlertDeadline.stopped_at.is_(None))
        .group_by(AlertDeadline.alert_id)
    )


def list_alerts(
    session: Session,
    *,
    now: datetime,
    statuses: Sequence[str] | None = None,
    levels: Sequence[str] | None = None,
    department_id: str | None = None,
    overdue: bool | None = None,
    q: str | None = None,
    sort: Sort = "urgency",
    offset: int = 0,
    limit: int = 50,
    kinds: Sequence[str] | None = None,
) -> AlertPage:
    """Alerts with filters and paging. ``urgency``: nearest open deadline first, then the higher level.
    ``kinds``: incident kinds (``message`` = 留言 cases)."""
    if not 1 <= limit <= 500 or offset < 0:
        raise InvalidRequest("limit must be 1..500 and offset at least 0")
    due = _next_due().subquery()
    query = select(Alert).outerjoin(due, due.c.alert_id == Alert.id)
    if statuses:
        query = query.where(Alert.status.in_(statuses))
    if levels:
        query = query.where(Alert.level.in_(levels))
    if kinds:
        query = query.where(Alert.incident_kind.in_(kinds))
    if department_id:  # the department's own cases and those it helps on (会商 协办)
        query = query.where(or_(Alert.department_id == department_id, Alert.id.in_(helped_by(department_id))))
    if q:
        query = query.where(or_(Alert.title.contains(q, autoescape=True), Alert.incident_id == q))
    if overdue is not None:
        query = (
            query.where(due.c.next_due <= now)
            if overdue
            else query.where(or_(due.c.next_due.is_(None), due.c.next_due > now))
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    level_rank = case({lvl: i for i, lvl in enumerate(SEVERITY_ORDER)}, value=Alert.level, else_=-1)
    if sort == "urgency":
        query = query.order_by(due.c.next_due.is_(None), due.c.next_due, level_rank.desc(), Alert.id.desc())
    elif sort == "level":
        query = query.order_by(level_rank.desc(), Alert.created_at.desc(), Alert.id.desc())
    else:
        query = query.order_by(Alert.created_at.desc(), Alert.id.desc())
    alerts = list(session.scalars(query.offset(offset).limit(limit)))
    deadlines = _open_deadlines(session, [a.id for a in alerts])
    return AlertPage(
        items=[AlertRead.of(a, deadlines[a.id], now) for a in alerts], total=total, offset=offset, limit=limit
    )


def department_alerts(
    session: Session, *, department_id: str, now: datetime, offset: int = 0, limit: int = 50
) -> AlertPage:
    """A department's open alerts, most urgent first."""
    return list_alerts(
        session, now=now, department_id=department_id, statuses=sorted(OPEN), offset=offset, limit=limit
    )


def leader_overview(session: Session, *, now: datetime) -> list[DepartmentSummary]:
    """Per department: open alerts, overdue ones, open 督办 records and escalations fired in 24 h."""
    open_alerts = list(session.scalars(select(Alert).where(Alert.status.in_(sorted(OPEN)))))
    deadlines = _open_deadlines(session, [a.id for a in open_alerts])
    supervised = dict(
        session.execute(
            select(Alert.department_id, func.count(Supervision.id))
            .join(Supervision, Supervision.alert_id == Alert.id)
            .where(Supervision.closed_at.is_(None))
            .group_by(Alert.department_id)
        ).all()
    )
    escalations = dict(
        session.execute(
            select(Alert.department_id, func.count(EscalationStep.id))
            .join(EscalationStep, EscalationStep.alert_id == Alert.id)
            .where(EscalationStep.fired_at > now - timedelta(hours=24))
            .group_by(Alert.department_id)
        ).all()
    )
    rows: dict[str | None, DepartmentSummary] = {}
    for a in open_alerts:
        row = rows.setdefault(
            a.department_id,
            DepartmentSummary(
                department_id=a.department_id,
                department_name=a.department_name,
                open=0,
                overdue=0,
                supervised=supervised.get(a.department_id, 0),
                escalations_24h=escalations.get(a.department_id, 0),
            ),
        )
        row.open += 1
        row.overdue += any(d.due_at <= now for d in deadlines[a.id])
    return sorted(rows.values(), key=lambda r: (-r.overdue, -r.supervised, -r.open, r.department_id or ""))


def get_alert(session: Session, *, alert_id: int, now: datetime) -> AlertDetail:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound(alert_id)
    all_deadlines = list(
        session.scalars(
            select(AlertDeadline).where(AlertDeadline.alert_id == alert_id).order_by(AlertDeadline.due_at)
        )
    )
    base = AlertRead.of(alert, [d for d in all_deadlines if d.stopped_at is None], now)
    supervisions = list(
        session.scalars(
            select(Supervision).where(Supervision.alert_id == alert_id).order_by(Supervision.opened_at)
        )
    )
    return AlertDetail(
        **base.model_dump(),
        info_evidence=alert.info_evidence,
        press_evidence=alert.press_evidence,
        deadlines=[DeadlineRead.of(d, now) for d in all_deadlines],
        supervisions=supervision_reads(supervisions),
        releases=alert_releases(session, alert_id=alert_id),
        assisting=assists_of(session, alert_id),
    )


def alert_releases(session: Session, *, alert_id: int) -> list[ReleaseRead]:
    """持续发布: the alert's releases, oldest first."""
    rows = session.scalars(
        select(AlertRelease)
        .where(AlertRelease.alert_id == alert_id)
        .order_by(AlertRelease.released_at, AlertRelease.id)
    )
    return [ReleaseRead.model_validate(r) for r in rows]


def alert_history(session: Session, *, alert_id: int) -> list[AuditEntryRead]:
    if session.get(Alert, alert_id) is None:
        raise AlertNotFound(alert_id)
    rows = session.scalars(
        select(AuditLog)
        .where(AuditLog.object_type == "alert", AuditLog.object_id == str(alert_id))
        .order_by(AuditLog.at, AuditLog.id)
    )
    return [AuditEntryRead.model_validate(r) for r in rows]


def alert_notifications(session: Session, *, alert_id: int) -> list[NotificationRead]:
    if session.get(Alert, alert_id) is None:
        raise AlertNotFound(alert_id)
    rows = session.scalars(
        select(Notification)
        .where(Notification.alert_id == alert_id)
        .order_by(Notification.created_at, Notification.id)
    )
    return [NotificationRead.of(r) for r in rows]


def inbox(
    session: Session, *, recipient_prefix: str, unread_only: bool = False, limit: int = 100
) -> list[NotificationRead]:
    """In-console notifications for recipients whose key starts with the prefix (e.g. ``department:d1:``)."""
    query = select(Notification).where(
        Notification.channel == "console", Notification.recipient.startswith(recipient_prefix)
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = session.scalars(
        query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    )
    return [NotificationRead.of(r) for r in rows]


# --- timers (the alerting worker's transitions) ------------------------------------------------------


def time_out_acknowledgement(
    session: Session,
    *,
    alert_id: int,
    minutes: int,
    actor: str,
    channel: audit.Channel,
    now: datetime,
) -> AlertRead:
    """Acknowledged but no response within ``minutes``: back to unacknowledged, and the unacknowledged
    escalation starts over. The caller decides the timeout is due; raises InvalidTransition when the alert
    is no longer acknowledged."""
    alert = _load(session, alert_id)
    by = alert.acknowledged_by
    _move(
        session,
        alert,
        Action.ACK_TIMEOUT,
        actor=actor,
        channel=channel,
        now=now,
        reason=f"acknowledged by {by} but no response within {minutes} minutes",
        details={"ack_cycle": alert.ack_cycle + 1},  # the cycle restart_cycle begins below
    )
    alert.acknowledged_at = alert.acknowledged_by = None
    escalation.restart_cycle(session, alert, now, "acknowledgement timed out")
    return _read(session, alert, now)
