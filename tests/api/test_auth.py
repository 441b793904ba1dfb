"""Logging in, sessions, CSRF, API tokens, rate limiting, and that nothing but health and login is open."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import PASSWORD, login, page_csrf
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

import api.console
from api.auth.ratelimit import MAX_FAILURES, WINDOW
from api.auth.sessions import COOKIE_NAME, CSRF_HEADER
from api.main import create_app
from api.models import ApiTokenRow, UserRow
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings

OPEN_PATHS = {"/api/health", "/api/auth/login"}


def test_every_api_endpoint_but_health_and_login_needs_a_login(app: FastAPI, client: TestClient) -> None:
    assert client.get("/openapi.json").status_code == 401
    assert client.get("/docs", follow_redirects=False).headers["location"] == "/login?next=%2Fdocs"
    spec = app.openapi()
    checked = 0
    for path, operations in spec["paths"].items():
        if path in OPEN_PATHS:
            continue
        concrete = path.replace("{", "").replace("}", "")  # any value will do: auth comes first
        for method in operations:
            response = client.request(method.upper(), concrete, json={})
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.headers["content-type"].startswith("application/problem+json")
            checked += 1
    assert checked >= 5
    assert client.get("/api/health").json()["status"] == "ok"


def test_logged_in_users_read_the_api_docs_without_a_cdn(client: TestClient) -> None:
    login(client, "analyst")
    assert "/api/alerts" in client.get("/openapi.json").json()["paths"]
    docs = client.get("/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs and "cdn" not in docs
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200


DOCS_META = re.compile(r'<meta name="(csrf-[a-z]+)" content="([^"]*)">')
DOCS_SCRIPT = Path(api.console.__file__).resolve().parent / "static" / "api_docs.js"
# Runs the docs page's script under node with just enough of a browser for it: the page's meta tags, a
# location, and a SwaggerUIBundle that hands back its configuration; then asks the requestInterceptor
# what it does to each request given on stdin.
INTERCEPT_JS = r"""
const fs = require("fs");
const input = JSON.parse(fs.readFileSync(0, "utf8"));
globalThis.window = globalThis;
window.location = new URL(input.page);
globalThis.document = {
  querySelector(selector) {
    const name = (selector.match(/^meta\[name="([^"]+)"\]$/) || [])[1];
    if (selector === "#swagger-ui") { return { getAttribute: () => "/openapi.json" }; }
    return name in input.meta ? { getAttribute: () => input.meta[name] } : null;
  },
};
let config = null;
globalThis.SwaggerUIBundle = (c) => { config = c; return {}; };
SwaggerUIBundle.presets = { apis: {} };
require(input.script);
console.log(JSON.stringify(input.requests.map((r) => config.requestInterceptor(r).headers)));
"""


def docs_interceptor_headers(page: str, requests: list[dict[str, Any]]) -> list[dict[str, str]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    payload = {
        "page": "http://testserver/docs",
        "meta": dict(DOCS_META.findall(page)),
        "script": str(DOCS_SCRIPT),
        "requests": requests,
    }
    run = subprocess.run(
        [node, "-e", INTERCEPT_JS], input=json.dumps(payload), capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    headers: list[dict[str, str]] = json.loads(run.stdout)
    return headers


def test_api_docs_try_it_out_sends_the_sessions_csrf_token(client: TestClient) -> None:
    csrf = login(client, "analyst")
    page = client.get("/docs").text
    meta = dict(DOCS_META.findall(page))
    assert meta == {"csrf-token": csrf, "csrf-header": CSRF_HEADER}  # the header the API checks
    assert "/static/api_docs.js" in page
    assert client.get("/static/api_docs.js").status_code == 200
    same, absolute, elsewhere = docs_interceptor_headers(
        page,
        [
            {"url": "/api/auth/tokens", "method": "POST", "headers": {"Content-Type": "application/json"}},
            {"url": "http://testserver/api/auth/tokens/1", "method": "DELETE", "headers": {}},
            {"url": "https://elsewhere.example/api", "method": "POST", "headers": {}},
        ],
    )
    assert same == {"Content-Type": "application/json", CSRF_HEADER: csrf}
    assert absolute == {CSRF_HEADER: csrf}
    assert elsewhere == {}  # the token never leaves this site
    # what Swagger UI now sends is accepted; the same request without the header still is not
    assert client.post("/api/auth/tokens", json={"name": "docs"}, headers=same).status_code == 201
    assert client.post("/api/auth/tokens", json={"name": "docs"}).status_code == 403


def test_console_pages_send_anonymous_visitors_to_the_login_page(client: TestClient) -> None:
    for path in ("/", "/search", "/board", "/leader", "/department", "/sources"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


def test_login_sets_an_httponly_samesite_session_cookie(client: TestClient) -> None:
    token = page_csrf(client)
    response = client.post(
        "/login", data={"name": "duty", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/board"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(COOKIE_NAME)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert client.get("/api/auth/me").json()["role"] == "duty_officer"


def test_session_cookie_is_secure_behind_https(
    settings: Settings, database: Database, clock: FakeClock
) -> None:
    secure = settings.model_copy(update={"console_url": "https://yuqing.example.gov.cn"})
    with TestClient(create_app(secure, db=database, clock=clock), base_url="https://testserver") as c:
        assert "Secure" in c.get("/login").headers["set-cookie"]


def test_session_cookie_is_secure_over_tls_even_with_an_http_console_url(client: TestClient) -> None:
    tls = TestClient(client.app, base_url="https://testserver")
    assert "Secure" in tls.get("/login").headers["set-cookie"]


def test_wrong_password_is_refused_with_a_problem(client: TestClient) -> None:
    response = client.post("/api/auth/login", json={"name": "duty", "password": "wrong-password"})
    assert response.status_code == 401
    assert response.json()["detail"] == "用户名或密码错误"
    response = client.post("/api/auth/login", json={"name": "nobody", "password": "wrong-password"})
    assert response.status_code == 401


def test_login_form_without_the_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"name": "duty", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/api/auth/me").status_code == 401


def test_state_changes_need_the_csrf_token(client: TestClient) -> None:
    token = login(client, "analyst")
    no_token = client.post("/api/auth/tokens", json={"name": "ci"})
    assert no_token.status_code == 403
    assert no_token.json()["type"].endswith("/csrf")
    wrong = client.post("/api/auth/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": "x" + token})
    assert wrong.status_code == 403
    ok = client.post("/api/auth/tokens", json={"name": "ci"}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201


def test_logout_ends_the_session(client: TestClient) -> None:
    token = login(client, "leader")
    assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert client.get("/api/auth/me").status_code == 401


def test_a_cookie_saved_before_logout_no_longer_works(client: TestClient) -> None:
    """Logout ends the session on the server: a copy of the cookie (stolen, or a second tab) is refused."""
    for how in ("console", "api"):
        csrf = login(client, "leader")
        saved = client.cookies[COOKIE_NAME]
        other_browser = TestClient(client.app)  # the same user elsewhere keeps their own session
        login(other_browser, "leader")
        if how == "console":
            out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
            assert out.status_code == 303
        else:
            assert client.post("/api/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 204
        replay = TestClient(client.app, cookies={COOKIE_NAME: saved})
        refused = replay.get("/api/auth/me")
        assert refused.status_code == 401, how
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert replay.get("/board", follow_redirects=False).status_code == 303  # back to the login page
        assert other_browser.get("/api/auth/me").json()["name"] == "leader", how


def test_logging_in_again_replaces_the_session(client: TestClient) -> None:
    login(client, "analyst")
    before = client.cookies[COOKIE_NAME]
    login(client, "analyst")
    assert client.get("/api/auth/me").status_code == 200
    assert TestClient(client.app, cookies={COOKIE_NAME: before}).get("/api/auth/me").status_code == 401


def test_rate_limit_per_user_and_ip(client: TestClient, clock: FakeClock) -> None:
    for _ in range(MAX_FAILURES):
        assert (
            client.post("/api/auth/login", json={"name": "duty", "password": "guess-1234"}).status_code == 401
        )
    blocked = client.post("/api/auth/login", json={"name": "duty", "password": PASSWORD})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert blocked.headers["content-type"].startswith("application/problem+json")
    # another user from the same address is not blocked
    assert client.post("/api/auth/login", json={"name": "leader", "password": PASSWORD}).status_code == 200
    clock.advance(WINDOW + timedelta(seconds=1))
    assert client.post("/api/auth/login", json={"name": "duty", "password": PASSWORD}).status_code == 200


def test_api_tokens_are_hashed_at_rest_and_can_be_revoked(client: TestClient, database: Database) -> None:
    csrf = login(client, "analyst")
    created = client.post("/api/auth/tokens", json={"name": "bi"}, headers={"X-CSRF-Token": csrf}).json()
    plain = created["token"]
    with database.transaction() as session:
        stored = session.scalars(select(ApiTokenRow.token_hash)).all()
    assert plain not in stored and len(stored) == 1
    bot = TestClient(client.app)
    bearer = {"Authorization": f"Bearer {plain}"}
    assert bot.get("/api/auth/me", headers=bearer).json()["name"] == "analyst"
    # a bearer token needs no CSRF token: it is not sent by browsers on their own
    assert bot.post("/api/auth/tokens", json={"name": "second"}, headers=bearer).status_code == 201
    assert (
        client.delete(f"/api/auth/tokens/{created['id']}", headers={"X-CSRF-Token": csrf}).status_code == 204
    )
    refused = bot.get("/api/auth/me", headers=bearer)
    assert refused.status_code == 401
    assert bot.get("/api/auth/me", headers={"Authorization": "Bearer yq_made-up"}).status_code == 401


def test_passwords_are_stored_as_argon2_hashes(database: Database) -> None:
    with database.transaction() as session:
        hashes = session.scalars(select(UserRow.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)


def test_login_redirect_stays_on_this_site(client: TestClient) -> None:
    token = page_csrf(client)
    response = client.post(
        "/login",
        follow_redirects=False,
        data={"name": "analyst", "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"},
    )
    assert response.headers["location"] == "/search"


def test_tokens_page_shows_a_new_token_once_and_revokes_it(client: TestClient) -> None:
    csrf = login(client, "duty")
    created = client.post("/tokens", data={"name": "大数据平台<x>", "csrf_token": csrf})
    plain = re.search(r'<code id="new-token">(yq_[^<]+)</code>', created.text)
    assert plain and "大数据平台&lt;x&gt;" in created.text
    assert created.headers["cache-control"] == "no-store"
    bot = TestClient(client.app)
    assert bot.get("/api/auth/me", headers={"Authorization": f"Bearer {plain.group(1)}"}).status_code == 200
    listing = client.get("/tokens").text
    assert plain.group(1) not in listing and "有效" in listing
    token_id = re.search(r'action="/tokens/(\d+)/revoke"', listing)
    assert token_id
    assert (
        client.post(f"/tokens/{token_id.group(1)}/revoke", data={}, follow_redirects=False).status_code == 403
    )
    revoked = client.post(
        f"/tokens/{token_id.group(1)}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert bot.get("/api/auth/me", headers={"Authorization": f"Bearer {plain.group(1)}"}).status_code == 401
