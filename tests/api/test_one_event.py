"""One event, one alert, as the console shows it: a second incident of the same explosion (same place,
same event words, 40 minutes later) merges into the first one's alert; the incident list shows the event
once, with the alert's level, and the incident page lists the merged incident."""

from __future__ import annotations

from datetime import timedelta

from factories import alerting_worker, login, seed_incident
from fastapi.testclient import TestClient

from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings


def test_the_aftermath_incident_merges_and_the_list_shows_one_level(
    client: TestClient, settings: Settings, database: Database, clock: FakeClock
) -> None:
    worker = alerting_worker(settings, database, clock)
    start = clock.now() - timedelta(hours=1)
    boom = seed_incident(worker, database, incident_id="inc-boom", title="安庆 化工厂 车间 爆炸 多人 伤亡",
                         place=("安庆市", "3408"), first_seen=start, level="重大")
    after = seed_incident(worker, database, incident_id="inc-after",
                          title="安庆 爆炸 企业 周边 群众 正在 疏散 空气 刺鼻", place=("安庆市", "3408"),
                          first_seen=start + timedelta(minutes=40), level="一般")
    assert boom and after and boom != after
    login(client, "duty")
    merged = client.get(f"/api/alerts/{after}").json()
    assert merged["status"] == "merged" and merged["merged_into_id"] == boom
    history = client.get(f"/api/alerts/{after}/history").json()
    assert any(h["action"] == "merge" and "同一事件自动合并" in (h["reason"] or "") for h in history)
    items = client.get("/api/incidents").json()["items"]
    assert [i["id"] for i in items] == ["inc-boom"]  # the event once
    assert items[0]["alert_level"] == "重大"
    major = client.get("/api/incidents", params={"severity_at_least": "重大"}).json()["items"]
    assert [i["id"] for i in major] == ["inc-boom"]
    page = client.get("/incidents").text
    assert "周边 群众" not in page and "重大" in page
    detail = client.get("/incidents/inc-boom").text
    assert "inc-after" in detail or "周边 群众" in detail  # the merged incident is listed on the event's page
