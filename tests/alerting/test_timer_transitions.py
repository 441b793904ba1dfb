"""The alerting worker's timers (a snooze running out, an acknowledgement timing out) are the service's
transitions: the same status change, audit entry and fresh acknowledgement cycle as when a person acts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from alerting import escalation, service
from alerting.models import Alert
from tests.alerting.conftest import incident
from yuqing.db.models import AuditLog


def _entries(db, alert_id, action):
    with db.session() as s:
        return s.scalars(
            select(AuditLog).where(AuditLog.object_id == str(alert_id), AuditLog.action == action)
        ).all()


def _alert(db, alert_id):
    with db.session() as s:
        return s.get(Alert, alert_id)


def test_a_snooze_running_out_is_audited_as_the_system_ending_it(make_worker, db, clock):
    worker = make_worker()
    res = worker.ingest(incident())
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
        service.snooze(
            s,
            alert_id=res.alert_id,
            until=clock.now() + timedelta(minutes=30),
            reason="等待通报",
            actor="o",
            channel="console",
            now=clock.now(),
        )
    cycle = _alert(db, res.alert_id).ack_cycle
    clock.advance(timedelta(minutes=29))
    assert worker.run_timers(clock.now()).unsnoozed == 0
    clock.advance(timedelta(minutes=2))
    assert worker.run_timers(clock.now()).unsnoozed == 1
    alert = _alert(db, res.alert_id)
    assert alert.status == "acknowledged"
    assert alert.snoozed_until is None and alert.snooze_reason is None and alert.resume_status is None
    assert alert.ack_cycle == cycle + 1 and alert.ack_cycle_started_at == clock.now()
    [entry] = _entries(db, res.alert_id, "unsnooze")
    assert (entry.actor, entry.channel, entry.reason) == (escalation.SYSTEM, "system", "snooze ended")
    assert entry.details == {"from": "snoozed", "to": "acknowledged"}


def test_a_snooze_ended_by_hand_is_left_alone_by_the_timer(make_worker, db, clock):
    worker = make_worker()
    res = worker.ingest(incident())
    with db.transaction() as s:
        service.snooze(
            s,
            alert_id=res.alert_id,
            until=clock.now() + timedelta(minutes=30),
            reason="等待通报",
            actor="o",
            channel="console",
            now=clock.now(),
        )
    clock.advance(timedelta(minutes=31))
    with db.transaction() as s:
        service.unsnooze(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
    worker.run_timers(clock.now())
    assert [e.actor for e in _entries(db, res.alert_id, "unsnooze")] == ["o"]


def test_an_acknowledgement_timing_out_is_audited_with_the_new_cycle(make_worker, db, clock):
    worker = make_worker()
    res = worker.ingest(incident())
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="duty", channel="chat", now=clock.now())
    cycle = _alert(db, res.alert_id).ack_cycle
    clock.advance(timedelta(minutes=121))
    assert worker.run_timers(clock.now()).ack_timeouts == 1
    alert = _alert(db, res.alert_id)
    assert alert.status == "new" and alert.acknowledged_at is None and alert.acknowledged_by is None
    assert alert.ack_cycle == cycle + 1
    [entry] = _entries(db, res.alert_id, "ack_timeout")
    assert (entry.actor, entry.channel) == (escalation.SYSTEM, "system")
    assert entry.reason == "acknowledged by duty but no response within 120 minutes"
    assert entry.details == {"from": "acknowledged", "to": "new", "ack_cycle": cycle + 1}
    assert worker.run_timers(clock.now()).ack_timeouts == 0  # once
