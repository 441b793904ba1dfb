"""User administration in Chromium: the admin creates a department handler on the 用户管理 page, that
user logs in and sees their department's workbench, then the admin deactivates them and the user's next
page load sends them to the login page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_harness import Console, screenshot
from factories import DEPT_A, PASSWORD

pytestmark = pytest.mark.browser

NEW_USER = "liu_qi"
NEW_PASSWORD = "river-clean-2026"


def log_in(page: Any, console: Console, name: str, password: str, home: str) -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url + home)))


def test_admin_creates_then_deactivates_a_department_user(page: Any, browser: Any, console: Console) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, console, "admin", PASSWORD, "/board")
    page.click("nav a[href='/users']")
    page.wait_for_url(f"{console.url}/users")
    assert page.locator("h1").inner_text() == "用户管理"

    form = page.locator("form[data-action=create]")
    form.locator("input[name=name]").fill(NEW_USER)
    form.locator("input[name=display_name]").fill("刘七<b>安庆</b>")
    form.locator("select[name=role]").select_option("department")
    form.locator("select[name=department_id]").select_option(DEPT_A)
    form.locator("input[name=password]").fill(NEW_PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/users\?done=created"))
    assert f"已新建用户 {NEW_USER}" in page.locator(".flash").inner_text()
    row = page.locator(f"tr[data-user='{NEW_USER}']")
    cells = row.locator("td").all_inner_texts()
    assert cells[1:5] == ["刘七<b>安庆</b>", "部门处置人", "安庆市生态环境局", "在用"]
    screenshot(page, "users-admin-list")
    admin_cookies = browser.cookies()

    # the new user logs in (their own browser session) and lands on their department's workbench
    browser.clear_cookies()
    log_in(page, console, NEW_USER, NEW_PASSWORD, "/department")
    assert page.locator("h1").first.inner_text().startswith("安庆市生态环境局")
    assert page.locator("nav a[href='/users']").count() == 0
    user_cookies = browser.cookies()

    # the admin deactivates them
    browser.clear_cookies()
    browser.add_cookies(admin_cookies)
    page.goto(f"{console.url}/users")
    page.locator(f"tr[data-user='{NEW_USER}'] a", has_text="管理").click()
    page.wait_for_url(re.compile(r"/users/\d+$"))
    deactivate = page.locator("form[data-action=deactivate]")
    deactivate.locator("input[name=reason]").fill("调离岗位")
    deactivate.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/users/\d+\?done=deactivated"))
    assert page.locator("#user-status").inner_text() == "已停用"
    assert "其登录会话与 API 令牌已立即失效" in page.locator(".flash").inner_text()
    screenshot(page, "users-admin-deactivated")

    # the user's next page load goes to the login page, and logging in again is refused
    browser.clear_cookies()
    browser.add_cookies(user_cookies)
    page.goto(f"{console.url}/department")
    page.wait_for_url(re.compile(r"/login\?next=%2Fdepartment"))
    assert page.locator("input[name=password]").is_visible()
    page.fill("input[name=name]", NEW_USER)
    page.fill("input[name=password]", NEW_PASSWORD)
    page.click("button[type=submit]")
    assert page.locator("p.error").inner_text() == "用户名或密码错误"
    assert dialogs == []
