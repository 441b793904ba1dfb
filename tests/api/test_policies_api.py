"""The policy register over HTTP: a duty officer registers a policy and its case opens; bad input is a
4xx with a Chinese reason (RFC 9457 problem details) and registers nothing; a department sees only the
policies whose case it answers."""

from __future__ import annotations

from datetime import timedelta

from factories import DEPT_A, login, page_csrf
from fastapi.testclient import TestClient

from yuqing.clock import CN_TZ, FakeClock


def _post(client: TestClient, **body: object):
    return client.post("/api/policies", json=body, headers={"X-CSRF-Token": page_csrf(client, "/search")})


def test_register_a_local_and_a_provincial_key_policy_then_list_them(client: TestClient,
                                                                     clock: FakeClock) -> None:
    login(client, "duty")
    published = (clock.now() - timedelta(hours=2)).astimezone(CN_TZ)
    local = _post(client, title="安庆市生态环境局关于秸秆禁烧的通告", url="https://www.aq.example/zc/1.html",
                  published_at=published.isoformat(), issuer="安庆市生态环境局")
    assert local.status_code == 201, local.text
    body = local.json()
    assert body["outcome"] == "created" and body["policy"]["deadline"] == "policy_interpretation"
    assert body["policy"]["department_id"] == DEPT_A and body["policy"]["alert_id"] is not None
    key = _post(client, title="安徽省人民政府关于稳就业的通知", url="https://www.ah.example/zc/2.html",
                published_at=published.replace(tzinfo=None).isoformat(), level="provincial", region="3408")
    assert key.status_code == 201, key.text
    policy = key.json()["policy"]
    assert policy["deadline"] == "reprint" and policy["key"] is True
    assert policy["due_at"] == (published + timedelta(hours=24)).isoformat()
    again = _post(client, title="安徽省人民政府关于稳就业的通知", url="https://www.ah.example/zc/2.html",
                  published_at=published.isoformat(), level="provincial")
    assert again.status_code == 200 and again.json()["outcome"] == "seen"

    listed = client.get("/api/policies")
    assert listed.status_code == 200
    assert [p["deadline"] for p in listed.json()] == ["reprint", "policy_interpretation"]
    alert = client.get(f"/api/alerts/{body['policy']['alert_id']}").json()
    assert [d["kind"] for d in alert["deadlines"]] == ["policy_interpretation"]

    client.post("/logout", headers={"X-CSRF-Token": page_csrf(client, "/search")})
    login(client, "dept_a")
    mine = client.get("/api/policies").json()
    assert [p["department_id"] for p in mine] == [DEPT_A] * len(mine) and len(mine) >= 1


def test_bad_input_is_a_4xx_with_the_reason_and_registers_nothing(
    client: TestClient, clock: FakeClock
) -> None:
    login(client, "duty")
    future = (clock.now() + timedelta(days=1)).isoformat()
    refused = _post(client, title="某政策", url="https://www.aq.example/zc/9.html", published_at=future)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "晚于当前时间" in refused.json()["detail"]
    for bad in ({"title": "", "url": "https://a.example/1", "published_at": clock.now().isoformat()},
                {"title": "T", "url": "https://a.example/1", "published_at": "2026-13-01"},
                {"title": "T", "url": "https://a.example/1", "published_at": clock.now().isoformat(),
                 "level": "city"},
                {"title": "T", "published_at": clock.now().isoformat()}):
        assert _post(client, **bad).status_code == 422, bad
    assert _post(client, title="T", url="ftp://a.example/1",
                 published_at=clock.now().isoformat()).status_code == 422
    assert client.get("/api/policies").json() == []
    client.post("/logout", headers={"X-CSRF-Token": page_csrf(client, "/search")})
    login(client, "dept_a")
    assert _post(client, title="T", url="https://a.example/1",
                 published_at=clock.now().isoformat()).status_code == 403


def test_the_console_page_lists_the_register_with_its_cases_and_problems(client: TestClient,
                                                                         clock: FakeClock) -> None:
    login(client, "duty")
    published = (clock.now() - timedelta(hours=1)).astimezone(CN_TZ)
    created = _post(client, title="安庆市生态环境局关于秸秆禁烧的通告", url="https://www.aq.example/zc/1.html",
                    published_at=published.isoformat(), issuer="安庆市生态环境局").json()
    page = client.get("/policies")
    assert page.status_code == 200
    assert "安庆市生态环境局关于秸秆禁烧的通告" in page.text
    assert "政策解读" in page.text and "计时中" in page.text
    assert f'href="/alerts/{created["policy"]["alert_id"]}"' in page.text
    alert_page = client.get(f"/alerts/{created['policy']['alert_id']}")
    assert alert_page.status_code == 200 and "政策解读" in alert_page.text
