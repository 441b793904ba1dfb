"""Integer ids in paths: values outside the range of the id's column are refused as problems (422 naming
the parameter, or 404), on every route of the app that takes one — never a 500 from the driver (SQLite
overflows past 2^63-1, PostgreSQL's INTEGER columns past 2^31-1)."""

from __future__ import annotations

import re

import pytest
from factories import login
from fastapi import FastAPI
from fastapi.routing import RouteContext, iter_route_contexts
from fastapi.testclient import TestClient

from api.ids import BIGINT_MAX, INT_MAX

OUT_OF_RANGE = (2**63, -(2**63) - 1, 2**31, 0)
PARAM = re.compile(r"{(\w+)(?::\w+)?}")
# what a path's non-integer parameters are given (any value reaches the id check)
OTHER_VALUES = {"action": "acknowledge"}


def integer_routes(app: FastAPI) -> list[tuple[RouteContext, list[str]]]:
    """Every route of the app (included routers flattened) with its integer path parameters."""
    found = []
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue  # the static files mount
        ints = [p.name for p in dependant.path_params if p.field_info.annotation is int]
        if ints:
            found.append((route, ints))
    return found


def concrete(route: RouteContext, ints: list[str], value: int) -> str:
    assert route.path is not None
    return PARAM.sub(
        lambda m: str(value) if m.group(1) in ints else OTHER_VALUES.get(m.group(1), "x"), route.path
    )


def test_the_walk_finds_the_routes_the_issue_named(app: FastAPI) -> None:
    paths = {route.path for route, _ in integer_routes(app)}
    assert {
        "/api/alerts/{alert_id}",
        "/api/alerts/{alert_id}/history",
        "/api/alerts/{alert_id}/acknowledge",
        "/api/notifications/{notification_id}/read",
        "/api/auth/tokens/{token_id}",
        "/api/users/{user_id}",
        "/alerts/{alert_id}",
        "/users/{user_id}/password",
    } <= paths


@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_out_of_range_ids_are_a_problem_on_every_route(app: FastAPI, client: TestClient, value: int) -> None:
    csrf = login(client, "admin")  # admin holds every permission: the id check is reached everywhere
    headers = {"X-CSRF-Token": csrf, "Accept": "application/json"}
    checked = 0
    for route, ints in integer_routes(app):
        path = concrete(route, ints, value)
        for method in route.methods:
            response = client.request(method, path, headers=headers, json={})
            where = (method, path, response.status_code, response.text[:300])
            assert response.status_code in (404, 422), where
            assert response.headers["content-type"].startswith("application/problem+json"), where
            if response.status_code == 422 and not 1 <= value <= BIGINT_MAX:  # outside every id column
                named = {tuple(e["loc"]) for e in response.json()["errors"]}
                assert any(("path", name) in named for name in ints), where
            checked += 1
            # the console's pages answer a readable error page, not a server error, too
            page = client.request(method, path, headers={"X-CSRF-Token": csrf, "Accept": "text/html"})
            assert page.status_code < 500, (method, path, page.status_code)
    assert checked >= 20


def test_the_largest_id_a_column_holds_is_just_not_found(client: TestClient) -> None:
    login(client, "admin")
    for path in (f"/api/alerts/{BIGINT_MAX}", f"/api/users/{INT_MAX}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")


def test_the_schema_states_the_id_range(app: FastAPI, client: TestClient) -> None:
    login(client, "analyst")
    spec = client.get("/openapi.json").json()
    maxima = {}
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                if param["in"] == "path" and param["schema"].get("type") == "integer":
                    assert param["schema"]["minimum"] == 1, (path, param)
                    maxima[path] = param["schema"]["maximum"]
    assert maxima["/api/alerts/{alert_id}"] == BIGINT_MAX
    assert maxima["/api/notifications/{notification_id}/read"] == BIGINT_MAX
    assert maxima["/api/users/{user_id}"] == maxima["/api/auth/tokens/{token_id}"] == INT_MAX
    assert set(maxima.values()) == {INT_MAX, BIGINT_MAX}
