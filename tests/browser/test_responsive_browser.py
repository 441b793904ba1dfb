"""Every logged-in page on a 390×844 phone, an 800 px tablet and a 1920×1080 screen: no element reaches
past the viewport's width (a wide table may scroll inside its own container, the page itself never
scrolls sideways), and on the phone the navigation is a menu behind one button. A screenshot of each
page at each size is kept under test-artifacts/browser/."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from console_harness import Console, screenshot
from factories import PASSWORD, act, seed_incident

from yuqing.clock import SystemClock
from yuqing.storage import SearchQuery

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 800, "height": 1280}
WALL = {"width": 1920, "height": 1080}
SIZES = {"390": PHONE, "800": TABLET, "1920": WALL}

# Elements whose box reaches outside the viewport, unless an ancestor clips or scrolls them (then that
# ancestor is checked in its own right); hidden and zero-sized elements do not count.
OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  function clippedBy(el) {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox !== "visible") { return a; }
    }
    return null;
  }
  function name(el) {
    let s = el.tagName.toLowerCase();
    if (el.id) { s += "#" + el.id; }
    if (el.classList.length) { s += "." + Array.from(el.classList).join("."); }
    const text = (el.innerText || "").trim().slice(0, 24);
    return text ? s + " «" + text + "»" : s;
  }
  const offenders = [];
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) { continue; }
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") { continue; }
    if (r.left >= -1 && r.right <= width + 1) { continue; }
    if (clippedBy(el)) { continue; }
    offenders.push(name(el) + " [" + Math.round(r.left) + ", " + Math.round(r.right) + "]");
  }
  const scrollWidth = document.documentElement.scrollWidth;
  return { width: width, scrollWidth: scrollWidth, offenders: offenders.slice(0, 15) };
}
"""


def log_in(page: Any, console: Console, name: str) -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url) + r"/(board|department|leader|search)"))


@pytest.fixture(scope="module")
def ids(console: Console) -> dict[str, Any]:
    """An 安庆 case with posts, its first 权威信息 and a 发布会 recorded; an incident without an alert; a post
    to open."""
    hits = console.store.search(SearchQuery(text="排污", size=10)).hits
    post_ids = [h.post["id"] for h in hits]
    alert_id = console.seed_major_incident(
        "inc-aq-phone",
        "安庆 化工厂 排污 河水 发黑 居民 反映 下游 出现 大量 死鱼",
        ("安庆市", "3408"),
        post_ids,
        age=timedelta(minutes=60),
    )
    now = SystemClock().now()
    act(console.db, "ack", alert_id, now - timedelta(minutes=40))
    act(console.db, "info", alert_id, now - timedelta(minutes=25))
    act(console.db, "press", alert_id, now - timedelta(minutes=10))
    quiet = seed_incident(  # an incident the rules did not alert on: its own page, 人工研判 form included
        console.worker, console.db, incident_id="inc-quiet-phone", title="安庆 小区 夜间 施工 噪音 扰民 投诉",
        place=("安庆市", "3408"), first_seen=now - timedelta(hours=1), level=None, post_ids=post_ids[:2],
    )
    assert quiet is None
    return {"alert": alert_id, "post": post_ids[0], "incident": "inc-quiet-phone"}


PAGES = [
    ("board", "admin", "/board"),
    ("alert", "admin", "/alerts/{alert}"),
    ("incidents", "admin", "/incidents"),
    ("incident", "admin", "/incidents/{incident}"),
    ("leader", "leader", "/leader"),
    ("department", "dept_a", "/department"),
    ("search", "analyst", "/search?q=排污"),
    ("performance", "admin", "/performance"),
    ("users", "admin", "/users"),
    ("post", "admin", "/posts/{post}"),
    ("sources", "admin", "/sources"),
    ("tokens", "admin", "/tokens"),
]


def assert_fits(page: Any, what: str) -> None:
    found = page.evaluate(OVERFLOW_JS)
    wide = f"{what}: the page is {found['scrollWidth']} px wide ({found['offenders']})"
    assert found["scrollWidth"] <= found["width"], wide
    assert not found["offenders"], f"{what}: elements past the viewport: {found['offenders']}"


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize(("what", "user", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_page_fits_the_viewport(
    page: Any, console: Console, ids: dict[str, Any], what: str, user: str, path: str, size: str
) -> None:
    page.set_viewport_size(SIZES[size])
    log_in(page, console, user)
    page.goto(console.url + path.format(**ids))
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").first.is_visible()
    screenshot(page, f"fit-{what}-{size}", full_page=True)
    assert_fits(page, f"{what} at {size} px")


def test_phone_navigation_is_a_menu(page: Any, console: Console) -> None:
    page.set_viewport_size(PHONE)
    log_in(page, console, "admin")
    toggle = page.locator(".nav-toggle")
    nav = page.locator("#main-nav")
    assert toggle.is_visible() and not nav.is_visible()
    assert page.locator(".topbar").bounding_box()["height"] < 80, "the top bar is one line on a phone"
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert nav.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    assert page.locator("#main-nav a", has_text="领导视图").is_visible()
    logout = page.locator(".topbar button", has_text="退出")
    assert logout.is_visible()
    box = logout.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(page, "phone-menu-open")
    assert_fits(page, "the open menu")
    page.locator("#main-nav a", has_text="热点事件").click()
    page.wait_for_url("**/incidents")
    assert not page.locator("#main-nav").is_visible(), "a new page opens with the menu closed"
    page.keyboard.press("Tab")  # the menu button is reachable and works from the keyboard
    toggle.focus()
    page.keyboard.press("Enter")
    assert page.locator("#main-nav").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator("#main-nav").is_visible()


def test_wide_navigation_shows_every_link(page: Any, console: Console) -> None:
    page.set_viewport_size(WALL)
    log_in(page, console, "admin")
    assert not page.locator(".nav-toggle").is_visible()
    assert page.locator("#main-nav a", has_text="用户管理").is_visible()


def test_the_check_finds_an_element_past_the_viewport(page: Any, console: Console) -> None:
    """The overflow check itself: a 600 px wide block on a 390 px page is reported, by name."""
    page.set_viewport_size(PHONE)
    log_in(page, console, "admin")
    assert not page.evaluate(OVERFLOW_JS)["offenders"]
    page.evaluate(
        "() => { const d = document.createElement('div'); d.className = 'too-wide'; d.textContent = '过宽';"
        " d.style.width = '600px'; document.querySelector('main').appendChild(d); }"
    )
    found = page.evaluate(OVERFLOW_JS)
    assert found["scrollWidth"] > PHONE["width"]
    assert any(o.startswith("div.too-wide «过宽»") for o in found["offenders"]), found["offenders"]
