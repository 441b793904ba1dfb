"""The console in Chromium: every role logs in; the duty officer sees a new 重大 alert appear, acknowledges
it, records the information published before the 5-hour deadline and sees that countdown stop; a
department handler sees only its own department; a post with <script> renders as text."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from console_harness import Console, screenshot
from factories import PASSWORD
from sqlalchemy import select

from alerting.models import Alert
from yuqing.storage import SearchQuery

pytestmark = pytest.mark.browser

HOMES = {
    "admin": "/board",
    "duty": "/board",
    "dept_a": "/department",
    "leader": "/leader",
    "analyst": "/search",
}


def log_in(page: Any, console: Console, name: str) -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url + HOMES[name])))


@pytest.mark.parametrize("name", list(HOMES))
def test_each_role_logs_in_to_its_home_page(page: Any, console: Console, name: str) -> None:
    log_in(page, console, name)
    assert page.locator(".role-chip").inner_text()
    assert page.locator("h1").first.is_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, f"home-{name}")


def test_wrong_password_shows_a_message(page: Any, console: Console) -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", "duty")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator("p.error").inner_text() == "用户名或密码错误"
    screenshot(page, "login-error")


def test_duty_officer_flow_on_a_major_incident(page: Any, console: Console) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, console, "duty")
    post_ids = [h.post["id"] for h in console.store.search(SearchQuery(text="排污", size=10)).hits]
    # the new 重大 alert appears on the open board, with the visual cue
    alert_id = console.seed_major_incident(
        "inc-aq", "安庆 化工厂 排污 河水 发黑", ("安庆市", "3408"), post_ids
    )
    row = page.locator(f"tr[data-alert-id='{alert_id}']")
    row.wait_for(state="visible", timeout=12000)  # pushed over SSE: the fallback poll is every 30 s
    assert page.locator("#banner-major").is_visible()
    assert "新的重大预警" in page.locator("#banner-major").inner_text()
    five_hour = row.locator(".clock[data-kind=authoritative_info] .remain")
    assert re.fullmatch(r"剩余 4:(4|5)\d:\d\d", five_hour.inner_text())
    screenshot(page, "board-new-major-alert")

    row.locator(".alert-title a").click()
    page.wait_for_url(f"**/alerts/{alert_id}")
    page.wait_for_load_state("networkidle")
    screenshot(page, "incident-page", full_page=True)
    page.click("form[data-action=acknowledge] button")
    page.wait_for_url(f"**/alerts/{alert_id}?done=acknowledge")
    assert page.locator("#alert-status").inner_text() == "已签收"

    form = page.locator("form[data-action=info_published]")
    form.locator("input[name=link]").fill("https://www.aq.gov.cn/xxgk/2026/notice.html")
    form.locator("input[name=evidence]").fill("市生态环境局官网发布情况通报")
    form.locator("button").click()
    page.wait_for_url(f"**/alerts/{alert_id}?done=info_published")
    stopped = page.locator("#deadlines .clock[data-kind=authoritative_info]")
    assert "done" in (stopped.get_attribute("class") or "")
    before = stopped.inner_text()
    assert "已完成" in before
    running = page.locator("#deadlines .clock[data-kind=press_conference] .remain")
    ticking = running.inner_text()
    page.wait_for_timeout(1500)
    assert stopped.inner_text() == before, "the 5-hour countdown stopped"
    assert running.inner_text() != ticking, "the 24-hour press-conference countdown still runs"
    screenshot(page, "incident-after-info-published", full_page=True)

    # 持续发布: a 进展通报 after the first 权威信息 goes on the timeline; the stopped clock stays stopped
    releases = page.locator("#releases li[data-release-kind]")
    assert releases.count() == 1 and "权威信息" in releases.first.inner_text()
    form = page.locator("form[data-action=release]")
    form.locator("select[name=kind]").select_option("progress")
    form.locator("input[name=link]").fill("https://www.aq.gov.cn/xxgk/2026/progress-1.html")
    form.locator("input[name=note]").fill("河道排污口已封堵，水质监测持续进行")
    form.locator("button").click()
    page.wait_for_url(f"**/alerts/{alert_id}?done=release")
    assert releases.count() == 2
    assert "进展通报" in releases.nth(1).inner_text() and "排污口已封堵" in releases.nth(1).inner_text()
    assert "已完成" in page.locator("#deadlines .clock[data-kind=authoritative_info]").inner_text()
    assert page.locator("#alert-status").inner_text() == "已发布权威信息"
    screenshot(page, "incident-after-second-release", full_page=True)

    # 回应口径 (who approved it, when) and who spoke appear on the alert page
    form = page.locator("form[data-action=response_line]")
    form.locator("textarea[name=text]").fill("排污口已封堵，水质监测结果将及时公布")
    form.locator("input[name=approved_by]").fill("市委宣传部 王某")
    form.locator("button").click()
    page.wait_for_url(f"**/alerts/{alert_id}?done=response_line")
    assert "市委宣传部 王某 审定" in page.locator("#response-line").inner_text()
    form = page.locator("form[data-action=spokesperson]")
    form.locator("select[name=role]").select_option("principal")
    form.locator("input[name=name]").fill("李某")
    form.locator("button").click()
    page.wait_for_url(f"**/alerts/{alert_id}?done=spokesperson")
    assert "主要负责人 李某" in page.locator("#spokesperson").inner_text()

    page.goto(f"{console.url}/board")
    board_clock = page.locator(f"tr[data-alert-id='{alert_id}'] .clock[data-kind=authoritative_info]")
    assert "已完成" in board_clock.inner_text()
    screenshot(page, "board-after-info-published")
    assert dialogs == []


def test_department_handler_sees_only_its_department(page: Any, console: Console) -> None:
    log_in(page, console, "dept_a")
    page.goto(f"{console.url}/board")
    titles = page.locator(".alert-title a").all_inner_texts()
    assert titles and all("安庆" in t for t in titles) and not any("合肥" in t for t in titles)
    with console.db.session() as session:
        hefei = session.scalar(select(Alert.id).where(Alert.incident_id == "inc-hf"))
    response = page.goto(f"{console.url}/alerts/{hefei}")
    assert response is not None and response.status == 404
    assert "找不到" in page.locator("h1").inner_text()
    page.goto(f"{console.url}/department")
    assert "合肥" not in page.locator("main").inner_text()
    screenshot(page, "department-page", full_page=True)


def test_script_in_a_post_renders_as_text(page: Any, console: Console) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, console, "analyst")
    page.goto(f"{console.url}/search?q=排污&sort=time")
    hostile = page.locator(".post h3 a", has_text="<script>")
    assert hostile.inner_text() == "<script>alert(1)</script> 排污 标题"
    assert "<img src=x onerror=alert(2)> 正文" in page.locator(".snippet").all_inner_texts()
    assert page.locator(".post img").count() == 0
    screenshot(page, "search-hostile-post")
    hostile.click()
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "<script>alert(1)</script> 排污 标题"
    page.select_option("form:has(input[value=sentiment]) select", "negative")
    page.click("form:has(input[value=sentiment]) button")
    assert "已保存纠错" in page.locator(".flash").inner_text()
    screenshot(page, "post-label-correction", full_page=True)
    assert dialogs == []


def test_leader_and_source_pages_on_a_laptop_and_a_wall_screen(page: Any, console: Console) -> None:
    log_in(page, console, "leader")
    page.wait_for_load_state("networkidle")
    assert page.locator(".kpi").count() == 5
    screenshot(page, "leader-1366")
    page.goto(f"{console.url}/sources")
    assert page.locator("h1").inner_text() == "信源状态"
    screenshot(page, "sources-1366")
    page.set_viewport_size({"width": 2560, "height": 1440})
    page.goto(f"{console.url}/board")
    screenshot(page, "board-2560")
    page.goto(f"{console.url}/leader")
    page.wait_for_load_state("networkidle")
    screenshot(page, "leader-2560")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{console.url}/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()  # the vendored Swagger UI rendered the spec
    screenshot(page, "api-docs")


def test_countdown_colours_at_75_and_100_percent(page: Any, console: Console) -> None:
    late = console.seed_major_incident(
        "inc-late", "合肥 化工园 异味 投诉", ("合肥市", "3401"), age=timedelta(hours=6)
    )
    near = console.seed_major_incident(
        "inc-near", "合肥 河道 污染 投诉", ("合肥市", "3401"), age=timedelta(hours=4)
    )
    log_in(page, console, "duty")
    late_clock = page.locator(f"tr[data-alert-id='{late}'] .clock[data-kind=authoritative_info]")
    near_clock = page.locator(f"tr[data-alert-id='{near}'] .clock[data-kind=authoritative_info]")
    assert "p100" in (late_clock.get_attribute("class") or "")
    assert late_clock.locator(".remain").inner_text().startswith("超时 1:0")
    assert "p75" in (near_clock.get_attribute("class") or "")
    colour = near_clock.locator(".remain").evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(224, 102, 26)"  # the 75 % orange
    # the overdue alert is the most urgent: first on the board
    assert page.locator("tr[data-alert-id]").first.get_attribute("data-alert-id") == str(late)
    screenshot(page, "board-colours")


def test_duty_officer_finds_hot_incidents_from_the_navigation(page: Any, console: Console) -> None:
    log_in(page, console, "duty")
    page.click("nav.nav a[href='/incidents']")
    page.wait_for_url(f"{console.url}/incidents")
    hefei = page.locator("#incidents tr[data-incident-id='inc-hf']")  # seeded with the console
    assert "合肥" in hefei.locator(".alert-title").inner_text()
    assert "合肥市" in hefei.locator("td").nth(2).inner_text()  # the place named from the gazetteer
    assert hefei.locator("td").last.locator("a[href^='/alerts/']").count() == 1  # its alert, one click away
    page.select_option("select[name=alerted]", "no")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*alerted=no.*"))
    assert page.locator("#incidents tbody tr[data-incident-id] a[href^='/alerts/']").count() == 0
    page.goto(f"{console.url}/incidents")
    screenshot(page, "incidents-1366", full_page=True)


def test_duty_officer_makes_an_alert_of_a_quiet_incident(page: Any, console: Console) -> None:
    from incidents.models import IncidentRow
    from yuqing.clock import SystemClock

    now = SystemClock().now()
    with console.db.transaction() as session:
        session.add(IncidentRow(
            id="inc-quiet", title="安庆 小区 夜间 施工 扰民", keywords=["施工"],
            first_seen=now - timedelta(hours=1), last_seen=now, category="环境保护",
            department_type="生态环境局", severity=None, severity_triggers=[],
            locations=[{"name": "安庆市", "code": "3408", "level": "city"}], location_code="3408",
            post_count=2, source_count=1, heat=8.0, updated_at=now,
        ))
    log_in(page, console, "duty")
    page.goto(f"{console.url}/incidents?alerted=no")
    page.click("tr[data-incident-id='inc-quiet'] .alert-title a")
    page.wait_for_url(f"{console.url}/incidents/inc-quiet")
    form = page.locator("#manual-alert form")
    form.locator("select[name=level]").select_option("较大")
    form.locator("input[name=reason]").fill("临近中考，考点周边噪声投诉需提前处置")
    screenshot(page, "manual-alert-form")
    form.locator("button").click()
    page.wait_for_url(re.compile(r".*/alerts/\d+\?done=manual_created"))
    assert "人工研判生成预警" in page.locator(".flash").first.inner_text()
    assert page.locator(".incident-head .level").first.inner_text() == "较大"
    assert "人工研判：临近中考" in page.locator("#history").inner_text()
    assert page.locator("#deadlines .clock[data-kind=response]").count() == 1
    screenshot(page, "manual-alert-created", full_page=True)
