"""考核统计 in Chromium at 1366×768: the analyst opens the page from the navigation, sees the departments
worst first with their colours, the on-time chart drawn by ECharts and the CSV link; a screenshot is kept
under test-artifacts/browser/."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from console_harness import Console, screenshot
from factories import PASSWORD, act, seed_incident

from yuqing.clock import SystemClock

pytestmark = pytest.mark.browser

HOUR = timedelta(hours=1)


def _act(console: Console, what: str, alert_id: int, at: datetime) -> None:
    act(console.db, what, alert_id, at)


def _seed(console: Console) -> None:
    """Besides the fixture's fresh 合肥 case (pending): 合肥 on time; 安庆 one late publication and two on
    time; a case from outside the directory's regions, handed to the 网信办, breaches both clocks (督办)."""
    now = SystemClock().now()
    start = now - 30 * HOUR

    def seed(key: str, place: tuple[str, str], first_seen: datetime, level: str = "重大") -> int:
        alert_id = seed_incident(
            console.worker,
            console.db,
            incident_id=f"perf-{key}",
            title=f"{place[0]} 排污 {key}",
            place=place,
            first_seen=first_seen,
            level=level,
        )
        assert alert_id is not None
        return alert_id

    hf = seed("hf", ("合肥市", "3401"), start)
    aq = seed("aq", ("安庆市", "3408"), start)
    far = seed("far", ("乌鲁木齐市", "6501"), start)
    aq2 = seed("aq2", ("安庆市", "3408"), now - 10 * HOUR, level="一般")
    _act(console, "ack", hf, start + HOUR / 2)
    _act(console, "ack", aq, start + HOUR)
    _act(console, "info", hf, start + 2 * HOUR)
    console.worker.run_timers(start + 5 * HOUR + timedelta(minutes=1))  # 安庆 and the far case breach
    _act(console, "info", aq, start + 6 * HOUR)
    _act(console, "press", hf, start + 10 * HOUR)
    _act(console, "press", aq, start + 20 * HOUR)
    _act(console, "ack", aq2, now - 8 * HOUR)
    _act(console, "info", aq2, now - 7 * HOUR)
    console.worker.run_timers(now)
    assert far


def test_analyst_sees_the_performance_page(page: Any, console: Console) -> None:
    _seed(console)
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", "analyst")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url + "/search")))
    page.click("nav a[href='/performance']")
    page.wait_for_url(f"{console.url}/performance")
    assert page.locator("h1").inner_text() == "考核统计"
    assert page.locator("nav a.on").inner_text() == "考核统计"

    rows = page.locator("#performance-table tbody tr")
    names = [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())]
    assert names == ["安徽省网信办", "安庆市生态环境局", "合肥市生态环境局", "合计"]
    rates = page.locator("#performance-table tbody td[data-rate] .rate")
    assert rates.all_inner_texts() == ["0.0%", "66.7%", "100.0%", "57.1%"]
    classes = [rates.nth(i).get_attribute("class") for i in range(rates.count())]
    assert classes == ["rate rate-bad", "rate rate-warn", "rate rate-ok", "rate rate-bad"]

    page.wait_for_selector("#rates canvas")
    page.wait_for_load_state("networkidle")
    table_box = page.locator("#performance-table").bounding_box()
    assert table_box["x"] + table_box["width"] <= 1366, "the table fits the width of a 1366 px screen"
    screenshot(page, "performance-analyst")
    screenshot(page, "performance-analyst-full", full_page=True)

    href = page.locator("a#csv").get_attribute("href")
    download = page.request.get(console.url + href)
    assert download.ok and download.body().startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(download.body().decode("utf-8-sig"))))
    assert table[0][:3] == ["部门", "部门编码", "预警数"] and [r[0] for r in table[1:]] == names
