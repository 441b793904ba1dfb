"""留言 cases: every 留言 incident opens a case with the 3-working-day ``message_reply`` clock, assigned like
any alert; the board's official reply (carried by the incident) stops the clock with the reply as
evidence, at the reply's time; a reply after the due time is late in 考核; bad input is kept, shown."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from alerting import service
from alerting.models import Alert, EscalationStep
from alerting.performance import Period, department_performance
from tests.alerting.conftest import FIXTURES, RULES, T0, incident
from yuqing.clock import CN_TZ
from yuqing.schemas import MessageReply
from yuqing.settings import Settings, load_settings

URL = "https://liuyan.example.gov.cn/msg/1.html"


@pytest.fixture
def alert_settings(tmp_path: Path) -> Settings:
    rules = tmp_path / "rules.yaml"
    message_rule = "rules:\n  - {name: message-board, level: 一般, when: {kinds: [message]}}\n"
    rules.write_text(RULES.replace("rules:\n", message_rule, 1), encoding="utf-8")
    return load_settings(
        data_dir=tmp_path / "var",
        rules_file=rules,
        departments_file=FIXTURES / "departments.yaml",
        console_url="https://yq.example/",
    )


def message(version: int = 1, reply: MessageReply | None = None, **extra: object):
    return incident("inc-msg", level=None, version=version, kind="message", title="小区停水三天无人通知",
                    reply=reply, **extra)


def answer(at: datetime | None, seen: datetime, text: str = "已抢修，今日恢复供水。") -> MessageReply:
    return MessageReply(text=text, department="县水利局", replied_at=at, post_id="p1", url=URL, seen_at=seen)


def detail(db, clock, alert_id):
    with db.session() as s:
        return service.get_alert(s, alert_id=alert_id, now=clock.now())


def performance(db, clock):
    with db.session() as s:
        report = department_performance(s, Period(date(2026, 11, 1), date(2026, 12, 1)), now=clock.now())
    return next(k for k in report.overall.deadlines if k.kind == "message_reply")


def test_a_message_opens_a_case_with_its_working_day_clock_and_the_reply_stops_it_on_time(
    make_worker, db, clock
) -> None:
    worker = make_worker()
    created = worker.ingest(message())
    assert created.outcome == "created"
    case = detail(db, clock, created.alert_id)
    assert case.level == "一般" and case.matched_rules == ["message-board"]
    [clock_row] = case.deadlines
    assert clock_row.kind == "message_reply" and clock_row.state == "open"
    # Tuesday 09:00: three working days → the end of Friday
    assert clock_row.due_at == datetime(2026, 11, 13, 23, 59, 59, tzinfo=CN_TZ)
    # assigned by 属地 and category like any alert: the same department an opinion case gets
    opinion = worker.ingest(incident("inc-op", level="一般"))
    assert case.department_id is not None
    assert case.department_id == detail(db, clock, opinion.alert_id).department_id

    clock.advance(timedelta(days=1, hours=3))
    replied_at = T0 + timedelta(days=1)
    assert worker.ingest(message(2, answer(replied_at, clock.now()))).outcome == "updated"
    case = detail(db, clock, created.alert_id)
    [met] = case.deadlines
    assert met.state == "met" and met.met_at == replied_at
    [release] = case.releases
    assert (release.kind, release.label, release.link) == ("message_reply", "留言答复", URL)
    assert release.note == "县水利局：已抢修，今日恢复供水。" and release.deadlines_met == ["message_reply"]
    assert case.status == "new" and case.info_link is None  # answered, but nobody has 签收 it
    with db.session() as s:
        pending = s.scalars(select(EscalationStep).where(
            EscalationStep.alert_id == created.alert_id, EscalationStep.fired_at.is_(None),
            EscalationStep.cancelled_at.is_(None), EscalationStep.deadline_id.is_not(None)))
        assert list(pending) == [], "the 50 % / 75 % / breach reminders are cancelled"
        history = [h.action for h in service.alert_history(s, alert_id=created.alert_id)]
    assert history == ["alert_created", "message_replied"]

    worker.ingest(message(3, answer(replied_at, clock.now())))  # re-sent: nothing twice
    assert len(detail(db, clock, created.alert_id).releases) == 1
    kind = performance(db, clock)
    assert (kind.on_time, kind.late, kind.breached) == (1, 0, 0)

    with db.transaction() as s:  # the officers acknowledge it, record the reply as published, close it
        service.acknowledge(s, alert_id=created.alert_id, actor="o", channel="console", now=clock.now())
        service.record_info_published(s, alert_id=created.alert_id, link=URL, evidence="网站已答复",
                                      actor="o", channel="console", now=clock.now())
        closed = service.close(s, alert_id=created.alert_id, review="已答复，群众满意", actor="o",
                               channel="console", now=clock.now())
    assert closed.status == "closed"
    assert detail(db, clock, created.alert_id).deadlines[0].met_at == replied_at  # met by the reply


def test_an_acknowledged_case_moves_to_published_with_the_reply(make_worker, db, clock) -> None:
    worker = make_worker()
    created = worker.ingest(message())
    with db.transaction() as s:
        service.acknowledge(s, alert_id=created.alert_id, actor="o", channel="console", now=clock.now())
    clock.advance(timedelta(hours=3))
    worker.ingest(message(2, answer(clock.now(), clock.now())))
    case = detail(db, clock, created.alert_id)
    assert case.status == "info_published" and case.info_link == URL
    assert case.info_evidence == "县水利局：已抢修，今日恢复供水。"


def test_a_reply_after_the_due_time_is_late_in_the_assessment(make_worker, db, clock) -> None:
    worker = make_worker()
    created = worker.ingest(message())
    clock.advance(timedelta(days=4))  # Saturday: due at the end of Friday, breached
    worker.run_timers(clock.now())
    assert detail(db, clock, created.alert_id).deadlines[0].state == "breached"
    assert performance(db, clock).breached == 1

    worker.ingest(message(2, answer(clock.now() - timedelta(hours=1), clock.now())))
    case = detail(db, clock, created.alert_id)
    assert case.deadlines[0].state == "met" and case.deadlines[0].met_at > case.deadlines[0].due_at
    kind = performance(db, clock)
    assert (kind.on_time, kind.late, kind.breached) == (0, 1, 0)
    with db.session() as s:
        entry = service.alert_history(s, alert_id=created.alert_id)[-1]
    assert entry.action == "message_replied" and entry.reason == "留言已在网站答复（超过答复时限）"


def test_working_days_skip_the_weekend(make_worker, db, clock) -> None:
    friday = datetime(2026, 11, 13, 16, 0, tzinfo=CN_TZ)
    created = make_worker().ingest(message(first_seen=friday))
    [row] = detail(db, clock, created.alert_id).deadlines
    assert row.due_at == datetime(2026, 11, 18, 23, 59, 59, tzinfo=CN_TZ)


def test_bad_input_is_kept_with_the_problem_shown(make_worker, db, clock) -> None:
    worker = make_worker()
    undated = worker.ingest(message(notes=["留言未标明时间（或时间无法识别），答复时限从抓取时间起算"]))
    clock.advance(timedelta(hours=5))
    # a reply without a time: met when the crawler first saw it
    worker.ingest(message(2, answer(None, clock.now() - timedelta(hours=1)),
                          notes=["留言未标明时间（或时间无法识别），答复时限从抓取时间起算"]))
    case = detail(db, clock, undated.alert_id)
    assert case.deadlines[0].met_at == clock.now() - timedelta(hours=1)
    with db.session() as s:
        history = service.alert_history(s, alert_id=undated.alert_id)
    assert [h.action for h in history] == ["alert_created", "input_problem", "message_replied"]
    assert "从抓取时间起算" in (history[1].reason or "")
    assert history[2].details["problems"] == ["网站未注明答复时间，按首次抓取到答复的时间计"]

    # a reply that no reply clock matches (a case that is not a 留言): recorded once, nothing met
    opinion = worker.ingest(incident("inc-op", level="一般"))
    for version in (2, 3):
        worker.ingest(incident("inc-op", level="一般", version=version, reply=answer(None, clock.now())))
    with db.session() as s:
        actions = [h.action for h in service.alert_history(s, alert_id=opinion.alert_id)]
        assert s.get(Alert, opinion.alert_id).info_link is None
    assert actions == ["alert_created", "reply_unmatched"]
    assert detail(db, clock, opinion.alert_id).deadlines[0].state == "open"

    # a reply dated in the future: met now, not in the future
    other = worker.ingest(message().model_copy(update={"id": "inc-msg-2"}))
    future = answer(clock.now() + timedelta(days=2), clock.now())
    worker.ingest(message(2, future).model_copy(update={"id": "inc-msg-2"}))
    assert detail(db, clock, other.alert_id).deadlines[0].met_at == clock.now()


def test_an_officer_can_record_a_reply_given_another_way(make_worker, db, clock) -> None:
    created = make_worker().ingest(message())
    clock.advance(timedelta(hours=2))
    with db.transaction() as s:
        service.record_release(s, alert_id=created.alert_id, kind="message_reply", link=URL,
                               note="已电话答复留言人", actor="o", channel="console", now=clock.now())
    case = detail(db, clock, created.alert_id)
    assert case.deadlines[0].state == "met" and case.releases[0].deadlines_met == ["message_reply"]
