"""The policy register: a local policy opens a 政策解读 case (3 working days), a central / provincial key
policy a 转载 case (24 h from publication); both are alerts with a department, evidence links and 考核.
Bad input is refused (by hand) or kept with the problem shown (from a page) — never a lost case."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerting import service
from alerting.directory import Directory
from alerting.manual import intake_context
from alerting.models import Alert, AlertDeadline
from alerting.performance import Period, department_performance
from alerting.policies_register import (
    PolicyEntry,
    PolicyRefused,
    level_of_issuer,
    list_policies,
    register_policy,
)
from alerting.policy_models import PolicyRow
from incidents.models import IncidentRow
from yuqing.clock import CN_TZ
from yuqing.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPARTMENTS = ROOT / "alerting" / "config" / "departments.yaml"
# Wednesday 2026-12-02 10:00 Beijing time: no holiday nearby
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=CN_TZ)


@pytest.fixture
def settings(alert_settings: Settings) -> Settings:
    return alert_settings.model_copy(update={"departments_file": DEPARTMENTS})


@pytest.fixture
def register(db, settings):
    with db.transaction() as s:
        Directory.load_yaml(DEPARTMENTS).save(s, now=NOW)

    def _register(entry: PolicyEntry, *, now: datetime = NOW, strict: bool = True):
        with db.transaction() as s:
            result = register_policy(s, entry, intake_context(s, settings), now=now, actor="tester",
                                     channel="cli", strict=strict)
            return result.outcome, result.policy.id, result.policy.alert_id

    return _register


def _deadlines(db, alert_id: int) -> dict[str, AlertDeadline]:
    with db.session() as s:
        return {d.kind: d for d in s.scalars(select(AlertDeadline).where(AlertDeadline.alert_id == alert_id))}


def test_a_local_policy_opens_an_interpretation_case_with_the_issuing_department(db, register) -> None:
    published = NOW - timedelta(hours=1)
    outcome, _, alert_id = register(PolicyEntry(
        title="南阳市关于进一步规范校外培训的通知", url="https://www.nanyang.example/zc/2026/1.html",
        published_at=published, issuer="南阳市教育局"))
    assert outcome == "created" and alert_id is not None
    with db.session() as s:
        alert = s.get(Alert, alert_id)
        incident = s.get(IncidentRow, alert.incident_id)
        assert alert.incident_kind == "policy" and incident.kind == "policy"
        assert (incident.locations[0]["name"], incident.location_code) == ("南阳市", "4113")
        assert alert.department_name == "南阳市教育局" and "教育局" in alert.assignment_reason
        assert alert.first_seen == published
    deadlines = _deadlines(db, alert_id)
    assert list(deadlines) == ["policy_interpretation"]
    # Wed 09:00 + 3 working days counted from Thursday: Thu, Fri, Mon → Monday 2026-12-07, end of day
    assert deadlines["policy_interpretation"].due_at == datetime(2026, 12, 7, 23, 59, 59, tzinfo=CN_TZ)


def test_a_provincial_key_policy_opens_a_reprint_case_due_24_hours_after_publication(db, register) -> None:
    published = NOW - timedelta(hours=3)
    outcome, _, alert_id = register(PolicyEntry(
        title="河南省人民政府关于印发稳就业若干政策措施的通知", url="https://www.henan.example/zc/88.html",
        published_at=published, issuer="河南省人民政府", region="4113"))
    assert outcome == "created"
    with db.session() as s:
        alert = s.get(Alert, alert_id)
        assert alert.incident_kind == "key_policy" and alert.region_code == "4113"
        assert alert.department_id is not None and "政府办公室" in alert.assignment_reason
    deadlines = _deadlines(db, alert_id)
    assert list(deadlines) == ["reprint"]
    assert deadlines["reprint"].due_at == published + timedelta(hours=24)


def test_levels_from_the_issuer_and_a_non_key_policy_is_kept_without_a_case(db, register) -> None:
    assert level_of_issuer("国务院办公厅") == "central"
    assert level_of_issuer("教育部") == "central"
    assert level_of_issuer("河南省人民政府") == "provincial"
    assert level_of_issuer("上海市人民政府") == "provincial"
    assert level_of_issuer("南阳市教育局") == "local"
    assert level_of_issuer(None) is None
    outcome, policy_id, alert_id = register(PolicyEntry(
        title="国务院关于某项工作的通知", url="https://www.gov.example/zc/3.html",
        published_at=NOW - timedelta(days=1), issuer="国务院", key=False))
    assert (outcome, alert_id) == ("kept", None)
    with db.session() as s:
        view = next(v for v in list_policies(s) if v.id == policy_id)
        assert view.level == "central" and view.key is False and view.deadline is None
        assert s.scalar(select(func.count()).select_from(Alert)) == 0


def test_the_same_policy_twice_is_one_policy_and_one_case(db, register) -> None:
    entry = PolicyEntry(title="关于X的通知", url="https://www.nanyang.example/zc/x.html",
                        published_at=NOW - timedelta(hours=2), level="local")
    first = register(entry)
    again = register(entry, now=NOW + timedelta(hours=1))
    assert again == ("seen", first[1], first[2])
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PolicyRow)) == 1
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (PolicyEntry(title="", url="https://a.example/1", published_at=NOW), "缺少政策文件标题"),
        (PolicyEntry(title="T", url="", published_at=NOW), "缺少政策文件链接"),
        (PolicyEntry(title="T", url="ftp://a.example/1", published_at=NOW), r"不是 http\(s\) 地址"),
        (PolicyEntry(title="T", url="https://a.example/1", published_at=None), "缺少发布时间"),
        (PolicyEntry(title="T", url="https://a.example/1", published_at=NOW + timedelta(days=2)),
         "晚于当前时间"),
        (PolicyEntry(title="T", url="https://a.example/1", published_at=NOW, level="city"),
         "层级 'city' 无效"),
    ],
)
def test_bad_input_by_hand_is_refused_and_leaves_nothing(db, register, entry, reason) -> None:
    with pytest.raises(PolicyRefused, match=reason):
        register(entry)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PolicyRow)) == 0
        assert s.scalar(select(func.count()).select_from(Alert)) == 0


def test_a_crawled_page_with_a_future_or_no_date_keeps_its_case_and_shows_the_problem(db, register) -> None:
    _, future_id, future_alert = register(PolicyEntry(
        title="南阳市关于冬季供暖的通知", url="https://www.nanyang.example/zc/f.html",
        published_at=NOW + timedelta(days=3), level="local", source_id="nanyang-policy"), strict=False)
    _, undated_id, undated_alert = register(PolicyEntry(
        title="河南省关于秋冬季安全生产的通知", url="https://www.henan.example/zc/u.html",
        published_at=None, issuer="河南省应急管理厅", source_id="nanyang-policy"), strict=False)
    assert future_alert is not None and undated_alert is not None
    with db.session() as s:
        views = {v.id: v for v in list_policies(s)}
    assert "晚于抓取时间" in views[future_id].problem and views[future_id].clock_start == NOW.isoformat()
    assert "没有发布日期" in views[undated_id].problem and views[undated_id].deadline == "reprint"
    assert _deadlines(db, undated_alert)["reprint"].due_at == NOW + timedelta(hours=24)


def test_the_reprint_link_meets_the_clock_and_a_late_one_counts_as_late_in_assessment(db, register) -> None:
    published = NOW - timedelta(hours=2)
    _, _, on_time = register(PolicyEntry(
        title="河南省关于A的通知", url="https://www.henan.example/zc/a.html", published_at=published,
        issuer="河南省人民政府", region="4113"))
    _, _, late = register(PolicyEntry(
        title="河南省关于B的通知", url="https://www.henan.example/zc/b.html", published_at=published,
        issuer="河南省人民政府", region="4113"))
    with db.transaction() as s:
        for alert_id in (on_time, late):
            service.acknowledge(s, alert_id=alert_id, actor="officer", channel="console", now=NOW)
        service.record_info_published(
            s, alert_id=on_time, link="https://www.nanyang.example/zwgk/zc/a.html", evidence="门户网站已转载",
            actor="officer", channel="console", now=NOW + timedelta(hours=5))
        service.record_info_published(
            s, alert_id=late, link="https://www.nanyang.example/zwgk/zc/b.html", evidence="门户网站已转载",
            actor="officer", channel="console", now=published + timedelta(hours=30))
    with db.session() as s:
        detail = service.get_alert(s, alert_id=on_time, now=NOW + timedelta(hours=6))
        assert detail.info_link == "https://www.nanyang.example/zwgk/zc/a.html"
        assert [d.state for d in detail.deadlines] == ["met"]
        views = {v.alert_id: v for v in list_policies(s)}
        period = Period(NOW.date() - timedelta(days=1), NOW.date() + timedelta(days=2))
        report = department_performance(s, period, now=NOW + timedelta(days=2))
    assert views[on_time].deadline_state == "met"
    reprint = next(k for k in report.overall.deadlines if k.kind == "reprint")
    assert (reprint.total, reprint.on_time, reprint.late) == (2, 1, 1)


def test_an_old_policy_on_a_crawled_page_is_kept_without_a_breached_case_but_opens_one_by_hand(
    db, register
) -> None:
    old = NOW - timedelta(days=90)
    crawled = register(PolicyEntry(title="南阳市旧政策", url="https://www.nanyang.example/zc/old.html",
                                   published_at=old, level="local", source_id="nanyang-policy"), strict=False)
    assert crawled[0] == "kept" and crawled[2] is None
    with db.session() as s:
        view = next(v for v in list_policies(s) if v.id == crawled[1])
    assert "超过 30 天" in view.problem and view.deadline is None
    by_hand = register(PolicyEntry(title="南阳市另一旧政策", url="https://www.nanyang.example/zc/old2.html",
                                   published_at=old, level="local"))
    assert by_hand[0] == "created" and by_hand[2] is not None
