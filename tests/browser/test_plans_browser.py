"""监测方案 in Chromium: a duty officer writes a plan, tries it on the newest posts (试匹配), sees which
posts it would match, saves it, and lands on the plan's page with its back-filled hits."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_harness import Console, screenshot
from factories import PASSWORD

pytestmark = pytest.mark.browser


def test_duty_officer_writes_previews_and_saves_a_plan(page: Any, console: Console) -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", "duty")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url + "/board")))
    page.click("nav a[href='/plans']")
    page.wait_for_url(f"{console.url}/plans")
    assert page.locator("h1").inner_text() == "监测方案"

    page.fill("input[name=name]", "安庆排污")
    typed = "（排污｜死鱼）＋（河水|下游）-回应"  # full-width, as an IME types it
    page.fill("textarea[name=expression]", typed)
    page.fill("input[name=owners]", "duty")
    page.click("button[value=preview]")
    preview = page.locator("section[aria-label='试匹配结果']")
    preview.wait_for()
    assert "命中 2 条" in preview.locator("h2").inner_text()
    assert sorted(preview.locator("li a").all_inner_texts()) == ["化工厂 排污 河水 发黑", "河道 排污 死鱼"]
    assert page.locator("textarea[name=expression]").input_value() == typed
    screenshot(page, "plans-preview", full_page=True)

    page.fill("textarea[name=expression]", "(排污|死鱼")
    page.click("button[value=preview]")
    assert "第 1 个字符" in page.locator(".error").inner_text()

    page.fill("textarea[name=expression]", "(排污|死鱼)+(河水|下游)-回应")
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r"/plans/\d+$"))
    for _ in range(50):
        if "回溯：2 条" in page.locator("main, body").first.inner_text():
            break
        page.wait_for_timeout(100)
        page.reload()
    assert "回溯：2 条" in page.locator("body").inner_text()
    assert "命中趋势（共 2 条）" in page.locator("section[aria-label='命中趋势'] h2").inner_text()
    screenshot(page, "plans-page", full_page=True)


def test_a_plan_owner_reads_and_clears_a_notice_under_my_notices(page: Any, console: Console) -> None:
    """A plan's new incident (no alert opens for it) reaches its owner's 我的通知; 标为已读 clears it."""
    from nlp.plans.models import PlanRow
    from yuqing.clock import SystemClock
    from yuqing.schemas import Incident, Severity

    now = SystemClock().now()
    with console.db.transaction() as session:
        plan = PlanRow(name="收件测试", expression="停水", owner_users=["duty"], owner_departments=[],
                       channels=[], paused=False, created_by="t", created_at=now, updated_at=now,
                       backfill_hits=0)
        session.add(plan)
        session.flush()
        plan_id = plan.id
    console.worker.ingest(Incident(id="inc-inbox-browser", title="城区 大面积 停水 三天", first_seen=now,
                                   last_seen=now, post_count=3, source_count=2, severity=Severity(level=None),
                                   plan_ids=[plan_id]))
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", "duty")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url + "/board")))
    page.goto(f"{console.url}/plans")
    panel = page.locator("#my-notices")
    assert "1 条未读" in panel.locator("h2").inner_text()
    link = panel.locator("li a").first
    assert link.inner_text() == "[监测方案 收件测试] 城区 大面积 停水 三天 — 新事件"
    assert link.get_attribute("href") == "/incidents/inc-inbox-browser"
    assert "命中新事件" in panel.inner_text()
    screenshot(page, "plans-my-notices", full_page=True)
    panel.locator("button", has_text="标为已读").click()
    page.wait_for_url(f"{console.url}/plans")
    assert page.locator("#my-notices").count() == 0
