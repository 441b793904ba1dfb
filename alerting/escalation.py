"""The escalation ladder as durable timers.

When an alert (or a new deadline of it) is created, its steps are written to ``escalation_steps``: at 50 %
of a deadline's span remind the department, at 75 % its head and the duty officer, at the breach the
分管领导 (and a 督办 record), then repeats at an interval up to a cap; an unacknowledged alert of the
configured levels escalates after N minutes. The ladder comes from the snapshot kept on the alert, so a
later config change never rewrites an alert's history.

``fire_step`` runs one due step inside the caller's transaction; the step row and the notifications'
unique keys make a step fire exactly once, however often the worker restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerting.insert_once import insert_once
from alerting.models import Alert, AlertDeadline, EscalationStep, Supervision
from alerting.outbox import Recipient
from alerting.rules import Escalation
from alerting.state import FINAL, Action, Status, can, next_status
from yuqing import audit

SYSTEM = "system:alerting"
BREACH = "breach"
UNACKNOWLEDGED = "unacknowledged"
REASSIGNED = "reassigned"
HANDED_OVER = "handed_over"  # the department an alert moved away from is told where it went
ASSISTING = "assisting"  # 会商: a 协办 department is told it helps on the case


def snapshot(escalation: Escalation) -> dict[str, object]:
    return escalation.model_dump(mode="json")


def ladder_of(alert: Alert) -> Escalation:
    return Escalation.model_validate(alert.ladder)


def _add_step(session: Session, step: EscalationStep) -> bool:
    """Schedule the step unless one with the same key exists (scheduling twice is harmless)."""
    return insert_once(session, step, "key")


def schedule_deadline(session: Session, alert: Alert, deadline: AlertDeadline, now: datetime) -> None:
    """The reminder and breach steps of one deadline. Reminders whose time and whose successor's time have
    both passed already are not scheduled (only the latest due one is still worth sending)."""
    ladder = ladder_of(alert)
    span = deadline.due_at - deadline.start
    points = [(t.name, deadline.start + span * t.at) for t in ladder.reminders] + [(BREACH, deadline.due_at)]
    for i, (name, fire_at) in enumerate(points):
        later_due = i + 1 < len(points) and points[i + 1][1] <= now
        if later_due:
            continue
        _add_step(
            session,
            EscalationStep(
                key=f"{alert.id}:{deadline.kind}:{name}:0",
                alert_id=alert.id,
                deadline_id=deadline.id,
                threshold=name,
                repeat=0,
                fire_at=fire_at,
            ),
        )


def reschedule_deadline(session: Session, deadline: AlertDeadline) -> None:
    """The deadline's due time moved (calendar change): move its pending steps with it."""
    alert = session.get_one(Alert, deadline.alert_id)
    ladder = ladder_of(alert)
    span = deadline.due_at - deadline.start
    at_by_name = {t.name: t.at for t in ladder.reminders}
    pending = session.scalars(
        select(EscalationStep).where(
            EscalationStep.deadline_id == deadline.id,
            EscalationStep.fired_at.is_(None),
            EscalationStep.cancelled_at.is_(None),
            EscalationStep.repeat == 0,
        )
    )
    for step in pending:
        step.fire_at = (
            deadline.due_at
            if step.threshold == BREACH
            else deadline.start + span * at_by_name[step.threshold]
        )


def schedule_unacknowledged(session: Session, alert: Alert) -> None:
    """Start (or restart, with a new cycle) the escalation of an unacknowledged alert."""
    rule = ladder_of(alert).unacknowledged
    if alert.level not in rule.levels or alert.acknowledged_at is not None:
        return
    _add_step(
        session,
        EscalationStep(
            key=f"{alert.id}:ack{alert.ack_cycle}:{UNACKNOWLEDGED}:0",
            alert_id=alert.id,
            deadline_id=None,
            threshold=UNACKNOWLEDGED,
            repeat=0,
            fire_at=alert.ack_cycle_started_at + timedelta(minutes=rule.after_minutes),
        ),
    )


def notify_reassigned(session: Session, alert: Alert, now: datetime) -> None:
    """Tell the new department at the next tick (a step due now, so the worker's channels send it)."""
    _add_step(
        session,
        EscalationStep(
            key=f"{alert.id}:{REASSIGNED}:{alert.department_id}:{now.isoformat()}"[:120],
            alert_id=alert.id,
            deadline_id=None,
            threshold=REASSIGNED,
            repeat=_moves(session, alert.id, REASSIGNED),
            fire_at=now,
        ),
    )


