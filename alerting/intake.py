"""Incident in, alert out: rules, dedup, assignment, deadlines, escalation steps and the first notices.

``upsert_incident`` runs inside the caller's transaction (one per bus message). It is idempotent: an
incident version already seen changes nothing, and one incident never has two alerts (the alert's
``fingerprint`` is unique).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from alerting import escalation, message_reply, reassign
from alerting.calendar import WorkCalendar
from alerting.clocks import Policies, due_for
from alerting.directory import Directory
from alerting.escalation import DeliverFn, RecipientResolver
from alerting.models import Alert, AlertDeadline
from alerting.rules import AlertingConfig, evaluate
from alerting.state import Action, Status, can, next_status
from yuqing import audit
from yuqing.schemas import Incident, severity_rank

SYSTEM = escalation.SYSTEM
CREATED_ROLES = ["department", "duty_officer"]
RAISED_ROLES = ["department", "department_head", "duty_officer"]


@dataclass
class IntakeContext:
    config: AlertingConfig
    policies: Policies
    calendar: WorkCalendar
    directory: Directory
    resolve: RecipientResolver
    deliver: DeliverFn


@dataclass(frozen=True, slots=True)
class IntakeResult:
    outcome: Literal["created", "raised", "updated", "seen", "no_alert"]
    alert_id: int | None = None


@dataclass(frozen=True, slots=True)
class Cause:
    """Who made the alert or raised its level, from where, and why (the rules, or a person's 研判)."""

    actor: str = SYSTEM
    channel: audit.Channel = "system"
    reason: str | None = None  # None: "rules: <matched rules>"

    def why(self, matched: tuple[str, ...]) -> str:
        return self.reason or f"rules: {', '.join(matched)}"


RULES = Cause()


def fingerprint(incident_id: str) -> str:
    return f"incident:{incident_id}"


def locked_alert(session: Session, incident_id: str) -> Alert | None:
    """The incident's alert, locked for this transaction (one alert per incident, changed by one at once)."""
    return session.scalar(_LOCKED_ALERT, {"fingerprint": fingerprint(incident_id)})


# built once: the alerting stage runs them for every incident message
_LOCKED_ALERT = select(Alert).where(Alert.fingerprint == bindparam("fingerprint")).with_for_update()
_ALERT_ID = select(Alert.id).where(Alert.fingerprint == bindparam("fingerprint"))


def changes_nothing(conn: Connection, config: AlertingConfig, incident: Incident, now: datetime) -> bool:
    """Whether ``upsert_incident`` (and what follows it) would leave everything as it is: no rule gives
    the incident a level, no 监测方案 names it and no alert holds it. Most incidents are such; the
    alerting stage passes them without opening a write transaction."""
    if incident.plan_ids or evaluate(config, incident, now).level is not None:
        return False
    return conn.scalar(_ALERT_ID, {"fingerprint": fingerprint(incident.id)}) is None


def _add_deadlines(
    session: Session, alert: Alert, kinds: list[str], ctx: IntakeContext, now: datetime
) -> list[AlertDeadline]:
    have = set(session.scalars(select(AlertDeadline.kind).where(AlertDeadline.alert_id == alert.id)))
    added = []
    for kind in kinds:
        if kind in have:
            continue
        due = due_for(kind, alert.first_seen, policies=ctx.policies, calendar=ctx.calendar)
        row = AlertDeadline(
            alert_id=alert.id,
            kind=kind,
            start=due.start,
            due_at=due.due_at,
            original_due_at=due.due_at,
            provisional=due.provisional,
            calendar_version=due.calendar_version,
        )
        session.add(row)
        added.append(row)
    session.flush()
    for row in added:
        escalation.schedule_deadline(session, alert, row, now)
    return added


def _supersede(session: Session, alert: Alert, kinds: list[str], level: str, now: datetime) -> list[str]:
    """Stop the open clocks the new level no longer sets (a 一般 alert's 48 h ``response`` once it is 重大,
    where authoritative information within 5 h and a press conference within 24 h replace it)."""
    stopped = []
    for row in session.scalars(
        select(AlertDeadline).where(AlertDeadline.alert_id == alert.id, AlertDeadline.stopped_at.is_(None))
    ):
        if row.kind in kinds:
            continue
        row.stopped_at = now
        escalation.cancel_pending(
            session, alert.id, now, f"superseded by the {level} deadlines", deadline_id=row.id
        )
        stopped.append(row.kind)
    return stopped


def _copy_incident(alert: Alert, incident: Incident) -> None:
    alert.incident_version = incident.version
    alert.title = incident.title
    alert.heat = incident.heat
    alert.locations = [loc.model_dump() for loc in incident.locations]
    alert.category = incident.category
    alert.department_type = incident.department_type


def create_alert(
    session: Session,
    incident: Incident,
    level: str,
    matched: tuple[str, ...],
    ctx: IntakeContext,
    now: datetime,
    cause: Cause = RULES,
) -> Alert:
    assignment = reassign.rule_assignment(ctx.directory, incident, level)
    alert = Alert(
        fingerprint=fingerprint(incident.id),
        incident_id=incident.id,
        incident_kind=incident.kind,
        level=level,
        status=Status.NEW,
        matched_rules=list(matched),
        first_seen=incident.first_seen,
        created_at=now,
        updated_at=now,
        department_id=assignment.department_id,
        department_name=assignment.department_name,
        region_code=assignment.region_code,
        assignment_reason=assignment.reason,
        ack_cycle=0,
        ack_cycle_started_at=now,
        ladder=escalation.snapshot(ctx.config.escalation),
    )
    _copy_incident(alert, incident)
    session.add(alert)
    session.flush()
    deadlines = _add_deadlines(session, alert, ctx.policies.kinds_for(level, incident.kind), ctx, now)
    escalation.schedule_unacknowledged(session, alert)
    audit.record_alert(
        session,
        at=now,
        actor=cause.actor,
        channel=cause.channel,
        action="alert_created",
        alert_id=alert.id,
        reason=cause.why(matched),
        details={
            "incident_id": incident.id,
            "incident_version": incident.version,
            "level": level,
            "department_id": assignment.department_id,
            "assignment": assignment.reason,
            "deadlines": {d.kind: d.due_at.isoformat() for d in deadlines},
        },
    )
    ctx.deliver(session, alert, None, "created", 0, ctx.resolve(alert, CREATED_ROLES, now), now)
    return alert


def raise_level(
    session: Session,
    alert: Alert,
    level: str,
    matched: tuple[str, ...],
    ctx: IntakeContext,
    now: datetime,
    cause: Cause = RULES,
    incident: Incident | None = None,
) -> None:
    """Raise the level; with ``incident``, the rules choose the department again (分级负责)."""
    before_level, before_status = alert.level, alert.status
    alert.level = level
    alert.matched_rules = list(matched)
    alert.updated_at = now
    kinds = ctx.policies.kinds_for(level, alert.incident_kind)
    added = _add_deadlines(session, alert, kinds, ctx, now)
    superseded = _supersede(session, alert, kinds, level, now)
    reopened = before_status != Status.NEW and can(Action.REOPEN, alert.status)
    if reopened:
        alert.status = next_status(Action.REOPEN, alert.status)
        alert.resume_status = alert.snoozed_until = alert.snooze_reason = None
        alert.acknowledged_at = alert.acknowledged_by = alert.closed_at = None
        escalation.restart_cycle(session, alert, now, "level rose: escalation restarted")
    else:
        escalation.schedule_unacknowledged(session, alert)  # the new level may need it
    audit.record_alert(
        session,
        at=now,
        actor=cause.actor,
        channel=cause.channel,
        action="level_raised",
        alert_id=alert.id,
        reason=cause.why(matched),
        details={
            "from_level": before_level,
            "to_level": level,
            "from": before_status,
            "to": alert.status,
            "reopened": reopened,
            "deadlines_added": {d.kind: d.due_at.isoformat() for d in added},
            "deadlines_superseded": superseded,
        },
    )
    if incident is not None:
        reassign.follow_rules(
            session, alert, incident, ctx.directory, now, level_changed=True, before_level=before_level
        )
    ctx.deliver(session, alert, None, f"level:{level}", 0, ctx.resolve(alert, RAISED_ROLES, now), now)


def upsert_incident(session: Session, incident: Incident, now: datetime, ctx: IntakeContext) -> IntakeResult:
    alert = locked_alert(session, incident.id)
    if alert is not None and incident.version <= alert.incident_version:
        return IntakeResult("seen", alert.id)
    decision = evaluate(ctx.config, incident, now)
    if alert is None:
        if decision.level is None:
            return IntakeResult("no_alert")
        alert = create_alert(session, incident, decision.level, decision.matched, ctx, now)
        message_reply.note_problems(session, alert, incident, now)
        message_reply.apply_reply(session, alert, incident, now)
        return IntakeResult("created", alert.id)
    before_category = alert.category
    _copy_incident(alert, incident)
    alert.updated_at = now
    if (
        decision.level is not None
        and alert.status != Status.MERGED
        and severity_rank(decision.level) > severity_rank(alert.level)
    ):
        raise_level(session, alert, decision.level, decision.matched, ctx, now, incident=incident)
        message_reply.apply_reply(session, alert, incident, now)
        return IntakeResult("raised", alert.id)
    message_reply.apply_reply(session, alert, incident, now)
    reassign.follow_rules(
        session, alert, incident, ctx.directory, now, level_changed=False, before_category=before_category
    )
    return IntakeResult("updated", alert.id)
