"""会商 and 转派 through the API: a duty officer names a lead and 协办 departments; each sees the case on
its page, the 协办 one cannot act on it; an unknown department is a clear 422 and the case stays where it
was."""

from __future__ import annotations

from factories import DEPT_A, DEPT_B, login
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerting.models import EscalationStep
from yuqing.db.session import Database


def test_consult_names_a_lead_and_helpers_who_see_the_case(
    client: TestClient, alerts: dict[str, int], database: Database
) -> None:
    csrf = {"X-CSRF-Token": login(client, "duty")}
    url = f"/api/alerts/{alerts['a']}/consult"
    no_reason = client.post(url, json={"assisting": [DEPT_B]}, headers=csrf)
    assert no_reason.status_code == 422
    unknown = client.post(url, json={"assisting": ["nowhere"], "reason": "跨市排污"}, headers=csrf)
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "部门目录中没有编号为 'nowhere' 的部门" in unknown.json()["detail"]
    bad_lead = client.post(url, json={"lead_department_id": "x-y", "reason": "跨市排污"}, headers=csrf)
    assert bad_lead.status_code == 422
    assert client.get(f"/api/alerts/{alerts['a']}").json()["department_id"] == DEPT_A  # nothing lost

    done = client.post(
        url,
        json={"lead_department_id": DEPT_A, "assisting": [DEPT_B, DEPT_A], "reason": "上游在合肥，联合处置"},
        headers=csrf,
    )
    assert done.status_code == 200 and done.json()["department_id"] == DEPT_A
    detail = client.get(f"/api/alerts/{alerts['a']}").json()
    assert [h["department_id"] for h in detail["assisting"]] == [DEPT_B]  # the lead is not its own helper
    assert "consult" in [h["action"] for h in client.get(f"/api/alerts/{alerts['a']}/history").json()]
    page = client.get(f"/alerts/{alerts['a']}").text
    assert 'id="assisting"' in page and "上游在合肥" in page
    with database.session() as s:
        told = s.scalars(select(EscalationStep.key).where(EscalationStep.threshold == "assisting")).all()
    assert [k.split(":")[2] for k in told] == [DEPT_B]

    client.post("/logout", data={"csrf_token": csrf["X-CSRF-Token"]})
    csrf = {"X-CSRF-Token": login(client, "dept_b")}
    ids = [a["id"] for a in client.get("/api/alerts").json()["items"]]
    assert sorted(ids) == sorted([alerts["a"], alerts["b"]])  # its own and the one it helps on
    assert client.get(f"/api/alerts/{alerts['a']}").status_code == 200
    assert "协办（牵头：" in client.get("/department").text
    acted = client.post(f"/api/alerts/{alerts['a']}/acknowledge", json={}, headers=csrf)
    assert acted.status_code == 403 and "协办单位" in acted.json()["detail"]

    client.post("/logout", data={"csrf_token": csrf["X-CSRF-Token"]})
    csrf = {"X-CSRF-Token": login(client, "duty")}
    moved = client.post(url, json={"lead_department_id": DEPT_B, "reason": "改由合肥牵头"}, headers=csrf)
    assert moved.status_code == 200 and moved.json()["department_id"] == DEPT_B
    assert client.get(f"/api/alerts/{alerts['a']}").json()["assisting"] == []  # the full list: none left


def test_reassign_to_an_unknown_department_is_refused_in_chinese(
    client: TestClient, alerts: dict[str, int]
) -> None:
    csrf = {"X-CSRF-Token": login(client, "duty")}
    body = {"department_id": "nowhere", "reason": "试试"}
    refused = client.post(f"/api/alerts/{alerts['a']}/reassign", json=body, headers=csrf)
    assert refused.status_code == 422 and "部门目录中没有编号为 'nowhere' 的部门" in refused.json()["detail"]
    assert client.get(f"/api/alerts/{alerts['a']}").json()["department_id"] == DEPT_A


def test_the_alert_page_holds_a_consult_form_that_names_several_helpers(
    client: TestClient, alerts: dict[str, int]
) -> None:
    csrf = login(client, "duty")
    page = client.get(f"/alerts/{alerts['a']}").text
    assert 'data-action="consult"' in page and 'name="assisting" multiple' in page
    url = f"/alerts/{alerts['a']}/actions/consult"
    empty = client.post(url, data={"csrf_token": csrf, "assisting": DEPT_B})  # no reason
    assert empty.status_code == 422 and "会商理由" in empty.text
    done = client.post(
        url,
        data={"csrf_token": csrf, "lead_department_id": "", "assisting": [DEPT_B, DEPT_A],
              "reason": "联合处置"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    detail = client.get(f"/api/alerts/{alerts['a']}").json()
    assert detail["department_id"] == DEPT_A  # the lead kept (left empty)
    assert [h["department_id"] for h in detail["assisting"]] == [DEPT_B]
    page = client.get(f"/alerts/{alerts['a']}").text
    assert 'id="assisting"' in page and "联合处置" in page
