"""The incidents stage on polled batches (prepare_batch → handle → on_batch_done, as ``Worker.run`` calls
them): the same incidents, versions and rows as one post at a time, each incident sent once a batch in its
newest version; nothing is sent before it is written;
a failed write sends nothing and the re-delivered batch writes and sends it all; a record the database
refuses dead-letters its message alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from test_incidents import STORIES, T0, enriched, message  # tests/nlp is on the path, as for factories

from incidents.clustering import IncidentTracker
from incidents.models import IncidentPost, IncidentRow
from incidents.stage import IncidentsWorker
from incidents.state import IncidentMemberState
from yuqing.bus.base import Message
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.schemas import Counts, EnrichedPost, Incident
from yuqing.topology import Topics
from yuqing.worker import RetryableError


class _Producer:
    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def send(self, topic: str, value: Any, key: str | None = None, headers: Any = None) -> None:
        self.log.append(("send", topic, value))

    def flush(self, timeout: float | None = None) -> None:
        self.log.append(("flush",))

    def close(self) -> None:
        pass


class _Bus:
    def __init__(self) -> None:
        self.log: list[Any] = []

    def producer(self) -> _Producer:
        return _Producer(self.log)


@pytest.fixture(scope="module")
def posts() -> list[EnrichedPost]:
    return sorted((enriched(s) for s in STORIES), key=lambda p: (p.published_at, p.id))


def worker(db_engine: Engine) -> tuple[IncidentsWorker, list[Any]]:
    bus = _Bus()
    w = IncidentsWorker(bus, Database(db_engine), FakeClock(T0 + timedelta(days=1)))  # type: ignore[arg-type]
    return w, bus.log


def run_batch(w: IncidentsWorker, batch: list[Message]) -> None:
    """What ``Worker.run`` does with one polled batch."""
    w.prepare_batch(batch)
    for m in batch:
        w.process(m)
    w.producer.flush()
    w.on_batch_done()


def batches(posts: list[EnrichedPost], size: int, start: int = 0) -> list[list[Message]]:
    msgs = [message(p, start + i) for i, p in enumerate(posts)]
    return [msgs[i : i + size] for i in range(0, len(msgs), size)]


def sent(log: list[Any]) -> list[Incident]:
    return [entry[2] for entry in log if entry[0] == "send" and entry[1] == Topics.INCIDENTS]


def stored(db: Database) -> dict[str, Any]:
    with db.session() as s:
        rows = {
            r.id: (
                r.title,
                r.keywords,
                r.post_count,
                r.source_count,
                r.heat,
                r.version,
                r.kind,
                r.location_code,
            )
            for r in s.scalars(select(IncidentRow))
        }
        links = {(p.incident_id, p.post_id, p.duplicate_of) for p in s.scalars(select(IncidentPost))}
        states = {
            st.post_id: (st.incident_id, st.at, st.minhash, st.numbers, st.places, st.member)
            for st in s.scalars(select(IncidentMemberState))
        }
    return {"rows": rows, "links": links, "states": states}


def newest(versions: list[Incident]) -> list[Incident]:
    """Each incident once, its last version, in the order of the last versions."""
    last = {inc.id: i for i, inc in enumerate(versions)}
    return [versions[i] for i in sorted(last.values())]


def test_batches_send_and_store_what_one_at_a_time_does(db_engine: Engine, posts: list[EnrichedPost]) -> None:
    one, _ = worker(db_engine)
    size = 7
    expected: list[Incident] = []
    for start in range(0, len(posts), size):  # one at a time, then what a batch of them sends
        outs = [
            out.value
            for i, p in enumerate(posts[start : start + size], start)
            for out in one.handle(message(p, i)) or ()
        ]
        expected += newest(outs)
    expected_rows = stored(one.db)
    with one.db.transaction() as s:  # the same database, emptied, for the batched stage
        for model in (IncidentMemberState, IncidentPost, IncidentRow):
            s.query(model).delete()
    w, log = worker(db_engine)
    for batch in batches(posts, size):
        run_batch(w, batch)
    assert sent(log) == expected
    assert len(expected) < sum(p.tags.relevant for p in posts)  # some batches grew an incident twice
    assert stored(w.db) == expected_rows
    assert w.dead_lettered == 0


def test_nothing_is_sent_before_it_is_written(db_engine: Engine, posts: list[EnrichedPost]) -> None:
    w, log = worker(db_engine)
    first = batches(posts, 10)[0]
    w.prepare_batch(first)
    for m in first:
        w.process(m)
    assert not sent(log)  # handled, not yet written: nothing sent
    with w.db.session() as s:
        assert s.scalar(select(IncidentRow.id).limit(1)) is None
    w.on_batch_done()
    relevant = sum(p.tags.relevant for p in posts[:10])
    with w.db.session() as s:
        assert len(list(s.scalars(select(IncidentPost.post_id)))) == relevant
        incidents = {r.id: r.version for r in s.scalars(select(IncidentRow))}
    assert {inc.id: inc.version for inc in sent(log)} == incidents and log[-1] == ("flush",)
    assert len(sent(log)) == len(incidents)  # each incident once, as written


def test_a_failed_write_is_written_and_sent_on_redelivery(
    db_engine: Engine, posts: list[EnrichedPost], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, log = worker(db_engine)
    first, second = batches(posts, 15)[:2]
    run_batch(w, first)
    real_save = w._save

    def down(changes: Any) -> None:
        raise RetryableError("database: connection lost")

    monkeypatch.setattr(w, "_save", down)
    w.prepare_batch(second)
    for m in second:
        w.process(m)
    before = len(sent(log))
    with pytest.raises(RetryableError):
        w.on_batch_done()  # Worker.run: uncommitted, the batch is polled again
    assert len(sent(log)) == before
    monkeypatch.setattr(w, "_save", real_save)
    run_batch(w, second)  # re-delivered
    uninterrupted = IncidentTracker()
    for p in posts[:30]:
        uninterrupted.add(p)
    with w.db.session() as s:
        links = {p.post_id for p in s.scalars(select(IncidentPost))}
        versions = {r.id: r.version for r in s.scalars(select(IncidentRow))}
    assert links == {p.id for p in posts[:30] if p.tags.relevant}
    assert versions == {i.id: i.version for i in uninterrupted.ranked()}
    latest = {i.id: i for i in sent(log)}
    assert {k: v.version for k, v in latest.items()} == versions


def test_a_refused_record_dead_letters_its_message_alone(
    db_engine: Engine, posts: list[EnrichedPost], monkeypatch: pytest.MonkeyPatch
) -> None:
    w, log = worker(db_engine)
    real_save = w._save
    first = posts[:10]
    bad_at = next(i for i, p in enumerate(first) if i >= 3 and p.tags.relevant)
    bad = first[bad_at].id

    def picky(changes: Any) -> None:
        if any(c.member.post_id == bad for c in changes):
            raise ValueError("value too long for type character varying(40)")
        real_save(changes)

    monkeypatch.setattr(w, "_save", picky)
    run_batch(w, batches(first, 10)[0])
    assert w.dead_lettered == 1
    dead = [entry[2] for entry in log if entry[0] == "send" and entry[1] == Topics.DEAD_LETTER]
    assert len(dead) == 1 and dead[0].offset == bad_at
    with w.db.session() as s:
        assert bad not in set(s.scalars(select(IncidentPost.post_id)))
        links = set(s.scalars(select(IncidentPost.post_id)))
        versions = {r.id: r.version for r in s.scalars(select(IncidentRow))}
    assert links == {p.id for p in first if p.tags.relevant} - {bad}  # the other posts are all written
    assert {i.id: i.version for i in sent(log)} == versions  # each written incident sent once, as written
    assert len(sent(log)) == len(versions)


def test_posts_of_closed_incidents_are_skipped_in_a_batch(
    db_engine: Engine, posts: list[EnrichedPost]
) -> None:
    w, log = worker(db_engine)
    for batch in batches(posts, 10):
        run_batch(w, batch)
    late = enriched(
        next(s for s in STORIES if s["id"] == "fire-06") | {"id": "late-1", "minutes": 5 * 24 * 60}
    )
    run_batch(w, batches([late], 10, start=100)[0])
    w.tick(T0 + timedelta(days=5))
    assert [i.id for i in w.tracker.ranked()] == ["inc-late-1"]
    before = len(sent(log))
    update = posts[0].model_copy(update={"is_update": True, "counts": Counts(repost=10**6)})
    fresh = enriched(
        next(s for s in STORIES if s["id"] == "fire-07") | {"id": "late-2", "minutes": 5 * 24 * 60}
    )
    run_batch(w, batches([update, fresh], 10, start=200)[0])
    assert [i.post_count for i in sent(log)[before:]] == [2]  # only the new post, in the open incident
    assert w.dead_lettered == 0
