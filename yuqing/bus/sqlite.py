"""The SQLite log: a durable bus with Kafka's semantics in one WAL-mode file, safe for several processes.

Tables: ``topics`` (partition count per topic), ``partition_heads`` (next offset per partition),
``messages`` (the log), ``groups`` (a generation bumped whenever membership or ownership changes),
``members`` (live consumers with their last heartbeat), ``leases`` (which member holds which partition,
until when) and ``offsets`` (committed offset per group, topic and partition).

Every change of ownership or offsets happens in a ``BEGIN IMMEDIATE`` transaction, so members of one group
in different processes never both hold a partition. A member renews its leases when it polls or commits;
a member that stops doing so (killed, hung) is evicted after the session timeout and its partitions are
taken over from the committed offset. ``commit`` checks the lease inside the same transaction that moves
the offset, so a member that lost a partition can never move it (fencing): it gets CommitFailedError.

URL: ``sqlite:///relative/path.sqlite3`` or ``sqlite:////absolute/path.sqlite3``; optional query
parameters ``session_timeout_ms`` (default 10000) and ``retention_ms`` (default off: keep everything).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import threading
import time
import uuid
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from yuqing.bus.base import Backlog, BusError, CommitFailedError, Message, encode_value
from yuqing.clock import Clock, SystemClock
from yuqing.sqlite_wal import enable_wal

DEFAULT_SESSION_TIMEOUT_MS = 10_000
PRODUCER_AUTOFLUSH = 1_000  # buffered messages written in one transaction without waiting for flush()
TAKEOVER_RETRY_S = 0.1  # how often a member waiting for a partition another member still holds retries
MAX_POLL_SLEEP_S = 0.05
PURGE_INTERVAL_MS = 10_000

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS partition_heads (
        topic TEXT NOT NULL, part INTEGER NOT NULL, next_seq INTEGER NOT NULL,
        PRIMARY KEY (topic, part)) WITHOUT ROWID""",
    # seq is the Kafka offset (OFFSET is an SQL keyword)
    """CREATE TABLE IF NOT EXISTS messages (
        topic TEXT NOT NULL, part INTEGER NOT NULL, seq INTEGER NOT NULL, key TEXT, value BLOB NOT NULL,
        headers TEXT, timestamp_ms INTEGER NOT NULL, UNIQUE (topic, part, seq))""",
    "CREATE TABLE IF NOT EXISTS groups (group_id TEXT PRIMARY KEY, generation INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS members (
        group_id TEXT NOT NULL, member_id TEXT NOT NULL, topics TEXT NOT NULL, heartbeat_ms INTEGER NOT NULL,
        PRIMARY KEY (group_id, member_id)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS leases (
        group_id TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL, member_id TEXT NOT NULL,
        expires_ms INTEGER NOT NULL, PRIMARY KEY (group_id, topic, part)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS offsets (
        group_id TEXT NOT NULL, topic TEXT NOT NULL, part INTEGER NOT NULL, next_seq INTEGER NOT NULL,
        PRIMARY KEY (group_id, topic, part)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS offsets_by_partition ON offsets (topic, part, next_seq)",
)

TopicPartition = tuple[str, int]


def partition_for(key: str, partitions: int) -> int:
    """Stable across processes and runs (CRC-32 of the UTF-8 key)."""
    return zlib.crc32(key.encode()) % partitions


@dataclass(frozen=True, slots=True)
class SqliteBusOptions:
    path: Path
    session_timeout_ms: int = DEFAULT_SESSION_TIMEOUT_MS
    retention_ms: int | None = None


def parse_sqlite_url(url: str) -> SqliteBusOptions:
    parsed = urlparse(url)
    if parsed.scheme != "sqlite" or not url.startswith("sqlite:///") or len(parsed.path) < 2:
        raise BusError(f"bus URL {url!r}: use sqlite:///relative/path or sqlite:////absolute/path")
    path = Path(url[len("sqlite:///") :].split("?", 1)[0])
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    try:
        session_timeout_ms = int(query.pop("session_timeout_ms", DEFAULT_SESSION_TIMEOUT_MS))
        retention = query.pop("retention_ms", None)
        retention_ms = int(retention) if retention else None
    except ValueError as exc:
        raise BusError(f"bus URL {url!r}: {exc}") from None
    if query:
        raise BusError(f"bus URL {url!r}: unknown parameter(s) {', '.join(sorted(query))}")
    if session_timeout_ms <= 0:
        raise BusError(f"bus URL {url!r}: session_timeout_ms must be positive")
    return SqliteBusOptions(path=path, session_timeout_ms=session_timeout_ms, retention_ms=retention_ms)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=30000")
    enable_wal(conn)
    conn.execute("PRAGMA synchronous=FULL")  # flush()/commit() return only once the WAL is on disk
    return conn


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taking the database's write lock up front."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise BusError(f"SQLite bus: {exc}") from exc
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        conn.execute("ROLLBACK")
        raise BusError(f"SQLite bus: {exc}") from exc


def _bump_generation(conn: sqlite3.Connection, group: str) -> None:
    conn.execute(
        "INSERT INTO groups (group_id, generation) VALUES (?, 1) "
        "ON CONFLICT (group_id) DO UPDATE SET generation = generation + 1",
        (group,),
    )


class SqliteBus:
    """``partitions`` applies to topics this bus creates; an existing topic keeps its partition count."""

    def __init__(
        self,
        url: str,
        *,
        partitions: int = 4,
        clock: Clock | None = None,
        session_timeout_ms: int | None = None,
        retention_ms: int | None = None,
    ) -> None:
        if partitions < 1:
            raise BusError("partitions must be at least 1")
        opts = parse_sqlite_url(url)
        self.path = opts.path
        self.partitions = partitions
        self.clock: Clock = clock or SystemClock()
        self.session_timeout_ms = session_timeout_ms or opts.session_timeout_ms
        self.retention_ms = retention_ms if retention_ms is not None else opts.retention_ms
        self._partition_counts: dict[str, int] = {}
        self._lock = threading.Lock()  # guards _partition_counts
        self._conn_lock = threading.Lock()  # one transaction at a time on _conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = _connect(self.path)
            with _immediate(self._conn) as conn:
                for statement in _SCHEMA:
                    conn.execute(statement)
        except (OSError, sqlite3.Error, BusError) as exc:
            raise BusError(f"cannot open the SQLite bus at {self.path}: {exc}; check YUQING_BUS_URL") from exc

    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def connect(self) -> sqlite3.Connection:
        return _connect(self.path)

    def partition_counts(self, conn: sqlite3.Connection, topics: Sequence[str]) -> dict[str, int]:
        """Partition count of each topic, creating missing topics. Call inside a write transaction."""
        with self._lock:
            missing = [t for t in topics if t not in self._partition_counts]
        for topic in missing:
            conn.execute(
                "INSERT OR IGNORE INTO topics (name, partitions) VALUES (?, ?)", (topic, self.partitions)
            )
            (count,) = conn.execute("SELECT partitions FROM topics WHERE name = ?", (topic,)).fetchone()
            conn.executemany(
                "INSERT OR IGNORE INTO partition_heads (topic, part, next_seq) VALUES (?, ?, 0)",
                [(topic, p) for p in range(count)],
            )
            with self._lock:
                self._partition_counts[topic] = count
        with self._lock:
            return {t: self._partition_counts[t] for t in topics}

    # --- the Bus protocol -------------------------------------------------------------------------
    def producer(self) -> SqliteProducer:
        return SqliteProducer(self)

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str | None = None) -> SqliteConsumer:
        return SqliteConsumer(self, group, topics, client_id=client_id)

    def ensure_topics(self, topics: Sequence[str]) -> None:
        with self._conn_lock, _immediate(self._conn) as conn:
            self.partition_counts(conn, list(topics))

    def backlog(self, group: str, topic: str) -> Backlog:
        with self._conn_lock:
            (end,) = self._conn.execute(
                "SELECT COALESCE(SUM(next_seq), 0) FROM partition_heads WHERE topic = ?", (topic,)
            ).fetchone()
            (committed,) = self._conn.execute(
                "SELECT COALESCE(SUM(next_seq), 0) FROM offsets WHERE group_id = ? AND topic = ?",
                (group, topic),
            ).fetchone()
        return Backlog(committed=committed, end=end)

    def close(self) -> None:
        with self._conn_lock:
            self._conn.close()


