"""热点事件: recent incidents hottest first, with filters, their alerts, and a department's own only."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from factories import login
from fastapi.testclient import TestClient

from incidents.models import IncidentRow
from yuqing.clock import FakeClock
from yuqing.db.session import Database


def _incident(db: Database, incident_id: str, *, heat: float, last_seen: datetime, code: str = "3408",
              title: str | None = None, severity: str | None = None, merged_into: str | None = None) -> None:
    with db.transaction() as session:
        session.add(IncidentRow(
            id=incident_id, title=title or f"{incident_id} 事件", keywords=["排污"],
            first_seen=last_seen - timedelta(hours=1), last_seen=last_seen, category="环境保护",
            severity=severity, severity_triggers=[], locations=[{"name": "某地", "code": code}],
            location_code=code, post_count=5, source_count=2, heat=heat, burst=2.0, negative_share=0.6,
            merged_into=merged_into, updated_at=last_seen,
        ))


@pytest.fixture
def hot(database: Database, clock: FakeClock, alerts: dict[str, int]) -> dict[str, int]:
    """Besides the two alerted incidents (heat 40, an hour old): three more without alerts."""
    now = clock.now()
    _incident(database, "river", heat=300, last_seen=now - timedelta(minutes=10), severity="较大")
    _incident(database, "old", heat=900, last_seen=now - timedelta(days=3))  # hot, but quiet for 3 days
    _incident(database, "absorbed", heat=500, last_seen=now, merged_into="river")
    _incident(database, "xss", heat=5, last_seen=now, code="3401", title="<script>alert(9)</script> 标题")
    return alerts


def _ids(client: TestClient, **params: object) -> list[str]:
    response = client.get("/api/incidents", params=params)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_recent_incidents_hottest_first_without_merged_or_quiet_ones(client: TestClient, hot: dict) -> None:
    login(client, "duty")
    assert _ids(client) == ["river", "inc-aq", "inc-hf", "xss"]  # inc-aq/inc-hf tie on heat: by id
    assert "old" in _ids(client, hours=96)
    body = client.get("/api/incidents").json()
    assert body["total"] == 4
    alerted = {i["id"]: (i["alert_id"], i["alert_level"], i["alert_status"]) for i in body["items"]}
    assert alerted["inc-aq"] == (hot["a"], "重大", "new") and alerted["river"] == (None, None, None)


def test_filters_by_region_level_alert_and_text(client: TestClient, hot: dict) -> None:
    login(client, "duty")
    assert _ids(client, region="3401") == ["inc-hf", "xss"]
    assert _ids(client, severity_at_least="较大") == ["river", "inc-aq", "inc-hf"]
    assert _ids(client, alerted=False) == ["river", "xss"]
    assert _ids(client, q="river") == ["river"]
    bad = client.get("/api/incidents", params={"region": "安庆"})
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def test_a_department_handler_lists_only_its_own_departments_incidents(client: TestClient, hot: dict) -> None:
    login(client, "dept_a")
    assert _ids(client) == ["inc-aq"]


def test_the_console_page_ranks_links_and_escapes(client: TestClient, hot: dict) -> None:
    login(client, "duty")
    page = client.get("/incidents").text
    assert page.index('data-incident-id="river"') < page.index('data-incident-id="inc-aq"')
    assert f'href="/alerts/{hot["a"]}"' in page and 'href="/incidents/river"' in page
    assert "<script>alert(9)</script>" not in page and "&lt;script&gt;alert(9)&lt;/script&gt;" in page
    filtered = client.get("/incidents", params={"region": "3401", "alerted": "no"}).text
    assert 'data-incident-id="xss"' in filtered and 'data-incident-id="river"' not in filtered
    assert "地区代码应为" in client.get("/incidents", params={"region": "安庆"}).text
