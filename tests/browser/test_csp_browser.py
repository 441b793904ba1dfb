"""Hostile crawled links in Chromium, under the console's Content-Security-Policy.

Posts whose link is ``javascript:…`` or ``data:text/html,…`` are put straight into the search store and
linked to incidents, as a hostile source would have got them in before the crawler kept only http(s)
links. On the alert page, the page of an incident without an alert, each post's page and the search
results no link, form or frame points anywhere but http(s), the 原文 link says it is invalid, and every
page answers with the CSP header. The charts still draw and their tooltips open under the policy; the
``page`` fixture (conftest.py) fails the test on any CSP violation."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from console_harness import Console, screenshot
from factories import PASSWORD, make_post, seed_incident

from api.middleware import CONTENT_SECURITY_POLICY
from yuqing.clock import SystemClock
from yuqing.schemas import post_id_for

pytestmark = pytest.mark.browser

HOSTILE_URLS = {
    "js": "javascript:alert(document.domain)",
    "js-case": " JaVaScRiPt:alert(document.cookie)",
    "data": "data:text/html,<script>alert(document.domain)</script>",
}

# every URL-bearing attribute on the page, resolved by the browser; only http(s) may remain
LINK_SCHEMES = """() => {
  const out = [];
  for (const el of document.querySelectorAll("[href], [src], [action], [formaction], [data]")) {
    for (const name of ["href", "src", "action", "formaction", "data"]) {
      const raw = el.getAttribute(name);
      if (raw === null || (name === "data" && el.tagName !== "OBJECT")) continue;
      let scheme;
      try { scheme = new URL(raw, document.baseURI).protocol; } catch (e) { scheme = "invalid:"; }
      out.push([el.tagName.toLowerCase(), name, raw, scheme]);
    }
  }
  return out;
}"""


def _hostile_posts(console: Console) -> list[str]:
    now = SystemClock().now()
    posts = []
    for n, (key, url) in enumerate(HOSTILE_URLS.items(), start=101):
        post = make_post(
            n,
            title=f"排污 投诉 恶意链接 {key}",
            content="河水 发黑 居民 投诉",
            at=now - timedelta(minutes=40 - n % 10),
            location=("合肥市", "3401"),
            heat=25 + n % 10,
        )
        posts.append(post.model_copy(update={"url": url, "id": post_id_for(post.source_id, url)}))
    console.store.index(posts)
    return [p.id for p in posts]


def _log_in(page: Any, console: Console) -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", "duty")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url + "/board")))


def _check_page(page: Any, console: Console, path: str) -> Any:
    response = page.goto(f"{console.url}{path}")
    assert response is not None and response.ok, path
    page.wait_for_load_state("networkidle")
    headers = response.headers
    assert headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, path
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "DENY"
    links = page.evaluate(LINK_SCHEMES)
    bad = [link for link in links if link[3] not in ("http:", "https:")]
    assert not bad, f"{path}: non-http(s) URLs {bad}"
    assert "javascript:" not in page.content().lower()  # not even as text: the page says 原文链接无效
    assert page.locator("a[href*='javascript' i], a[href^='data:' i]").count() == 0
    return response


def test_hostile_links_are_not_links_and_every_page_has_the_csp(page: Any, console: Console) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    hostile = _hostile_posts(console)
    alert_id = console.seed_major_incident(
        "inc-hostile", "合肥 排污 投诉 恶意链接", ("合肥市", "3401"), hostile
    )
    seed_incident(
        console.worker,
        console.db,
        incident_id="inc-hostile-quiet",
        title="合肥 排污 恶意链接 未预警",
        place=("合肥市", "3401"),
        first_seen=SystemClock().now() - timedelta(minutes=30),
        level=None,
        post_ids=hostile,
    )
    _log_in(page, console)

    _check_page(page, console, f"/alerts/{alert_id}")
    assert page.get_by_text("原文链接无效").count() == len(HOSTILE_URLS)
    assert page.get_by_text("原文 ↗").count() == 0
    # the charts drew (canvas) and a tooltip opens under the policy (ECharts' HTML tooltip)
    heat = page.locator("#heat")
    assert heat.locator("canvas").count() >= 1
    box = heat.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(400)
    screenshot(page, "csp-alert-hostile-links", full_page=True)

    page.goto(f"{console.url}/incidents/inc-hostile-quiet")
    assert page.url.endswith("/incidents/inc-hostile-quiet")
    _check_page(page, console, "/incidents/inc-hostile-quiet")
    assert page.get_by_text("原文链接无效").count() == len(HOSTILE_URLS)

    for post_id in hostile:
        _check_page(page, console, f"/posts/{post_id}")
        assert page.get_by_text("原文链接无效").count() == 1
        assert page.locator("h1").inner_text().startswith("排污 投诉 恶意链接")
    screenshot(page, "csp-post-hostile-link", full_page=True)
    # 返回 is bound by console.js, not a javascript: URL: with no page of ours to go back to, its href
    back = page.locator("nav.crumbs a[data-back]")
    assert back.get_attribute("href") == "/search"
    back.click()
    page.wait_for_url(f"{console.url}/search")

    _check_page(page, console, "/search?q=排污&sort=time")
    assert page.locator(".post").count() >= len(HOSTILE_URLS)
    assert page.get_by_text("原文链接无效").count() >= len(HOSTILE_URLS)
    assert page.locator("#histogram canvas").count() >= 1
    screenshot(page, "csp-search-hostile-links")
    page.locator(".post h3 a").first.click()
    page.wait_for_url(re.compile(r".*/posts/"))
    page.locator("nav.crumbs a[data-back]").click()  # back in history, to the search with its query
    page.wait_for_url(re.compile(r".*/search\?q="))
    assert dialogs == []


def test_every_console_page_runs_under_the_csp(page: Any, console: Console) -> None:
    """The console's pages with script (countdowns, charts, the department picker, Swagger UI) work under
    the policy: the page fixture fails on any violation."""
    _log_in(page, console)
    bar = page.locator("#board .clock[data-start] .bar span").first
    assert float(bar.evaluate("e => parseFloat(getComputedStyle(e).width)")) > 0  # set by console.js
    for path in ("/board", "/incidents", "/leader", "/performance", "/sources", "/tokens", "/search?q=排污"):
        response = page.goto(f"{console.url}{path}")
        assert response is not None and response.ok, path
        assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, path
        page.wait_for_load_state("networkidle")
    page.goto(f"{console.url}/leader")
    assert page.locator("#regions canvas").count() >= 1
    assert page.locator("#regions").evaluate("e => e.getBoundingClientRect().height") > 60  # data-height
    page.wait_for_timeout(1200)  # ECharts' 1 s entry animation: the bars at their full length
    screenshot(page, "csp-leader", full_page=True)

    page.goto(f"{console.url}/department")
    picker = page.locator("select[data-autosubmit]")
    other = picker.locator("option:not([selected])").first.get_attribute("value")
    picker.select_option(other)
    page.wait_for_url(re.compile(rf".*/department\?department_id={re.escape(str(other))}"))

    response = page.goto(f"{console.url}/docs")
    assert response is not None and response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY
    page.locator(".swagger-ui .opblock").first.wait_for()
    page.locator(".swagger-ui .opblock .opblock-summary").first.click()  # expands: React styles, SVG icons
    page.wait_for_timeout(300)
    screenshot(page, "csp-api-docs")
