"""One mapping between the incident's forms: an incident with every field set is written as a row and read
back whole, field by field, on SQLite and PostgreSQL; the API view carries every field too."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from incidents.mapping import IncidentOut, incident_from_row, row_from_incident, row_values, view_of
from incidents.models import IncidentRow
from yuqing.clock import CN_TZ
from yuqing.db.session import Database
from yuqing.schemas import Incident, Location, MessageReply, Severity

T0 = datetime(2026, 12, 1, 9, 30, tzinfo=CN_TZ)


def _full_incident() -> Incident:
    """An incident whose every field differs from its default (the test fails if one is not)."""
    return Incident(
        id="inc-full",
        title="某县化工厂爆炸 多人受伤",
        keywords=["爆炸", "化工厂"],
        first_seen=T0,
        last_seen=T0 + timedelta(hours=3),
        locations=[
            Location(name="封丘县", code="410727", level="county"),
            Location(name="新乡市", code="4107"),
        ],
        category="安全生产",
        department_type="应急管理局",
        severity=Severity(level="重大", triggers=["爆炸", "3人受伤"]),
        post_count=42,
        source_count=7,
        heat=318.5,
        burst=4.25,
        negative_share=0.61,
        anger_share=0.27,
        fear_share=0.33,
        post_ids=["p1", "p2", "p3"],
        source_ids=["weibo", "tieba"],
        kind="message",
        version=5,
        reply=MessageReply(
            text="已责成应急管理局调查处理。",
            department="封丘县人民政府",
            replied_at=T0 + timedelta(hours=2),
            post_id="p1",
            url="https://liuyan.example.cn/m/1",
            seen_at=T0 + timedelta(hours=2, minutes=5),
        ),
        notes=["留言无日期，按抓取时间计"],
        plan_ids=[3, 11],
    )


def test_the_sample_sets_every_field() -> None:
    earlier = T0 - timedelta(days=1)
    full, default = _full_incident(), Incident(id="x", title="x", first_seen=earlier, last_seen=earlier)
    same = [name for name in Incident.model_fields if getattr(full, name) == getattr(default, name)]
    assert same == []


@pytest.fixture
def database(db_engine: Engine) -> Database:
    return Database(db_engine)


def test_an_incident_reads_back_whole_from_its_row(database: Database) -> None:
    incident = _full_incident()
    with database.transaction() as s:
        s.add(row_from_incident(incident, T0 + timedelta(hours=4)))
    with database.session() as s:
        row = s.get(IncidentRow, incident.id)
        assert row is not None
        back = incident_from_row(row)
    for name in Incident.model_fields:
        assert getattr(back, name) == getattr(incident, name), name
    assert back == incident


def test_an_upsert_of_the_values_keeps_merged_into(database: Database) -> None:
    """The stage's upsert writes ``row_values``: the merge's mark is not among them."""
    incident = _full_incident()
    with database.transaction() as s:
        s.add(row_from_incident(incident, T0))
    with database.transaction() as s:
        row = s.get(IncidentRow, incident.id)
        assert row is not None
        row.merged_into = "inc-other"
    assert "merged_into" not in row_values(incident, T0)
    with database.session() as s:
        row = s.get(IncidentRow, incident.id)
        assert row is not None and row.merged_into == "inc-other"
        assert row.location_code == "410727"


def test_the_api_view_carries_every_field(database: Database) -> None:
    incident = _full_incident()
    with database.transaction() as s:
        s.add(row_from_incident(incident, T0))
    with database.session() as s:
        row = s.get(IncidentRow, incident.id)
        assert row is not None
        view = view_of(row)
    assert view == IncidentOut.of(row)
    flat = {k for k in Incident.model_fields if k != "severity"} | {"severity", "severity_triggers"}
    assert flat | {"merged_into"} == set(IncidentOut.model_fields)
    for name in Incident.model_fields:
        if name in ("severity", "locations", "reply"):
            continue
        assert getattr(view, name) == getattr(incident, name), name
    assert (view.severity, view.severity_triggers) == ("重大", ["爆炸", "3人受伤"])
    assert view.locations == [loc.model_dump() for loc in incident.locations]
    assert incident.reply is not None and view.reply == incident.reply.model_dump(mode="json")
    assert view.merged_into is None
