"""人工研判: a duty officer makes an alert of an incident the rules passed over, or raises its level."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from factories import DEPT_A, login, page_csrf
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from alerting.models import Notification
from incidents.models import IncidentRow
from yuqing.clock import FakeClock
from yuqing.db.models import AuditLog
from yuqing.db.session import Database


def _quiet_incident(db: Database, clock: FakeClock, incident_id: str = "quiet") -> None:
    """An incident no rule alerted on: no severity, little heat, first seen two hours ago in 安庆."""
    first = clock.now() - timedelta(hours=2)
    with db.transaction() as session:
        session.add(IncidentRow(
            id=incident_id, title="安庆 小区 夜间 施工 扰民", keywords=["施工"], first_seen=first,
            last_seen=clock.now(), category="环境保护", department_type="生态环境局", severity=None,
            severity_triggers=[], locations=[{"name": "安庆市", "code": "3408", "level": "city"}],
            location_code="3408", post_count=3, source_count=1, heat=12.0, updated_at=clock.now(),
        ))


def _post(client: TestClient, incident_id: str, **body: str):
    return client.post(f"/api/incidents/{incident_id}/alert", json=body,
                       headers={"X-CSRF-Token": page_csrf(client, "/search")})


def test_a_duty_officer_alerts_on_a_quiet_incident_then_raises_it(
    client: TestClient, database: Database, clock: FakeClock
) -> None:
    _quiet_incident(database, clock)
    login(client, "duty")
    created = _post(client, "quiet", level="较大", reason="涉及高考考点周边，需提前关注")
    assert created.status_code == 201, created.text
    alert = created.json()
    assert alert["level"] == "较大" and alert["department_id"] == DEPT_A  # 属地: 安庆's environment bureau
    assert alert["matched_rules"] == ["manual"]
    response = next(d for d in alert["deadlines"] if d["kind"] == "response")
    first_seen = clock.now() - timedelta(hours=2)
    assert datetime.fromisoformat(response["due_at"]) == first_seen + timedelta(hours=48)  # from detection
    with database.session() as s:
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "alert_created")).one()
        assert (entry.actor, entry.channel) == ("duty", "console")
        assert entry.reason == "人工研判：涉及高考考点周边，需提前关注"
        assert s.scalars(select(Notification).where(Notification.alert_id == alert["id"])).first() is not None

    raised = _post(client, "quiet", level="重大", reason="现场出现群体聚集")
    assert raised.status_code == 200
    states = {d["kind"]: d["state"] for d in raised.json()["deadlines"]}
    assert states == {"response": "stopped", "authoritative_info": "open", "press_conference": "open"}

    same = _post(client, "quiet", level="较大", reason="再次确认")
    assert same.status_code == 409 and "只能上调级别" in same.json()["detail"]


def test_who_may_and_what_must_be_given(client: TestClient, database: Database, clock: FakeClock) -> None:
    _quiet_incident(database, clock)
    login(client, "analyst")
    assert _post(client, "quiet", level="一般", reason="x").status_code == 403
    login(client, "duty")
    assert _post(client, "quiet", level="一般", reason="").status_code == 422
    assert _post(client, "quiet", level="严重", reason="x").status_code == 422
    assert _post(client, "nope", level="一般", reason="x").status_code == 404


def test_a_broken_rules_file_is_a_clear_503(
    client: TestClient, app: FastAPI, database: Database, clock: FakeClock, tmp_path: Path
) -> None:
    _quiet_incident(database, clock)
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules: []\n", "utf-8")
    state = app.state.yuqing
    state.settings = state.settings.model_copy(update={"rules_file": bad})
    login(client, "duty")
    answer = _post(client, "quiet", level="一般", reason="x")
    assert answer.status_code == 503 and str(bad) in answer.json()["detail"]


def test_the_console_form_on_an_incident_page(
    client: TestClient, database: Database, clock: FakeClock
) -> None:
    _quiet_incident(database, clock)
    login(client, "leader")
    assert 'id="manual-alert"' not in client.get("/incidents/quiet").text  # leaders cannot dispatch
    login(client, "duty")
    page = client.get("/incidents/quiet").text
    assert 'id="manual-alert"' in page and "生成预警" in page
    csrf = page_csrf(client, "/incidents/quiet")
    blank = {"level": "一般", "reason": "  ", "csrf_token": csrf}
    refused = client.post("/incidents/quiet/alert", data=blank)
    assert refused.status_code == 409 and "须填写研判理由" in refused.text
    done = client.post("/incidents/quiet/alert", data={"level": "一般", "reason": "群众反映集中",
                                                       "csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and "done=manual_created" in done.headers["location"]
    alert_page = client.get(done.headers["location"]).text
    assert "人工研判生成预警" in alert_page and "上调级别" in alert_page
