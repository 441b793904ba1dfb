"""The incidents stage: posts.enriched → incidents.

Files every relevant post into an incident (``nlp.incidents``), writes the incident (``IncidentRow``),
its membership (``IncidentPost``) and the post's clustering record (``nlp.incident_state``) in one
transaction, then sends the incident (key = incident id). The incident is sent again, with a version
one higher, each time it changes; a re-delivered post changes nothing and re-sends the same version,
so a crash between the database write and the send loses nothing. Irrelevant posts are skipped, and so
are posts of incidents already closed (quiet for a window): they were counted there.

At start the stage rebuilds its clustering from the database: the incidents whose newest post is
within the window of the newest incident, with their members' records and signatures. The clustering
is one process's memory, so run one incidents process (one member of its consumer group).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from itertools import groupby
from typing import Any

from sqlalchemy import Row, delete, func, select
from sqlalchemy.exc import OperationalError

from nlp.dedup import Signature
from nlp.incident_state import IncidentMemberState
from nlp.incidents import Change, IncidentTracker, Member, StoredIncident
from yuqing.bus import Bus, Message, open_bus
from yuqing.clock import Clock
from yuqing.db.models import IncidentPost, IncidentRow
from yuqing.db.session import Database, open_database
from yuqing.schemas import EnrichedPost
from yuqing.settings import Settings
from yuqing.topology import Topics
from yuqing.worker import Output, RetryableError, Worker


class IncidentsWorker(Worker):
    name = "incidents"
    topics = (Topics.ENRICHED_POSTS,)

    def __init__(
        self, bus: Bus, db: Database, clock: Clock | None = None, tracker: IncidentTracker | None = None
    ) -> None:
        super().__init__(bus, clock)
        self.db = db
        self.tracker = tracker or IncidentTracker()
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

    def handle(self, message: Message) -> Iterable[Output] | None:
        post = EnrichedPost.model_validate_json(message.value)
        if post.id not in self.tracker.post_cluster and self._in_closed_incident(post.id):
            return None  # counted already, in an incident that has gone quiet since
        change = self.tracker.add(post)
        if change is None:
            return None
        self._save(change)
        return [Output(Topics.INCIDENTS, change.incident, key=change.incident.id)]

    def _in_closed_incident(self, post_id: str) -> bool:
        with self.db.session() as s:
            return (
                s.scalar(select(IncidentPost.incident_id).where(IncidentPost.post_id == post_id).limit(1))
                is not None
            )

    def _save(self, change: Change) -> None:
        inc, member, sig = change.incident, change.member, change.signature
        now = self.clock.now()
        try:
            with self.db.transaction() as s:
                row = s.get(IncidentRow, inc.id)
                if row is None:
                    row = IncidentRow(id=inc.id)
                    s.add(row)
                row.title = inc.title
                row.keywords = inc.keywords
                row.first_seen = inc.first_seen
                row.last_seen = inc.last_seen
                row.category = inc.category
                row.department_type = inc.department_type
                row.severity = inc.severity.level
                row.severity_triggers = inc.severity.triggers
                row.locations = [loc.model_dump() for loc in inc.locations]
                row.location_code = inc.locations[0].code if inc.locations else None
                row.post_count = inc.post_count
                row.source_count = inc.source_count
                row.heat = inc.heat
                row.burst = inc.burst
                row.negative_share = inc.negative_share
                row.anger_share = inc.anger_share
                row.kind = inc.kind
                row.version = inc.version
                row.updated_at = now
                s.flush()
                if s.get(IncidentPost, (inc.id, member.post_id)) is None:
                    s.add(
                        IncidentPost(
                            incident_id=inc.id,
                            post_id=member.post_id,
                            added_at=now,
                            duplicate_of=member.duplicate_of,
                        )
                    )
                state = s.get(IncidentMemberState, member.post_id)
                if state is None:
                    state = IncidentMemberState(post_id=member.post_id)
                    s.add(state)
                state.incident_id = inc.id
                state.at = member.at
                state.minhash = sig.hashvalues_bytes()
                state.numbers = sorted(sig.numbers)
                state.places = sorted(sig.places)
                state.member = member.to_state()
        except OperationalError as exc:
            raise RetryableError(f"database: {exc}") from exc


def _stored_incidents(rows: Sequence[Row[Any]]) -> Iterator[StoredIncident]:
    """Rows of (incident id, version, keywords, member state), grouped by incident."""
    for (incident_id, version, keywords), group in groupby(rows, key=lambda r: (r[0], r[1], tuple(r[2]))):
        members = [
            (Member.from_state(st.member), Signature.from_parts(st.minhash, st.numbers, st.places))
            for *_, st in group
        ]
        yield StoredIncident(incident_id, version, list(keywords), members)


def run(settings: Settings, stop: threading.Event) -> None:
    db = open_database(settings.db_url)
    bus = open_bus(settings.bus_url, partitions=settings.bus_partitions)
    try:
        IncidentsWorker(bus, db).run(stop)
    finally:
        bus.close()
        db.close()
