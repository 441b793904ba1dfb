"""The OpenAPI schema states the constraints the server enforces, so a client generated from it does not
send requests that are refused: each stated rule is checked against what the server does."""

from __future__ import annotations

from typing import Any

import pytest
from factories import DEPT_A, PASSWORD, login, page_csrf
from fastapi.testclient import TestClient
from jsonschema_rs import Draft202012Validator  # schemathesis's validator

from alerting.performance import MAX_SPAN_DAYS


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    login(client, "admin")
    return client.get("/openapi.json").json()  # type: ignore[no-any-return]


def body_schema(spec: dict[str, Any], path: str, method: str = "post") -> dict[str, Any]:
    """The request body's schema with its references resolved against the spec's components."""
    ref = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return {**ref, "components": spec["components"]}


def accepts(schema: dict[str, Any], body: dict[str, Any]) -> bool:
    return Draft202012Validator(schema).is_valid(body)


def test_label_values_are_enums_per_task(spec: dict[str, Any], client: TestClient) -> None:
    schema = body_schema(spec, "/api/posts/{post_id}/labels")
    assert accepts(schema, {"task": "sentiment", "label": "negative"})
    assert accepts(schema, {"task": "category", "label": "环境保护"})
    for refused in (
        {"task": "sentiment", "label": "angry"},
        {"task": "relevance", "label": "negative"},
        {"task": "category", "label": "   "},
    ):
        assert not accepts(schema, refused), refused
        response = client.post("/api/posts/any/labels", json=refused, headers=_csrf(client))
        assert response.status_code == 422, refused


def test_a_department_is_required_exactly_for_department_handlers(
    spec: dict[str, Any], client: TestClient
) -> None:
    schema = body_schema(spec, "/api/users")
    base = {"password": "long-enough-1", "reason": "新同事"}
    cases = [
        ({"name": "d1", "role": "department"}, False),
        ({"name": "d2", "role": "department", "department_id": ""}, False),
        ({"name": "a1", "role": "analyst", "department_id": DEPT_A}, False),
        ({"name": "d3", "role": "department", "department_id": DEPT_A}, True),
        ({"name": "a2", "role": "analyst"}, True),
        ({"name": "a3", "role": "analyst", "department_id": None}, True),
    ]
    for body, ok in cases:
        assert accepts(schema, {**base, **body}) is ok, body
        response = client.post("/api/users", json={**base, **body}, headers=_csrf(client))
        assert (response.status_code == 201) is ok, (body, response.text)


def test_the_department_view_says_who_must_name_a_department(
    spec: dict[str, Any], client: TestClient
) -> None:
    operation = spec["paths"]["/api/overview/department"]["get"]
    assert "必须用 department_id 指定部门" in operation["description"]
    (param,) = [p for p in operation["parameters"] if p["name"] == "department_id"]
    assert "管理员、值班员必填" in param["description"]
    assert client.get("/api/overview/department").status_code == 422  # the admin named none
    assert client.get("/api/overview/department", params={"department_id": DEPT_A}).status_code == 200


def test_the_performance_period_cap_is_stated(spec: dict[str, Any], client: TestClient) -> None:
    for path in ("/api/performance", "/api/performance.csv"):
        operation = spec["paths"][path]["get"]
        assert f"区间不超过 {MAX_SPAN_DAYS} 天" in operation["description"]
        (to,) = [p for p in operation["parameters"] if p["name"] == "to"]
        assert f"区间不超过 {MAX_SPAN_DAYS} 天" in to["description"]
    long = client.get("/api/performance", params={"from": "2025-01-01", "to": "2026-01-03"})
    assert long.status_code == 422 and f"超过上限 {MAX_SPAN_DAYS} 天" in long.json()["detail"]
    fits = client.get("/api/performance", params={"from": "2025-01-01", "to": "2026-01-02"})
    assert fits.status_code == 200


def test_nul_characters_are_refused_as_problems_not_server_errors(
    spec: dict[str, Any], client: TestClient
) -> None:
    """PostgreSQL cannot store or even compare text holding NUL: the schema says so for bodies, and paths
    and query strings with one are refused before any query."""
    assert not accepts(body_schema(spec, "/api/auth/login"), {"name": "a\x00", "password": "x"})
    assert client.post("/api/auth/login", json={"name": "a\x00", "password": "x"}).status_code == 422
    assert client.post("/api/auth/tokens", json={"name": "ci\x00"}, headers=_csrf(client)).status_code == 422
    for url in ("/api/alerts?q=%00", "/api/posts/a%00b/labels", "/api/search?q=%00", "/api/incidents/x%00"):
        response = client.get(url)
        assert response.status_code == 422, url
        assert response.headers["content-type"].startswith("application/problem+json")
    page = client.get("/search?q=%00", headers={"Accept": "text/html"})
    assert page.status_code == 422 and "NUL" in page.text
    with TestClient(client.app) as other:  # the console's login form: a wrong login, not a 500
        token = page_csrf(other)
        form = {"name": "duty\x00", "password": PASSWORD, "csrf_token": token}
        response = other.post("/login", data=form, follow_redirects=False)
        assert response.status_code == 401 and "用户名或密码错误" in response.text


def _csrf(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": page_csrf(client, "/search")}
