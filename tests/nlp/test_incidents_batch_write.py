"""The incidents stage's batch write at the driver (``incidents.batch_write``) stores every column as the ORM
stores it — the same text on SQLite (times compared as text there), the same values on PostgreSQL — and
the rows read back through the ORM are the incident, the membership and the post's record that were
written. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select
from test_incidents import STORIES, T0, enriched  # tests/nlp is on the path, as for factories

from incidents.batch_write import write
from incidents.clustering import Change, IncidentTracker, Member
from incidents.mapping import incident_from_row, row_values
from incidents.models import IncidentPost, IncidentRow
from incidents.state import IncidentMemberState
from yuqing.db.session import Database
from yuqing.schemas import EnrichedPost, OfficialReply

NOW = T0 + timedelta(days=1, microseconds=250)
TABLES = {"incidents": "id", "incident_posts": "post_id", "nlp_incident_members": "post_id"}


@pytest.fixture(scope="module")
def changes() -> list[Change]:
    """Changes as the tracker makes them: stories that join, near-duplicates, and a 留言 answered (an
    incident with a reply) beside incidents without one (reply stored as JSON null)."""
    posts: list[EnrichedPost] = sorted((enriched(s) for s in STORIES), key=lambda p: (p.published_at, p.id))
    message = posts[0].model_copy(update={
        "id": "msg-1", "source_kind": "gov", "item_kind": "message", "url": "https://liuyan.example.cn/1",
        "reply": OfficialReply(text="已责成有关部门处理。", department="水利局", replied_at=T0),
    })
    tracker = IncidentTracker()
    made = [c for c in (tracker.add(p) for p in [*posts, message]) if c is not None]
    assert any(c.member.duplicate_of for c in made) and any(c.incident.reply for c in made)
    assert any(c.incident.reply is None for c in made)
    return made


def _stored(db: Database) -> dict[str, list[Any]]:
    """Every row of the three tables as the driver hands it back (no column type's conversion)."""
    with db.engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {key}")]
            for table, key in TABLES.items()
        }


def _write_with_the_orm(db: Database, changes: list[Change]) -> None:
    with db.transaction() as s:
        for incident in {c.incident.id: c.incident for c in changes}.values():
            s.add(IncidentRow(**row_values(incident, NOW)))
        s.flush()
        for c in {c.member.post_id: c for c in changes}.values():
            s.add(IncidentPost(incident_id=c.incident.id, post_id=c.member.post_id, added_at=NOW,
                               duplicate_of=c.member.duplicate_of))
            s.add(IncidentMemberState(
                post_id=c.member.post_id, incident_id=c.incident.id, at=c.member.at,
                minhash=c.signature.hashvalues_bytes(), numbers=c.signature.stored_numbers(),
                places=sorted(c.signature.places), member=c.member.to_state(),
            ))


def test_the_driver_write_stores_what_the_orm_stores(db_engine: Engine, changes: list[Change]) -> None:
    db = Database(db_engine)
    with db.engine.begin() as conn:
        write(conn, changes, NOW)
    written = _stored(db)
    assert {table: len(rows) for table, rows in written.items()} == {
        "incidents": len({c.incident.id for c in changes}),
        "incident_posts": len({c.member.post_id for c in changes}),
        "nlp_incident_members": len({c.member.post_id for c in changes}),
    }
    with db.transaction() as s:
        for model in (IncidentMemberState, IncidentPost, IncidentRow):
            s.execute(delete(model))
    _write_with_the_orm(db, changes)
    assert _stored(db) == written


def test_the_rows_read_back_are_what_was_written(db_engine: Engine, changes: list[Change]) -> None:
    db = Database(db_engine)
    with db.engine.begin() as conn:
        write(conn, changes[:7], NOW)
        write(conn, changes, NOW + timedelta(hours=1))  # upserts: the newest state of each
    newest = {c.incident.id: c.incident for c in changes}
    records = {c.member.post_id: c for c in changes}
    with db.session() as s:
        rows = {r.id: r for r in s.scalars(select(IncidentRow))}
        assert {i: incident_from_row(r) for i, r in rows.items()} == newest
        assert {r.updated_at for r in rows.values()} == {NOW + timedelta(hours=1)}
        links = {p.post_id: p for p in s.scalars(select(IncidentPost))}
        assert {p: (link.incident_id, link.duplicate_of, link.added_at) for p, link in links.items()} == {
            p: (c.incident.id, c.member.duplicate_of, NOW if p in {x.member.post_id for x in changes[:7]}
                else NOW + timedelta(hours=1))
            for p, c in records.items()
        }
        states = {st.post_id: st for st in s.scalars(select(IncidentMemberState))}
    assert states.keys() == records.keys()
    for post_id, st in states.items():
        c = records[post_id]
        assert st.incident_id == c.incident.id and st.at == c.member.at
        assert st.minhash == c.signature.hashvalues_bytes()
        assert st.numbers == c.signature.stored_numbers() and st.places == sorted(c.signature.places)
        assert Member.from_state(st.member) == c.member