def _moves(session: Session, alert_id: int, threshold: str) -> int:
    """How many notices of this kind the alert had: each move's notice is its own (not deduplicated)."""
    session.flush()
    return session.scalar(
        select(func.count(EscalationStep.id)).where(
            EscalationStep.alert_id == alert_id, EscalationStep.threshold == threshold
        )
    ) or 0


def notify_handed_over(session: Session, alert: Alert, from_department_id: str, now: datetime) -> None:
    """Tell the department the alert moved away from (a step due now; its key names that department)."""
    _notify_other(session, alert, HANDED_OVER, from_department_id, now)


def notify_assisting(session: Session, alert: Alert, department_id: str, now: datetime) -> None:
    """Tell a 协办 department of the case (会商)."""
    _notify_other(session, alert, ASSISTING, department_id, now)


def _notify_other(session: Session, alert: Alert, threshold: str, department_id: str, now: datetime) -> None:
    _add_step(
        session,
        EscalationStep(
            key=f"{alert.id}:{threshold}:{department_id}:{now.isoformat()}"[:120],
            alert_id=alert.id,
            deadline_id=None,
            threshold=threshold,
            repeat=_moves(session, alert.id, threshold),
            fire_at=now,
        ),
    )


class _AsDepartment:
    """The alert as seen from another department: roles resolve against that department."""

    def __init__(self, alert: Alert, department_id: str) -> None:
        self._alert, self.department_id, self.region_code = alert, department_id, None

    def __getattr__(self, name: str) -> object:
        return getattr(self._alert, name)


def restart_cycle(session: Session, alert: Alert, now: datetime, why: str) -> None:
    """A new acknowledgement cycle from ``now``: the unacknowledged escalation starts over (when the alert
    is unacknowledged), and the acknowledgement timeout counts from here."""
    cancel_pending(session, alert.id, now, why, threshold=UNACKNOWLEDGED)
    alert.ack_cycle += 1
    alert.ack_cycle_started_at = now
    schedule_unacknowledged(session, alert)


def cancel_pending(
    session: Session,
    alert_id: int,
    now: datetime,
    why: str,
    *,
    deadline_id: int | None = None,
    threshold: str | None = None,
) -> None:
    query = select(EscalationStep).where(
        EscalationStep.alert_id == alert_id,
        EscalationStep.fired_at.is_(None),
        EscalationStep.cancelled_at.is_(None),
    )
    if deadline_id is not None:
        query = query.where(EscalationStep.deadline_id == deadline_id)
    if threshold is not None:
        query = query.where(EscalationStep.threshold == threshold)
    for step in session.scalars(query):
        step.cancelled_at, step.outcome = now, why


class RecipientResolver(Protocol):
    """Who holds a role for an alert at a time (department contacts, head, 分管领导, duty officer)."""

    def __call__(self, alert: Alert, roles: list[str], at: datetime) -> list[Recipient]: ...


class DeliverFn(Protocol):
    """Queue notifications for recipients; returns how many were queued (see alerting.outbox.enqueue)."""

    def __call__(
        self,
        session: Session,
        alert: Alert,
        deadline: AlertDeadline | None,
        threshold: str,
        repeat: int,
        recipients: list[Recipient],
        now: datetime,
    ) -> int: ...


@dataclass(frozen=True, slots=True)
class Fired:
    outcome: str
    notifications: int


def _repeat(session: Session, step: EscalationStep, now: datetime, every_minutes: int, cap: int) -> None:
    """The next repeat, ``every_minutes`` after this one actually fired (a downtime never bunches them)."""
    if step.repeat >= cap:
        return
    base = step.key.rsplit(":", 1)[0]
    _add_step(
        session,
        EscalationStep(
            key=f"{base}:{step.repeat + 1}",
            alert_id=step.alert_id,
            deadline_id=step.deadline_id,
            threshold=step.threshold,
            repeat=step.repeat + 1,
            fire_at=max(step.fire_at, now) + timedelta(minutes=every_minutes),
        ),
    )


def _superseded(session: Session, step: EscalationStep, now: datetime) -> bool:
    """A reminder is superseded when a later step of the same deadline is also due already."""
    later = session.scalar(
        select(EscalationStep.id)
        .where(
            EscalationStep.deadline_id == step.deadline_id,
            EscalationStep.repeat == 0,
            EscalationStep.fire_at > step.fire_at,
            EscalationStep.fire_at <= now,
            EscalationStep.cancelled_at.is_(None),
        )
        .limit(1)
    )
    return later is not None


