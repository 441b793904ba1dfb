"""From incident to alert and through the escalation ladder, on SQLite and PostgreSQL, with a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from alerting import service
from alerting.models import Alert, AlertDeadline, EscalationStep, Notification, Supervision
from alerting.state import InvalidTransition
from tests.alerting.conftest import T0, incident
from yuqing.clock import CN_TZ
from yuqing.db.models import AuditLog


def _alert(db, alert_id):
    with db.session() as s:
        return service.get_alert(s, alert_id=alert_id, now=T0)


def _notices(db, alert_id, threshold=None):
    with db.session() as s:
        rows = [n for n in service.alert_notifications(s, alert_id=alert_id)]
    return [n for n in rows if threshold is None or n.threshold == threshold]


def test_major_incident_opens_alert_with_5h_and_24h_deadlines_from_first_detection(make_worker, db, clock):
    worker = make_worker()
    first_seen = T0 - timedelta(hours=1)  # detected an hour before the alerting stage saw it
    result = worker.ingest(incident(first_seen=first_seen))
    assert result.outcome == "created"
    alert = _alert(db, result.alert_id)
    assert alert.level == "重大" and alert.status == "new"
    assert alert.first_seen == first_seen
    due = {d.kind: d for d in alert.deadlines}
    assert set(due) == {"authoritative_info", "press_conference"}
    assert due["authoritative_info"].due_at == first_seen + timedelta(hours=5)
    assert due["press_conference"].due_at == first_seen + timedelta(hours=24)
    assert due["authoritative_info"].original_due_at == due["authoritative_info"].due_at
    assert not due["authoritative_info"].provisional
    # first notices: the department's contacts and the duty officer, in the console and by e-mail
    created = _notices(db, alert.id, "created")
    assert {(n.channel, n.recipient.split(":")[0]) for n in created} >= {
        ("console", "department"),
        ("console", "duty_officer"),
        ("mail", "department"),
    }
    assert all(n.link == f"https://yq.example/alerts/{alert.id}" for n in created)


def test_ordinary_incident_gets_the_48h_response_deadline_and_no_severity_gets_no_alert(make_worker, db):
    worker = make_worker()
    res = worker.ingest(incident("inc-2", level="一般"))
    kinds = [d.kind for d in _alert(db, res.alert_id).deadlines]
    assert kinds == ["response"]
    assert worker.ingest(incident("inc-3", level=None)).outcome == "no_alert"


def test_an_alert_follows_its_incident_after_no_rule_matches_it_any_more(make_worker, db):
    # most incidents raise nothing and are passed without a write; one that holds an alert never is
    worker = make_worker()
    res = worker.ingest(incident("inc-4", level="一般"))
    calmer = worker.ingest(incident("inc-4", level=None, version=2, title="某县医院输液事故：家属已获赔偿"))
    assert calmer.outcome == "updated" and calmer.alert_id == res.alert_id
    alert = _alert(db, res.alert_id)
    assert alert.incident_version == 2 and alert.title == "某县医院输液事故：家属已获赔偿"
    assert worker.ingest(incident("inc-5", level=None)).outcome == "no_alert"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def test_assignment_by_place_and_category(make_worker, db):
    worker = make_worker()
    env = worker.ingest(incident("env", level="较大", category="环境保护", code="340803"))
    major = worker.ingest(incident("env-major", category="环境保护", code="340803"))
    health = worker.ingest(incident("health", category="卫生计生", code="340826"))
    nowhere = worker.ingest(incident("nowhere", category="卫生计生", code=""))
    assert _alert(db, env.alert_id).department_id == "dg-sthj"  # the district's own bureau
    assert _alert(db, major.alert_id).department_id == "aq-sthj"  # 分级负责: a 重大 one is the city's
    assert _alert(db, health.alert_id).department_id == "aq-wjw"  # county has none: the city's
    assert _alert(db, nowhere.alert_id).department_id == "ah-wxb"  # unknown place: duty office
    assert "分级负责" in _alert(db, health.alert_id).assignment_reason


def test_same_incident_version_twice_makes_one_alert_and_one_set_of_notices(make_worker, db):
    worker = make_worker()
    first = worker.ingest(incident())
    again = make_worker().ingest(incident())  # a redelivery, even to another worker instance
    assert again.outcome == "seen" and again.alert_id == first.alert_id
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1
        count = s.scalar(select(func.count()).select_from(Notification))
    make_worker().ingest(incident())
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == count


def test_level_rise_reopens_an_acknowledged_alert_and_adds_deadlines(make_worker, db, clock):
    worker = make_worker()
    res = worker.ingest(incident(level="较大"))
    assert [d.kind for d in _alert(db, res.alert_id).deadlines] == ["response"]
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="officer1", channel="console", now=clock.now())
    clock.advance(timedelta(hours=2))
    raised = worker.ingest(incident(level="重大", version=2))
    assert raised.outcome == "raised" and raised.alert_id == res.alert_id
    alert = _alert(db, res.alert_id)
    assert alert.level == "重大" and alert.status == "new" and alert.acknowledged_at is None
    state = {d.kind: d.state for d in alert.deadlines}
    # 重大 sets 5 h / 24 h clocks; the 48 h response clock of the lower level stops (kept, not deleted)
    assert state == {"response": "stopped", "authoritative_info": "open", "press_conference": "open"}
    with db.session() as s:
        history = service.alert_history(s, alert_id=res.alert_id)
        response_steps = s.scalars(
            select(EscalationStep).join(AlertDeadline, EscalationStep.deadline_id == AlertDeadline.id)
            .where(AlertDeadline.kind == "response")
        ).all()
    assert response_steps and all(step.cancelled_at is not None for step in response_steps)
    raise_entry = next(h for h in history if h.action == "level_raised")
    assert raise_entry.details["from"] == "acknowledged" and raise_entry.details["to"] == "new"
    assert raise_entry.details["from_level"] == "较大"
    assert raise_entry.details["deadlines_superseded"] == ["response"]
    worker.run_timers(clock.now() + timedelta(hours=60))  # past the old 48 h: nothing about it fires
    with db.session() as s:
        response_notices = s.scalars(
            select(Notification).join(AlertDeadline, Notification.deadline_id == AlertDeadline.id)
            .where(AlertDeadline.kind == "response")
        ).all()
        press_breach = s.scalars(
            select(Notification).join(AlertDeadline, Notification.deadline_id == AlertDeadline.id)
            .where(AlertDeadline.kind == "press_conference", Notification.threshold == "breach")
        ).all()
    assert response_notices == [] and press_breach  # the timers did run; only the stopped clock is quiet
    assert _notices(db, res.alert_id, "level:重大")
    # a later, lower version never lowers the level
    assert worker.ingest(incident(level="一般", version=3)).outcome == "updated"
    assert _alert(db, res.alert_id).level == "重大"


def _fire(worker, clock, hours):
    clock.set(T0.astimezone(clock.now().tzinfo) + timedelta(hours=hours))
    return worker.run_timers(clock.now())


def test_reminders_at_50_and_75_percent_go_to_the_right_people(make_worker, db, clock, channels):
    worker = make_worker()
    res = worker.ingest(incident())
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
        service.start_response(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
    _fire(worker, clock, 2.4)
    assert not _notices(db, res.alert_id, "50%")  # 2.4 h of 5 h: not yet half
    _fire(worker, clock, 2.5)
    half = _notices(db, res.alert_id, "50%")
    assert {n.recipient for n in half if n.channel == "console"} == {"department:aq-wjw:安庆市卫健委办公室"}
    assert "50%" in half[0].body and half[0].status == "sent"
    _fire(worker, clock, 3.75)
    three_quarters = {n.recipient.split(":")[0] for n in _notices(db, res.alert_id, "75%")}
    assert three_quarters == {"department_head", "duty_officer"}
    # the robot named in the department's entry got the reminders, each with the deep link
    assert any("50%" in m.body for m in channels["aq-robot"].sent)
    assert all(m.link.endswith(f"/alerts/{res.alert_id}") for m in channels["aq-robot"].sent)


def test_breach_notifies_the_leader_opens_supervision_and_repeats_up_to_the_cap(make_worker, db, clock):
    worker = make_worker()
    res = worker.ingest(incident())
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
    _fire(worker, clock, 5)
    alert = _alert(db, res.alert_id)
    info = next(d for d in alert.deadlines if d.kind == "authoritative_info")
    assert info.breached_at == info.due_at and info.state == "breached"
    assert alert.status == "supervised"
    assert [s.supervisor for s in alert.supervisions] == ["赵副市长"]
    breach = _notices(db, res.alert_id, "breach")
    assert {n.recipient.split(":")[0] for n in breach} == {"deputy_leader", "department_head", "duty_officer"}
    for hours in (5.5, 6, 7, 8, 9):  # repeats every 60 min, capped at 2
        _fire(worker, clock, hours)
    with db.session() as s:
        fired = s.scalars(
            select(EscalationStep.repeat).where(
                EscalationStep.alert_id == res.alert_id,
                EscalationStep.threshold == "breach",
                EscalationStep.fired_at.is_not(None),
                EscalationStep.deadline_id == info.id,
            )
        ).all()
        assert sorted(fired) == [0, 1, 2]
        assert s.scalar(select(func.count()).select_from(Supervision)) == 1


def test_publishing_information_stops_the_clock_before_the_breach(make_worker, db, clock):
    worker = make_worker()
    res = worker.ingest(incident())
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
        with pytest.raises(service.InvalidRequest):
            service.record_info_published(
                s,
                alert_id=res.alert_id,
                link="not a link",
                evidence="x",
                actor="o",
                channel="console",
                now=clock.now(),
            )
    clock.advance(timedelta(hours=4))
    with db.transaction() as s:
        service.record_info_published(
            s,
            alert_id=res.alert_id,
            link="https://gov.example/notice/1",
            evidence="县卫健委情况通报",
            actor="o",
            channel="api",
            now=clock.now(),
        )
    _fire(worker, clock, 6)
    alert = _alert(db, res.alert_id)
    info = next(d for d in alert.deadlines if d.kind == "authoritative_info")
    assert info.state == "met" and info.breached_at is None
    assert alert.status == "info_published" and not _notices(db, res.alert_id, "breach")[:0]
    assert all(n.deadline_id != info.id for n in _notices(db, res.alert_id, "breach"))
    # a press conference is required for 重大: closing before recording it is refused
    with db.transaction() as s:
        with pytest.raises(service.InvalidRequest):
            service.close(
                s, alert_id=res.alert_id, review="复盘", actor="o", channel="console", now=clock.now()
            )
        service.record_press_conference(
            s,
            alert_id=res.alert_id,
            link="https://gov.example/press/1",
            evidence="发布会实录",
            actor="o",
            channel="console",
            now=clock.now(),
        )
        closed = service.close(
            s, alert_id=res.alert_id, review="处置及时", actor="o", channel="console", now=clock.now()
        )
    assert closed.status == "closed"
    with db.session() as s:
        actions = [h.action for h in service.alert_history(s, alert_id=res.alert_id)]
    assert actions == ["alert_created", "acknowledge", "publish_info", "hold_press_conference", "close"]


def test_invalid_transitions_raise_and_leave_no_trace(make_worker, db, clock):
    res = make_worker().ingest(incident())
    with db.transaction() as s, pytest.raises(InvalidTransition, match="cannot close an alert that is new"):
        service.close(s, alert_id=res.alert_id, review="x", actor="o", channel="console", now=clock.now())
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
    with db.transaction() as s, pytest.raises(InvalidTransition):
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
    with db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "acknowledge")) == 1
        )


def test_unacknowledged_major_alert_escalates_and_acknowledgement_timeout_restarts_it(make_worker, db, clock):
    worker = make_worker()
    res = worker.ingest(incident())
    clock.advance(timedelta(minutes=31))
    worker.run_timers(clock.now())
    first = _notices(db, res.alert_id, "unacknowledged")
    assert {n.recipient.split(":")[0] for n in first} == {"department_head", "duty_officer"}
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="chat", now=clock.now())
    clock.advance(timedelta(minutes=121))  # acknowledged, but nobody started responding
    worker.run_timers(clock.now())
    assert _alert(db, res.alert_id).status == "new"
    clock.advance(timedelta(minutes=31))
    worker.run_timers(clock.now())
    with db.session() as s:
        cycles = s.scalars(
            select(EscalationStep.key).where(
                EscalationStep.threshold == "unacknowledged", EscalationStep.fired_at.is_not(None)
            )
        ).all()
    assert {k.split(":")[1] for k in cycles} == {"ack0", "ack1"}


def test_snooze_silences_reminders_but_not_the_breach(make_worker, db, clock):
    worker = make_worker()
    res = worker.ingest(incident())
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
        with pytest.raises(service.InvalidRequest):
            service.snooze(
                s,
                alert_id=res.alert_id,
                until=clock.now() + timedelta(hours=1),
                reason=" ",
                actor="o",
                channel="console",
                now=clock.now(),
            )
        service.snooze(
            s,
            alert_id=res.alert_id,
            until=clock.now() + timedelta(hours=3),
            reason="等待通报",
            actor="o",
            channel="console",
            now=clock.now(),
        )
    _fire(worker, clock, 2.6)
    assert not _notices(db, res.alert_id, "50%")
    _fire(worker, clock, 3.1)
    assert _alert(db, res.alert_id).status == "acknowledged"  # the snooze ended by itself
    _fire(worker, clock, 5)
    assert _notices(db, res.alert_id, "breach")


def test_downtime_fires_each_due_step_once_and_skips_superseded_reminders(make_worker, db, clock):
    res = make_worker().ingest(incident())
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
    clock.advance(timedelta(hours=4))  # the worker was down from 0 h to 4 h: 50 % and 75 % both due
    make_worker().run_timers(clock.now())
    make_worker().run_timers(clock.now())  # restart again: nothing fires twice
    assert not _notices(db, res.alert_id, "50%")
    assert len({n.id for n in _notices(db, res.alert_id, "75%") if n.channel == "console"}) == 2


def test_console_queries_sort_by_urgency_and_summarise_for_leaders(make_worker, db, clock):
    worker = make_worker()
    late = worker.ingest(incident("late", level="一般", first_seen=T0 - timedelta(hours=50)))
    soon = worker.ingest(incident("soon", level="重大"))
    calm = worker.ingest(incident("calm", level="一般", category="环境保护", code="340803"))
    worker.run_timers(clock.now())
    with db.session() as s:
        page = service.list_alerts(s, now=clock.now(), limit=2)
        assert page.total == 3 and [a.incident_id for a in page.items] == ["late", "soon"]
        assert page.items[0].overdue and page.items[0].next_due_kind == "response"
        assert [a.id for a in service.list_alerts(s, now=clock.now(), offset=2, limit=2).items] == [
            calm.alert_id
        ]
        assert [a.id for a in service.list_alerts(s, now=clock.now(), overdue=True).items] == [late.alert_id]
        assert [a.id for a in service.list_alerts(s, now=clock.now(), levels=["重大"]).items] == [
            soon.alert_id
        ]
        assert service.list_alerts(s, now=clock.now(), q="输液").total == 3
        assert service.list_alerts(s, now=clock.now(), q="%").total == 0  # a literal %, not a wildcard
        dept = service.department_alerts(s, department_id="dg-sthj", now=clock.now())
        assert [a.id for a in dept.items] == [calm.alert_id]
        overview = {r.department_id: r for r in service.leader_overview(s, now=clock.now())}
        assert overview["aq-wjw"].open == 2 and overview["aq-wjw"].overdue == 1
        assert overview["aq-wjw"].supervised == 1  # the 50-hour-old alert breached: 督办
        inbox = service.inbox(s, recipient_prefix="department:dg-sthj:")
        assert inbox and all(n.alert_id == calm.alert_id for n in inbox)


def test_reassign_and_merge_need_reasons_and_are_audited(make_worker, db, clock, alert_settings):
    worker = make_worker()
    a = worker.ingest(incident("a"))
    b = worker.ingest(incident("b"))
    with db.transaction() as s:
        with pytest.raises(service.InvalidRequest):
            service.reassign(
                s,
                alert_id=a.alert_id,
                department_id="aq-sthj",
                reason="",
                directory=worker.directory,
                actor="lead",
                channel="console",
                now=clock.now(),
            )
        moved = service.reassign(
            s,
            alert_id=a.alert_id,
            department_id="aq-sthj",
            reason="实为排污问题",
            directory=worker.directory,
            actor="lead",
            channel="console",
            now=clock.now(),
        )
        assert moved.department_id == "aq-sthj"
        merged = service.merge(
            s,
            alert_id=b.alert_id,
            into_id=a.alert_id,
            reason="同一事件",
            actor="lead",
            channel="console",
            now=clock.now(),
        )
        assert merged.status == "merged" and merged.merged_into_id == a.alert_id
    with db.session() as s:
        stopped = s.scalars(
            select(AlertDeadline.stopped_at).where(AlertDeadline.alert_id == b.alert_id)
        ).all()
        assert stopped and all(t is not None for t in stopped)
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "reassign")).one()
        assert entry.reason == "实为排污问题" and entry.actor == "lead" and entry.channel == "console"
    worker.run_timers(clock.now())  # the new department hears of it at the next tick
    told = _notices(db, a.alert_id, "reassigned")
    assert {n.recipient for n in told if n.channel == "console"} == {
        "department:aq-sthj:安庆市生态环境局办公室"
    }
    assert "改派" in told[0].subject
    _fire(worker, clock, 5)  # the merged alert's timers are cancelled; the target breaches
    assert not _notices(db, b.alert_id, "breach") and _notices(db, a.alert_id, "breach")
    assert T0.tzinfo is CN_TZ
