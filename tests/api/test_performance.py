"""考核统计 on SQLite and PostgreSQL: alerts go through the real alerting intake, a fake clock moves, the
escalation timers run and officers act through ``alerting.service``; then the exact counts, rates and
durations per department, the date filter, the CSV and the errors."""

from __future__ import annotations

import csv
import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from factories import act, alerting_worker, login, seed_incident
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, update

from alerting import consult, service
from alerting.models import Alert, AlertAssignment
from alerting.performance import Period, department_performance, quantile, rate_class, resolve_period
from api.routes.performance import NAMES_HEADER
from yuqing.clock import FakeClock
from yuqing.db.migrate import alembic_config
from yuqing.db.models import AuditLog
from yuqing.db.session import Database
from yuqing.schemas import Incident, Location, Severity
from yuqing.settings import Settings, load_settings

F = datetime(2026, 5, 11, 2, 0, tzinfo=UTC)  # the API tests' T0: 10:00 Beijing time
HOUR = timedelta(hours=1)

# the tests' directory plus three more cities' environment bureaus, one per case
DIRECTORY_YAML = """
home_region: "34"
duty_office_type: 网信办
regions: {"34": 安徽省, "3401": 合肥市, "3402": 芜湖市, "3403": 蚌埠市, "3404": 淮南市, "3408": 安庆市}
category_types: {}
departments:
  - {id: ah-wxb, name: 安徽省网信办, type: 网信办, region: "34", contacts: [{name: 值班室}]}
  - {id: aq-sthj, name: 安庆市生态环境局, type: 生态环境局, region: "3408", contacts: [{name: 办公室}]}
  - {id: hf-sthj, name: 合肥市生态环境局, type: 生态环境局, region: "3401", contacts: [{name: 办公室}]}
  - {id: wh-sthj, name: 芜湖市生态环境局, type: 生态环境局, region: "3402", contacts: [{name: 办公室}]}
  - {id: bb-sthj, name: 蚌埠市生态环境局, type: 生态环境局, region: "3403", contacts: [{name: 办公室}]}
  - {id: hn-sthj, name: 淮南市生态环境局, type: 生态环境局, region: "3404", contacts: [{name: 办公室}]}
duty_rosters: []
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    directory = tmp_path / "departments.yaml"
    directory.write_text(DIRECTORY_YAML, encoding="utf-8")
    return load_settings(data_dir=tmp_path / "var", departments_file=directory)


def _act(db: Database, clock: FakeClock, what: str, alert_id: int, **kw: Any) -> None:
    act(db, what, alert_id, clock.now(), **kw)


def _at(clock: FakeClock, worker: Any, when: timedelta) -> None:
    """Move the clock to F + when and let the escalation timers run (breaches open 督办)."""
    clock.set(F + when)
    worker.run_timers(clock.now())


@pytest.fixture
def seeded(settings: Settings, database: Database, clock: FakeClock) -> dict[str, int]:
    """Five departments, each one case, all first detected at F (Monday 2026-05-11 10:00 Beijing time):

    合肥 publishes and holds the press conference on time; 安庆 publishes an hour late (督办 at the 5 h
    breach) and holds the conference on time; 芜湖 does nothing (both clocks breached, two 督办); 蚌埠's
    一般 alert rises to 重大 (its 48 h clock stops) and meets both new clocks; a 一般 case found at F+28 h in
    安庆 is reassigned to 淮南 and is still pending. One more 合肥 case was first seen 40 days earlier."""
    worker = alerting_worker(settings, database, clock)

    def seed(key: str, place: tuple[str, str], first_seen: datetime, level: str = "重大") -> int:
        alert_id = seed_incident(
            worker,
            database,
            incident_id=f"inc-{key}",
            title=f"{place[0]} 排污 {key}",
            place=place,
            first_seen=first_seen,
            level=level,
        )
        assert alert_id is not None
        return alert_id

    ids = {
        "hf": seed("hf", ("合肥市", "3401"), F),
        "aq": seed("aq", ("安庆市", "3408"), F),
        "wh": seed("wh", ("芜湖市", "3402"), F),
        "bb": seed("bb", ("蚌埠市", "3403"), F, level="一般"),
        "old": seed("old", ("合肥市", "3401"), F - timedelta(days=40)),
    }
    clock.set(F + HOUR / 2)
    _act(database, clock, "ack", ids["hf"])
    clock.set(F + HOUR)
    _act(database, clock, "ack", ids["aq"])
    raised = worker.ingest(
        Incident(
            id="inc-bb",
            title="蚌埠市 排污 bb",
            first_seen=F,
            last_seen=F + HOUR,
            version=2,
            locations=[Location(name="蚌埠市", code="3403", level="city")],
            category="环境保护",
            department_type="生态环境局",
            severity=Severity(level="重大"),
            post_count=3,
            source_count=1,
        )
    )
    assert raised.outcome == "raised"
    clock.set(F + 2 * HOUR)
    _act(database, clock, "info", ids["hf"])
    _act(database, clock, "ack", ids["bb"])
    _at(clock, worker, 3 * HOUR)  # 安庆's acknowledgement times out: back to new (the audit keeps it)
    _act(database, clock, "info", ids["bb"])
    _at(clock, worker, 5 * HOUR + timedelta(minutes=1))  # 5 h: 安庆 and 芜湖 breach, 督办 opens
    _at(clock, worker, 6 * HOUR)
    _act(database, clock, "info", ids["aq"])
    _at(clock, worker, 20 * HOUR)
    _act(database, clock, "press", ids["hf"])
    _at(clock, worker, 22 * HOUR)
    _act(database, clock, "press", ids["aq"])
    _at(clock, worker, 23 * HOUR)
    _act(database, clock, "press", ids["bb"])
    _at(clock, worker, 24 * HOUR + timedelta(minutes=1))  # 芜湖's press conference breaches
    clock.set(F + 28 * HOUR)
    ids["pending"] = seed("pending", ("安庆市", "3408"), clock.now(), level="一般")
    clock.set(F + 28 * HOUR + HOUR / 2)
    _act(
        database,
        clock,
        "reassign",
        ids["pending"],
        department_id="hn-sthj",
        reason="属淮南辖区",
        directory=worker.directory,
    )
    _at(clock, worker, 30 * HOUR)  # now: Tuesday 2026-05-12 16:00 Beijing time
    return ids


def _by_dept(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["department_id"]: d for d in report["departments"]}


def _outcomes(k: dict[str, Any]) -> tuple[int, ...]:
    return (k["total"], k["on_time"], k["late"], k["breached"], k["stopped"], k["pending"])


def test_counts_rates_and_durations_per_department(client: TestClient, seeded: dict[str, int]) -> None:
    login(client, "analyst")
    response = client.get("/api/performance")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["department_names_unavailable"] is None and NAMES_HEADER not in response.headers
    assert (report["date_from"], report["date_to"]) == ("2026-04-13", "2026-05-13")  # 30 days, to exclusive
    assert report["kinds"] == ["authoritative_info", "press_conference", "response"]
    # worst first; the department with nothing assessable yet comes last
    order = [d["department_id"] for d in report["departments"]]
    assert order == ["wh-sthj", "aq-sthj", "hf-sthj", "bb-sthj", "hn-sthj"]
    depts = _by_dept(report)
    kinds = {dept: {k["kind"]: _outcomes(k) for k in d["deadlines"]} for dept, d in depts.items()}
    #                    total on_time late breached stopped pending
    assert kinds["hf-sthj"] == {
        "authoritative_info": (1, 1, 0, 0, 0, 0),
        "press_conference": (1, 1, 0, 0, 0, 0),
        "response": (0, 0, 0, 0, 0, 0),
    }
    assert kinds["aq-sthj"]["authoritative_info"] == (1, 0, 1, 0, 0, 0)
    assert kinds["aq-sthj"]["press_conference"] == (1, 1, 0, 0, 0, 0)
    assert kinds["wh-sthj"]["authoritative_info"] == (1, 0, 0, 1, 0, 0)
    assert kinds["wh-sthj"]["press_conference"] == (1, 0, 0, 1, 0, 0)
    assert kinds["bb-sthj"]["response"] == (1, 0, 0, 0, 1, 0)  # stopped by the level rise: not counted
    assert kinds["hn-sthj"]["response"] == (1, 0, 0, 0, 0, 1)  # not due yet: pending, not a failure

    summary = {
        dept: (
            d["alerts"],
            _outcomes(d["total"]),
            d["total"]["assessed"],
            d["on_time_rate"],
            d["supervisions"],
            d["reassigned_away"],
        )
        for dept, d in depts.items()
    }
    assert summary == {
        "hf-sthj": (1, (2, 2, 0, 0, 0, 0), 2, 1.0, 0, 0),
        "aq-sthj": (1, (2, 1, 1, 0, 0, 0), 2, 0.5, 1, 1),
        "wh-sthj": (1, (2, 0, 0, 2, 0, 0), 2, 0.0, 2, 0),
        "bb-sthj": (1, (3, 2, 0, 0, 1, 0), 2, 1.0, 0, 0),
        "hn-sthj": (1, (1, 0, 0, 0, 0, 1), 0, None, 0, 0),
    }
    assert depts["aq-sthj"]["department_name"] == "安庆市生态环境局"
    by_kind = {k["kind"]: k for k in depts["aq-sthj"]["deadlines"]}
    assert by_kind["authoritative_info"]["on_time_rate"] == 0.0
    assert by_kind["press_conference"]["on_time_rate"] == 1.0

    # first detection → first acknowledgement (安庆's counts although it timed out later) and → published
    durations = {
        dept: (d["to_acknowledge"]["median_seconds"], d["to_publish"]["median_seconds"])
        for dept, d in depts.items()
    }
    assert durations == {
        "hf-sthj": (1800, 7200),
        "aq-sthj": (3600, 6 * 3600),
        "wh-sthj": (None, None),
        "bb-sthj": (7200, 3 * 3600),
        "hn-sthj": (None, None),
    }
    overall = report["overall"]
    assert overall["department_id"] is None and overall["alerts"] == 5
    assert _outcomes(overall["total"]) == (10, 5, 1, 2, 1, 1)
    assert overall["total"]["assessed"] == 8 and overall["on_time_rate"] == 5 / 8
    assert (overall["supervisions"], overall["reassigned_away"]) == (3, 1)
    ack, pub = overall["to_acknowledge"], overall["to_publish"]
    assert (ack["count"], ack["median_seconds"], ack["p90_seconds"]) == (3, 3600, 3600 + 3600 * 0.8)
    assert (pub["count"], pub["median_seconds"], pub["p90_seconds"]) == (
        3,
        3 * 3600,
        3 * 3600 + 3 * 3600 * 0.8,
    )


def test_an_unreadable_directory_shows_stored_names_or_ids_and_says_why(
    client: TestClient,
    seeded: dict[str, int],
    settings: Settings,
    database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Like the users page: no 503 for want of names. Names stored on the alerts, else the ids."""
    broken = Path(settings.departments_file)
    broken.write_text("departments: [", encoding="utf-8")  # no longer YAML
    with database.transaction() as session:
        session.execute(update(Alert).where(Alert.id == seeded["wh"]).values(department_name=None))
    login(client, "analyst")
    with caplog.at_level(logging.WARNING, logger="alerting.directory"):
        response = client.get("/api/performance")
    assert response.status_code == 200, response.text
    report = response.json()
    assert str(broken) in report["department_names_unavailable"]
    assert response.headers[NAMES_HEADER] == "unavailable"
    assert "department directory unavailable" in caplog.text and str(broken) in caplog.text
    names = {d["department_id"]: d["department_name"] for d in report["departments"]}
    assert names["wh-sthj"] is None and names["aq-sthj"] == "安庆市生态环境局"
    assert len(report["departments"]) == 5 and report["overall"]["alerts"] == 5

    exported = client.get("/api/performance.csv")
    assert exported.status_code == 200 and exported.headers[NAMES_HEADER] == "unavailable"
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0]["部门"] == "wh-sthj" and rows[1]["部门"] == "安庆市生态环境局"

    page = client.get("/performance")
    assert page.status_code == 200
    warning = page.text.split('id="names-unavailable">', 1)[1].split("</p>", 1)[0]
    assert "部门目录暂不可用" in warning and str(broken) in warning
    first_row = page.text.split('data-department="wh-sthj"', 1)[1].split("</tr>", 1)[0]
    assert ">wh-sthj</" in first_row


