"""The 监测方案 console pages: write a plan, try it (试匹配) before saving, save it, its page."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.api.factories import login


def test_write_try_save_and_open_a_plan(client: TestClient) -> None:
    csrf = login(client, "duty")
    page = client.get("/plans")
    assert page.status_code == 200 and "新建方案" in page.text and "还没有监测方案" in page.text
    form = {"csrf_token": csrf, "name": "排污", "expression": "排污+(河水|标题)-食堂", "owners": "duty",
            "channels": "console"}
    tried = client.post("/plans", data={**form, "action": "preview"})
    assert tried.status_code == 200
    assert "命中 2 条" in tried.text and "化工厂 排污 河水 发黑" in tried.text
    assert "排污+(河水|标题)-食堂" in tried.text  # the expression stays in the form
    bad = client.post("/plans", data={**form, "expression": "(排污", "action": "preview"})
    assert bad.status_code == 422 and "第 1 个字符" in bad.text
    saved = client.post("/plans", data={**form, "action": "save"}, follow_redirects=False)
    assert saved.status_code == 303
    location = saved.headers["location"]
    for _ in range(100):
        plan_page = client.get(location)
        if "回溯：2 条" in plan_page.text:
            break
        time.sleep(0.05)
    assert "回溯：2 条" in plan_page.text
    assert "命中趋势（共 2 条）" in plan_page.text
    assert "排污" in client.get("/plans").text
    searched = client.get("/api/search", params={"plan": location.rsplit("/", 1)[1]}).json()
    assert searched["total"] == 2
    paused = client.post(location, data={"csrf_token": csrf, "action": "pause"}, follow_redirects=False)
    assert paused.status_code == 303 and "已暂停" in client.get(location).text
    assert client.get("/api/search", params={"plan": 2**40}).status_code == 422


def test_a_department_sees_only_its_own_plans(client: TestClient) -> None:
    csrf = login(client, "duty")
    client.post("/plans", data={"csrf_token": csrf, "name": "全市", "expression": "排污", "action": "save"})
    client.cookies.clear()
    login(client, "dept_a")
    assert "全市" not in client.get("/plans").text
    assert client.get("/plans/1").status_code == 404
