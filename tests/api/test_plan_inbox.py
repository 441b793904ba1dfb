"""A 监测方案 owner's inbox: the notices of the plan's new incidents (even with no alert) show under
我的通知 on the plans page until marked read; a department's copy shows on its workbench and only it may
mark it read."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.factories import DEPT_A, alerting_worker, login, page_csrf
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.schemas import Incident, Location, Severity
from yuqing.settings import Settings


def _incident(plan_id: int, clock: FakeClock) -> Incident:
    now = clock.now()
    return Incident(id="inc-inbox", title="化工厂排污河水发黑", first_seen=now, last_seen=now, post_count=3,
                    source_count=2, severity=Severity(level=None), plan_ids=[plan_id])


def test_an_owner_reads_a_plans_notice_on_the_plans_page(
    client: TestClient, settings: Settings, database: Database, clock: FakeClock
) -> None:
    csrf = login(client, "duty")
    form = {"csrf_token": csrf, "name": "排污", "expression": "排污", "owners": f"duty,dept:{DEPT_A}",
            "channels": "console", "action": "save"}
    saved = client.post("/plans", data=form, follow_redirects=False)
    assert saved.status_code == 303
    plan_id = int(saved.headers["location"].rsplit("/", 1)[1])
    assert "我的通知" not in client.get("/plans").text

    result = alerting_worker(settings, database, clock).ingest(_incident(plan_id, clock))
    assert result.alert_id is None  # no rule opens an alert: the owners hear of it all the same
    page = client.get("/plans").text
    assert "我的通知" in page and "1 条未读" in page
    assert "[监测方案 排污] 化工厂排污河水发黑 — 新事件" in page and 'href="/incidents/inc-inbox"' in page
    notice_id = int(page.split('id="my-notices"')[1].split('data-notification-id="')[1].split('"')[0])
    mine = client.get("/api/notifications/mine").json()
    assert [(n["id"], n["alert_id"], n["incident_id"]) for n in mine] == [(notice_id, None, "inc-inbox")]

    workbench = client.get("/department", params={"department_id": DEPT_A}).text
    assert "[监测方案 排污]" in workbench  # the owner department's copy on its workbench

    client.cookies.clear()
    csrf_b = login(client, "dept_b")
    other = client.post(f"/notifications/{notice_id}/read", data={"csrf_token": csrf_b, "next": "/plans"})
    assert other.status_code == 404  # someone else's notice
    assert "[监测方案 排污]" not in client.get("/plans").text
    assert client.get("/api/notifications/mine").json() == []

    client.cookies.clear()
    login(client, "duty")
    read = client.post(f"/notifications/{notice_id}/read", data={"csrf_token": page_csrf(client, "/plans"),
                                                                  "next": "/plans"}, follow_redirects=False)
    assert read.status_code == 303 and read.headers["location"] == "/plans"
    assert "我的通知" not in client.get("/plans").text

    client.cookies.clear()
    login(client, "dept_a")
    workbench = client.get("/department").text
    dept_notice = workbench.split('data-notification-id="')[1].split('"')[0]
    marked = client.post(f"/notifications/{dept_notice}/read",
                         data={"csrf_token": page_csrf(client, "/department"), "next": "/department"})
    assert marked.status_code == 200 and "[监测方案 排污]" not in client.get("/department").text


def test_an_owner_told_by_the_alert_hears_the_plan_once_and_then_its_rise(
    client: TestClient, settings: Settings, database: Database, clock: FakeClock
) -> None:
    csrf = login(client, "duty")
    form = {"csrf_token": csrf, "name": "爆炸", "expression": "爆炸", "owners": "duty", "channels": "console",
            "action": "save"}
    saved = client.post("/plans", data=form, follow_redirects=False)
    plan_id = int(saved.headers["location"].rsplit("/", 1)[1])
    now = clock.now()
    major = Incident(id="inc-blast", title="化工厂爆炸", first_seen=now, last_seen=now, post_count=3,
                     source_count=2, severity=Severity(level="重大"), category="安全生产",
                     locations=[Location(name="合肥市", code="3401")], plan_ids=[plan_id])
    worker = alerting_worker(settings, database, clock)
    result = worker.ingest(major)
    assert result.outcome == "created"
    mine = client.get("/api/notifications/mine").json()
    assert [(n["alert_id"], n["incident_id"]) for n in mine] == [(result.alert_id, None)]  # the alert's, once

    grown = major.model_copy(update={"version": 2, "post_count": 12})
    assert worker.ingest(grown).outcome == "updated"
    mine = client.get("/api/notifications/mine").json()
    assert len(mine) == 2 and mine[0]["incident_id"] == "inc-blast"
    assert "升温" in mine[0]["subject"]  # counted from what the alert's notice told: 3 → 12 posts
