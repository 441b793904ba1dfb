"""One event, one alert: the 封丘 plant's aftermath post that became its own incident (群众正在疏散, 刺鼻气味)
merges into the explosion's alert automatically, with the merge recorded and the incident marked merged;
the surviving alert keeps the higher level (and is reassigned by the rules when that raises it); a car
crash in the same county, or an explosion in another county, stays apart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from alerting import service
from alerting.models import Alert, AlertDeadline
from incidents.mapping import row_values
from incidents.models import IncidentRow
from tests.alerting.conftest import FIXTURES, T0, incident
from yuqing.schemas import Location, Severity

EXPLOSION = "封丘县产业集聚区一化工厂车间发生爆炸"
AFTERMATH = "据现场附近群众反映，爆炸企业周边两个村的群众正在疏散，空气中有刺鼻气味"


@pytest.fixture
def fengqiu(alert_settings):
    alert_settings.departments_file = FIXTURES / "departments_fengqiu.yaml"
    return alert_settings


def event(incident_id: str, title: str, level: str, triggers: list[str], *, minutes: int = 0,
          code: str = "410727", version: int = 1, keywords: list[str] | None = None):
    made = incident(incident_id, level=level, version=version, category="环境保护", code=code, title=title,
                    first_seen=T0 + timedelta(minutes=minutes))
    return made.model_copy(update={
        "severity": Severity(level=level, triggers=triggers),
        "keywords": keywords or [],
        "locations": [Location(name="封丘县" if code == "410727" else "长垣市", code=code)],
    })


def ingest(worker, db, inc):
    """As the pipeline does it: the incidents stage writes the incident, then alerting reads it."""
    with db.transaction() as s:
        row = s.get(IncidentRow, inc.id)
        values = row_values(inc, inc.last_seen)
        if row is None:
            s.add(IncidentRow(**values))
        else:
            for k, v in values.items():
                setattr(row, k, v)
    return worker.ingest(inc)


def test_the_aftermath_alert_merges_into_the_explosion(fengqiu, make_worker, db, clock):
    worker = make_worker()
    boom = ingest(worker, db, event("inc-boom", EXPLOSION, "重大", ["11人死亡", "爆炸"]))
    clock.advance(timedelta(minutes=45))
    after = ingest(worker, db, event("inc-after", AFTERMATH, "较大", ["爆炸"], minutes=45,
                                     keywords=["疏散", "刺鼻", "气味"]))
    assert after.outcome == "created" and after.alert_id != boom.alert_id
    with db.session() as s:
        merged = s.get_one(Alert, after.alert_id)
        assert (merged.status, merged.merged_into_id) == ("merged", boom.alert_id)
        assert all(d.stopped_at is not None
                   for d in s.scalars(select(AlertDeadline).where(AlertDeadline.alert_id == after.alert_id)))
        history = service.alert_history(s, alert_id=after.alert_id)
        merge = next(h for h in history if h.action == "merge")
        assert merge.actor == "system:alerting" and "同一事件自动合并" in (merge.reason or "")
        assert "封丘县" in merge.reason and "爆炸" in merge.reason
        assert "merged_in" in [h.action for h in service.alert_history(s, alert_id=boom.alert_id)]
        assert s.get_one(IncidentRow, "inc-after").merged_into == "inc-boom"
        survivor = s.get_one(Alert, boom.alert_id)
        assert survivor.level == "重大" and survivor.status == "new"
        open_alerts = service.list_alerts(s, now=clock.now(), statuses=["new"]).items
        assert [a.id for a in open_alerts] == [boom.alert_id]  # one event, one alert


def test_a_higher_level_arriving_later_raises_the_first_alert(fengqiu, make_worker, db, clock):
    worker = make_worker()
    first = ingest(worker, db, event("inc-first", EXPLOSION, "一般", ["爆炸"]))
    with db.session() as s:
        assert s.get_one(Alert, first.alert_id).department_id == "fq-yjj"
    clock.advance(timedelta(hours=2))
    later = ingest(worker, db, event("inc-later", "封丘化工厂爆炸已致3人死亡", "较大", ["3人死亡", "爆炸"],
                                     minutes=100))
    with db.session() as s:
        survivor = s.get_one(Alert, first.alert_id)
        assert s.get_one(Alert, later.alert_id).merged_into_id == survivor.id
        assert survivor.level == "较大" and survivor.department_id == "fq-yjj"
    clock.advance(timedelta(minutes=10))
    ingest(worker, db, event("inc-later", "封丘化工厂爆炸已致11人死亡", "重大", ["11人死亡", "爆炸"],
                             minutes=100, version=2))
    with db.session() as s:
        survivor = s.get_one(Alert, first.alert_id)
        assert survivor.level == "重大"  # the merged incident rose: so does the event's alert
        assert survivor.department_id == "xx-yjj"  # and 分级负责 hands it to the city
        query = select(AlertDeadline).where(AlertDeadline.alert_id == survivor.id)
        kinds = {d.kind: d for d in s.scalars(query)}
        assert kinds["authoritative_info"].start == T0  # from the event's first detection
        raised = [h for h in service.alert_history(s, alert_id=survivor.id) if h.action == "level_raised"]
        assert "inc-later" in (raised[-1].reason or "")


@pytest.mark.parametrize(
    ("title", "triggers", "code"),
    [
        ("封丘县城关镇两车相撞致2人受伤", ["车祸", "2人受伤"], "410727"),  # another kind of emergency
        ("长垣市一化工厂发生爆炸", ["爆炸"], "410783"),  # another county
    ],
)
def test_other_events_stay_apart(fengqiu, make_worker, db, clock, title, triggers, code):
    worker = make_worker()
    boom = ingest(worker, db, event("inc-boom", EXPLOSION, "重大", ["11人死亡", "爆炸"]))
    clock.advance(timedelta(minutes=30))
    other = ingest(worker, db, event("inc-other", title, "较大", triggers, minutes=30, code=code))
    with db.session() as s:
        assert s.get_one(Alert, other.alert_id).status == "new"
        assert s.get_one(Alert, boom.alert_id).status == "new"
        assert s.get_one(IncidentRow, "inc-other").merged_into is None


def test_two_cases_of_one_kind_in_one_city_stay_apart_unless_they_share_the_word(
    fengqiu, make_worker, db, clock
):
    """A school canteen's 中毒 and a gas main's 泄漏 in one city on one day are two cases (their words share
    only a kind); within one county they would be one event, and the same word (爆炸) joins in one city."""
    city = [Location(name="新乡市", code="4107")]
    worker = make_worker()
    food = ingest(worker, db, event("inc-food", "新乡市一学校食堂疑似食物中毒", "较大", ["中毒"])
                  .model_copy(update={"locations": city}))
    clock.advance(timedelta(minutes=30))
    gas = ingest(worker, db, event("inc-gas", "新乡市一小区燃气管道泄漏", "较大", ["泄漏"], minutes=30)
                 .model_copy(update={"locations": city}))
    with db.session() as s:
        assert s.get_one(Alert, food.alert_id).status == "new"
        assert s.get_one(Alert, gas.alert_id).status == "new"
