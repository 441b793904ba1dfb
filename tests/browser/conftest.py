"""Browser tests: the console served by uvicorn in a thread on a free port, against a seeded SQLite
database, driven by Playwright in Debian's Chromium (never a downloaded browser).

Skipped when /usr/bin/chromium is missing, except under CI, where that is a failure."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))  # the API tests' factories

from console_harness import Console, serve
from factories import DIRECTORY, alerting_worker, create_users, make_post, seed_sources

from api import live
from api.auth import passwords
from api.console import alert_views
from api.main import create_app
from yuqing.clock import SystemClock
from yuqing.db.migrate import create_schema
from yuqing.db.session import Database, make_engine
from yuqing.settings import load_settings
from yuqing.storage.sqlite_fts import SqliteFtsStore

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
POLL_SECONDS = 30  # the board's fallback poll: slow, so the tests see the SSE push do the work
STREAM_CHECK_SECONDS = 0.5

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing")
    return CHROMIUM


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
        mp.setattr(alert_views, "BOARD_POLL_SECONDS", POLL_SECONDS)
        mp.setattr(live, "CHECK_SECONDS", STREAM_CHECK_SECONDS)
        settings = load_settings(data_dir=tmp / "var", departments_file=DIRECTORY)
        engine = make_engine(settings.db_url)
        create_schema(engine)
        db = Database(engine)
        clock = SystemClock()
        now = clock.now()
        create_users(db, now)
        seed_sources(db, now)
        store = SqliteFtsStore(settings.search_url)
        store.ensure_schema()
        posts = [
            make_post(
                1,
                title="化工厂 排污 河水 发黑",
                content="居民 反映 河水 发黑 有 异味，已 持续 三天",
                at=now - timedelta(minutes=50),
                location=("安庆市", "3408"),
                heat=30,
            ),
            make_post(
                2,
                title="河道 排污 死鱼",
                content="下游 出现 大量 死鱼",
                at=now - timedelta(minutes=30),
                location=("安庆市", "3408"),
                heat=55,
                sentiment="negative",
            ),
            make_post(
                3,
                title="<script>alert(1)</script> 排污 标题",
                content="<img src=x onerror=alert(2)> 正文",
                at=now - timedelta(minutes=20),
                heat=12,
                sentiment="neutral",
            ),
            make_post(
                4,
                title="环保局 回应 排污 问题",
                content="已 派员 调查",
                at=now - timedelta(minutes=5),
                location=("安庆市", "3408"),
                heat=20,
                sentiment="positive",
                source_id="gov-aq",
            ),
        ]
        store.index(posts)
        worker = alerting_worker(settings, db, clock)
        app = create_app(settings, db=db, clock=clock, store_factory=lambda: store)
        with serve(app) as url:
            console = Console(url, settings, db, store, worker)
            console.seed_major_incident("inc-hf", "合肥 工业园 排污 群众 聚集", ("合肥市", "3401"))
            yield console
        store.close()
        db.close()


@pytest.fixture(scope="module")
def browser(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(chromium_path),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1366, "height": 768},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
        )
        violations: list[str] = []
        context.csp_violations = violations  # the page fixture fails a test that left any here
        context.expose_binding("__yuqingCspViolation", lambda _source, text: violations.append(str(text)))
        context.add_init_script(CSP_LISTENER)
        context.on("console", lambda msg: _note_csp_console(violations, msg))
        yield context
        context.close()


# Reports every Content-Security-Policy violation of every page and frame in the context to Python, from
# before the page's own scripts run.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  var text = e.effectiveDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.documentURI
    + (e.sourceFile ? " (" + e.sourceFile + ":" + e.lineNumber + ")" : "")
    + (e.sample ? ": " + e.sample : "");
  if (window.__yuqingCspViolation) { window.__yuqingCspViolation(text); }
}, true);
"""


def _note_csp_console(violations: list[str], msg: Any) -> None:
    if "Content Security Policy" in msg.text:
        where = msg.location or {}
        violations.append(f"console {msg.type} at {where.get('url')}:{where.get('lineNumber')}: {msg.text}")


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; the test fails if any page of the browser broke the Content-Security-Policy."""
    browser.clear_cookies()
    browser.csp_violations.clear()
    page = browser.new_page()
    page.set_default_timeout(15_000)
    yield page
    page.close()
    if browser.csp_violations:
        found = list(browser.csp_violations)
        browser.csp_violations.clear()
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(found), pytrace=False)
