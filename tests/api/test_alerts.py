"""Alerts through the API and the console: department scoping, the duty-officer actions, deadlines that
stop when met, and role checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from factories import DEPT_A, DEPT_B, login
from fastapi.testclient import TestClient

from api.main import create_app
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage import StoreError


def test_alert_list_is_sorted_by_urgency_and_paginated(client: TestClient, alerts: dict[str, int]) -> None:
    login(client, "duty")
    page = client.get("/api/alerts", params={"limit": 1}).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    first = page["items"][0]
    assert first["level"] == "重大" and first["next_due_kind"] == "authoritative_info"
    second = client.get("/api/alerts", params={"limit": 1, "offset": 1}).json()["items"][0]
    assert second["id"] != first["id"]
    assert first["next_due_at"] <= second["next_due_at"]


def test_department_handler_sees_only_its_own_alerts_in_the_api(
    client: TestClient, alerts: dict[str, int]
) -> None:
    login(client, "dept_a")
    items = client.get("/api/alerts").json()["items"]
    assert [a["id"] for a in items] == [alerts["a"]]
    assert all(a["department_id"] == DEPT_A for a in items)
    assert client.get("/api/alerts", params={"department": DEPT_B}).json()["total"] == 0
    for path in (f"/api/alerts/{alerts['b']}", f"/api/alerts/{alerts['b']}/history", "/api/incidents/inc-hf"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"/api/alerts/{alerts['a']}").status_code == 200


def test_department_handler_cannot_act_on_another_departments_alert(
    client: TestClient, alerts: dict[str, int]
) -> None:
    csrf = login(client, "dept_b")
    response = client.post(f"/api/alerts/{alerts['a']}/acknowledge", json={}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 404
    own = client.post(f"/api/alerts/{alerts['b']}/acknowledge", json={}, headers={"X-CSRF-Token": csrf})
    assert own.status_code == 200 and own.json()["acknowledged_by"] == "dept_b"


def test_department_handler_cannot_see_another_departments_alert_in_the_console(
    client: TestClient, alerts: dict[str, int]
) -> None:
    login(client, "dept_a")
    board = client.get("/board").text
    assert "安庆 化工厂 排污" in board and "合肥 工业园 排污" not in board
    assert "合肥 工业园 排污" not in client.get("/board/rows").text
    assert "合肥 工业园 排污" not in client.get("/department").text
    assert client.get(f"/alerts/{alerts['b']}").status_code == 404
    assert client.get("/incidents/inc-hf").status_code == 404
    assert client.get(f"/alerts/{alerts['a']}").status_code == 200


def test_duty_officer_flow_stops_the_five_hour_clock(
    client: TestClient, alerts: dict[str, int], clock: FakeClock
) -> None:
    csrf = {"X-CSRF-Token": login(client, "duty")}
    alert_id = alerts["a"]
    detail = client.get(f"/api/alerts/{alert_id}").json()
    five_hour = next(d for d in detail["deadlines"] if d["kind"] == "authoritative_info")
    assert five_hour["state"] == "open" and five_hour["remaining_seconds"] == 4 * 3600
    assert (
        client.post(f"/api/alerts/{alert_id}/acknowledge", json={}, headers=csrf).json()["status"]
        == "acknowledged"
    )
    clock.advance(timedelta(hours=2))
    missing_link = client.post(
        f"/api/alerts/{alert_id}/info-published", json={"link": "not a url", "evidence": "x"}, headers=csrf
    )
    assert missing_link.status_code == 422
    published = client.post(
        f"/api/alerts/{alert_id}/info-published",
        headers=csrf,
        json={"link": "https://www.aq.gov.cn/news/1.html", "evidence": "市政府官网发布通报"},
    )
    assert published.status_code == 200 and published.json()["status"] == "info_published"
    detail = client.get(f"/api/alerts/{alert_id}").json()
    five_hour = next(d for d in detail["deadlines"] if d["kind"] == "authoritative_info")
    assert five_hour["state"] == "met" and five_hour["met_at"] is not None
    history = [h["action"] for h in client.get(f"/api/alerts/{alert_id}/history").json()]
    assert "acknowledge" in history and "publish_info" in history
    # acknowledging again is a conflict, not a crash
    again = client.post(f"/api/alerts/{alert_id}/acknowledge", json={}, headers=csrf)
    assert again.status_code == 409 and "不能执行「签收」" in again.json()["detail"]


def test_roles_limit_actions(client: TestClient, alerts: dict[str, int]) -> None:
    csrf = {"X-CSRF-Token": login(client, "analyst")}
    refused = client.post(f"/api/alerts/{alerts['a']}/acknowledge", json={}, headers=csrf)
    assert refused.status_code == 403 and "分析员" in refused.json()["detail"]
    assert client.get("/api/overview/leader").status_code == 403
    assert client.get("/leader").status_code == 403
    client.post("/logout", data={"csrf_token": csrf["X-CSRF-Token"]})
    csrf = {"X-CSRF-Token": login(client, "leader")}
    supervised = client.post(
        f"/api/alerts/{alerts['a']}/supervision", json={"reason": "群众反映强烈，请加快处置"}, headers=csrf
    )
    assert supervised.status_code == 200 and supervised.json()["status"] == "supervised"
    overview = client.get("/api/overview/leader").json()
    assert [a["id"] for a in overview["escalations"]] == [alerts["a"]]
    assert {r["region_code"] for r in overview["regions"]} >= {"3408", "3401"}
    assert (
        client.post(f"/api/alerts/{alerts['b']}/close", json={"review": "x"}, headers=csrf).status_code == 403
    )


def test_reassign_needs_a_reason_and_moves_the_alert(client: TestClient, alerts: dict[str, int]) -> None:
    csrf = {"X-CSRF-Token": login(client, "duty")}
    no_reason = client.post(
        f"/api/alerts/{alerts['a']}/reassign", json={"department_id": DEPT_B}, headers=csrf
    )
    assert no_reason.status_code == 422
    moved = client.post(
        f"/api/alerts/{alerts['a']}/reassign",
        headers=csrf,
        json={"department_id": DEPT_B, "reason": "排污口位于合肥境内"},
    )
    assert moved.status_code == 200 and moved.json()["department_id"] == DEPT_B


def test_console_action_form_records_and_redirects(client: TestClient, alerts: dict[str, int]) -> None:
    csrf = login(client, "duty")
    page = client.get(f"/alerts/{alerts['a']}").text
    assert 'data-action="acknowledge"' in page and 'data-action="close"' not in page
    done = client.post(
        f"/alerts/{alerts['a']}/actions/acknowledge", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?done=acknowledge")
    page = client.get(done.headers["location"]).text
    assert "已签收" in page and 'data-action="acknowledge"' not in page
    incomplete = client.post(
        f"/alerts/{alerts['a']}/actions/info_published", data={"csrf_token": csrf, "link": "https://gov.cn/x"}
    )
    assert incomplete.status_code == 422 and "请填写完整" in incomplete.text
    forged = client.post(f"/alerts/{alerts['a']}/actions/start_response", data={}, follow_redirects=False)
    assert forged.status_code == 403


def test_department_page_shows_the_queue_with_playbook_steps(
    client: TestClient, alerts: dict[str, int]
) -> None:
    login(client, "dept_a")
    page = client.get("/department").text
    assert "安庆市生态环境局" in page and "处置指引" in page and "研判" in page
    queue = client.get("/api/overview/department").json()
    assert [i["alert"]["id"] for i in queue["items"]] == [alerts["a"]]
    assert {s["phase"] for s in queue["items"][0]["steps"]} >= {"研判", "回应", "督办", "效果评估"}


class UnreachableStore:
    """A search store whose server does not answer (closing it is fine)."""

    def close(self) -> None:
        pass

    def __getattr__(self, name: str) -> Callable[..., None]:
        def fail(*_args: object, **_kwargs: object) -> None:
            raise StoreError("http://es:9200: connection refused")

        return fail


def test_incident_page_still_works_when_the_search_store_is_down(
    settings: Settings, database: Database, clock: FakeClock, alerts: dict[str, int]
) -> None:
    app = create_app(settings, db=database, clock=clock, store_factory=UnreachableStore)
    with TestClient(app) as client:
        login(client, "duty")
        detail = client.get("/api/incidents/inc-aq")
        page = client.get(f"/alerts/{alerts['a']}")
        search = client.get("/api/search", params={"q": "排污"})
    assert detail.status_code == 200 and detail.json()["posts"] == []
    assert "检索服务不可用" in detail.json()["posts_error"]
    assert page.status_code == 200 and "检索服务不可用" in page.text and "安庆 化工厂 排污" in page.text
    assert search.status_code == 503 and search.json()["detail"].startswith("检索服务不可用")


def test_department_reads_its_console_notifications(client: TestClient, alerts: dict[str, int]) -> None:
    csrf = login(client, "dept_a")
    notes = client.get("/api/overview/department").json()["notifications"]
    assert notes and {n["alert_id"] for n in notes} == {alerts["a"]}
    assert all(n["recipient"].startswith(("department:aq-sthj:", "department_head:aq-sthj:")) for n in notes)
    page = client.get("/department").text
    assert "未读通知" in page and notes[0]["subject"] in page
    done = client.post(
        f"/notifications/{notes[0]['id']}/read", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303
    left = client.get("/api/overview/department").json()["notifications"]
    assert notes[0]["id"] not in {n["id"] for n in left}
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "dept_b")
    other = client.post(f"/api/notifications/{notes[-1]['id']}/read", json={}, headers={"X-CSRF-Token": csrf})
    assert other.status_code == 404


def test_board_views_filter_the_alerts(client: TestClient, alerts: dict[str, int], clock: FakeClock) -> None:
    csrf = {"X-CSRF-Token": login(client, "duty")}
    client.post(f"/api/alerts/{alerts['a']}/acknowledge", json={}, headers=csrf)
    new_only = client.get("/board/rows", params={"view": "new"}).text
    assert "合肥 工业园 排污" in new_only and "安庆 化工厂 排污" not in new_only
    assert "当前没有待处置的预警" in client.get("/board/rows", params={"view": "overdue"}).text
    clock.advance(timedelta(hours=5))
    overdue = client.get("/board", params={"view": "overdue"}).text
    assert "合肥 工业园 排污" in overdue and "安庆 化工厂 排污" in overdue and "超时 1:00:00" in overdue
    assert client.get("/board", params={"view": "nonsense"}).status_code == 422


DUTY_OFFICE = "ah-wxb"  # the duty office of the tests' directory


def test_only_dispatchers_reassign_a_department_hands_back_with_a_reason(
    client: TestClient, alerts: dict[str, int]
) -> None:
    csrf = {"X-CSRF-Token": login(client, "dept_a")}
    move = {"department_id": DEPT_B, "reason": "不归我们管"}
    refused = client.post(f"/api/alerts/{alerts['a']}/reassign", json=move, headers=csrf)
    assert refused.status_code == 403 and "转派" in refused.json()["detail"]
    assert client.get(f"/api/alerts/{alerts['a']}").json()["department_id"] == DEPT_A  # still ours
    no_reason = client.post(f"/api/alerts/{alerts['a']}/return", json={}, headers=csrf)
    assert no_reason.status_code == 422
    assert (
        client.post(f"/api/alerts/{alerts['a']}/return", json={"reason": " "}, headers=csrf).status_code
        == 422
    )
    back = client.post(
        f"/api/alerts/{alerts['a']}/return", json={"reason": "排污口在合肥境内，非本市管辖"}, headers=csrf
    )
    assert back.status_code == 200 and back.json()["department_id"] == DUTY_OFFICE
    assert client.get(f"/api/alerts/{alerts['a']}").status_code == 404  # out of this department's view
    # another department cannot hand back what is not theirs
    client.post("/logout", data={"csrf_token": csrf["X-CSRF-Token"]})
    csrf = {"X-CSRF-Token": login(client, "dept_b")}
    assert (
        client.post(f"/api/alerts/{alerts['a']}/return", json={"reason": "x"}, headers=csrf).status_code
        == 404
    )
    # the duty office sees why, and dispatches it on
    client.post("/logout", data={"csrf_token": csrf["X-CSRF-Token"]})
    csrf = {"X-CSRF-Token": login(client, "duty")}
    history = client.get(f"/api/alerts/{alerts['a']}/history").json()
    assert any("排污口在合肥境内" in (h["reason"] or "") and h["actor"] == "dept_a" for h in history)
    again = client.post(f"/api/alerts/{alerts['a']}/return", json={"reason": "x"}, headers=csrf)
    assert again.status_code == 409 and "已在值班室" in again.json()["detail"]
    moved = client.post(f"/api/alerts/{alerts['a']}/reassign", json=move, headers=csrf)
    assert moved.status_code == 200 and moved.json()["department_id"] == DEPT_B


def test_console_offers_a_department_hand_back_instead_of_reassign(
    client: TestClient, alerts: dict[str, int]
) -> None:
    csrf = login(client, "dept_a")
    page = client.get(f"/alerts/{alerts['a']}").text
    assert 'data-action="return"' in page and 'data-action="reassign"' not in page
    assert '<label class="field">退回理由<input type="text" name="reason" required' in page
    forged = client.post(
        f"/alerts/{alerts['a']}/actions/reassign",
        data={"department_id": DEPT_B, "reason": "x", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    empty = client.post(
        f"/alerts/{alerts['a']}/actions/return", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert empty.status_code == 422 and "请填写完整" in empty.text
    assert "「退回理由」必须填写" in empty.text  # the field named in Chinese, no validation dump
    done = client.post(
        f"/alerts/{alerts['a']}/actions/return",
        data={"reason": "非本部门职责", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/department?done=return"
    queue = client.get(done.headers["location"]).text
    assert "已退回值班室" in queue and "本部门当前没有待处置的预警" in queue
    assert "属地管理、分级负责、谁主管谁负责" in queue, "an empty queue says how cases arrive here"
    client.post("/logout", data={"csrf_token": csrf})
    login(client, "duty")
    page = client.get(f"/alerts/{alerts['a']}").text
    assert 'data-action="reassign"' in page and 'data-action="return"' not in page
