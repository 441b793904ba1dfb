"""SIGKILL a consumer process mid-stream, restart it: every message is processed, no effect happens twice.
And the other way round: the Kafka broker is SIGKILLed while a consumer is mid-batch and comes back; the
consumer never exits, and again every message is processed once.

The consumer is this file run as a script: a ``yuqing.worker.Worker`` whose effect is a row per message
in a SQLite table with a unique key (written idempotently) and which also counts every delivery. It
blocks inside a batch after ``HANG_AT`` deliveries — handled but not committed — and is killed there, or
(broker outage) waits there until the test has killed the broker and lets it go on.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engines.maven import EngineUnavailable
from tests.kafka_broker import BUS_KINDS, ApacheKafkaNode, broker_url
from yuqing.bus import Message, open_bus
from yuqing.sqlite_wal import enable_wal
from yuqing.worker import Worker

ROOT = Path(__file__).resolve().parents[1]  # the worker process imports tests.kafka_broker too
TOTAL = 300
BATCH = 20
HANG_AT = 130  # the 10th message of the 7th batch: 9 messages of that batch are handled, none committed
WAIT_S = 90.0  # on Kafka a group waits out the session timeout (30 s in docker-compose.yml)


class EffectRecorder(Worker):
    batch_size = BATCH

    reconnect_backoff = 0.5

    def __init__(self, bus_url: str, group: str, topic: str, db_path: str, hang_at: int, until: str) -> None:
        super().__init__(open_bus(bus_url))
        self.name = group
        self.topics = [topic]
        self.hang_at = hang_at
        self.until = until  # "killed": hang for good; "resumed": until the test adds a row to ``resumed``
        self.db = sqlite3.connect(db_path, timeout=30)
        enable_wal(self.db)

    def handle(self, message: Message) -> None:
        msg_id = message.json()["id"]
        with self.db:
            self.db.execute(
                "INSERT INTO deliveries (msg_id, n) VALUES (?, 1) ON CONFLICT (msg_id) DO UPDATE SET n = n+1",
                (msg_id,),
            )
            self.db.execute(
                "INSERT INTO effects (msg_id) VALUES (?) ON CONFLICT (msg_id) DO NOTHING", (msg_id,)
            )
        (delivered,) = self.db.execute("SELECT SUM(n) FROM deliveries").fetchone()
        if delivered == self.hang_at:
            self.db.execute("INSERT INTO hung (at) VALUES (?)", (delivered,))
            self.db.commit()
            if self.until == "killed":
                threading.Event().wait()  # stuck mid-batch until SIGKILLed
            while not self.db.execute("SELECT COUNT(*) FROM resumed").fetchone()[0]:
                time.sleep(0.05)


def create_tables(db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE deliveries (msg_id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        db.execute("CREATE TABLE effects (msg_id INTEGER PRIMARY KEY)")
        db.execute("CREATE TABLE hung (at INTEGER NOT NULL)")
        db.execute("CREATE TABLE resumed (at REAL NOT NULL)")


def scalar(db_path: Path, sql: str) -> int:
    with sqlite3.connect(db_path, timeout=30) as db:
        return db.execute(sql).fetchone()[0] or 0


def wait_until(condition_sql: str, db_path: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not scalar(db_path, condition_sql):
        assert proc.poll() is None, f"worker exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"timed out waiting for: {condition_sql}"
        time.sleep(0.05)


@pytest.fixture(params=BUS_KINDS)
def bus_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bus.sqlite3'}?session_timeout_ms=1500"
    else:
        yield broker_url(request.param)


def start_worker(
    bus_url: str, group: str, topic: str, db_path: Path, hang_at: int, until: str = "killed"
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.Popen(
        [sys.executable, __file__, bus_url, group, topic, str(db_path), str(hang_at), until], env=env
    )


def test_a_killed_consumer_loses_nothing_and_repeats_no_effect_after_restart(
    bus_url: str, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"crash-{suffix}", f"recorder-{suffix}"
    db_path = tmp_path / "effects.sqlite3"
    create_tables(db_path)
    bus = open_bus(bus_url, partitions=4)
    bus.ensure_topics([topic])
    producer = bus.producer()
    for i in range(TOTAL):
        producer.send(topic, {"id": i}, key=f"case-{i % 17}")
    producer.flush()
    bus.close()

    first = start_worker(bus_url, group, topic, db_path, HANG_AT)
    try:
        wait_until("SELECT COUNT(*) FROM hung", db_path, first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    assert scalar(db_path, "SELECT COUNT(*) FROM effects") == HANG_AT  # killed mid-stream

    second = start_worker(bus_url, group, topic, db_path, 0)
    try:
        wait_until(f"SELECT COUNT(*) = {TOTAL} FROM effects", db_path, second)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert second.returncode == 0

    with sqlite3.connect(db_path) as db:
        effects = [r[0] for r in db.execute("SELECT msg_id FROM effects ORDER BY msg_id")]
        deliveries = dict(db.execute("SELECT msg_id, n FROM deliveries").fetchall())
    assert effects == list(range(TOTAL))  # every message processed, each effect once
    redelivered = [msg_id for msg_id, n in deliveries.items() if n > 1]
    assert redelivered  # the batch in progress at the kill was handled again, without a second effect
    assert len(redelivered) < BATCH * 2  # only what was uncommitted came back, not the whole stream


@pytest.mark.kafka
def test_a_broker_killed_mid_batch_loses_nothing_and_the_consumer_carries_on_when_it_returns(
    tmp_path: Path,
) -> None:
    node = start_own_broker()
    try:
        suffix = uuid.uuid4().hex[:8]
        topic, group = f"outage-{suffix}", f"recorder-{suffix}"
        db_path = tmp_path / "effects.sqlite3"
        create_tables(db_path)
        bus = open_bus(node.url, partitions=4)
        bus.ensure_topics([topic])
        producer = bus.producer()
        for i in range(TOTAL):
            producer.send(topic, {"id": i}, key=f"case-{i % 17}")
        producer.flush()
        producer.close()
        bus.close()

        worker = start_worker(node.url, group, topic, db_path, HANG_AT, until="resumed")
        try:
            wait_until("SELECT COUNT(*) FROM hung", db_path, worker)
            node.kill()  # the broker goes away while a batch is handled but not committed
            with sqlite3.connect(db_path, timeout=30) as db:
                db.execute("INSERT INTO resumed (at) VALUES (?)", (time.time(),))
            time.sleep(3)  # the batch ends, its commit fails; the worker backs off and retries
            assert worker.poll() is None, "the consumer must outlive the broker"
            node.start()  # same ports, same data
            wait_until(f"SELECT COUNT(*) = {TOTAL} FROM effects", db_path, worker)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        assert worker.returncode == 0
    finally:
        node.stop()
    with sqlite3.connect(db_path) as db:
        effects = [r[0] for r in db.execute("SELECT msg_id FROM effects ORDER BY msg_id")]
        deliveries = dict(db.execute("SELECT msg_id, n FROM deliveries").fetchall())
    assert effects == list(range(TOTAL))
    assert [m for m, n in deliveries.items() if n > 1], "the uncommitted batch came again after the outage"


def start_own_broker() -> ApacheKafkaNode:
    """A broker of this test's own (the session's stays up for the others); fails or skips as the others."""
    try:
        return ApacheKafkaNode().start()
    except EngineUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"cannot start the Apache Kafka broker: {exc}", pytrace=False)
        pytest.skip(f"cannot start the Apache Kafka broker: {exc}")


def main(bus_url: str, group: str, topic: str, db_path: str, hang_at: str, until: str) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    EffectRecorder(bus_url, group, topic, db_path, int(hang_at), until).run(stop)


if __name__ == "__main__":
    main(*sys.argv[1:7])
