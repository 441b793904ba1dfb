"""/docs in Chromium: the duty officer, logged in to the console, acknowledges an alert with Swagger UI's
"Try it out". The POST carries only the session cookie, so it is accepted only because /docs's
requestInterceptor (api/console/static/api_docs.js) adds the session's CSRF token: without it the API
answers 403 and this test fails."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from console_harness import Console, screenshot
from factories import PASSWORD

pytestmark = pytest.mark.browser

# FastAPI's operationId for POST /api/alerts/{alert_id}/acknowledge; Swagger UI's block is
# #operations-<tag>-<operationId>
ACKNOWLEDGE = "#operations-alerts-alert_acknowledge_api_alerts__alert_id__acknowledge_post"
NOTE = "经 /docs 签收：已电话联系合肥市生态环境局"


def test_try_it_out_acknowledges_an_alert_from_the_console_session(page: Any, console: Console) -> None:
    alert_id = console.seed_major_incident("inc-docs", "合肥 化工园区 异味 群众 投诉", ("合肥市", "3401"))
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", "duty")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url + "/board")))

    page.goto(f"{console.url}/docs")
    operation = page.locator(ACKNOWLEDGE)
    operation.locator(".opblock-summary").click()  # expand it
    operation.locator("button.try-out__btn").click()
    operation.locator("tr[data-param-name='alert_id'] input").fill(str(alert_id))
    operation.locator("textarea.body-param__text").fill(json.dumps({"note": NOTE}, ensure_ascii=False))
    with page.expect_response(re.compile(rf"/api/alerts/{alert_id}/acknowledge$")) as sent:
        operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    status.wait_for(state="visible")
    status.evaluate("el => el.scrollIntoView({block: 'center'})")
    screenshot(page, "api-docs-try-it-out")  # the request and Swagger UI's live response
    code = status.inner_text().strip()
    assert re.match(r"2\d\d\b", code), f"Swagger UI shows {code!r}: {sent.value.text()[:300]}"
    assert sent.value.request.headers.get("x-csrf-token")  # the interceptor's header, from the session
    assert (
        '"status": "acknowledged"'
        in operation.locator(".live-responses-table .response .response-col_description").inner_text()
    )

    # the effect, read back through the API in the same session
    alert = page.request.get(f"{console.url}/api/alerts/{alert_id}").json()
    assert alert["status"] == "acknowledged"
    history = page.request.get(f"{console.url}/api/alerts/{alert_id}/history").json()
    assert [(e["actor"], e["action"], e["reason"]) for e in history][-1] == ("duty", "acknowledge", NOTE)
