"""The alerting stage: incidents in (one DB transaction per message), durable timers out.

``handle`` turns an incident into an alert (alerting.intake). ``run_timers(now)`` — called by the base
class's ``tick`` with this worker's clock — does everything time-driven, each firing in its own
transaction: reload changed rules, end snoozes, time out stale acknowledgements, recompute working-day
deadlines when the calendar changes, fire due escalation steps, and send the notification queue.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from alerting import escalation, outbox, service
from alerting.calendar import CalendarError, WorkCalendar
from alerting.clocks import Policies, recompute
from alerting.directory import Directory, DirectoryError, load_directory
from alerting.escalation import DeliverFn, fire_step
from alerting.intake import IntakeContext, IntakeResult, changes_nothing, upsert_incident
from alerting.merge import merge_same_event
from alerting.models import Alert, AlertDeadline, EscalationStep
from alerting.notify.base import Channel
from alerting.notify.registry import ConfiguredChannel, build_channels
from alerting.plan_notices import notify_plan_owners
from alerting.plan_routing import Owners, WithPlanOwners, plan_owners
from alerting.recipients import DirectoryRecipients
from alerting.rules import AlertingConfig, RulesError, RulesFile
from alerting.state import InvalidTransition, Status
from yuqing import audit
from yuqing.bus import Bus, Message
from yuqing.clock import Clock
from yuqing.db.session import Database
from yuqing.schemas import Incident
from yuqing.settings import Settings
from yuqing.stage_engines import open_engines
from yuqing.topology import Topics
from yuqing.worker import Output, PermanentError, RetryableError, Worker

log = logging.getLogger(__name__)
SYSTEM = escalation.SYSTEM
REFRESH_EVERY = timedelta(minutes=1)  # directory and calendar re-read at most this often


@dataclass
class TimerReport:
    unsnoozed: int = 0
    ack_timeouts: int = 0
    recomputed: int = 0
    fired: int = 0
    skipped: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


class AlertingWorker(Worker):
    name = "alerting"
    topics = (Topics.INCIDENTS,)

    def __init__(
        self,
        bus: Bus,
        db: Database,
        settings: Settings,
        *,
        clock: Clock | None = None,
        channel_overrides: dict[str, Channel] | None = None,
    ) -> None:
        super().__init__(bus, clock)
        self.db = db
        self.settings = settings
        self.rules = RulesFile(settings.rules_file)
        self.policies = Policies.load(settings.policies_file)
        self._overrides = channel_overrides
        self._config: AlertingConfig | None = None
        self._channels: dict[str, ConfiguredChannel] = {}
        self._plan_owners = Owners()
        self._refreshed: datetime | None = None
        self.directory: Directory
        self.calendar: WorkCalendar
        self._refresh(self.clock.now(), force=True)

    # --- configuration --------------------------------------------------------------------------

    def _refresh(self, now: datetime, *, force: bool = False) -> None:
        """Pick up changed rules, directory and calendar; a broken one is logged and the last good one
        kept (at start there is none to keep, so the error stops the worker with its message)."""
        config = self.rules.current()
        if config is not self._config:
            try:
                self._channels = build_channels(config.notifications.channels, self._overrides)
                self._config = config
            except RulesError as exc:
                if force:
                    raise
                log.error("notification channels not rebuilt; keeping the previous rules and channels: %s",
                          exc)
        if not (force or self._refreshed is None or now - self._refreshed >= REFRESH_EVERY):
            return
        self._refreshed = now
        try:
            with self.db.session() as session:
                self.directory = load_directory(session, self.settings)
            self.calendar = WorkCalendar.load(self.settings.calendar_overrides_file)
        except (DirectoryError, CalendarError) as exc:
            if force:
                raise
            log.error("directory or calendar not reloaded; keeping the previous ones: %s", exc)

    @property
    def config(self) -> AlertingConfig:
        assert self._config is not None
        return self._config

    @property
    def _deliver(self) -> DeliverFn:
        """outbox.enqueue bound to the channels of the rules now loaded (rebuilt when the rules change)."""
        return partial(outbox.enqueue, channels=self._channels, console_url=self.settings.console_url)

    def context(self) -> IntakeContext:
        return IntakeContext(
            config=self.config,
            policies=self.policies,
            calendar=self.calendar,
            directory=self.directory,
            resolve=WithPlanOwners(DirectoryRecipients(self.directory), self.directory, self._plan_owners),
            deliver=self._deliver,
        )

    # --- messages -------------------------------------------------------------------------------

    def handle(self, message: Message) -> list[Output]:
        try:
            incident = Incident.model_validate_json(message.value)
        except ValidationError as exc:
            raise PermanentError(f"not an Incident: {exc.errors()[:3]}") from None
        self.ingest(incident)
        return []

    def ingest(self, incident: Incident) -> IntakeResult:
        """One incident, one transaction (none for an incident that changes nothing: ``changes_nothing``)."""
        now = self.clock.now()
        self._refresh(now)
        try:
            with self.db.engine.connect() as conn:
                if changes_nothing(conn, self.config, incident, now):
                    return IntakeResult("no_alert")
            with self.db.transaction() as session:
                self._plan_owners = plan_owners(session, incident.plan_ids)  # 监测方案 owners hear of it too
                ctx = self.context()
                result = upsert_incident(session, incident, now, ctx)
                if result.alert_id is not None and result.outcome != "seen":  # one event, one alert
                    merge_same_event(session, result.alert_id, incident, ctx, now)
                notify_plan_owners(  # a plan's new / rising incidents, unless the alert's notice told them
                    session, incident, now, directory=self.directory, channels=self._channels,
                    console_url=self.settings.console_url, told=result.outcome in ("created", "raised"),
                )
                return result
        except (OperationalError, IntegrityError) as exc:  # another member raced us, or the DB blinked
            raise RetryableError(f"{exc.__class__.__name__}: {exc.orig}") from exc
        finally:
            self._plan_owners = Owners()  # timers (escalations) go by the directory alone

    # --- timers ---------------------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        """Base-class hook, called with this worker's clock."""
        try:
            self.run_timers(now)
        except Exception:  # timers must never stop the consumption of incidents; the next tick retries
            log.exception("alerting timers failed; will try again next tick")

    def run_timers(self, now: datetime) -> TimerReport:
        self._refresh(now)
        report = TimerReport()
        report.unsnoozed = self._end_snoozes(now)
        report.ack_timeouts = self._ack_timeouts(now)
        report.recomputed = self._recompute(now)
        report.fired, report.skipped = self._fire_due(now)
        stats = outbox.dispatch(
            self.db.sessions,
            self._channels,
            now,
            retry=self.config.notifications.retry,
            console_url=self.settings.console_url,
        )
        report.sent, report.retried, report.failed = stats.sent, stats.retried, stats.failed
        return report

    def _end_snoozes(self, now: datetime) -> int:
        with self.db.session() as session:
            ids = list(
                session.scalars(
                    select(Alert.id).where(Alert.status == Status.SNOOZED, Alert.snoozed_until <= now)
                )
            )
        for alert_id in ids:
            with self.db.transaction() as session:
                try:
                    service.unsnooze(
                        session,
                        alert_id=alert_id,
                        reason="snooze ended",
                        actor=SYSTEM,
                        channel="system",
                        now=now,
                    )
                except (service.AlertNotFound, InvalidTransition):
                    continue  # gone, or no longer snoozed (ended by hand meanwhile)
        return len(ids)

    def _ack_timeouts(self, now: datetime) -> int:
        done = 0
        with self.db.session() as session:
            candidates = list(
                session.execute(
                    select(Alert.id, Alert.acknowledged_at, Alert.ack_cycle_started_at, Alert.ladder).where(
                        Alert.status == Status.ACKNOWLEDGED
                    )
                )
            )
        for alert_id, acked_at, cycle_start, ladder in candidates:
            minutes = ladder.get("acknowledgement_timeout_minutes")
            # counted from the acknowledgement, or from the end of a snooze when that is later
            if (
                not minutes
                or acked_at is None
                or max(acked_at, cycle_start) + timedelta(minutes=minutes) > now
            ):
                continue
            with self.db.transaction() as session:
                try:
                    service.time_out_acknowledgement(
                        session, alert_id=alert_id, minutes=minutes, actor=SYSTEM, channel="system", now=now
                    )
                except (service.AlertNotFound, InvalidTransition):
                    continue  # gone, or no longer acknowledged (responded to meanwhile)
                done += 1
        return done

    def _recompute(self, now: datetime) -> int:
        """Working-day deadlines computed under another calendar version get the new due time."""
        with self.db.transaction() as session:
            open_rows = list(
                session.scalars(
                    select(AlertDeadline).where(
                        AlertDeadline.stopped_at.is_(None),
                        AlertDeadline.calendar_version.is_not(None),
                        AlertDeadline.calendar_version != self.calendar.version,
                    )
                )
            )
            changes = recompute(open_rows, self.calendar, policies=self.policies)
            for change in changes:
                row = change.deadline
                before, was_provisional = row.due_at, row.provisional
                row.due_at, row.provisional = change.due.due_at, change.due.provisional
                row.calendar_version = change.due.calendar_version
                if change.changed:
                    escalation.reschedule_deadline(session, row)
                elif was_provisional == row.provisional:
                    continue  # only the calendar's version moved: nothing worth an audit entry
                audit.record_alert(
                    session,
                    at=now,
                    actor=SYSTEM,
                    channel="system",
                    action="deadline_recomputed",
                    alert_id=row.alert_id,
                    reason="working calendar changed",
                    details={
                        "deadline": row.kind,
                        "from": before.isoformat(),
                        "to": row.due_at.isoformat(),
                        "original": row.original_due_at.isoformat(),
                        "provisional": row.provisional,
                    },
                )
            return len(changes)

    def _fire_due(self, now: datetime, batch: int = 500) -> tuple[int, int]:
        with self.db.session() as session:
            ids = list(
                session.scalars(
                    select(EscalationStep.id)
                    .where(
                        EscalationStep.fired_at.is_(None),
                        EscalationStep.cancelled_at.is_(None),
                        EscalationStep.fire_at <= now,
                    )
                    .order_by(EscalationStep.fire_at, EscalationStep.id)
                    .limit(batch)
                )
            )
        fired = skipped = 0
        resolve = DirectoryRecipients(self.directory)
        for step_id in ids:
            with self.db.transaction() as session:  # one transaction per firing
                step = session.scalar(
                    select(EscalationStep)
                    .where(
                        EscalationStep.id == step_id,
                        EscalationStep.fired_at.is_(None),
                        EscalationStep.cancelled_at.is_(None),
                    )
                    .with_for_update(skip_locked=True)
                )
                if step is None:
                    continue
                try:
                    with session.begin_nested():
                        result = fire_step(session, step, now, resolve=resolve, deliver=self._deliver)
                except Exception as exc:  # one broken step must not stop every other timer
                    log.exception("alert %s step %s failed; cancelled", step.alert_id, step.key)
                    step.cancelled_at, step.outcome = now, f"error: {exc.__class__.__name__}: {exc}"[:2000]
                    skipped += 1
                    continue
                if step.fired_at is not None:
                    fired += 1
                else:
                    skipped += 1
                log.info("alert %s step %s: %s", step.alert_id, step.key, result.outcome)
        return fired, skipped


def run(settings: Settings, stop: threading.Event) -> None:
    with open_engines(settings) as engines:
        AlertingWorker(engines.bus, engines.db, settings).run(stop)
