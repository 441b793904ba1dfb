"""The board's 留言 tab in Chromium: the board's other views leave 留言 out; a duty officer switches to the
留言咨询 tab and sees only the 留言 cases with their 留言答复 clocks; a new 留言 arrives on the tab live while
a new 舆情 case stays off it; the 重大 view never shows a 留言. Screenshot under test-artifacts/browser/."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from console_harness import Console, screenshot
from factories import PASSWORD

from yuqing.clock import SystemClock
from yuqing.schemas import Incident, Location

pytestmark = pytest.mark.browser


def seed_message(console: Console, incident_id: str, title: str) -> int:
    now = SystemClock().now()
    result = console.worker.ingest(
        Incident(
            id=incident_id,
            title=title,
            first_seen=now - timedelta(hours=1),
            last_seen=now - timedelta(hours=1),
            locations=[Location(name="安庆市", code="3408", level="city")],
            category="环境保护",
            post_count=1,
            source_count=1,
            kind="message",
        )
    )
    assert result.outcome == "created" and result.alert_id
    return result.alert_id


def test_the_message_tab_shows_only_message_cases_and_updates_live(page: Any, console: Console) -> None:
    seed_message(console, "msg-1", "安庆市大观区某小区连续三天停水 请求尽快恢复")
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", "duty")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url) + "/"))
    page.goto(f"{console.url}/board")
    titles = page.locator("#board tbody td.alert-title > a")
    first = "安庆市大观区某小区连续三天停水 请求尽快恢复"
    assert "合肥 工业园 排污 群众 聚集" in titles.all_inner_texts()
    assert first not in titles.all_inner_texts(), "留言 stay on their own tab"

    page.click("nav[aria-label='筛选'] a[href='/board?view=message']")
    page.wait_for_url(re.compile(r"/board\?view=message$"))
    assert page.locator("nav[aria-label='筛选'] a.on").inner_text() == "留言咨询"
    assert titles.all_inner_texts() == [first]
    assert page.locator("#board tbody .clock[data-kind='message_reply'] .kind").inner_text() == "留言答复"

    # live: a new 留言 appears on this tab by itself, a new 舆情 case does not
    console.seed_major_incident("inc-aq-new", "安庆 码头 油污 扩散", ("安庆市", "3408"))
    seed_message(console, "msg-2", "安庆市迎江区学校门口道路积水严重")
    page.wait_for_function(
        "() => document.querySelectorAll('#board tbody td.alert-title > a').length === 2", timeout=15_000
    )
    assert set(titles.all_inner_texts()) == {first, "安庆市迎江区学校门口道路积水严重"}
    screenshot(page, "board-message-tab")

    page.click("nav[aria-label='筛选'] a[href='/board?view=major']")
    page.wait_for_url(re.compile(r"/board\?view=major$"))
    major = page.locator("#board tbody td.alert-title > a").all_inner_texts()
    assert "安庆 码头 油污 扩散" in major and not any("安庆市大观区" in t for t in major)