def test_the_date_filter_chooses_alerts_by_first_detection(
    client: TestClient, seeded: dict[str, int]
) -> None:
    login(client, "leader")
    old = client.get("/api/performance", params={"from": "2026-03-01", "to": "2026-04-13"}).json()
    assert [d["department_id"] for d in old["departments"]] == ["hf-sthj"]
    hf = old["departments"][0]
    assert (hf["alerts"], _outcomes(hf["total"]), hf["on_time_rate"], hf["supervisions"]) == (
        1,
        (2, 0, 0, 2, 0, 0),
        0.0,
        2,
    )
    # only the case first seen on 05-12 (Beijing); 安庆 appears for giving it up, with no alert of its own
    today = _by_dept(client.get("/api/performance", params={"from": "2026-05-12"}).json())
    assert set(today) == {"hn-sthj", "aq-sthj"}
    assert (today["hn-sthj"]["alerts"], today["hn-sthj"]["total"]["pending"]) == (1, 1)
    assert (today["aq-sthj"]["alerts"], today["aq-sthj"]["reassigned_away"]) == (0, 1)
    # 05-11 alone: the four cases first seen at 10:00 Beijing time on that day
    day = client.get("/api/performance", params={"from": "2026-05-11", "to": "2026-05-12"}).json()
    assert day["overall"]["alerts"] == 4
    empty = client.get("/api/performance", params={"from": "2026-01-01", "to": "2026-01-01"}).json()
    assert empty["departments"] == [] and empty["overall"]["on_time_rate"] is None


