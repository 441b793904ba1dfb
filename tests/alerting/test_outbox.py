"""The notification pipeline: per-robot rate limit with digests, retries with backoff, the send log."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from alerting import outbox
from alerting.models import Alert, Notification, NotificationAttempt
from alerting.notify.base import SendResult
from alerting.notify.registry import build_channels
from alerting.rules import Channel, Retry
from tests.alerting.conftest import RecordingChannel, incident

RETRY = Retry(max_attempts=3, base_seconds=60, max_seconds=600)


def _robot_setup(db, make_worker, n_alerts):
    worker = make_worker()
    ids = [worker.ingest(incident(f"inc-{i}", level="一般")).alert_id for i in range(n_alerts)]
    robot = RecordingChannel()
    channels = build_channels([Channel(name="duty", type="dingtalk", roles=["department"])], {"duty": robot})
    return ids, robot, channels


def _queue(db, ids, channels, clock, threshold="50%"):
    recipient = outbox.Recipient(role="department", key="department:x:office", name="办公室")
    with db.transaction() as s:
        for alert_id in ids:
            alert = s.get(Alert, alert_id)
            outbox.enqueue(
                s,
                alert,
                None,
                threshold,
                0,
                [recipient],
                clock.now(),
                channels=channels,
                console_url="https://yq.example",
            )


def test_robot_sends_20_a_minute_and_digests_the_overflow(db, make_worker, clock):
    ids, robot, channels = _robot_setup(db, make_worker, 25)
    _queue(db, ids, channels, clock)
    stats = outbox.dispatch(db.sessions, channels, clock.now(), retry=RETRY, console_url="https://yq.example")
    assert len(robot.sent) == 20  # never more than the robot's 20 a minute
    assert [m.digest_size for m in robot.sent[:19]] == [1] * 19
    digest = robot.sent[19]
    assert digest.digest_size == 6 and digest.link == "https://yq.example/alerts"
    assert stats.sent == 25 and stats.digests == 1
    for alert_id in ids[19:]:
        assert f"/alerts/{alert_id}" in digest.body  # each digested notice keeps its deep link
    # within the same minute the budget is spent: new notices wait
    _queue(db, ids[:3], channels, clock, threshold="75%")
    clock.advance(timedelta(seconds=30))
    outbox.dispatch(db.sessions, channels, clock.now(), retry=RETRY, console_url="https://yq.example")
    assert len(robot.sent) == 20
    clock.advance(timedelta(seconds=31))
    outbox.dispatch(db.sessions, channels, clock.now(), retry=RETRY, console_url="https://yq.example")
    assert len(robot.sent) == 23
    with db.session() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.channel == "duty", Notification.status != "sent")
            )
            == 0
        )


def test_enqueue_is_idempotent_per_alert_deadline_threshold_recipient(db, make_worker, clock):
    ids, _robot, channels = _robot_setup(db, make_worker, 1)
    _queue(db, ids, channels, clock)
    _queue(db, ids, channels, clock)
    with db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(Notification).where(Notification.channel == "duty"))
            == 1
        )


def test_retries_back_off_then_give_up_and_every_attempt_is_logged(db, make_worker, clock):
    ids, robot, channels = _robot_setup(db, make_worker, 1)
    robot.outcomes = [
        SendResult.retry("HTTP 503"),
        SendResult.retry("HTTP 503"),
        SendResult.retry("HTTP 503"),
    ]
    _queue(db, ids, channels, clock)
    start = clock.now()

    def run(after_seconds):
        clock.set(start + timedelta(seconds=after_seconds))
        outbox.dispatch(db.sessions, channels, clock.now(), retry=RETRY, console_url="https://yq.example")

    run(0)
    run(59)  # backoff after the first failure is 60 s
    assert len(robot.sent) == 1
    run(61)
    assert len(robot.sent) == 2
    run(61 + 119)  # then 120 s
    assert len(robot.sent) == 2
    run(61 + 121)
    assert len(robot.sent) == 3
    run(10_000)
    assert len(robot.sent) == 3  # max_attempts reached
    with db.session() as s:
        row = s.scalars(select(Notification).where(Notification.channel == "duty")).one()
        assert row.status == "failed" and row.attempts == 3 and row.last_detail == "HTTP 503"
        log = s.scalars(
            select(NotificationAttempt.result).where(NotificationAttempt.notification_id == row.id)
        ).all()
        assert log == ["retry", "retry", "retry"]


def test_channel_level_filter_and_robot_routing_by_directory_entry(db, make_worker, clock):
    worker = make_worker()
    major = worker.ingest(incident("m", level="重大")).alert_id
    minor = worker.ingest(incident("n", level="一般")).alert_id
    robot = RecordingChannel()
    channels = build_channels(
        [Channel(name="leaders", type="feishu", levels=["重大", "特别重大"])], {"leaders": robot}
    )
    leader = outbox.Recipient(
        role="deputy_leader",
        key="deputy_leader:aq-wjw:赵副市长",
        name="赵副市长",
        robots=frozenset({"leaders"}),
    )
    other = outbox.Recipient(role="department_head", key="department_head:aq-wjw:陈主任", name="陈主任")
    with db.transaction() as s:
        for alert_id in (major, minor):
            outbox.enqueue(
                s,
                s.get(Alert, alert_id),
                None,
                "breach",
                0,
                [leader, other],
                clock.now(),
                channels=channels,
                console_url="https://yq.example",
            )
    outbox.dispatch(db.sessions, channels, clock.now(), retry=RETRY, console_url="https://yq.example")
    assert len(robot.sent) == 1  # only the 重大 alert, one group message
    assert "赵副市长" in robot.sent[0].body and "陈主任" not in robot.sent[0].body
    assert robot.sent[0].alert_ids == (major,)
