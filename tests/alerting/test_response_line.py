"""回应口径 and the spokesperson: recorded on the case with who approved / who spoke and when, audited,
refused with a clear error when incomplete, in the future, on a closed or an unknown alert."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerting import service
from alerting.state import InvalidTransition
from tests.alerting.conftest import incident
from yuqing.clock import CN_TZ


def test_response_line_and_spokesperson_are_recorded_and_audited(make_worker, db, clock):
    res = make_worker().ingest(incident())
    approved = clock.now() - timedelta(minutes=20)
    with db.transaction() as s:
        read = service.record_response_line(
            s, alert_id=res.alert_id, text="已第一时间组织救治，原因正在调查", approved_by="县委宣传部 王某",
            approved_at=approved, actor="duty", channel="api", now=clock.now(),
        )
        assert read.response_line == "已第一时间组织救治，原因正在调查" and read.status == "new"
        assert read.response_line_approved_by == "县委宣传部 王某"
        assert read.response_line_approved_at == approved
    clock.advance(timedelta(hours=1))
    with db.transaction() as s:
        service.record_response_line(  # revised: the new one stands, the audit log keeps both
            s, alert_id=res.alert_id, text="救治情况与调查进展如下", approved_by="县长 李某",
            actor="duty", channel="console", now=clock.now(),
        )
        read = service.record_spokesperson(
            s, alert_id=res.alert_id, name="张某", role="principal", actor="duty", channel="console",
            now=clock.now(),
        )
    assert (read.spokesperson_name, read.spokesperson_role) == ("张某", "principal")
    assert read.spoke_at == clock.now()
    assert read.response_line_approved_at == clock.now()
    with db.session() as s:
        detail = service.get_alert(s, alert_id=res.alert_id, now=clock.now())
        history = service.alert_history(s, alert_id=res.alert_id)
    assert detail.response_line == "救治情况与调查进展如下"
    assert detail.response_line_approved_by == "县长 李某"
    lines = [h for h in history if h.action == "response_line"]
    assert [h.reason for h in lines] == ["已第一时间组织救治，原因正在调查", "救治情况与调查进展如下"]
    assert lines[1].details["previous"] == "已第一时间组织救治，原因正在调查"
    spoke = next(h for h in history if h.action == "spokesperson")
    assert spoke.reason == "主要负责人张某" and spoke.details["role"] == "principal"


def test_a_local_time_without_offset_is_beijing_time(make_worker, db, clock):
    res = make_worker().ingest(incident())
    local = clock.now().astimezone(CN_TZ).replace(tzinfo=None, microsecond=0) - timedelta(minutes=5)
    with db.transaction() as s:
        read = service.record_spokesperson(
            s, alert_id=res.alert_id, name="刘某", role="spokesperson", spoke_at=local, actor="d",
            channel="console", now=clock.now(),
        )
    assert read.spoke_at == local.replace(tzinfo=CN_TZ)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s, a, now: service.record_response_line(
            s, alert_id=a, text="  ", approved_by="王某", actor="d", channel="api", now=now), "口径"),
        (lambda s, a, now: service.record_response_line(
            s, alert_id=a, text="口径", approved_by="", actor="d", channel="api", now=now), "approved"),
        (lambda s, a, now: service.record_response_line(
            s, alert_id=a, text="口径", approved_by="王某", approved_at=now + timedelta(hours=1), actor="d",
            channel="api", now=now), "future"),
        (lambda s, a, now: service.record_spokesperson(
            s, alert_id=a, name="张某", role="reporter", actor="d", channel="api", now=now), "speaker role"),
        (lambda s, a, now: service.record_spokesperson(
            s, alert_id=a, name=" ", role="spokesperson", actor="d", channel="api", now=now), "name"),
    ],
)
def test_incomplete_input_is_refused(make_worker, db, clock, call, match):
    res = make_worker().ingest(incident())
    with db.transaction() as s, pytest.raises(service.InvalidRequest, match=match):
        call(s, res.alert_id, clock.now())
    with db.session() as s:
        detail = service.get_alert(s, alert_id=res.alert_id, now=clock.now())
    assert detail.response_line is None and detail.spokesperson_name is None


def test_unknown_or_closed_alerts_are_refused(make_worker, db, clock):
    with db.transaction() as s, pytest.raises(service.AlertNotFound):
        service.record_response_line(
            s, alert_id=424242, text="口径", approved_by="王某", actor="d", channel="api", now=clock.now()
        )
    res = make_worker().ingest(incident(level="较大"))
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
        service.record_info_published(s, alert_id=res.alert_id, link="https://gov.example/1", evidence="通报",
                                      actor="o", channel="console", now=clock.now())
        service.close(s, alert_id=res.alert_id, review="复盘", actor="o", channel="console", now=clock.now())
    with db.transaction() as s, pytest.raises(InvalidTransition, match="closed"):
        service.record_spokesperson(s, alert_id=res.alert_id, name="张某", role="spokesperson", actor="d",
                                    channel="api", now=clock.now())


