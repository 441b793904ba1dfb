"""Less travelled paths: calendar changes move open working-day deadlines (keeping the original), manual
督办 and unsnooze, reopening a closed alert, the console inbox, and the worker's ``run`` entry point."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from alerting import service
from alerting.calendar import WorkCalendar
from alerting.clocks import Policies, due_for
from alerting.models import Alert
from alerting.state import InvalidTransition
from alerting.worker import run
from tests.alerting.conftest import T0, incident
from tests.conftest import prepare_schema
from yuqing.bus import open_bus
from yuqing.clock import CN_TZ
from yuqing.db.session import make_engine
from yuqing.topology import Topics

OFFICIAL_2027 = """
years:
  2027:
    source: 国务院办公厅关于2027年部分节假日安排的通知 (test copy)
    holidays: [2027-01-01, [2027-02-04, 2027-02-12]]
    workdays: []
"""


def test_official_calendar_recomputes_open_working_day_deadlines_and_keeps_the_original(
    make_worker, db, clock, alert_settings, tmp_path: Path
):
    start = datetime(2027, 2, 3, 10, 0, tzinfo=CN_TZ)
    clock.set(start)
    worker = make_worker()
    res = worker.ingest(incident("msg", level="一般", kind="message", first_seen=start))
    with db.session() as s:
        (deadline,) = service.get_alert(s, alert_id=res.alert_id, now=clock.now()).deadlines
    policies = Policies.load(alert_settings.policies_file)
    assert deadline.kind == "message_reply" and deadline.provisional  # 2027: computed from the law
    assert (
        deadline.due_at
        == due_for("message_reply", start, policies=policies, calendar=WorkCalendar.load()).due_at
    )

    overrides = tmp_path / "holidays-2027.yaml"
    overrides.write_text(OFFICIAL_2027, encoding="utf-8")
    alert_settings.calendar_overrides_file = overrides
    clock.advance(timedelta(minutes=2))  # the worker re-reads the calendar at most once a minute
    report = worker.run_timers(clock.now())
    assert report.recomputed == 1
    official = due_for("message_reply", start, policies=policies, calendar=WorkCalendar.load(overrides))
    with db.session() as s:
        (moved,) = service.get_alert(s, alert_id=res.alert_id, now=clock.now()).deadlines
        history = service.alert_history(s, alert_id=res.alert_id)
    assert moved.due_at == official.due_at != deadline.due_at
    assert moved.original_due_at == deadline.due_at and not moved.provisional
    assert history[-1].action == "deadline_recomputed"
    assert worker.run_timers(clock.now()).recomputed == 0  # already on the new calendar


def test_manual_supervision_unsnooze_and_reopening_a_closed_alert(make_worker, db, clock):
    worker = make_worker()
    res = worker.ingest(incident(level="较大"))
    now = clock.now()
    with db.transaction() as s:
        with pytest.raises(service.InvalidRequest):
            service.request_supervision(
                s, alert_id=res.alert_id, reason="", actor="书记", channel="chat", now=now
            )
        supervised = service.request_supervision(
            s,
            alert_id=res.alert_id,
            reason="领导批示督办",
            actor="书记",
            channel="chat",
            now=now,
            supervisor="王部长",
        )
        assert supervised.status == "supervised"
    with db.transaction() as s, pytest.raises(InvalidTransition):
        service.snooze(
            s,
            alert_id=res.alert_id,
            until=now + timedelta(hours=1),
            reason="x",
            actor="o",
            channel="console",
            now=now,
        )
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=now)
        service.snooze(
            s,
            alert_id=res.alert_id,
            until=now + timedelta(hours=8),
            reason="等待调查结果",
            actor="o",
            channel="console",
            now=now,
        )
        assert service.unsnooze(s, alert_id=res.alert_id, actor="o", channel="console", now=now).status == (
            "acknowledged"
        )
        service.record_info_published(
            s,
            alert_id=res.alert_id,
            link="https://gov.example/a",
            evidence="通报",
            actor="o",
            channel="console",
            now=now,
        )
        closed = service.close(
            s, alert_id=res.alert_id, review="已回应", actor="o", channel="console", now=now
        )
    assert closed.status == "closed"
    with db.session() as s:
        detail = service.get_alert(s, alert_id=res.alert_id, now=now)
    assert [x.supervisor for x in detail.supervisions] == ["王部长"]
    assert all(x.closed_at is not None for x in detail.supervisions)
    # the incident keeps growing after the close: the alert opens again at the higher level
    assert worker.ingest(incident(level="重大", version=2)).outcome == "raised"
    with db.session() as s:
        again = service.get_alert(s, alert_id=res.alert_id, now=now)
    assert again.status == "new" and again.level == "重大" and again.closed_at is None
    assert {d.kind for d in again.deadlines if d.state == "open"} == {
        "authoritative_info",
        "press_conference",
    }


def test_console_inbox_and_mark_read(make_worker, db, clock):
    res = make_worker().ingest(incident())
    with db.session() as s:
        inbox = service.inbox(s, recipient_prefix="department:aq-wjw:", unread_only=True)
    assert [n.alert_id for n in inbox] == [res.alert_id]
    with db.transaction() as s:
        service.mark_read(s, notification_id=inbox[0].id, now=clock.now())
    with db.session() as s:
        assert service.inbox(s, recipient_prefix="department:aq-wjw:", unread_only=True) == []
        with pytest.raises(service.AlertNotFound):
            service.get_alert(s, alert_id=999, now=clock.now())


def test_run_entry_point_opens_an_alert_for_a_severe_incident(alert_settings, tmp_path: Path):
    db_url = f"sqlite:///{tmp_path / 'run.sqlite3'}"
    engine = make_engine(db_url)
    prepare_schema(engine)
    settings = alert_settings.model_copy(update={"db_url": db_url})
    bus = open_bus(settings.bus_url, partitions=settings.bus_partitions)
    producer = bus.producer()
    producer.send(Topics.INCIDENTS, incident("run-1", level="重大", first_seen=T0), key="run-1")
    producer.flush()
    bus.close()
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(settings, stop), daemon=True)
    thread.start()
    try:
        found = None
        for _ in range(200):  # wait for the worker thread (at most ~20 s), not for a timer
            with engine.connect() as conn:
                found = conn.execute(select(Alert.level).where(Alert.incident_id == "run-1")).scalar()
            if found or not thread.is_alive():
                break
            stop.wait(0.1)
    finally:
        stop.set()
        thread.join(timeout=30)
    engine.dispose()
    assert found == "重大" and not thread.is_alive()
