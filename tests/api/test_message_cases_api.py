"""留言 cases in the API and the console: ``kind`` filters /api/alerts; the board has 类型 tabs (不含留言 —
the default, so 留言 never crowd the 舆情 cases — / 政务舆情 / 留言咨询 / 政策文件 / 全部类型), and a
department page tabs by kind too."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.api.conftest import T0
from tests.api.factories import DEPT_A, alerting_worker, login
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.schemas import Incident, Location
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


def test_the_kind_filter_and_the_board_and_department_tabs(
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

    board = client.get("/board").text  # by default the board leaves the 留言 to their own tab
    assert 'aria-label="事件类型"' in board and "留言咨询" in board
    assert TITLE not in board and "合肥 工业园 排污" in board
    every_kind = client.get("/board", params={"kind": "all"}).text
    assert TITLE in every_kind and "合肥 工业园 排污" in every_kind
    messages = client.get("/board", params={"kind": "message"}).text
    assert TITLE in messages and "合肥 工业园 排污" not in messages
    assert 'data-fragment="/board/rows?view=all&amp;kind=message"' in messages  # live updates keep the tab
    rows = client.get("/board/rows", params={"kind": "opinion"}).text
    assert TITLE not in rows and "合肥 工业园 排污" in rows
    major = client.get("/board", params={"view": "major"}).text
    assert TITLE not in major, "a 一般 留言 never shows in the 重大 view"
    assert client.get("/board", params={"kind": "rumour"}).status_code == 422

    login(client, "dept_a")
    page = client.get("/department", params={"kind": "message"}).text  # the queue, under the notices
    assert f'<h2><a href="/alerts/{message_id}">{TITLE}' in page
    assert f'<h2><a href="/alerts/{alerts["a"]}">' not in page
    opinion_page = client.get("/department", params={"kind": "opinion"}).text
    assert f'<h2><a href="/alerts/{alerts["a"]}">' in opinion_page
    assert f'<h2><a href="/alerts/{message_id}">' not in opinion_page
