"""/api/plans: roles (duty officers and admins every plan, a department its own), problem details for
bad expressions, the preview of matching stored posts, and the back-fill a new plan starts."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from tests.api.factories import DEPT_A, login
from yuqing.storage import SearchQuery
from yuqing.storage.sqlite_fts import SqliteFtsStore


def _headers(client: TestClient, name: str) -> dict[str, str]:
    return {"X-CSRF-Token": login(client, name)}


def _wait_backfill(client: TestClient, plan_id: int, headers: dict[str, str]) -> dict:
    for _ in range(100):
        plan = client.get(f"/api/plans/{plan_id}", headers=headers).json()
        if plan["backfilled_at"]:
            return plan
        time.sleep(0.05)
    raise AssertionError("the back-fill did not end")


def test_duty_officer_creates_previews_and_backfills(client: TestClient, store: SqliteFtsStore) -> None:
    headers = _headers(client, "duty")
    preview = client.get("/api/plans/preview", params={"q": "排污+(河水|标题)-食堂"}, headers=headers)
    assert preview.status_code == 200, preview.text
    titles = [h["title"] for h in preview.json()["hits"]]
    assert titles == ["<script>alert(1)</script> 排污 标题", "化工厂 排污 河水 发黑"]  # newest first
    created = client.post("/api/plans", json={"name": "排污", "expression": "排污+(河水|标题)-食堂",
                                               "channels": ["console"]}, headers=headers)
    assert created.status_code == 201, created.text
    plan = _wait_backfill(client, created.json()["id"], headers)
    assert plan["backfill_hits"] == 2
    marked = store.search(SearchQuery(plan_ids=[plan["id"]])).hits
    assert sorted(h.post["title"] for h in marked) == sorted(titles)
    assert [p["name"] for p in client.get("/api/plans", headers=headers).json()] == ["排污"]

    paused = client.post(f"/api/plans/{plan['id']}/pause", headers=headers)
    assert paused.json()["paused"] is True
    again = client.post("/api/plans", json={"name": "排污", "expression": "a"}, headers=headers)
    assert again.status_code == 409
    assert "已有名为" in again.json()["detail"]


def test_bad_expressions_are_422_naming_the_position(client: TestClient) -> None:
    headers = _headers(client, "duty")
    for expression, words in [("(封丘|新乡", "第 1 个字符"), ("字" * 500, "最多 100 个"),
                              ("|".join(f"词{i}" for i in range(5000)), "超过 1000 个"), (".*", "不含文字"),
                              ("-演练", "必须出现的词")]:
        response = client.post("/api/plans", json={"name": "x", "expression": expression}, headers=headers)
        assert response.status_code == 422, expression
        assert response.headers["content-type"].startswith("application/problem+json")
        assert words in response.json()["detail"]
        preview = client.get("/api/plans/preview", params={"q": expression[:2000]}, headers=headers)
        assert preview.status_code == 422


def test_a_department_manages_only_its_own_plans(client: TestClient) -> None:
    duty = _headers(client, "duty")
    other = client.post("/api/plans", json={"name": "全市", "expression": "排污"}, headers=duty).json()
    client.cookies.clear()
    dept = _headers(client, "dept_a")
    own = client.post("/api/plans", json={"name": "本部门", "expression": "河水+发黑"}, headers=dept)
    assert own.status_code == 201, own.text
    assert own.json()["owner_departments"] == [DEPT_A]  # a department's new plan is its own
    assert [p["name"] for p in client.get("/api/plans", headers=dept).json()] == ["本部门"]
    assert client.get(f"/api/plans/{other['id']}", headers=dept).status_code == 404
    assert client.post(f"/api/plans/{other['id']}/pause", headers=dept).status_code == 404
    edited = client.put(f"/api/plans/{own.json()['id']}", headers=dept,
                        json={"name": "本部门", "expression": "河水+异味"})
    assert edited.status_code == 200 and edited.json()["expression"] == "河水+异味"
    client.cookies.clear()
    leader = _headers(client, "leader")
    assert len(client.get("/api/plans", headers=leader).json()) == 2  # everyone may read
    assert client.post("/api/plans", json={"name": "y", "expression": "a"}, headers=leader).status_code == 403
    assert threading.active_count() < 50
