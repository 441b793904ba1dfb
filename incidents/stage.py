"""The incidents stage: posts.enriched → incidents.

Files every relevant post into an incident (``incidents.clustering``), writes the incident (``IncidentRow``),
its membership (``IncidentPost``) and the post's clustering record (``incidents.state``), then sends
the incident (key = incident id). The incident is sent again, with a version one higher, each time it
changes; a re-delivered post changes nothing and re-sends the same version, so a crash between the
database write and the send loses nothing. Irrelevant posts are skipped, and so are posts of incidents
already closed (quiet for a window): they were counted there.

A polled batch is handled as a batch: its posts are parsed once and looked up in closed incidents with
one query (``prepare_batch``), filed one by one, and their changes are written in one transaction (the
last state of each incident and post) and only then sent (``on_batch_done``, before the offsets are
committed): each incident once, its newest version (alerting ignores a version it has passed, so the
versions in between would only be work for it). A write that fails on the database connection is retried
by re-delivering the batch; one that fails on a record is retried change by change, and the message whose
record fails is dead-lettered.
Outside a polled batch (``handle`` alone) each change is written before ``handle`` returns it.

At start the stage rebuilds its clustering from the database: the incidents whose newest post is
within the window of the newest incident, with their members' records and signatures. The clustering
is one process's memory, so run one incidents process (one member of its consumer group).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import OperationalError

from incidents.batch_write import write
from incidents.clustering import Change, IncidentTracker, Member, StoredIncident, reply_of
from incidents.mapping import incident_from_row
from incidents.models import IncidentPost, IncidentRow
from incidents.state import IncidentMemberState
from nlp.dedup import Signature
from nlp.filing import is_filed
from yuqing.bus import Bus, Message
from yuqing.clock import Clock
from yuqing.db.session import Database
from yuqing.schemas import EnrichedPost
from yuqing.settings import Settings
from yuqing.stage_engines import open_engines
from yuqing.topology import Topics
from yuqing.worker import POST_BATCH, Output, RetryableError, Worker

log = logging.getLogger(__name__)
_CHUNK = 500  # ids in one IN (...)


class IncidentsWorker(Worker):
    name = "incidents"
    batch_size = POST_BATCH
    topics = (Topics.ENRICHED_POSTS,)

    def __init__(
        self, bus: Bus, db: Database, clock: Clock | None = None, tracker: IncidentTracker | None = None
    ) -> None:
        super().__init__(bus, clock)
        self.db = db
        self.tracker = tracker or IncidentTracker()
        self._ready: dict[tuple[str, int, int], EnrichedPost] = {}
        self._closed: set[str] = set()  # posts of this batch that are in closed incidents
        self._passed: set[tuple[str, int, int]] = set()  # this batch's posts with nothing to file
        self._looked_up: set[str] = set()  # posts of this batch looked up in closed incidents
        self._pending: list[tuple[Message, Change, Output]] | None = None  # a batch's changes, unsaved
        self.restore()

    def restore(self) -> int:
        """Load the active incidents' state from the database; how many incidents."""
        with self.db.session() as s:
            latest = s.scalar(select(func.max(IncidentRow.last_seen)))
            if latest is None:
                return 0
            rows = s.execute(
                select(IncidentRow.id, IncidentRow.version, IncidentRow.keywords, IncidentMemberState)
                .join(IncidentMemberState, IncidentMemberState.incident_id == IncidentRow.id)
                .where(IncidentRow.last_seen >= latest - self.tracker.window)
                .where(IncidentRow.merged_into.is_(None))
                .order_by(IncidentRow.id, IncidentMemberState.at, IncidentMemberState.post_id)
            ).all()
        return self.tracker.restore(_stored_incidents(rows))

    def tick(self, now: datetime) -> None:
        """Close incidents that went quiet for a window and drop their clustering records."""
        gone = self.tracker.evict()
        for i in range(0, len(gone), 500):
            chunk = gone[i : i + 500]
            with self.db.transaction() as s:
                s.execute(delete(IncidentMemberState).where(IncidentMemberState.incident_id.in_(chunk)))

    def prepare_batch(self, batch: Sequence[Message]) -> None:
        """Parse the batch's posts once and find, in one query, which of them are in closed incidents;
        from here to ``on_batch_done`` changes are kept to be written and sent together."""
        self._ready, self._closed, self._looked_up, self._passed = {}, set(), set(), set()
        self._pending = None
        known = self.tracker.post_cluster
        for message in batch:
            where = (message.topic, message.partition, message.offset)
            try:
                head = _PostHead.model_validate_json(message.value)
                if head.source_kind == "policy" or not (is_filed(head) or head.id in known):
                    self._passed.add(where)  # nothing to file: not read any further
                    continue
                post = EnrichedPost.model_validate_json(message.value)
            except ValidationError:
                continue  # handle() raises on it, and the base class dead-letters it
            self._ready[where] = post
        wanted = {p.id for p in self._ready.values() if is_filed(p) and p.id not in known}
        try:
            self._closed = self._in_closed_incidents(wanted)
        except OperationalError as exc:
            raise RetryableError(f"database: {exc}") from exc
        self._looked_up = wanted
        self._pending = []

    def handle(self, message: Message) -> Iterable[Output] | None:
        where = (message.topic, message.partition, message.offset)
        if where in self._passed:
            return None
        post = self._ready.pop(where, None)
        if post is None:
            post = EnrichedPost.model_validate_json(message.value)
        if post.source_kind == "policy":
            return None  # a policy document is not 舆情: the policies stage registers it (政策解读 / 转载)
        if post.id not in self.tracker.post_cluster and is_filed(post) and self._is_closed(post.id):
            if post.item_kind == "message" and post.reply is not None:
                return self._reply_to_closed(post)  # a 留言 answered after its case went quiet
            return None  # counted already, in an incident that has gone quiet since
        change = self.tracker.add(post)
        if change is None:
            return None
        out = Output(Topics.INCIDENTS, change.incident, key=change.incident.id)
        if self._pending is not None:  # written and sent with the batch (on_batch_done)
            self._pending.append((message, change, out))
            return None
        self._save([change])
        return [out]

    def on_batch_done(self) -> None:
        """Write the batch's changes in one transaction, then send them (offsets are committed after)."""
        pending, self._pending = self._pending or [], None
        self._ready, self._closed, self._looked_up, self._passed = {}, set(), set(), set()
        if not pending:
            return
        try:
            self._save([change for _, change, _ in pending])
            sendable = pending
        except RetryableError:
            raise  # the batch is re-delivered: its posts are known now and re-send their incidents
        except Exception as exc:  # noqa: BLE001 - a record the database refuses: find it, one by one
            log.warning("incidents: batch write failed, writing change by change: %s", exc)
            sendable = []
            for item in pending:
                message, change, _ = item
                try:
                    self._save([change])
                except RetryableError:
                    raise
                except Exception as one:  # noqa: BLE001 - this message's record
                    self._dead_letter(message, one)
                else:
                    sendable.append(item)
        last = {out.key: i for i, (_, _, out) in enumerate(sendable)}  # each incident's newest version
        for i in sorted(last.values()):
            out = sendable[i][2]
            self.producer.send(out.topic, out.value, key=out.key)
        self.producer.flush()

    def _reply_to_closed(self, post: EnrichedPost) -> list[Output]:
        """The official reply of a 留言 whose incident is no longer in memory (quiet for a window): the
        stored incident is sent again, one version higher, with the reply; the same reply again sends
        nothing. A reply whose message no stored incident holds cannot be matched: dead-lettered."""
        reply = reply_of(post)
        assert reply is not None
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                row = s.scalar(
                    select(IncidentRow)
                    .join(IncidentPost, IncidentPost.incident_id == IncidentRow.id)
                    .where(IncidentPost.post_id == post.id)
                    .with_for_update()
                )
                if row is None:
                    raise UnmatchedReply(
                        f"the reply on {post.url} cannot be matched to a 留言 case: no incident holds post "
                        f"{post.id}"
                    )
                if row.reply and row.reply.get("text") == reply["text"]:
                    return []
                if not row.post_ids:  # stored before the row kept the message's post ids
                    members = select(IncidentPost.post_id).where(IncidentPost.incident_id == row.id)
                    row.post_ids = list(s.scalars(members.limit(50)))
                if post.source_id not in (row.source_ids or []):
                    row.source_ids = [*(row.source_ids or []), post.source_id]
                row.reply, row.version, row.updated_at = reply, row.version + 1, now
                incident = incident_from_row(row)
        except OperationalError as exc:
            raise RetryableError(f"database: {exc}") from exc
        return [Output(Topics.INCIDENTS, incident, key=incident.id)]

    def _is_closed(self, post_id: str) -> bool:
        if post_id in self._looked_up:
            return post_id in self._closed
        try:
            return bool(self._in_closed_incidents({post_id}))
        except OperationalError as exc:
            raise RetryableError(f"database: {exc}") from exc

    def _in_closed_incidents(self, post_ids: set[str]) -> set[str]:
        """Which of these posts (none in the tracker) are members of an incident: a closed one."""
        if not post_ids:
            return set()
        ids = sorted(post_ids)
        found: set[str] = set()
        with self.db.engine.connect() as s:
            for i in range(0, len(ids), _CHUNK):
                found.update(s.scalars(_MEMBERS_AMONG, {"ids": ids[i : i + _CHUNK]}))
        return found

    def _save(self, changes: Sequence[Change]) -> None:
        """Write the last state of each incident and each post's membership and record, in one transaction
        of three statements (``incidents.batch_write``)."""
        try:
            with self.db.engine.begin() as conn:  # Core: no ORM session needed for three statements
                write(conn, changes, self.clock.now())
        except OperationalError as exc:
            raise RetryableError(f"database: {exc}") from exc


