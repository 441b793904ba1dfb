"""回应口径 and the spokesperson through the API and on the alert page; bad input answers problem+json."""

from __future__ import annotations

from factories import login
from fastapi.testclient import TestClient

PROBLEM = "application/problem+json"


def test_response_line_and_spokesperson_in_the_alert_data(client: TestClient, alerts: dict[str, int]) -> None:
    csrf = {"X-CSRF-Token": login(client, "duty")}
    alert_id = alerts["a"]
    line = client.post(f"/api/alerts/{alert_id}/response-line", headers=csrf, json={
        "text": "排污口已封堵，水质监测结果将及时公布", "approved_by": "市委宣传部 王某",
        "approved_at": "2026-05-11T08:00:00+08:00"})
    assert line.status_code == 200, line.text
    spoke = client.post(f"/api/alerts/{alert_id}/spokesperson", headers=csrf,
                        json={"name": "张某", "role": "spokesperson"})
    assert spoke.status_code == 200, spoke.text
    detail = client.get(f"/api/alerts/{alert_id}").json()
    assert detail["response_line"] == "排污口已封堵，水质监测结果将及时公布"
    assert detail["response_line_approved_by"] == "市委宣传部 王某"
    assert detail["response_line_approved_at"].startswith("2026-05-11T00:00:00")
    assert (detail["spokesperson_name"], detail["spokesperson_role"]) == ("张某", "spokesperson")
    assert detail["spoke_at"] is not None
    history = [h["action"] for h in client.get(f"/api/alerts/{alert_id}/history").json()]
    assert "response_line" in history and "spokesperson" in history


def test_bad_response_line_or_speaker_answers_problem_details(
    client: TestClient, alerts: dict[str, int]
) -> None:
    csrf = {"X-CSRF-Token": login(client, "duty")}
    alert_id = alerts["a"]
    for path, body, status in (
        ("response-line", {"text": "口径"}, 422),
        ("response-line", {"text": "  ", "approved_by": "王某"}, 422),
        ("response-line", {"text": "口径", "approved_by": "王某", "approved_at": "2999-01-01T00:00"}, 422),
        ("spokesperson", {"name": "张某", "role": "reporter"}, 422),
        ("spokesperson", {"role": "principal"}, 422),
    ):
        response = client.post(f"/api/alerts/{alert_id}/{path}", headers=csrf, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
    unknown = client.post("/api/alerts/987654/response-line", headers=csrf,
                          json={"text": "口径", "approved_by": "王某"})
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith(PROBLEM)
    detail = client.get(f"/api/alerts/{alert_id}").json()
    assert detail["response_line"] is None and detail["spokesperson_name"] is None


def test_the_alert_page_records_and_shows_them(client: TestClient, alerts: dict[str, int]) -> None:
    csrf = login(client, "duty")
    alert_id = alerts["a"]
    page = client.get(f"/alerts/{alert_id}").text
    assert 'data-action="response_line"' in page and 'data-action="spokesperson"' in page
    done = client.post(f"/alerts/{alert_id}/actions/response_line", follow_redirects=False, data={
        "csrf_token": csrf, "text": "正在全力处置，结果及时公布", "approved_by": "市委宣传部 王某",
        "approved_at": ""})
    assert done.status_code == 303 and done.headers["location"].endswith("?done=response_line")
    client.post(f"/alerts/{alert_id}/actions/spokesperson", follow_redirects=False,
                data={"csrf_token": csrf, "role": "principal", "name": "李某"})
    page = client.get(f"/alerts/{alert_id}").text
    line = page[page.index('id="response-line"'):]
    assert line.index("正在全力处置，结果及时公布") < line.index("市委宣传部 王某 审定")
    speaker = page[page.index('id="spokesperson"'):]
    assert speaker.index("主要负责人 李某") < speaker.index("</dd>")
    missing = client.post(f"/alerts/{alert_id}/actions/response_line",
                          data={"csrf_token": csrf, "text": "口径"})
    assert missing.status_code == 422 and "无法记录回应口径" in missing.text
