"""Search, label correction, hostile content shown as text, and problem-detail errors."""

from __future__ import annotations

from datetime import timedelta

from factories import alerting_worker, login, page_csrf, seed_incident, seed_sources
from fastapi.testclient import TestClient
from sqlalchemy import select

from yuqing.clock import FakeClock
from yuqing.db.models import AuditLog, LabelCorrection
from yuqing.db.session import Database
from yuqing.ops_alerts import sync
from yuqing.schemas import Incident, Severity
from yuqing.settings import Settings


def _hostile_post_id(client: TestClient) -> str:
    hits = client.get("/api/search", params={"q": "排污", "sort": "time"}).json()["hits"]
    return next(h["id"] for h in hits if "<script>" in h["title"])


def test_search_filters_facets_and_pages(client: TestClient) -> None:
    login(client, "analyst")
    result = client.get("/api/search", params={"q": "排污"}).json()
    assert result["total"] == 2 and all("排污" in h["title"] for h in result["hits"])
    assert {b["value"] for b in result["facets"]["category"]} == {"环境保护"}
    assert sum(b["count"] for b in result["histogram"]) == 2
    everything = client.get("/api/search").json()
    assert everything["total"] == 3
    neutral = client.get("/api/search", params={"sentiment": "neutral"}).json()
    assert [h["title"] for h in neutral["hits"]] == ["学校 食堂 卫生 问题"]
    second_page = client.get("/api/search", params={"size": 2, "page": 2}).json()
    assert len(second_page["hits"]) == 1
    page = client.get("/search", params={"q": "排污"}).text
    assert "共 <strong>2</strong> 条" in page and "category=%E7%8E%AF%E5%A2%83%E4%BF%9D%E6%8A%A4" in page


def test_hostile_post_content_is_shown_as_text(client: TestClient) -> None:
    login(client, "analyst")
    post_id = _hostile_post_id(client)
    for path in ("/search?q=排污", f"/posts/{post_id}"):
        page = client.get(path).text
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path


def test_hostile_post_on_the_incident_page_is_text(client: TestClient, alerts: dict[str, int]) -> None:
    login(client, "duty")
    page = client.get(f"/alerts/{alerts['a']}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page


def test_label_correction_is_saved_for_training(client: TestClient, database: Database) -> None:
    csrf = login(client, "analyst")
    post_id = _hostile_post_id(client)
    saved = client.post(
        f"/api/posts/{post_id}/labels",
        json={"task": "sentiment", "label": "neutral"},
        headers={"X-CSRF-Token": csrf},
    )
    assert saved.status_code == 201 and saved.json()["previous"] == "negative"
    bad = client.post(
        f"/api/posts/{post_id}/labels",
        json={"task": "sentiment", "label": "angry"},
        headers={"X-CSRF-Token": csrf},
    )
    assert bad.status_code == 422
    form = client.post(
        f"/posts/{post_id}/labels",
        data={"task": "relevance", "label": "irrelevant", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert form.status_code == 303
    assert (
        client.post(
            "/api/posts/nope/labels",
            json={"task": "category", "label": "教育文体"},
            headers={"X-CSRF-Token": csrf},
        ).status_code
        == 404
    )
    with database.transaction() as session:
        rows = session.scalars(select(LabelCorrection).order_by(LabelCorrection.id)).all()
        assert [(r.task, r.label, r.user) for r in rows] == [
            ("sentiment", "neutral", "analyst"),
            ("relevance", "irrelevant", "analyst"),
        ]
        assert "<script>" in rows[0].text  # the text the model will learn from, as it was
        assert session.scalar(select(AuditLog).where(AuditLog.action == "label.correct")) is not None


def test_leader_cannot_correct_labels(client: TestClient) -> None:
    csrf = login(client, "leader")
    post_id = _hostile_post_id(client)
    response = client.post(
        f"/api/posts/{post_id}/labels",
        json={"task": "sentiment", "label": "neutral"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 403


def test_errors_are_problem_details(client: TestClient) -> None:
    login(client, "duty")
    invalid = client.get("/api/alerts", params={"limit": 0, "level": "严重"})
    assert invalid.status_code == 422
    assert invalid.headers["content-type"].startswith("application/problem+json")
    body = invalid.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["status"] == 422 and body["instance"] == "/api/alerts" and "limit" in body["detail"]
    assert {tuple(e["loc"]) for e in body["errors"]} == {("query", "limit"), ("query", "level", "0")}
    missing = client.get("/api/alerts/999999")
    assert missing.status_code == 404 and missing.json()["detail"] == "没有编号为 999999 的预警"
    assert client.get("/api/nothing-here").json()["status"] == 404
    html = client.get("/alerts/999999", headers={"accept": "text/html"})
    assert html.status_code == 404 and "找不到" in html.text


def test_source_health_page_and_api(client: TestClient, database: Database, clock: FakeClock) -> None:
    seed_sources(database, clock.now())
    login(client, "duty")
    health = {s["source_id"]: s for s in client.get("/api/sources/health").json()}
    assert health["news-a"]["status"] == "ok" and health["news-a"]["items_last_hour"] == 7
    assert health["forum-b"]["status"] == "failing" and health["forum-b"]["errors_last_day"] == {
        "http_status": 1
    }
    page = client.get("/sources").text
    assert "安庆新闻网" in page and "故障" in page and "HTTP 503" in page
    assert "合肥论坛&lt;b&gt;" in page
    assert "运行告警" not in page, "no operational alert is open yet"
    with database.transaction() as session:
        sync(session, kind="source_failing", problems={"forum-b": "合肥论坛<b>: failing (http_status ×1)"},
             checked={"forum-b"}, now=clock.now(), actor="system:crawler")
    ops = client.get("/api/sources/alerts").json()
    assert [(a["kind"], a["subject"]) for a in ops] == [("source_failing", "forum-b")]
    page = client.get("/sources").text
    assert "运行告警" in page and "信源故障" in page and "合肥论坛&lt;b&gt;: failing" in page
    client.post("/logout", data={"csrf_token": page_csrf(client, "/sources")})
    login(client, "dept_a")
    assert client.get("/api/sources/health").status_code == 403
    assert client.get("/api/sources/alerts").status_code == 403


def test_a_clock_stopped_by_a_level_rise_leaves_the_board_and_shows_greyed_on_the_incident(
    client: TestClient, settings: Settings, database: Database, clock: FakeClock
) -> None:
    worker = alerting_worker(settings, database, clock)
    first = clock.now() - timedelta(hours=1)
    alert_id = seed_incident(worker, database, incident_id="inc-rise", title="化工厂 冒烟", level="较大",
                             place=("安庆市", "3408"), first_seen=first)
    login(client, "duty")
    assert 'data-kind="response"' in client.get("/board/rows").text  # 较大: the 48 h response clock
    worker.ingest(Incident(id="inc-rise", title="化工厂 爆炸", first_seen=first, last_seen=clock.now(),
                           severity=Severity(level="重大"), version=2))
    rows = client.get("/board/rows").text
    assert 'data-kind="authoritative_info"' in rows and 'data-kind="press_conference"' in rows
    assert 'data-kind="response"' not in rows  # no longer applies: off the board
    page = client.get(f"/alerts/{alert_id}").text
    assert 'class="clock stopped" data-kind="response"' in page and "已停止" in page
