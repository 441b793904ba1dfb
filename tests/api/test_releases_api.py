"""持续发布 through the API and the console: a second 权威信息 and a 进展通报 go on the alert's timeline (no
409), appear on the alert page and in 效果评估; a bad link, an empty note, a closed alert: problem+json."""

from __future__ import annotations

from datetime import timedelta

from factories import login
from fastapi.testclient import TestClient

from yuqing.clock import FakeClock

PROBLEM = "application/problem+json"


def test_releases_through_the_api(client: TestClient, alerts: dict[str, int], clock: FakeClock) -> None:
    csrf = {"X-CSRF-Token": login(client, "duty")}
    alert_id = alerts["a"]
    client.post(f"/api/alerts/{alert_id}/acknowledge", json={}, headers=csrf)
    clock.advance(timedelta(hours=1))
    first = client.post(f"/api/alerts/{alert_id}/releases", headers=csrf, json={
        "kind": "authoritative_info", "link": "https://www.aq.gov.cn/news/1.html", "note": "市政府官网通报"})
    assert first.status_code == 200 and first.json()["status"] == "info_published"
    clock.advance(timedelta(hours=1))
    second = client.post(f"/api/alerts/{alert_id}/info-published", headers=csrf, json={
        "link": "https://www.aq.gov.cn/news/2.html", "evidence": "第二次权威发布"})
    assert second.status_code == 200, second.text
    progress = client.post(f"/api/alerts/{alert_id}/releases", headers=csrf, json={
        "link": "https://www.aq.gov.cn/news/3.html", "note": "水质监测进展"})
    assert progress.status_code == 200 and progress.json()["status"] == "info_published"

    detail = client.get(f"/api/alerts/{alert_id}").json()
    assert [(r["kind"], r["label"], r["note"]) for r in detail["releases"]] == [
        ("authoritative_info", "权威信息", "市政府官网通报"),
        ("authoritative_info", "权威信息", "第二次权威发布"),
        ("progress", "进展通报", "水质监测进展"),
    ]
    assert detail["releases"][0]["deadlines_met"] == ["authoritative_info"]
    five_hour = next(d for d in detail["deadlines"] if d["kind"] == "authoritative_info")
    assert five_hour["met_at"] == detail["releases"][0]["released_at"]
    listed = client.get(f"/api/alerts/{alert_id}/releases").json()
    assert [r["link"] for r in listed] == [r["link"] for r in detail["releases"]]
    history = [h["action"] for h in client.get(f"/api/alerts/{alert_id}/history").json()]
    assert history.count("release") == 2 and history.count("publish_info") == 1

    effect = client.get(f"/api/incidents/{detail['incident_id']}").json()["effect"]
    assert [m["label"] for m in effect["releases"]] == ["权威信息", "权威信息", "进展通报"]
    assert "发布 3 次：权威信息" in effect["summary"]


def test_bad_releases_answer_problem_details(
    client: TestClient, alerts: dict[str, int], clock: FakeClock
) -> None:
    csrf = {"X-CSRF-Token": login(client, "duty")}
    alert_id = alerts["a"]
    url = f"/api/alerts/{alert_id}/releases"
    for body in (
        {"link": "javascript:alert(1)", "note": "x"},
        {"link": "ftp://gov.example/a", "note": "x"},
        {"link": "https://gov.example/a", "note": "   "},
        {"link": "https://gov.example/a"},
        {"link": "https://gov.example/a", "note": "x", "kind": "rumour"},
    ):
        response = client.post(url, headers=csrf, json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith(PROBLEM)
    missing = client.post("/api/alerts/999999/releases", headers=csrf,
                          json={"link": "https://gov.example/a", "note": "x"})
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM)
    assert client.get(f"/api/alerts/{alert_id}").json()["releases"] == []


def test_no_release_on_a_closed_alert(client: TestClient, alerts: dict[str, int]) -> None:
    csrf = {"X-CSRF-Token": login(client, "duty")}
    alert_id = alerts["b"]
    detail = client.get(f"/api/alerts/{alert_id}").json()
    client.post(f"/api/alerts/{alert_id}/acknowledge", json={}, headers=csrf)
    client.post(f"/api/alerts/{alert_id}/releases", headers=csrf,
                json={"kind": "authoritative_info", "link": "https://gov.example/1", "note": "通报"})
    if any(d["kind"] == "press_conference" for d in detail["deadlines"]):
        client.post(f"/api/alerts/{alert_id}/press-conference", headers=csrf,
                    json={"link": "https://gov.example/p", "evidence": "发布会"})
    closed = client.post(f"/api/alerts/{alert_id}/close", headers=csrf, json={"review": "复盘"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    late = client.post(f"/api/alerts/{alert_id}/releases", headers=csrf,
                       json={"link": "https://gov.example/2", "note": "补充通报"})
    assert late.status_code == 409 and late.headers["content-type"].startswith(PROBLEM)
    assert "已办结" in late.json()["detail"] and "记录持续发布" in late.json()["detail"]


def test_the_alert_page_shows_the_timeline_and_records_a_release(
    client: TestClient, alerts: dict[str, int]
) -> None:
    csrf = login(client, "duty")
    alert_id = alerts["a"]
    client.post(f"/api/alerts/{alert_id}/acknowledge", json={}, headers={"X-CSRF-Token": csrf})
    page = client.get(f"/alerts/{alert_id}").text
    assert 'data-action="release"' in page and 'id="releases"' in page
    done = client.post(f"/alerts/{alert_id}/actions/release", follow_redirects=False, data={
        "csrf_token": csrf, "kind": "authoritative_info", "link": "https://www.aq.gov.cn/n/1.html",
        "note": "市生态环境局通报"})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=release")
    client.post(f"/alerts/{alert_id}/actions/release", follow_redirects=False, data={
        "csrf_token": csrf, "kind": "progress", "link": "https://www.aq.gov.cn/n/2.html", "note": "处置进展"})
    page = client.get(f"/alerts/{alert_id}").text
    timeline = page[page.index('id="releases"'):]
    assert timeline.index("市生态环境局通报") < timeline.index("处置进展")
    assert "进展通报" in timeline and "https://www.aq.gov.cn/n/2.html" in timeline
    bad = client.post(f"/alerts/{alert_id}/actions/release", data={
        "csrf_token": csrf, "kind": "progress", "link": "javascript:alert(1)", "note": "x"})
    assert bad.status_code == 422 and "无法记录持续发布" in bad.text
