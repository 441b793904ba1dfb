"""留言 cases in the API and the console: ``kind`` filters /api/alerts; the board has a 留言咨询 tab and its
other views leave 留言 out, so they never crowd the 舆情 cases; a department's workbench lists them."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.api.conftest import T0
from tests.api.factories import DEPT_A, alerting_worker, login
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.schemas import Incident, Location, MessageReply
from yuqing.settings import Settings

TITLE = "安庆市大观区某小区连续三天停水"


def seed_message(settings: Settings, database: Database, clock: FakeClock) -> int:
    worker = alerting_worker(settings, database, clock)
    result = worker.ingest(
        Incident(
            id="inc-msg",
            title=TITLE,
            first_seen=T0 - timedelta(hours=2),
            last_seen=T0 - timedelta(hours=2),
            locations=[Location(name="安庆市", code="3408", level="city")],
            category="环境保护",
            department_type="生态环境局",
            post_count=1,
            source_count=1,
            kind="message",
        )
    )
    assert result.outcome == "created" and result.alert_id
    return result.alert_id


def test_the_kind_filter_the_board_tab_and_the_department_page(
    client: TestClient, alerts: dict[str, int], settings: Settings, database: Database, clock: FakeClock
) -> None:
    message_id = seed_message(settings, database, clock)
    login(client, "duty")
    every = client.get("/api/alerts").json()
    assert every["total"] == 3
    only = client.get("/api/alerts", params={"kind": "message"}).json()
    assert [a["id"] for a in only["items"]] == [message_id]
    [case] = only["items"]
    assert case["incident_kind"] == "message" and case["level"] == "一般"
    assert case["next_due_kind"] == "message_reply" and case["department_id"] == DEPT_A
    opinions = client.get("/api/alerts", params={"kind": "opinion"}).json()
    assert {a["id"] for a in opinions["items"]} == set(alerts.values())
    assert client.get("/api/alerts", params={"kind": "rumour"}).status_code == 422

    board = client.get("/board").text  # 留言 live on their own tab, never crowding the other views
    assert '<a href="/board?view=message" class="">留言咨询</a>' in board
    assert TITLE not in board and "合肥 工业园 排污" in board
    messages = client.get("/board", params={"view": "message"}).text
    assert TITLE in messages and "合肥 工业园 排污" not in messages
    assert 'data-fragment="/board/rows?view=message"' in messages  # live updates keep the tab
    rows = client.get("/board/rows", params={"view": "message"}).text
    assert TITLE in rows and "合肥 工业园 排污" not in rows
    for view in ("new", "overdue", "major"):
        assert TITLE not in client.get("/board/rows", params={"view": view}).text, view

    login(client, "dept_a")  # the department's workbench lists its 留言 cases with the rest
    page = client.get("/department").text
    assert re.search(rf'<h2><a href="/alerts/{message_id}"[^>]*>{TITLE}', page)
    assert f'<h2><a href="/alerts/{alerts["a"]}"' in page


def test_the_case_page_shows_the_reply_on_its_timeline(
    client: TestClient, settings: Settings, database: Database, clock: FakeClock
) -> None:
    message_id = seed_message(settings, database, clock)
    worker = alerting_worker(settings, database, clock)
    reply = MessageReply(text="已协调供水公司抢修，今日恢复供水。", department="安庆市住建局",
                         replied_at=T0 - timedelta(hours=1), post_id="p1",
                         url="https://liuyan.example.gov.cn/msg/1.html", seen_at=T0)
    answered = Incident(id="inc-msg", title=TITLE, first_seen=T0 - timedelta(hours=2),
                        last_seen=T0 - timedelta(hours=2), kind="message", version=2, reply=reply,
                        locations=[Location(name="安庆市", code="3408", level="city")], category="环境保护")
    assert worker.ingest(answered).alert_id == message_id
    login(client, "duty")
    page = client.get(f"/alerts/{message_id}").text
    assert 'data-release-kind="message_reply"' in page and "留言答复" in page
    assert "安庆市住建局：已协调供水公司抢修" in page and "网站已答复留言" in page