def fire_step(
    session: Session, step: EscalationStep, now: datetime, *, resolve: RecipientResolver, deliver: DeliverFn
) -> Fired:
    """Run one due step; the caller commits. Marks the step fired (or cancelled) either way."""
    alert = session.get_one(Alert, step.alert_id)
    deadline = session.get(AlertDeadline, step.deadline_id) if step.deadline_id else None
    ladder = ladder_of(alert)
    skip: str | None = None
    if alert.status in FINAL:
        skip = f"alert {alert.status}"
    elif deadline is not None and deadline.stopped_at is not None:
        skip = "deadline met" if deadline.met_at else "deadline stopped"
    elif step.threshold == UNACKNOWLEDGED and (
        alert.acknowledged_at is not None or f":ack{alert.ack_cycle}:" not in step.key
    ):
        skip = "acknowledged"
    elif step.threshold != BREACH and alert.status == Status.SNOOZED:
        skip = "snoozed"
    elif (
        step.threshold not in (BREACH, UNACKNOWLEDGED, REASSIGNED, HANDED_OVER, ASSISTING)
        and step.repeat == 0
        and _superseded(session, step, now)
    ):
        skip = "superseded by a later step that is also due"
    if skip is not None:
        step.cancelled_at, step.outcome = now, skip
        return Fired(skip, 0)

    if step.threshold in (REASSIGNED, HANDED_OVER, ASSISTING):
        roles: list[str] = ["department"]
    elif step.threshold == UNACKNOWLEDGED:
        roles = list(ladder.unacknowledged.notify)
        _repeat(
            session, step, now, ladder.unacknowledged.repeat_every_minutes, ladder.unacknowledged.repeat_max
        )
    elif step.threshold == BREACH:
        assert deadline is not None
        roles = list(ladder.breach.notify)
        if deadline.breached_at is None:
            deadline.breached_at = deadline.due_at
            _on_breach(session, alert, deadline, now, supervise=ladder.breach.supervise, resolve=resolve)
        _repeat(session, step, now, ladder.breach.repeat_every_minutes, ladder.breach.repeat_max)
    else:
        roles = next(list(t.notify) for t in ladder.reminders if t.name == step.threshold)
    if step.threshold in (HANDED_OVER, ASSISTING):  # the key: "<alert>:<threshold>:<department>:<time>"
        recipients = resolve(_AsDepartment(alert, step.key.split(":")[2]), ["department"], now)  # type: ignore[arg-type]
    else:
        recipients = resolve(alert, roles, now)
    count = deliver(session, alert, deadline, step.threshold, step.repeat, recipients, now)
    step.fired_at = now
    step.outcome = f"notified {count}" + (f" (repeat {step.repeat})" if step.repeat else "")
    return Fired(step.outcome, count)


def _on_breach(
    session: Session,
    alert: Alert,
    deadline: AlertDeadline,
    now: datetime,
    *,
    supervise: bool,
    resolve: RecipientResolver,
) -> None:
    audit.record_alert(
        session,
        at=now,
        actor=SYSTEM,
        channel="system",
        action="deadline_breached",
        alert_id=alert.id,
        reason=f"{deadline.kind} due {deadline.due_at}",
        details={"deadline": deadline.kind, "due_at": deadline.due_at.isoformat()},
    )
    if not supervise:
        return
    leaders = resolve(alert, ["deputy_leader"], now)
    open_supervision(
        session,
        alert,
        now,
        actor=SYSTEM,
        channel="system",
        deadline=deadline,
        reason=f"{deadline.kind} 时限已过 (due {deadline.due_at.isoformat()})",
        supervisor=leaders[0].name if leaders else None,
    )


def open_supervision(
    session: Session,
    alert: Alert,
    now: datetime,
    *,
    actor: str,
    channel: audit.Channel,
    reason: str,
    deadline: AlertDeadline | None = None,
    supervisor: str | None = None,
) -> Supervision:
    """Open a 督办 record and move the alert to supervised (when its state allows)."""
    record = Supervision(
        alert_id=alert.id,
        deadline_id=deadline.id if deadline else None,
        opened_at=now,
        opened_by=actor,
        reason=reason,
        supervisor=supervisor,
    )
    session.add(record)
    before = alert.status
    if can(Action.SUPERVISE, alert.status):
        if alert.status == Status.SNOOZED:
            alert.resume_status = alert.snoozed_until = alert.snooze_reason = None
        alert.status = next_status(Action.SUPERVISE, alert.status)
        alert.updated_at = now
    audit.record_alert(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action="supervise",
        alert_id=alert.id,
        reason=reason,
        details={
            "from": before,
            "to": alert.status,
            "supervisor": supervisor,
            "deadline": deadline.kind if deadline else None,
        },
    )
    return record