class SqliteProducer:
    """Buffers sends; ``flush`` writes them in one transaction and returns once it is on disk."""

    def __init__(self, bus: SqliteBus) -> None:
        self._bus = bus
        self._conn = bus.connect()
        self._pending: list[tuple[str, str | None, bytes, str | None, int]] = []
        self._round_robin = itertools.count()
        self._lock = threading.Lock()

    def send(
        self,
        topic: str,
        value: bytes | str | Mapping[str, Any] | Any,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        encoded_headers = json.dumps(dict(headers), ensure_ascii=False) if headers else None
        with self._lock:
            self._pending.append((topic, key, encode_value(value), encoded_headers, self._bus.now_ms()))
            if len(self._pending) >= PRODUCER_AUTOFLUSH:
                self._write()

    def flush(self, timeout: float | None = None) -> None:
        with self._lock:
            self._write()

    def close(self) -> None:
        with self._lock:
            self._write()
            self._conn.close()

    def _write(self) -> None:
        if not self._pending:
            return
        with _immediate(self._conn) as conn:
            counts = self._bus.partition_counts(conn, sorted({p[0] for p in self._pending}))
            heads: dict[TopicPartition, int] = {}
            rows = []
            for topic, key, value, headers, timestamp_ms in self._pending:
                n = counts[topic]
                part = partition_for(key, n) if key is not None else next(self._round_robin) % n
                tp = (topic, part)
                if tp not in heads:
                    heads[tp] = conn.execute(
                        "SELECT next_seq FROM partition_heads WHERE topic = ? AND part = ?", tp
                    ).fetchone()[0]
                rows.append((topic, part, heads[tp], key, value, headers, timestamp_ms))
                heads[tp] += 1
            conn.executemany(
                "INSERT INTO messages (topic, part, seq, key, value, headers, timestamp_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.executemany(
                "UPDATE partition_heads SET next_seq = ? WHERE topic = ? AND part = ?",
                [(seq, t, p) for (t, p), seq in heads.items()],
            )
        self._pending.clear()


class SqliteConsumer:
    """One member of a consumer group. Use it from one thread at a time (like Kafka's consumer)."""

    def __init__(
        self, bus: SqliteBus, group: str, topics: Sequence[str], *, client_id: str | None = None
    ) -> None:
        if not topics:
            raise BusError("a consumer needs at least one topic")
        self._bus = bus
        self.group = group
        self.topics = sorted(set(topics))
        self.member_id = f"{client_id or group}-{uuid.uuid4().hex[:12]}"
        self._conn = bus.connect()
        self._lock = threading.Lock()
        self._positions: dict[TopicPartition, int] = {}  # held partition -> next offset to read
        self._polled: dict[TopicPartition, int] = {}  # partition -> offset after the last message polled
        self._generation = -1
        self._next_heartbeat_ms = 0
        self._waiting_since = 0.0  # monotonic time of the last sync that left target partitions untaken
        self._waiting = False
        self._next_purge_ms = 0
        self._closed = False
        self._reads = 0
        with _immediate(self._conn) as conn:
            bus.partition_counts(conn, self.topics)
            self._register(conn, bus.now_ms())

    @property
    def assignment(self) -> set[TopicPartition]:
        """The partitions this member holds right now."""
        return set(self._positions)

    # --- group membership ---------------------------------------------------------------------
    def _register(self, conn: sqlite3.Connection, now_ms: int) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO members (group_id, member_id, topics, heartbeat_ms) VALUES (?, ?, ?, ?)",
            (self.group, self.member_id, json.dumps(self.topics), now_ms),
        )
        _bump_generation(conn, self.group)

    def _target(self, conn: sqlite3.Connection) -> set[TopicPartition]:
        """The partitions this member should hold: round-robin over the live members of each topic.
        Every member computes the same split from the same rows."""
        members = conn.execute(
            "SELECT member_id, topics FROM members WHERE group_id = ? ORDER BY member_id", (self.group,)
        ).fetchall()
        subscribers: dict[str, list[str]] = {}
        for member_id, topics in members:
            for topic in json.loads(topics):
                subscribers.setdefault(topic, []).append(member_id)
        counts = self._bus.partition_counts(conn, sorted(subscribers))
        target: set[TopicPartition] = set()
        slot = 0
        for topic in sorted(subscribers):
            subs = subscribers[topic]
            for part in range(counts[topic]):
                if subs[(slot + part) % len(subs)] == self.member_id:
                    target.add((topic, part))
            slot += counts[topic]
        return target

    def _sync(self) -> None:
        """Heartbeat, evict dead members, release partitions no longer ours, take free ones."""
        now = self._bus.now_ms()
        timeout = self._bus.session_timeout_ms
        with _immediate(self._conn) as conn:
            changed = False
            beat = conn.execute(
                "UPDATE members SET heartbeat_ms = ? WHERE group_id = ? AND member_id = ?",
                (now, self.group, self.member_id),
            )
            if beat.rowcount == 0:  # we were evicted (paused longer than the session timeout): rejoin
                self._register(conn, now)
            dead = [
                r[0]
                for r in conn.execute(
                    "SELECT member_id FROM members WHERE group_id = ? AND heartbeat_ms < ?",
                    (self.group, now - timeout),
                )
            ]
            for member_id in dead:
                conn.execute(
                    "DELETE FROM members WHERE group_id = ? AND member_id = ?", (self.group, member_id)
                )
                conn.execute(
                    "DELETE FROM leases WHERE group_id = ? AND member_id = ?", (self.group, member_id)
                )
                changed = True
            target = self._target(conn)
            leases = {
                (topic, part): (member_id, expires_ms)
                for topic, part, member_id, expires_ms in conn.execute(
                    "SELECT topic, part, member_id, expires_ms FROM leases WHERE group_id = ?", (self.group,)
                )
            }
            kept: set[TopicPartition] = set()
            for tp, (member_id, _) in leases.items():
                if member_id == self.member_id and tp not in target:
                    conn.execute(
                        "DELETE FROM leases WHERE group_id = ? AND topic = ? AND part = ?", (self.group, *tp)
                    )
                    changed = True
            for tp in target:
                holder = leases.get(tp)
                if holder is None or holder[0] == self.member_id or holder[1] < now:
                    conn.execute(
                        "INSERT OR REPLACE INTO leases (group_id, topic, part, member_id, expires_ms) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (self.group, *tp, self.member_id, now + timeout),
                    )
                    kept.add(tp)
                    changed = changed or holder is None or holder[0] != self.member_id
            if changed:
                _bump_generation(conn, self.group)
            (self._generation,) = conn.execute(
                "SELECT generation FROM groups WHERE group_id = ?", (self.group,)
            ).fetchone()
            # a partition held without interruption keeps its position; a newly taken one starts at the commit
            continuous = {tp for tp in kept if leases.get(tp, ("",))[0] == self.member_id}
            positions = {tp: pos for tp, pos in self._positions.items() if tp in continuous}
            for tp in kept - positions.keys():
                positions[tp] = self._committed(conn, tp)
        self._positions = positions
        self._polled = {tp: pos for tp, pos in self._polled.items() if tp in positions}
        self._next_heartbeat_ms = now + timeout // 3
        self._waiting = kept != target
        self._waiting_since = time.monotonic()

    def _maybe_sync(self) -> None:
        row = self._conn.execute("SELECT generation FROM groups WHERE group_id = ?", (self.group,)).fetchone()
        if (
            (row is not None and row[0] != self._generation)
            or self._bus.now_ms() >= self._next_heartbeat_ms
            or (self._waiting and time.monotonic() - self._waiting_since >= TAKEOVER_RETRY_S)
        ):
            self._sync()

    # --- the Consumer protocol ----------------------------------------------------------------
    def poll(self, timeout: float = 1.0, max_records: int = 100) -> list[Message]:
        deadline = time.monotonic() + timeout
        pause = 0.002
        with self._lock:
            self._check_open()
            while True:
                self._maybe_sync()
                batch = self._read(max_records)
                remaining = deadline - time.monotonic()
                if batch or remaining <= 0:
                    return batch
                time.sleep(min(pause, remaining))
                pause = min(pause * 2, MAX_POLL_SLEEP_S)

    def _read(self, max_records: int) -> list[Message]:
        batch: list[Message] = []
        held = sorted(self._positions)
        if not held:
            return batch
        self._reads += 1
        start = self._reads % len(held)  # start at another partition each time, so none is starved
        for topic, part in held[start:] + held[:start]:
            if len(batch) >= max_records:
                break
            rows = self._conn.execute(
                "SELECT seq, key, value, headers, timestamp_ms FROM messages "
                "WHERE topic = ? AND part = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (topic, part, self._positions[(topic, part)], max_records - len(batch)),
            ).fetchall()
            for seq, key, value, headers, timestamp_ms in rows:
                batch.append(
                    Message(
                        topic=topic,
                        partition=part,
                        offset=seq,
                        key=key,
                        value=bytes(value),
                        timestamp_ms=timestamp_ms,
                        headers=json.loads(headers) if headers else {},
                    )
                )
            if rows:
                self._positions[(topic, part)] = rows[-1][0] + 1
                self._polled[(topic, part)] = rows[-1][0] + 1
        return batch

    def commit(self, messages: Sequence[Message] | None = None) -> None:
        """All or nothing: if this member lost any partition in ``messages``, nothing is committed,
        CommitFailedError is raised and every message of ``messages`` will be delivered again (the
        partitions still held are rewound to their committed offsets)."""
        if messages is None:
            offsets = dict(self._polled)
        else:
            offsets = {}
            for m in messages:
                tp = (m.topic, m.partition)
                offsets[tp] = max(offsets.get(tp, 0), m.offset + 1)
        if not offsets:
            return
        now = self._bus.now_ms()
        timeout = self._bus.session_timeout_ms
        with self._lock:
            self._check_open()
            with _immediate(self._conn) as conn:
                held = {
                    (topic, part)
                    for topic, part in conn.execute(
                        "SELECT topic, part FROM leases WHERE group_id = ? AND member_id = ?",
                        (self.group, self.member_id),
                    )
                }
                lost = sorted(set(offsets) - held)
                if not lost:
                    conn.executemany(
                        "INSERT OR REPLACE INTO offsets (group_id, topic, part, next_seq) VALUES (?,?,?,?)",
                        [(self.group, *tp, seq) for tp, seq in offsets.items()],
                    )
                    conn.execute(
                        "UPDATE leases SET expires_ms = ? WHERE group_id = ? AND member_id = ?",
                        (now + timeout, self.group, self.member_id),
                    )
                    conn.execute(
                        "UPDATE members SET heartbeat_ms = ? WHERE group_id = ? AND member_id = ?",
                        (now, self.group, self.member_id),
                    )
                    if self._bus.retention_ms is not None and now >= self._next_purge_ms:
                        self._purge(conn, list(offsets), now - self._bus.retention_ms)
                        self._next_purge_ms = now + PURGE_INTERVAL_MS
                    return
                rewind = {tp: self._committed(conn, tp) for tp in offsets if tp in held}
            for tp in set(self._positions) - held:
                del self._positions[tp]
                self._polled.pop(tp, None)
            for tp, seq in rewind.items():
                self._positions[tp] = seq
                self._polled.pop(tp, None)
            raise CommitFailedError(
                f"group {self.group!r}: member {self.member_id} no longer holds "
                + ", ".join(f"{topic}[{part}]" for topic, part in lost)
            )

    def _committed(self, conn: sqlite3.Connection, tp: TopicPartition) -> int:
        row = conn.execute(
            "SELECT next_seq FROM offsets WHERE group_id = ? AND topic = ? AND part = ?", (self.group, *tp)
        ).fetchone()
        return row[0] if row else 0  # a new group starts at the earliest offset

    def _purge(self, conn: sqlite3.Connection, partitions: list[TopicPartition], older_than_ms: int) -> None:
        """Retention: drop messages every group has committed past and that are older than the cut-off."""
        for topic, part in partitions:
            conn.execute(
                "DELETE FROM messages WHERE topic = ? AND part = ? AND timestamp_ms < ? AND seq < "
                "(SELECT MIN(next_seq) FROM offsets WHERE topic = ? AND part = ?)",
                (topic, part, older_than_ms, topic, part),
            )

    def close(self) -> None:
        """Leave the group at once (its partitions go to the other members); nothing is committed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with _immediate(self._conn) as conn:
                conn.execute(
                    "DELETE FROM leases WHERE group_id = ? AND member_id = ?", (self.group, self.member_id)
                )
                conn.execute(
                    "DELETE FROM members WHERE group_id = ? AND member_id = ?", (self.group, self.member_id)
                )
                _bump_generation(conn, self.group)
            self._conn.close()

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("consumer is closed")
