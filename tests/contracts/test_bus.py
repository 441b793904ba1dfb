"""The bus contract: the same behaviour on the SQLite log and on Kafka (the Tansu broker)."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.contracts.bus_helpers import BusUnderTest, drain, poll_for
from yuqing.bus import Bus, BusError, CommitFailedError, Consumer, Message, open_bus
from yuqing.bus.sqlite import SqliteBus
from yuqing.clock import FakeClock
from yuqing.topology import Topics
from yuqing.worker import Output, PermanentError, Worker

HERE = Path(__file__).resolve().parent


def ids(messages: Iterable[Message]) -> list[int]:
    return [m.json()["id"] for m in messages]


def send_numbered(bus: Bus, topic: str, count: int, keys: int = 5, start: int = 0) -> None:
    """Messages ``{"id": i}`` spread over ``keys`` keys."""
    producer = bus.producer()
    for i in range(start, start + count):
        producer.send(topic, {"id": i}, key=f"key-{i % keys}")
    producer.flush()
    producer.close()


def test_messages_of_one_key_arrive_in_order_on_one_partition(
    bus_under_test: BusUnderTest, unique: Callable[[str], str]
) -> None:
    bus = bus_under_test.open()
    topic = unique("orders")
    bus.ensure_topics([topic])
    send_numbered(bus, topic, 60, keys=3)
    got = drain(bus_under_test.consumer(bus, unique("g"), [topic]), 60)
    by_key: dict[str, list[int]] = {}
    partitions: dict[str, set[int]] = {}
    for m in got:
        by_key.setdefault(m.key or "", []).append(m.json()["id"])
        partitions.setdefault(m.key or "", set()).add(m.partition)
    assert sorted(ids(got)) == list(range(60))
    for key, seen in by_key.items():
        assert seen == sorted(seen), key
        assert len(partitions[key]) == 1, key


def test_uncommitted_messages_are_delivered_again_after_close(
    bus_under_test: BusUnderTest, unique: Callable[[str], str]
) -> None:
    bus = bus_under_test.open()
    topic, group = unique("alo"), unique("g")
    bus.ensure_topics([topic])
    send_numbered(bus, topic, 20)
    first = bus_under_test.consumer(bus, group, [topic])
    assert sorted(ids(drain(first, 20))) == list(range(20))
    first.close()  # crashed before committing

    again = bus_under_test.consumer(bus, group, [topic])
    assert sorted(ids(drain(again, 20))) == list(range(20))


def test_a_restarted_consumer_resumes_after_the_committed_offsets(
    bus_under_test: BusUnderTest, unique: Callable[[str], str]
) -> None:
    bus = bus_under_test.open()
    topic, group = unique("resume"), unique("g")
    bus.ensure_topics([topic])
    send_numbered(bus, topic, 30)
    consumer = bus_under_test.consumer(bus, group, [topic])
    got = drain(consumer, 30)
    consumer.commit(got[:12])  # per partition, a prefix of what was polled
    consumer.close()
    bus.close()

    reopened = bus_under_test.open()
    send_numbered(reopened, topic, 5, start=30)
    resumed = bus_under_test.consumer(reopened, group, [topic])
    rest = drain(resumed, 18 + 5)
    assert sorted(ids(rest)) == sorted(ids(got[12:])) + list(range(30, 35))
    resumed.commit()  # everything polled
    assert poll_for(resumed, 1.0) == []


def test_backlog_counts_what_a_group_has_committed_against_the_topic_end(
    bus_under_test: BusUnderTest, unique: Callable[[str], str]
) -> None:
    if bus_under_test.kind == "tansu":
        pytest.xfail("Tansu's ListOffsets answers the number of record batches, not the next record offset")
    bus = bus_under_test.open()
    topic, group = unique("backlog"), unique("g")
    bus.ensure_topics([topic])
    send_numbered(bus, topic, 30)
    before = bus.backlog(group, topic)
    assert (before.committed, before.end, before.lag) == (0, 30, 30)  # a group that never committed
    consumer = bus_under_test.consumer(bus, group, [topic])
    got = drain(consumer, 30)
    consumer.commit(got[:12])  # a prefix per partition: exactly the messages before each cut
    committed = sum(
        1 + max(m.offset for m in got[:12] if m.partition == part) for part in {m.partition for m in got[:12]}
    )
    after = bus.backlog(group, topic)
    assert (after.committed, after.end, after.lag) == (committed, 30, 30 - committed)
    consumer.commit()
    assert bus.backlog(group, topic).lag == 0


def test_separate_groups_each_receive_every_message(
    bus_under_test: BusUnderTest, unique: Callable[[str], str]
) -> None:
    bus = bus_under_test.open()
    topic = unique("fanout")
    bus.ensure_topics([topic])
    send_numbered(bus, topic, 25)
    for group in (unique("indexer"), unique("alerting")):
        assert sorted(ids(drain(bus_under_test.consumer(bus, group, [topic]), 25))) == list(range(25))


def test_keys_headers_and_bytes_round_trip(
    bus_under_test: BusUnderTest, unique: Callable[[str], str]
) -> None:
    bus = bus_under_test.open()
    topic = unique("rt")
    bus.ensure_topics([topic])
    producer = bus.producer()
    producer.send(topic, "纯文本", key="市长热线", headers={"来源": "微博", "trace": "abc-1"})
    producer.send(topic, b"\x00\xffraw", key=None)
    producer.flush()
    got = drain(bus_under_test.consumer(bus, unique("g"), [topic]), 2)
    by_value = {m.value: m for m in got}
    text = by_value["纯文本".encode()]
    assert text.key == "市长热线"
    assert dict(text.headers) == {"来源": "微博", "trace": "abc-1"}
    assert text.topic == topic and text.timestamp_ms > 0
    raw = by_value[b"\x00\xffraw"]
    assert raw.key is None and dict(raw.headers) == {}


def test_two_members_of_a_group_split_the_partitions_and_handle_each_message_once(
    bus_under_test: BusUnderTest, unique: Callable[[str], str]
) -> None:
    bus = bus_under_test.open()
    topic, group = unique("split"), unique("g")
    bus.ensure_topics([topic])
    total = 200
    members = [bus_under_test.consumer(bus_under_test.open(), group, [topic]) for _ in range(2)]
    committed: list[list[int]] = [[], []]
    stop = threading.Event()
    errors: list[BaseException] = []

    def run(index: int, consumer: Consumer) -> None:
        try:
            while not stop.is_set():
                batch = consumer.poll(timeout=0.2, max_records=10)
                if not batch:
                    continue
                try:
                    consumer.commit(batch)
                except CommitFailedError:
                    continue  # another member holds these now and will handle them
                committed[index].extend(ids(batch))
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(members)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while not all(c.assignment for c in members):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "the two members never both held partitions"
        time.sleep(0.05)
    assignments = [c.assignment for c in members]  # type: ignore[attr-defined]
    assert not assignments[0] & assignments[1]
    send_numbered(bus, topic, total, keys=40)
    deadline = time.monotonic() + 30
    while sum(map(len, committed)) < total and time.monotonic() < deadline and not errors:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert not errors
    handled = committed[0] + committed[1]
    assert sorted(handled) == list(range(total))  # each exactly once
    assert committed[0] and committed[1]


class Doubler(Worker):
    """Doubles ``n``; a message that is not JSON or has a negative ``n`` is dead-lettered."""

    def __init__(self, bus: object, name: str, source: str, target: str) -> None:
        super().__init__(bus)  # type: ignore[arg-type]
        self.name = name
        self.topics = [source]
        self.target = target

    def handle(self, message: Message) -> list[Output]:
        n = message.json()["n"]
        if n < 0:
            raise PermanentError(f"negative n: {n}")
        return [Output(self.target, {"n": 2 * n}, key=message.key)]


def test_a_worker_dead_letters_bad_messages_with_payload_stage_and_reason_and_goes_on(
    bus_under_test: BusUnderTest, unique: Callable[[str], str]
) -> None:
    bus = bus_under_test.open()
    source, target, stage = unique("in"), unique("out"), unique("doubler")
    bus.ensure_topics([source, target, Topics.DEAD_LETTER])
    producer = bus.producer()
    payloads = ['{"n": 1}', "not json {", '{"n": 2}', '{"n": -7}', '{"n": 3}']
    for i, payload in enumerate(payloads):
        producer.send(source, payload, key=f"k{i}")
    producer.flush()

    worker = Doubler(bus_under_test.open(), stage, source, target)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        outputs = drain(bus_under_test.consumer(bus, unique("check"), [target]), 3)
        assert sorted(m.json()["n"] for m in outputs) == [2, 4, 6]
        dead_consumer = bus_under_test.consumer(bus, unique("dlq"), [Topics.DEAD_LETTER])
        dead: list[dict] = []
        deadline = time.monotonic() + 30
        while len(dead) < 2 and time.monotonic() < deadline:
            dead += [d for d in (m.json() for m in dead_consumer.poll(0.5)) if d["stage"] == stage]
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive()
    by_payload = {d["payload"]: d for d in dead}
    assert set(by_payload) == {"not json {", '{"n": -7}'}
    assert by_payload['{"n": -7}']["reason"] == "negative n: -7"
    assert by_payload['{"n": -7}']["error_type"] == "PermanentError"
    assert by_payload["not json {"]["error_type"] == "JSONDecodeError"
    assert all(d["topic"] == source for d in dead)
    assert worker.processed == 3 and worker.dead_lettered == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("kind", ["sqlite", "kafka"])
def test_a_bus_that_cannot_be_opened_raises_bus_error_naming_the_setting(kind: str, tmp_path: Path) -> None:
    if kind == "sqlite":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        url = f"sqlite:///{blocker}/bus.sqlite3"
    else:
        url = f"kafka://127.0.0.1:{_free_port()}?timeout_ms=1500"
    started = time.monotonic()
    with pytest.raises(BusError, match="YUQING_BUS_URL"):
        open_bus(url)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "url", ["redis://localhost:6379", "sqlite://", "kafka://", "kafka://host-without-port"]
)
def test_a_malformed_bus_url_raises_bus_error(url: str) -> None:
    with pytest.raises(BusError):
        open_bus(url)


# --- SQLite only ----------------------------------------------------------------------------------


def test_sqlite_log_survives_reopening_the_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bus.sqlite3'}"
    bus = open_bus(url, partitions=2)
    send_numbered(bus, "durable", 10)
    consumer = bus.consumer("g", ["durable"])
    consumer.commit(drain(consumer, 10)[:4])
    consumer.close()
    bus.close()

    bus = open_bus(url, partitions=8)  # an existing topic keeps its partitions
    send_numbered(bus, "durable", 3, start=10)
    consumer = bus.consumer("g", ["durable"])
    got = drain(consumer, 9)
    assert {m.partition for m in got} <= {0, 1}
    assert sorted(ids(got))[-3:] == [10, 11, 12]
    assert poll_for(consumer, 0.3) == []
    offsets = [m.offset for m in got if m.partition == got[-1].partition]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    consumer.close()
    bus.close()


def test_sqlite_a_silent_member_loses_its_partitions_and_cannot_commit(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 5, 1, tzinfo=UTC))
    url = f"sqlite:///{tmp_path / 'bus.sqlite3'}"
    bus_a = SqliteBus(url, partitions=2, clock=clock, session_timeout_ms=5000)
    bus_b = SqliteBus(url, partitions=2, clock=clock, session_timeout_ms=5000)
    send_numbered(bus_a, "t", 10)
    a = bus_a.consumer("g", ["t"])
    polled = drain(a, 10)
    a.commit(polled[:1])
    b = bus_b.consumer("g", ["t"])
    assert b.poll(timeout=0.2) == []  # a still holds everything it is not asked to give up

    clock.advance(timedelta(seconds=6))  # a hangs past the session timeout
    taken = drain(b, 9)
    assert sorted(ids(taken)) == sorted(ids(polled[1:]))  # from a's committed offset
    with pytest.raises(CommitFailedError):
        a.commit(polled)  # fenced: a stale member cannot move the offsets
    b.commit(taken)

    assert a.poll(timeout=0.2) == []  # a wakes up, rejoins the group ...
    assert b.poll(timeout=0.2) == []  # ... b gives a partition back ...
    assert a.poll(timeout=0.3) == []  # ... and a resumes it from b's commit: nothing is repeated
    assert len(a.assignment) == len(b.assignment) == 1
    assert a.assignment != b.assignment
    b.close()
    a.close()


def test_sqlite_retention_drops_only_old_messages_every_group_has_committed(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 5, 1, tzinfo=UTC))
    bus = SqliteBus(f"sqlite:///{tmp_path / 'bus.sqlite3'}", partitions=1, clock=clock, retention_ms=60_000)
    send_numbered(bus, "t", 6)
    fast, slow = bus.consumer("fast", ["t"]), bus.consumer("slow", ["t"])
    fast.commit(drain(fast, 6))
    slow_got = drain(slow, 6)
    slow.commit(slow_got[:2])

    def left() -> list[int]:
        with sqlite3.connect(tmp_path / "bus.sqlite3") as conn:
            return [r[0] for r in conn.execute("SELECT seq FROM messages ORDER BY seq")]

    assert left() == [0, 1, 2, 3, 4, 5]  # committed by both groups, but not old yet
    clock.advance(timedelta(minutes=5))
    slow.commit(slow_got[2:3])  # now every group is past offset 3, and all are older than a minute
    assert left() == [3, 4, 5]
    fast.close()
    slow.close()


def test_sqlite_two_processes_of_one_group_share_the_work_without_duplicates(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bus.sqlite3'}?session_timeout_ms=3000"
    bus = open_bus(url, partitions=4)
    total = 1500
    send_numbered(bus, "work", total, keys=50)
    results = tmp_path / "results.sqlite3"
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "bus_member.py"), url, "g", "work", str(total), str(results)]
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.wait(timeout=90) == 0
    with sqlite3.connect(results) as conn:
        rows = conn.execute("SELECT msg_id, pid FROM handled").fetchall()
    counts = Counter(msg_id for msg_id, _ in rows)
    assert sorted(counts) == list(range(total))  # none lost
    assert max(counts.values()) == 1  # none handled twice
    assert len({pid for _, pid in rows}) == 2  # both processes worked
    bus.close()


def test_sqlite_an_empty_poll_waits_out_its_timeout_without_spinning(tmp_path: Path) -> None:
    bus = open_bus(f"sqlite:///{tmp_path / 'bus.sqlite3'}")
    consumer = bus.consumer("g", ["quiet"])
    wall, cpu = time.monotonic(), time.process_time()
    assert consumer.poll(timeout=1.0) == []
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    assert wall >= 0.95
    assert cpu < 0.5 * wall
    consumer.close()
    bus.close()
