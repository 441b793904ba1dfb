"""The duty room's counters, the closed and recent views (with filters and Chinese errors), the wall screen,
签收 from a board row without script, the leader's open 重大 cases and the workbench's one notice per event,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from factories import DEPT_A, act, alerting_worker, login, seed_incident
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerting import service
from alerting.models import Alert, Notification
from alerting.outbox import Recipient
from alerting.read_models import EndedFilters, board_counters, ended_or_recent_alerts
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings


def _close(database: Database, alert_id: int, clock: FakeClock) -> None:
    """关闭（复盘） through the service: 签收 if need be, information published, press conference held."""
    with database.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        status, informed = alert.status, alert.info_link is not None
    if status == "new":
        act(database, "ack", alert_id, clock.now())
    if not informed:
        act(database, "info", alert_id, clock.now())
    act(database, "press", alert_id, clock.now())
    with database.transaction() as session:
        service.close(session, alert_id=alert_id, review="复盘：已回应", actor="duty", channel="console",
                      now=clock.now())


def test_counters_follow_the_clocks_and_acknowledgements(
    database: Database, clock: FakeClock, alerts: dict[str, int]
) -> None:
    # two 重大 alerts an hour old: the 5-hour 权威信息 clock has 4 hours left
    with database.session() as session:
        c = board_counters(session, now=clock.now())
    got = (c.open, c.by_level["重大"], c.by_level["特别重大"], c.due_within_hour, c.overdue, c.unacknowledged)
    assert got == (2, 2, 0, 0, 0, 2)
    act(database, "ack", alerts["a"], clock.now())
    clock.advance(timedelta(hours=3, minutes=30))  # 30 minutes left on both
    with database.session() as session:
        c = board_counters(session, now=clock.now())
        scoped = board_counters(session, now=clock.now(), department_id=DEPT_A)
    assert (c.due_within_hour, c.overdue, c.unacknowledged) == (2, 0, 1)
    assert (scoped.open, scoped.due_within_hour, scoped.unacknowledged) == (1, 1, 0)
    clock.advance(timedelta(hours=1))  # both past the 5-hour clock
    act(database, "info", alerts["a"], clock.now())  # a's 5-hour clock met: its next clock is the 24-hour one
    with database.session() as session:
        c = board_counters(session, now=clock.now())
    assert (c.due_within_hour, c.overdue) == (0, 1)
    _close(database, alerts["a"], clock)
    with database.session() as session:
        c = board_counters(session, now=clock.now())
    assert (c.open, c.by_level["重大"], c.overdue) == (1, 1, 1)
    assert json.loads(c.header()) == {"open": 1, "due_1h": 0, "overdue": 1, "unacked": 1,
                                      "l4": 0, "l3": 1, "l2": 0, "l1": 0}


def test_closed_and_recent_queries_with_filters(
    settings: Settings, database: Database, clock: FakeClock, alerts: dict[str, int]
) -> None:
    worker = alerting_worker(settings, database, clock)
    older = seed_incident(worker, database, incident_id="inc-old", title="安庆 老旧 小区 停水",
                          place=("安庆市", "3408"), first_seen=clock.now() - timedelta(days=10), level="较大")
    assert older is not None
    with database.transaction() as session:  # created ten days ago
        row = session.get(Alert, older)
        assert row is not None
        row.created_at = clock.now() - timedelta(days=10)
    _close(database, alerts["a"], clock)
    clock.advance(timedelta(hours=1))

    def ids(view: str, **kw: object) -> list[int]:
        with database.session() as session:
            rows, total = ended_or_recent_alerts(session, view=view, now=clock.now(),  # type: ignore[arg-type]
                                                 filters=EndedFilters(**kw))
        assert total == len(rows)
        return [a.id for a in rows]

    assert ids("closed") == [alerts["a"]]
    assert ids("closed", level="较大") == []
    assert ids("closed", department_id=DEPT_A) == [alerts["a"]]
    assert ids("closed", q="化工厂") == [alerts["a"]] and ids("closed", q="合肥") == []
    assert ids("recent") == sorted([alerts["a"], alerts["b"]], reverse=True)  # newest first, any status
    assert ids("recent", days=30) == [*sorted([alerts["a"], alerts["b"]], reverse=True), older]
    assert ids("recent", days=30, q="100%_") == []  # LIKE wildcards are text
    clock.advance(timedelta(days=2))
    assert ids("closed", days=1) == [] and ids("closed", days=7) == [alerts["a"]]
    with database.session() as session:
        rows, _ = ended_or_recent_alerts(session, view="closed", now=clock.now(), filters=EndedFilters(),
                                         scope="hf-sthj")
    assert rows == []  # a department sees only its own


def test_closed_view_page_and_chinese_errors(client: TestClient, database: Database, clock: FakeClock,
                                             alerts: dict[str, int]) -> None:
    _close(database, alerts["a"], clock)
    login(client, "duty")
    board = client.get("/board").text
    assert "安庆 化工厂 排污" not in board  # closed: off the open board
    closed = client.get("/board", params={"view": "closed"})
    assert closed.status_code == 200
    assert "安庆 化工厂 排污 河水 发黑" in closed.text and "已办结" in closed.text
    filtered = client.get("/board", params={"view": "closed", "level": "较大"}).text
    assert "安庆 化工厂 排污 河水 发黑" not in filtered and "这段时间没有关闭的预警" in filtered
    rows = client.get("/board/rows", params={"view": "closed", "q": "化工厂"})
    assert rows.status_code == 200 and "安庆 化工厂 排污 河水 发黑" in rows.text
    html = {"Accept": "text/html"}
    for params, words in (
        ({"view": "bogus"}, "看板没有「bogus」这个视图"),
        ({"view": "closed", "days": "abc"}, "时间范围「abc」无效"),
        ({"view": "closed", "level": "huge"}, "级别「huge」无效"),
    ):
        bad = client.get("/board", params=params, headers=html)
        assert bad.status_code == 422 and words in bad.text, bad.text[-500:]
        assert "Input should be" not in bad.text
    login(client, "dept_b")  # 合肥: 安庆's closed case is not theirs
    assert "安庆 化工厂 排污" not in client.get("/board", params={"view": "closed"}).text


def test_wall_screen_and_board_counters_header(client: TestClient, alerts: dict[str, int]) -> None:
    login(client, "duty")
    wall = client.get("/board/wall")
    assert wall.status_code == 200
    assert len(re.findall(r'<tr data-alert-id="', wall.text)) == 2
    assert re.search(r'data-counter="l3">2<', wall.text)
    assert re.search(r'data-counter="unacked">2<', wall.text)
    rows = client.get("/board/wall/rows")
    assert json.loads(rows.headers["X-Board-Counters"])["open"] == 2
    assert json.loads(client.get("/board/rows").headers["X-Board-Counters"])["l3"] == 2
    login(client, "dept_a")
    assert json.loads(client.get("/board/wall/rows").headers["X-Board-Counters"])["open"] == 1


def test_acknowledge_from_a_row_without_script(client: TestClient, database: Database,
                                               alerts: dict[str, int]) -> None:
    csrf = login(client, "duty")
    board = client.get("/board").text
    assert f'action="/alerts/{alerts["a"]}/actions/acknowledge"' in board and "尚未签收" in board
    done = client.post(f"/alerts/{alerts['a']}/actions/acknowledge",
                       data={"csrf_token": csrf, "next": "/board?view=new"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/board?view=new"
    page = client.get("/board").text
    assert "签收人 duty" in page
    assert f'action="/alerts/{alerts["a"]}/actions/acknowledge"' not in page  # no button once acknowledged
    elsewhere = client.post(
        f"/alerts/{alerts['b']}/actions/acknowledge",
        data={"csrf_token": csrf, "next": "https://evil.example/board"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == f"/alerts/{alerts['b']}?done=acknowledge"  # never off the site
    login(client, "leader")
    assert "actions/acknowledge" not in client.get("/board").text  # a leader does not 签收


def test_leader_view_lists_open_major_cases_first(client: TestClient, database: Database, clock: FakeClock,
                                                  alerts: dict[str, int]) -> None:
    login(client, "leader")
    page = client.get("/leader").text
    major = page.index('id="major-cases"')
    assert major < page.index("督办事项") < page.index("各部门（超时优先）")
    section = page[major:page.index("</section>", major)]
    assert "安庆 化工厂 排污 河水 发黑" in section and "合肥 工业园 排污" in section
    assert 'data-kind="authoritative_info"' in section and "剩余 3:59:59" not in section  # a live clock
    api = client.get("/api/overview/leader").json()
    assert {a["id"] for a in api["major"]} == {alerts["a"], alerts["b"]}
    _close(database, alerts["a"], clock)
    api = client.get("/api/overview/leader").json()
    assert [a["id"] for a in api["major"]] == [alerts["b"]]


def test_workbench_one_notice_per_event_and_its_live_fragment(
    client: TestClient, settings: Settings, database: Database, clock: FakeClock, alerts: dict[str, int]
) -> None:
    worker = alerting_worker(settings, database, clock)
    with database.transaction() as session:
        alert = session.get(Alert, alerts["a"])
        assert alert is not None
        worker._deliver(session, alert, None, "level:特别重大", 0, [
            Recipient(role="department", key=f"department:{DEPT_A}:办公室", name="办公室"),
            Recipient(role="department_head", key=f"department_head:{DEPT_A}:王局长", name="王局长"),
        ], clock.now())
    with database.session() as session:
        copies = session.scalars(select(Notification.id).where(
            Notification.threshold == "level:特别重大", Notification.channel == "console")).all()
    assert len(copies) == 2
    csrf = login(client, "dept_a")
    items = client.get("/department/items")
    assert items.status_code == 200 and "X-Alerts-Version" in items.headers
    assert items.text.count("级别上升") == 1
    api = client.get("/api/overview/department").json()
    assert sum("级别上升" in n["subject"] for n in api["notifications"]) == 1
    notice = re.search(r'/notifications/(\d+)/read', items.text.split("级别上升")[1])
    assert notice
    read = client.post(
        f"/notifications/{notice.group(1)}/read",
        data={"csrf_token": csrf, "next": "/department"},
        follow_redirects=False,
    )
    assert read.status_code == 303 and read.headers["location"] == "/department"
    with database.session() as session:
        unread = session.scalars(select(Notification.id).where(
            Notification.threshold == "level:特别重大", Notification.read_at.is_(None))).all()
    assert unread == []  # both copies of the one event
    assert "级别上升" not in client.get("/department").text
