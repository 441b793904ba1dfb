"""The duty room in Chromium: the leader view lists every open 重大 case with ticking countdowns; the wall
screen fits its counters and the ten most urgent cases on 1920×1080 and 3840×2160 without scrolling; 签收
from a board row takes one click; closed alerts stay findable; a refresh keeps keyboard focus and scroll
position and announces a new 重大 alert; the department workbench shows a newly assigned alert without a
reload and one notice per event."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from console_harness import ARTIFACTS, Console, screenshot
from factories import PASSWORD, act, seed_incident
from sqlalchemy import select

from alerting import service
from alerting.models import Alert, Notification
from alerting.outbox import Recipient
from alerting.state import OPEN
from yuqing.clock import SystemClock

pytestmark = pytest.mark.browser

HOMES = {"duty": "/board", "dept_a": "/department", "leader": "/leader"}
# (incident id, title, place, level, age): 12 open cases, so the wall screen has more than its ten rows
CASES = [
    ("w-01", "合肥 化工园 夜间 偷排 废水", ("合肥市", "3401"), "重大", timedelta(hours=6)),  # overdue
    ("w-02", "安庆 长江 支流 大面积 死鱼", ("安庆市", "3408"), "特别重大", timedelta(hours=4, minutes=30)),
    ("w-03", "合肥 地铁 工地 塌陷 围观", ("合肥市", "3401"), "重大", timedelta(hours=4, minutes=20)),
    ("w-04", "安庆 小区 自来水 浑浊 发臭", ("安庆市", "3408"), "较大", timedelta(hours=2)),
    ("w-05", "合肥 学校 食堂 食物 中毒 传闻", ("合肥市", "3401"), "重大", timedelta(hours=1)),
    ("w-06", "安庆 垃圾 焚烧厂 选址 争议", ("安庆市", "3408"), "较大", timedelta(minutes=40)),
    ("w-07", "合肥 医院 收费 投诉 集中", ("合肥市", "3401"), "一般", timedelta(minutes=30)),
    ("w-08", "安庆 拆迁 补偿 聚集 上访", ("安庆市", "3408"), "重大", timedelta(minutes=20)),
    ("w-09", "合肥 公交 停运 乘客 滞留", ("合肥市", "3401"), "较大", timedelta(minutes=15)),
    ("w-10", "安庆 养老院 火灾 隐患 曝光", ("安庆市", "3408"), "一般", timedelta(minutes=10)),
    ("w-11", "合肥 燃气 管道 泄漏 疏散", ("合肥市", "3401"), "特别重大", timedelta(minutes=5)),
]


def log_in(page: Any, console: Console, name: str) -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url + HOMES[name])))


@pytest.fixture(scope="module")
def cases(console: Console) -> dict[str, int]:
    """The cases above through the real alerting intake (besides the console's own 合肥 重大 case)."""
    now = SystemClock().now()
    out = {}
    for incident_id, title, place, level, age in CASES:
        alert_id = seed_incident(
            console.worker, console.db, incident_id=incident_id, title=title, place=place,
            first_seen=now - age, level=level,
        )
        assert alert_id is not None
        out[incident_id] = alert_id
    return out


def expected_counters(console: Console) -> dict[str, int]:
    """The counters the wall must show, worked out from the board's own list (not the counters query)."""
    now = SystemClock().now()
    with console.db.session() as session:
        items = service.list_alerts(session, now=now, statuses=sorted(OPEN), limit=500).items
    counts = {"open": len(items), "overdue": 0, "due_1h": 0, "unacked": 0}
    for i, level in enumerate(("特别重大", "重大", "较大", "一般")):
        counts[f"l{4 - i}"] = sum(a.level == level for a in items)
    for a in items:
        counts["unacked"] += a.acknowledged_at is None
        if a.next_due_at is not None:
            left = (a.next_due_at - now).total_seconds()
            counts["overdue"] += left <= 0
            counts["due_1h"] += 0 < left <= 3600
    return counts


def shown_counters(page: Any) -> dict[str, int]:
    return {
        el.get_attribute("data-counter"): int(el.inner_text())
        for el in page.locator("#counters [data-counter]").all()
    }


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160), (1366, 768)])
def test_wall_screen_fits_the_top_ten_and_the_counters(
    page: Any, console: Console, cases: dict[str, int], size: tuple[int, int]
) -> None:
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, console, "duty")
    page.goto(f"{console.url}/board/wall")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#board tbody tr[data-alert-id]")
    assert rows.count() == 10
    expected = expected_counters(console)
    assert shown_counters(page) == expected
    assert expected["open"] >= 12 and expected["overdue"] >= 1 and expected["due_1h"] >= 2
    assert f"另有 {expected['open'] - 10} 条待处置" in page.locator("#wall-more").inner_text()
    scroll = page.evaluate(
        "() => [document.documentElement.scrollHeight, window.innerHeight,"
        " document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll[0] <= scroll[1] and scroll[2] <= scroll[3], f"the wall scrolls: {scroll}"
    last = rows.nth(9).bounding_box()
    assert last is not None and last["y"] + last["height"] <= height
    remain = rows.first.locator(".clock .remain")
    px = float(remain.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert px >= 0.028 * height, f"countdown type {px}px is small for a {height}px wall"
    # the owner and the due time are on the row itself
    assert rows.first.locator(".owner-dept").inner_text()
    assert re.match(r"截止 ", rows.first.locator(".clock .due").inner_text())
    screenshot(page, f"wall-{width}x{height}")


def test_leader_view_lists_the_open_major_case_with_a_ticking_countdown(
    page: Any, console: Console, cases: dict[str, int]
) -> None:
    log_in(page, console, "leader")
    section = page.locator("#major-cases")
    first = section.locator("[data-alert-id]").first
    # before 督办, 超时 and the departments; 特别重大 first
    order = page.evaluate(
        "() => [...document.querySelectorAll('main h2')].map(h => h.textContent.trim().slice(0, 6))"
    )
    assert order[0].startswith("重大及以上"), order
    assert first.locator(".level").inner_text() == "特别重大"
    major = section.locator(f"[data-alert-id='{cases['w-05']}']")  # 重大, an hour old: 4 h left to inform
    clock = major.locator(".clock[data-kind=authoritative_info] .remain")
    before = clock.inner_text()
    assert re.fullmatch(r"剩余 3:5\d:\d\d", before), before
    page.wait_for_timeout(1500)
    assert clock.inner_text() != before, "the countdown ticks"
    assert "合肥市生态环境局" in major.locator(".owner").inner_text()
    levels = set(section.locator(".level").all_inner_texts())
    assert levels == {"重大", "特别重大"}
    # a new 重大 case appears without a reload, announced to screen readers
    page.evaluate("() => { window.__sameDocument = true; }")
    new_id = console.seed_major_incident("w-lead", "合肥 高速 连环 追尾 伤亡", ("合肥市", "3401"))
    arrived = section.locator(f"[data-alert-id='{new_id}'] .clock[data-kind=authoritative_info]")
    arrived.wait_for(timeout=12000)
    assert page.evaluate("() => window.__sameDocument === true")
    page.wait_for_function("() => document.querySelector('#board-announce').textContent.includes('追尾')")
    screenshot(page, "leader-major-cases-1366", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    width = page.evaluate("() => document.querySelector('#major-cases').scrollWidth")
    assert width <= 390, f"the major cases are {width}px wide on a phone"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # the section itself (the phone's top bar and menu are another change's): the bar must not cover it
    page.evaluate("() => { document.querySelector('.topbar').style.position = 'static'; }")
    section.screenshot(path=str(ARTIFACTS / "leader-major-cases-390.png"))


def test_acknowledge_from_the_board_row_with_one_click(
    page: Any, console: Console, cases: dict[str, int]
) -> None:
    log_in(page, console, "duty")
    alert_id = cases["w-03"]
    row = page.locator(f"#board tr[data-alert-id='{alert_id}']")
    assert row.locator(".owner-person").inner_text() == "尚未签收"
    before = shown_counters(page)["unacked"]
    row.locator("button.ack").click()
    row.locator(".owner-person", has_text="签收人").wait_for()
    assert page.url == f"{console.url}/board"  # stayed on the board
    assert row.locator(".status").inner_text().startswith("已签收")
    assert row.locator("button.ack").count() == 0
    assert shown_counters(page)["unacked"] == before - 1
    with console.db.session() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None and alert.status == "acknowledged" and alert.acknowledged_by == "duty"
    screenshot(page, "board-row-acknowledged")


def test_closed_view_finds_a_closed_alert(page: Any, console: Console, cases: dict[str, int]) -> None:
    alert_id = cases["w-09"]
    now = SystemClock().now()
    act(console.db, "ack", alert_id, now)
    act(console.db, "info", alert_id, now)
    with console.db.transaction() as session:
        service.close(session, alert_id=alert_id, review="已核实并回应，复盘完成", actor="duty",
                      channel="console", now=now)
    log_in(page, console, "duty")
    assert page.locator(f"#board tr[data-alert-id='{alert_id}']").count() == 0  # gone from the open board
    page.click("nav.tabs a:has-text('已办结')")
    page.wait_for_url(re.compile(r".*/board\?view=closed$"))
    row = page.locator(f"#board tr[data-alert-id='{alert_id}']")
    assert "合肥 公交 停运" in row.locator(".alert-title").inner_text()
    assert row.locator(".status").inner_text().startswith("已办结")
    assert "关闭" in row.locator(".meta").inner_text()
    screenshot(page, "board-closed-view")
    page.select_option("#board-filters select[name=level]", "重大")
    page.click("#board-filters button[type=submit]")
    page.wait_for_url(re.compile(r".*level=.*"))
    assert page.locator(f"#board tr[data-alert-id='{alert_id}']").count() == 0  # a 较大 case: filtered out
    page.select_option("#board-filters select[name=level]", "较大")
    page.fill("#board-filters input[name=q]", "公交")
    page.click("#board-filters button[type=submit]")
    page.wait_for_url(re.compile(r".*q=.*"))
    assert page.locator("#board tr[data-alert-id]").count() == 1
    page.click("nav.tabs a:has-text('最近新增')")
    assert page.locator(f"#board tr[data-alert-id='{alert_id}']").count() == 1  # recent: any status


def test_a_refresh_keeps_focus_and_scroll_and_announces_a_new_major_alert(
    page: Any, console: Console, cases: dict[str, int]
) -> None:
    log_in(page, console, "duty")
    target = cases["w-10"]
    link = page.locator(f"#board tr[data-alert-id='{target}'] .alert-title a")
    link.focus()
    page.evaluate("() => window.scrollTo(0, 300)")
    page.keyboard.press("Shift+Tab")  # the keyboard user moves within the rows
    page.keyboard.press("Tab")
    where = "document.activeElement.closest('tr').getBoundingClientRect().top"
    before = page.evaluate(
        f"() => [document.activeElement.closest('tr').dataset.alertId, window.scrollY, {where}]"
    )
    assert before[0] == str(target) and before[1] > 0
    page.evaluate("() => { window.__sameDocument = true; }")
    new_id = console.seed_major_incident("w-new", "安庆 化工 储罐 爆燃 浓烟", ("安庆市", "3408"))
    page.locator(f"#board tr[data-alert-id='{new_id}']").wait_for(timeout=12000)
    after = page.evaluate(
        "() => [document.activeElement.closest('tr') && document.activeElement.closest('tr').dataset.alertId,"
        f" window.scrollY, window.__sameDocument === true, document.activeElement.tagName, {where}]"
    )
    assert after[2], "the board refreshed in place"
    assert after[0] == str(target) and after[3] == "A", f"focus moved: {after}"
    # what the reader looks at stays put: the focused row is where it was on the screen (the page scrolled
    # along by the height of whatever appeared above it: the new row or the banner)
    assert after[1] > 0 and abs(after[4] - before[2]) <= 2, f"the focused row moved from {before} to {after}"
    region = page.locator("#board-announce")
    assert region.get_attribute("aria-live") == "assertive"
    page.wait_for_function("() => document.querySelector('#board-announce').textContent.includes('储罐')")
    assert "新的重大预警 1 条" in region.inner_text()
    screenshot(page, "board-focus-kept-after-refresh")


def test_workbench_shows_a_newly_assigned_alert_without_reload_and_one_notice_per_event(
    page: Any, console: Console, cases: dict[str, int]
) -> None:
    log_in(page, console, "dept_a")
    page.evaluate("() => { window.__sameDocument = true; }")
    new_id = console.seed_major_incident("w-dept", "安庆 港口 油污 扩散 渔民 聚集", ("安庆市", "3408"))
    card = page.locator(f"#board section.queue-item[data-alert-id='{new_id}']")
    card.wait_for(timeout=12000)
    assert page.evaluate("() => window.__sameDocument === true"), "the new alert came without a reload"
    assert card.locator("button.ack").count() == 1
    # one event (a level rise) sent to the department's contact and to its head: one notice
    with console.db.transaction() as session:
        alert = session.get(Alert, cases["w-04"])
        assert alert is not None
        recipients = [
            Recipient(role="department", key="department:aq-sthj:办公室", name="办公室"),
            Recipient(role="department_head", key="department_head:aq-sthj:王局长", name="王局长"),
        ]
        console.worker._deliver(session, alert, None, "level:重大", 0, recipients, SystemClock().now())
    with console.db.session() as session:
        copies = session.scalars(
            select(Notification.recipient).where(
                Notification.alert_id == cases["w-04"], Notification.threshold == "level:重大",
                Notification.channel == "console",
            )
        ).all()
        assert len(copies) == 2, copies  # two rows: what the workbench used to show twice
    page.reload()
    notices = page.locator("#notifications li", has_text="安庆 小区 自来水 浑浊 发臭 — 级别上升")
    assert notices.count() == 1
    screenshot(page, "department-one-notice-per-event", full_page=True)
    notices.locator("button").click()
    page.wait_for_url(re.compile(r".*/department$"))
    assert page.locator("#notifications li", has_text="安庆 小区 自来水 浑浊 发臭 — 级别上升").count() == 0
    with console.db.session() as session:
        unread = session.scalars(
            select(Notification).where(
                Notification.alert_id == cases["w-04"], Notification.threshold == "level:重大",
                Notification.channel == "console",
                Notification.read_at.is_(None), Notification.recipient.like("department%:aq-sthj:%"),
            )
        ).all()
        assert unread == [], "marking the notice read marked the event read for the department"
    # 签收 on the card: one click
    card = page.locator(f"section.queue-item[data-alert-id='{new_id}']")
    card.locator("button.ack").click()
    card.locator(".chip", has_text="已签收").wait_for()
    assert page.url.endswith("/department")
    screenshot(page, "department-card-acknowledged", full_page=True)
