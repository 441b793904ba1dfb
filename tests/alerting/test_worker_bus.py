"""Incidents through the SQLite bus into the alerting worker, with a crash before the offsets are
committed and restarts on the same database and bus: no alert and no notification is made twice."""

from __future__ import annotations

import contextlib
import json
import threading
from datetime import timedelta

from sqlalchemy import func, select

from alerting.models import Alert, AlertDeadline, Notification, Supervision
from alerting.worker import AlertingWorker
from tests.alerting.conftest import T0, incident
from yuqing.bus import open_bus
from yuqing.topology import Topics
from yuqing.worker import RetryableError


class Crash(BaseException):
    """Stands for the process dying between handling a batch and committing its offsets."""


def _publish(settings, *messages):
    bus = open_bus(settings.bus_url, partitions=2)
    producer = bus.producer()
    for m in messages:
        producer.send(Topics.INCIDENTS, m, key=getattr(m, "id", None))
    producer.flush()
    bus.close()


def _counts(db):
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Alert)),
            s.scalar(select(func.count()).select_from(Notification)),
            s.scalar(select(func.count()).select_from(AlertDeadline)),
        )


def test_crash_before_commit_then_restart_makes_nothing_twice(make_worker, db, alert_settings, clock):
    severe = incident("severe", level="重大")
    _publish(alert_settings, severe, incident("ordinary", level="一般"), json.dumps({"not": "an incident"}))

    crashing = make_worker()
    crashing.on_batch_done = lambda: (_ for _ in ()).throw(Crash())  # dies after handling, before commit
    with contextlib.suppress(Crash):
        crashing.run(max_idle_polls=2)
    assert crashing.dead_lettered == 1  # the bad message went to the dead-letter topic with its reason
    after_first = _counts(db)
    assert after_first[0] == 2

    restarted = make_worker()
    restarted.run(max_idle_polls=2)
    assert restarted.processed >= 2  # the batch was delivered again …
    assert _counts(db) == after_first  # … and changed nothing
    with db.session() as s:
        alert = s.scalars(select(Alert).where(Alert.incident_id == "severe")).one()
        kinds = {
            d.kind: d.due_at
            for d in s.scalars(select(AlertDeadline).where(AlertDeadline.alert_id == alert.id))
        }
    assert kinds == {
        "authoritative_info": T0 + timedelta(hours=5),
        "press_conference": T0 + timedelta(hours=24),
    }

    # the incident grows: version 2 raises the level of the same alert
    _publish(alert_settings, incident("ordinary", level="重大", version=2))
    make_worker().run(max_idle_polls=2)
    with db.session() as s:
        assert s.scalar(select(Alert.level).where(Alert.incident_id == "ordinary")) == "重大"
        assert s.scalar(select(func.count()).select_from(Alert)) == 2


def test_escalations_due_during_downtime_fire_once_across_restarts(make_worker, db, alert_settings, clock):
    _publish(alert_settings, incident("severe", level="重大"))
    make_worker().run(max_idle_polls=2)
    clock.advance(timedelta(hours=6))  # down for six hours: 50 %, 75 % and the 5-hour breach are all due
    first = make_worker()
    report = first.run_timers(clock.now())
    assert report.fired >= 2  # the breach and the unacknowledged escalation; superseded reminders skipped
    counts = _counts(db)
    for _ in range(2):
        make_worker().run_timers(clock.now())
    assert _counts(db) == counts
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Supervision)) == 1
        breach = s.scalars(select(Notification).where(Notification.threshold == "breach")).all()
    assert breach and all(n.status == "sent" for n in breach)
    assert isinstance(first, AlertingWorker)


def test_through_the_bus_creation_assignment_level_rise_reminders_and_supervision(
    make_worker, db, alert_settings, clock
):
    _publish(
        alert_settings,
        incident("health", level="较大", category="卫生计生", code="340826"),
        incident("env", level="一般", category="环境保护", code="340803"),
    )
    worker = make_worker()
    worker.run(max_idle_polls=2)
    with db.session() as s:
        alerts = {a.incident_id: a for a in s.scalars(select(Alert))}
    assert alerts["health"].department_id == "aq-wjw" and alerts["env"].department_id == "dg-sthj"
    assert alerts["health"].level == "较大"

    _publish(alert_settings, incident("health", level="重大", version=2))
    worker.run(max_idle_polls=2)
    health = alerts["health"].id
    with db.session() as s:
        assert s.get(Alert, health).level == "重大"
        kinds = set(s.scalars(select(AlertDeadline.kind).where(AlertDeadline.alert_id == health)))
    assert kinds == {"response", "authoritative_info", "press_conference"}

    def thresholds():
        with db.session() as s:
            return {
                (n.threshold, n.recipient.split(":")[0])
                for n in s.scalars(select(Notification).where(Notification.alert_id == health))
                if n.channel == "console" and n.deadline_id is not None
            }

    for hours, expected in (
        (2.5, {("50%", "department")}),
        (3.75, {("75%", "department_head"), ("75%", "duty_officer")}),
        (5, {("breach", "deputy_leader"), ("breach", "department_head"), ("breach", "duty_officer")}),
    ):
        clock.set(T0 + timedelta(hours=hours))
        worker.run(
            max_idle_polls=1
        )  # the base class calls tick(), which runs the timers on the worker's clock
        assert expected <= thresholds()
    with db.session() as s:
        assert s.get(Alert, health).status == "supervised"
        assert (
            s.scalar(select(func.count()).select_from(Supervision).where(Supervision.alert_id == health)) == 1
        )


def test_two_members_racing_on_one_incident_make_one_alert(make_worker, db):
    workers = [make_worker(), make_worker()]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def member(worker):
        start.wait()
        for _ in range(5):  # what the base class does with a RetryableError: try the message again
            try:
                outcomes.append(worker.ingest(incident("raced")).outcome)
                return
            except RetryableError:
                continue

    threads = [threading.Thread(target=member, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["created", "seen"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert).where(Alert.incident_id == "raced")) == 1