# which of some post ids are members of an incident (built once: the batch's lookup of closed incidents)
_MEMBERS_AMONG = select(IncidentPost.post_id).where(
    IncidentPost.post_id.in_(bindparam("ids", expanding=True))
)

class _Relevance(BaseModel):
    relevant: bool = True


class _PostHead(BaseModel):
    """What decides whether the stage reads an enriched post any further: the rest is parsed (and
    validated) only for a post it files or already holds. An irrelevant post with a bad field is passed
    over here; the indexer stage, which reads every post of the topic, dead-letters it."""

    id: str
    source_kind: str = "news"
    item_kind: str = "opinion"
    tags: _Relevance = _Relevance()



class UnmatchedReply(ValueError):
    """A 留言's reply that no stored case holds (dead-lettered with this reason)."""


def _stored_incidents(rows: Sequence[Any]) -> Iterator[StoredIncident]:
    """Rows of (incident id, version, keywords, member state), grouped by incident."""
    for (incident_id, version, keywords), group in groupby(rows, key=lambda r: (r[0], r[1], tuple(r[2]))):
        members = [
            (Member.from_state(st.member), Signature.from_parts(st.minhash, st.numbers, st.places))
            for *_, st in group
        ]
        yield StoredIncident(incident_id, version, list(keywords), members)


def run(settings: Settings, stop: threading.Event) -> None:
    with open_engines(settings) as engines:
        IncidentsWorker(engines.bus, engines.db).run(stop)
