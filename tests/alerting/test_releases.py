"""持续发布: the first 权威信息 stops the 5 h clock, later releases (权威信息, 进展通报, 发布会) go on the
alert's timeline with time, link and note; bad input is refused and leaves no trace."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from alerting import service
from alerting.models import AlertRelease
from alerting.state import InvalidTransition
from tests.alerting.conftest import incident


def _release(s, alert_id, clock, kind="progress", link="https://gov.example/notice/2", note="第二次通报"):
    return service.record_release(
        s, alert_id=alert_id, kind=kind, link=link, note=note, actor="o", channel="api", now=clock.now()
    )


def test_first_information_stops_the_clock_and_later_releases_are_recorded(make_worker, db, clock):
    res = make_worker().ingest(incident())
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
    clock.advance(timedelta(hours=2))
    with db.transaction() as s:
        first = _release(s, res.alert_id, clock, kind="authoritative_info",
                         link="https://gov.example/notice/1", note="县卫健委情况通报")
    assert first.status == "info_published" and first.info_link == "https://gov.example/notice/1"
    clock.advance(timedelta(hours=1))
    with db.transaction() as s:  # a second 权威信息 through the old action: no longer 409
        again = service.record_info_published(
            s, alert_id=res.alert_id, link="https://gov.example/notice/3", evidence="伤亡情况更新",
            actor="o", channel="console", now=clock.now(),
        )
        assert again.status == "info_published" and again.info_link == "https://gov.example/notice/1"
    clock.advance(timedelta(minutes=30))
    with db.transaction() as s:
        _release(s, res.alert_id, clock, kind="progress", note="救援进展")
    clock.advance(timedelta(hours=1))
    with db.transaction() as s:
        held = _release(s, res.alert_id, clock, kind="press_conference",
                        link="https://gov.example/press/1", note="县政府新闻发布会")
        assert held.status == "press_conference_held"
        _release(s, res.alert_id, clock, kind="press_conference", link="https://gov.example/press/2",
                 note="第二场发布会")
    with db.session() as s:
        detail = service.get_alert(s, alert_id=res.alert_id, now=clock.now())
        history = [h.action for h in service.alert_history(s, alert_id=res.alert_id)]
    info = next(d for d in detail.deadlines if d.kind == "authoritative_info")
    press = next(d for d in detail.deadlines if d.kind == "press_conference")
    assert info.state == "met" and info.met_at == detail.releases[0].released_at
    assert press.state == "met" and press.met_at == detail.releases[3].released_at
    assert [(r.kind, r.label, r.link) for r in detail.releases] == [
        ("authoritative_info", "权威信息", "https://gov.example/notice/1"),
        ("authoritative_info", "权威信息", "https://gov.example/notice/3"),
        ("progress", "进展通报", "https://gov.example/notice/2"),
        ("press_conference", "发布会", "https://gov.example/press/1"),
        ("press_conference", "发布会", "https://gov.example/press/2"),
    ]
    assert [r.note for r in detail.releases][:3] == ["县卫健委情况通报", "伤亡情况更新", "救援进展"]
    assert detail.releases[0].deadlines_met == ["authoritative_info"]
    assert detail.releases[3].deadlines_met == ["press_conference"]
    assert all(r.deadlines_met == [] for r in (detail.releases[1], detail.releases[2], detail.releases[4]))
    times = [r.released_at for r in detail.releases]
    assert times == sorted(times) and times[0] < times[1] < times[2]
    assert history == ["alert_created", "acknowledge", "publish_info", "release", "release",
                       "hold_press_conference", "release"]


def test_a_progress_report_before_information_does_not_stop_the_clock(make_worker, db, clock):
    res = make_worker().ingest(incident())
    with db.transaction() as s:
        read = _release(s, res.alert_id, clock, kind="progress", note="正在核实")
    assert read.status == "new" and read.next_due_kind == "authoritative_info"
    with db.session() as s:
        detail = service.get_alert(s, alert_id=res.alert_id, now=clock.now())
    assert next(d for d in detail.deadlines if d.kind == "authoritative_info").state == "open"
    assert [r.kind for r in detail.releases] == ["progress"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"link": "javascript:alert(1)"}, service.InvalidRequest, "http"),
        ({"link": "ftp://gov.example/x"}, service.InvalidRequest, "http"),
        ({"note": "   "}, service.InvalidRequest, "note"),
        ({"kind": "rumour"}, service.InvalidRequest, "release kind"),
    ],
)
def test_bad_releases_are_refused(make_worker, db, clock, kwargs, error, match):
    res = make_worker().ingest(incident())
    with db.transaction() as s, pytest.raises(error, match=match):
        _release(s, res.alert_id, clock, **kwargs)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AlertRelease)) == 0


def test_no_release_on_a_closed_alert_or_an_unknown_one(make_worker, db, clock):
    res = make_worker().ingest(incident(level="较大"))
    with db.transaction() as s:
        service.acknowledge(s, alert_id=res.alert_id, actor="o", channel="console", now=clock.now())
        _release(s, res.alert_id, clock, kind="authoritative_info")
        service.close(s, alert_id=res.alert_id, review="复盘", actor="o", channel="console", now=clock.now())
    closed = "cannot release an alert that is closed"
    with db.transaction() as s, pytest.raises(InvalidTransition, match=closed):
        _release(s, res.alert_id, clock)
    with db.transaction() as s, pytest.raises(service.AlertNotFound):
        _release(s, 999_999, clock)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AlertRelease)) == 1
