"""In Chromium: the 专报 download and the 复盘 form on an alert page, and the 报告 page with its forms;
screenshots in test-artifacts/browser/."""

from __future__ import annotations

import re
from typing import Any

from console_harness import Console, screenshot
from factories import PASSWORD
from sqlalchemy import select

from alerting.models import Alert


def _login(page: Any, console: Console, name: str) -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url) + "/(?!login)"))


def test_analyst_downloads_the_report_and_writes_the_review(page: Any, console: Console) -> None:
    with console.db.transaction() as session:
        alert_id = session.scalar(select(Alert.id).where(Alert.incident_id == "inc-hf"))
    _login(page, console, "analyst")
    page.goto(f"{console.url}/alerts/{alert_id}")
    panel = page.locator("#report")
    assert "专报与复盘" in panel.locator("h2").inner_text()
    with page.expect_download() as info:
        panel.locator("a", has_text="下载专报（PDF）").click()
    download = info.value
    assert download.suggested_filename == "舆情专报-inc-hf.pdf"
    assert download.path().read_bytes()[:5] == b"%PDF-"
    panel.locator("textarea[name=problems]").fill("首报时间偏晚")
    panel.locator("textarea[name=measures]").fill("值班员接报后 10 分钟内研判")
    panel.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*done=review_saved.*"))
    assert "首报时间偏晚" in page.locator("#report-review").inner_text()
    page.locator("#report").scroll_into_view_if_needed()
    screenshot(page, "report-panel-analyst")


def test_leader_sees_the_reports_page(page: Any, console: Console) -> None:
    from reports.snapshot import store_today_snapshot
    from yuqing.clock import utcnow

    with console.db.transaction() as session:  # what the reports stage keeps in the demo
        snapshot = store_today_snapshot(session, "html", now=utcnow(), actor="schedule")
        title = snapshot.title
    _login(page, console, "leader")
    page.click("nav a[href='/reports']")
    page.wait_for_url(f"{console.url}/reports")
    assert page.locator("nav a.on").inner_text() == "报告"
    assert page.locator("#periodic h2").inner_text().startswith("舆情日报 / 周报")
    row = page.locator("#stored-reports tr", has_text="截至")
    assert title in row.inner_text() and "当日截至，非定稿" in row.inner_text()
    with page.expect_download() as info:
        page.locator("#ledger-form button", has_text="下载 CSV").click()
    assert info.value.path().read_bytes()[:3] == b"\xef\xbb\xbf"
    screenshot(page, "reports-page-leader")