def test_csv_has_a_bom_chinese_header_and_parses_back(client: TestClient, seeded: dict[str, int]) -> None:
    login(client, "duty")
    response = client.get("/api/performance.csv", params={"from": "2026-04-13", "to": "2026-05-13"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="performance_2026-04-13_2026-05-12.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["部门"] for r in rows] == [
        "芜湖市生态环境局",
        "安庆市生态环境局",
        "合肥市生态环境局",
        "蚌埠市生态环境局",
        "淮南市生态环境局",
        "合计",
    ]
    aq, total = rows[1], rows[-1]
    assert (aq["部门编码"], aq["预警数"], aq["按时完成"], aq["超时完成"], aq["按时率"]) == (
        "aq-sthj",
        "1",
        "1",
        "1",
        "50.0%",
    )
    assert (aq["权威信息发布超时完成"], aq["新闻发布会按时率"], aq["督办次数"], aq["转出次数"]) == (
        "1",
        "100.0%",
        "1",
        "1",
    )
    assert aq["签收用时中位数（小时）"] == "1.00" and aq["发布用时中位数（小时）"] == "6.00"
    assert rows[3]["已停止（不计）"] == "1" and rows[4]["计时中（未到期）"] == "1" and rows[4]["按时率"] == ""
    assert (total["时限数"], total["超时未完成"], total["按时率"], total["留言答复时限数"]) == (
        "10",
        "2",
        "62.5%",
        "0",
    )


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-05-10", "to": "2026-05-01"}, "晚于"),
        ({"from": "2025-01-01", "to": "2026-01-03"}, "366"),
        ({"from": "1900-01-01"}, "超出"),
    ],
)
def test_bad_periods_are_422_problems(client: TestClient, params: dict[str, str], needle: str) -> None:
    login(client, "analyst")
    for path in ("/api/performance", "/api/performance.csv"):
        response = client.get(path, params=params)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["status"] == 422 and needle in problem["detail"], problem


