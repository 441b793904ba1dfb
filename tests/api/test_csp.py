"""The Content-Security-Policy and its companion headers on every console page.

Every GET route of the app outside /api (the console's pages, their fragments and /docs) is requested
as the duty officer, its path parameters filled with real ids, and every answer that is HTML — pages,
the board's rows, error pages for what the duty officer may not see — must carry the policy. The
rendered HTML must also hold nothing the policy would refuse: no inline script (only ``src=`` scripts
and JSON data blocks), no ``on…=`` handler, no ``javascript:`` URL, no ``<style>`` and no ``style=""``."""

from __future__ import annotations

import re
from datetime import timedelta

from factories import alerting_worker, login, seed_incident
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.middleware import CONTENT_SECURITY_POLICY
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage import SearchQuery
from yuqing.storage.sqlite_fts import SqliteFtsStore

PARAM = re.compile(r"{(\w+)(?::\w+)?}")
COMPANIONS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
REFUSED = {
    "inline event handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    'style="" attribute': re.compile(r"<[^>]*\sstyle\s*=", re.I),
}


def console_get_paths(app: FastAPI) -> list[str]:
    """The route paths of every GET route that is not under /api and not the spec or the static files."""
    paths = []
    for route in iter_route_contexts(app.routes):
        if getattr(route, "dependant", None) is None or "GET" not in (route.methods or ()):
            continue
        path = route.path or ""
        if path.startswith("/api/") or path == "/openapi.json":
            continue
        paths.append(path)
    return sorted(set(paths))


def policy_problems(html: str) -> list[str]:
    problems = []
    for match in SCRIPT_TAG.finditer(html):
        attrs = match.group(1)
        if not re.search(r"\ssrc\s*=", attrs) and 'type="application/json"' not in attrs:
            problems.append(f"inline script {match.group(0)!r}")
    for what, pattern in REFUSED.items():
        found = pattern.search(html)
        if found:
            problems.append(f"{what} near {html[max(0, found.start() - 60) : found.end() + 60]!r}")
    return problems


def assert_protected(response: object, where: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, where
    for name, value in COMPANIONS.items():
        assert headers.get(name) == value, (where, name)


def test_the_policy_is_strict() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no 'unsafe-inline', no 'unsafe-eval', no nonce needed
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


def test_every_console_html_route_sends_the_csp(
    app: FastAPI,
    client: TestClient,
    alerts: dict[str, int],
    store: SqliteFtsStore,
    settings: Settings,
    database: Database,
    clock: FakeClock,
) -> None:
    # an incident with no alert has its own page (one with an alert redirects to the alert's)
    quiet = seed_incident(
        alerting_worker(settings, database, clock),
        database,
        incident_id="inc-quiet",
        title="安庆 小区 夜间 施工",
        place=("安庆市", "3408"),
        first_seen=clock.now() - timedelta(hours=1),
        level=None,
    )
    assert quiet is None
    login(client, "duty")
    post_id = str(store.search(SearchQuery(text="排污", size=1)).hits[0].post["id"])
    values = {"alert_id": str(alerts["a"]), "incident_id": "inc-quiet", "post_id": post_id, "user_id": "1"}
    paths = console_get_paths(app)
    html_paths = []
    for route_path in paths:
        path = PARAM.sub(lambda m: values.get(m.group(1), "x"), route_path)
        response = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert response.status_code < 500, (path, response.status_code)
        assert_protected(response, path)  # every answer, HTML or not, redirects included
        if response.headers.get("content-type", "").startswith("text/html"):
            html_paths.append(route_path)
            problems = policy_problems(response.text)
            assert not problems, (path, problems)
    # the walk reached the pages (not only redirects): the duty officer's and the others' (as error pages)
    assert {
        "/board",
        "/board/rows",
        "/alerts/{alert_id}",
        "/incidents",
        "/incidents/{incident_id}",
        "/posts/{post_id}",
        "/search",
        "/leader",
        "/department",
        "/performance",
        "/sources",
        "/tokens",
        "/users",
        "/docs",
    } <= set(html_paths), sorted(set(paths) - set(html_paths))


def test_pages_without_a_session_and_error_pages_send_the_csp(client: TestClient) -> None:
    for path, status in (("/login", 200), ("/board", 303), ("/no-such-page", 404)):
        response = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert response.status_code == status, path
        assert_protected(response, path)
        if response.headers.get("content-type", "").startswith("text/html"):
            assert not policy_problems(response.text), path
    login(client, "duty")
    missing = client.get("/alerts/999999", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert_protected(missing, "/alerts/999999")
    assert not policy_problems(missing.text)


def test_the_checker_sees_what_the_policy_refuses() -> None:
    assert policy_problems('<script src="/static/console.js"></script>') == []
    assert policy_problems('<script type="application/json" id="x-data">{}</script>') == []
    assert policy_problems("<script>alert(1)</script>")
    assert policy_problems('<select onchange="this.form.submit()">')
    assert policy_problems('<a href="javascript:history.back()">')
    assert policy_problems('<span style="width:10%">')
    assert policy_problems("<style>.a{}</style>")
    assert policy_problems("<p>text about style= and onclick= in prose</p>") == []