def test_a_366_day_span_is_allowed(client: TestClient) -> None:
    login(client, "analyst")
    response = client.get("/api/performance", params={"from": "2025-01-01", "to": "2026-01-02"})
    assert response.status_code == 200 and response.json()["departments"] == []


def test_department_handlers_may_not_see_it(client: TestClient) -> None:
    login(client, "dept_a")
    for path in ("/api/performance", "/api/performance.csv", "/performance"):
        response = client.get(path, headers={"accept": "application/json"})
        assert response.status_code == 403, path
    assert "考核统计" in client.get("/api/performance").json()["detail"]
    assert 'href="/performance"' not in client.get("/department").text


def test_anonymous_api_is_401_and_the_page_asks_to_log_in(client: TestClient) -> None:
    assert client.get("/api/performance").status_code == 401
    page = client.get("/performance", params={"from": "2026-05-01"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=%2Fperformance")


def test_the_console_page(client: TestClient, seeded: dict[str, int]) -> None:
    login(client, "analyst")
    page = client.get("/performance")
    assert page.status_code == 200
    html = page.text
    assert 'href="/performance" class="on">考核统计</a>' in html
    assert "统计区间：2026-04-13 至 2026-05-12" in html
    assert 'href="/api/performance.csv?from=2026-04-13&amp;to=2026-05-13"' in html
    rows = html.split('data-department="')[1:]
    assert [r.split('"', 1)[0] for r in rows] == [
        "wh-sthj",
        "aq-sthj",
        "hf-sthj",
        "bb-sthj",
        "hn-sthj",
        "overall",
    ]
    assert 'rate-bad">0.0%' in rows[0] and 'rate-bad">50.0%' in rows[1] and 'rate-ok">100.0%' in rows[2]
    assert 'rate-none">—' in rows[4] and 'rate-warn">62.5%' in rows[5]
    assert '"values": [0.0, 50.0, 100.0, 100.0]' in html  # the chart: departments with a rate
    bad = client.get("/performance", params={"from": "2026-05-10", "to": "2026-05-01"})
    assert bad.status_code == 422 and "晚于" in bad.text and 'name="from" value="2026-05-10"' in bad.text


def test_period_rules_and_helpers() -> None:
    now = datetime(2026, 5, 31, 17, 0, tzinfo=UTC)  # already 06-01 in Beijing
    period = resolve_period(None, None, now=now)
    assert (period.date_from.isoformat(), period.date_to.isoformat(), period.days) == (
        "2026-05-03",
        "2026-06-02",
        30,
    )
    assert period.start == datetime(2026, 5, 2, 16, 0, tzinfo=UTC)  # 00:00 Beijing time
    assert quantile([], 0.5) is None and quantile([5.0], 0.9) == 5.0
    assert quantile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert [rate_class(r) for r in (None, 0.59, 0.6, 0.79, 0.8, 1.0)] == [
        "none",
        "bad",
        "warn",
        "warn",
        "ok",
        "ok",
    ]


def test_merged_alerts_are_left_out(settings: Settings, database: Database, clock: FakeClock) -> None:
    worker = alerting_worker(settings, database, clock)
    first = seed_incident(
        worker, database, incident_id="m1", title="合肥 排污", place=("合肥市", "3401"), first_seen=F
    )
    second = seed_incident(
        worker, database, incident_id="m2", title="合肥 排污 又", place=("合肥市", "3401"), first_seen=F
    )
    assert first and second
    with database.transaction() as session:
        service.merge(
            session,
            alert_id=second,
            into_id=first,
            reason="同一事件",
            actor="duty",
            channel="console",
            now=clock.now(),
        )
    with database.session() as session:
        report = department_performance(
            session, Period(F.date(), F.date() + timedelta(days=1)), now=clock.now()
        )
    assert report.overall.alerts == 1 and report.overall.total.total == 2


def _assignments(database: Database, alert_id: int) -> list[tuple[Any, ...]]:
    with database.session() as session:
        rows = session.scalars(
            select(AlertAssignment).where(AlertAssignment.alert_id == alert_id).order_by(AlertAssignment.id)
        )
        return [(r.from_department_id, r.to_department_id, r.kind, r.actor, r.reason, r.at) for r in rows]


def test_a_reassignment_chain_is_counted_from_the_assignments_table(
    settings: Settings, database: Database, clock: FakeClock, seeded: dict[str, int], db_engine: Engine
) -> None:
    """安庆 → 淮南 (转派, in ``seeded``) → 值班室 (退回) → 芜湖 (会商 lead): one reassignment away from each
    of the three; deleting the audit entries changes nothing, and the migration's back-fill from the
    audit log gives the same rows."""
    directory = alerting_worker(settings, database, clock).directory
    pending = seeded["pending"]
    clock.set(F + 29 * HOUR)
    with database.transaction() as session:
        service.reassign(
            session, alert_id=pending, department_id="ah-wxb", reason="退回值班室：不属本部门",
            directory=directory, actor="hn-officer", channel="console", now=clock.now(), kind="return",
        )
    clock.set(F + 29 * HOUR + HOUR / 2)
    with database.transaction() as session:
        consult.consult(
            session, alert_id=pending, lead_department_id="wh-sthj", assisting=["aq-sthj"], reason="跨市排污",
            directory=directory, actor="duty", channel="console", now=clock.now(),
        )
    rows = _assignments(database, pending)
    assert [r[:3] for r in rows] == [
        ("aq-sthj", "hn-sthj", "manual"),
        ("hn-sthj", "ah-wxb", "return"),
        ("ah-wxb", "wh-sthj", "consult"),
    ]
    period = Period(F.date(), F.date() + timedelta(days=2))
    with database.session() as session:
        before = department_performance(session, period, now=clock.now())
    away = {d.department_id: d.reassigned_away for d in before.departments}
    assert (away["aq-sthj"], away["hn-sthj"], away["ah-wxb"], away["wh-sthj"]) == (1, 1, 1, 0)
    assert before.overall.reassigned_away == 3

    # the back-fill: drop the table, migrate again, the rows come back from the audit log
    config = alembic_config(db_engine)
    command.downgrade(config, "c1a0000000b2-1")  # alert_assignments is the newest migration
    command.upgrade(config, "heads")
    assert _assignments(database, pending) == rows

    with database.transaction() as session:
        session.execute(delete(AuditLog).where(AuditLog.action == "reassign"))
    with database.session() as session:
        assert department_performance(session, period, now=clock.now()) == before
