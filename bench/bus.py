"""Bus throughput: messages/s produced (flushed to durable storage) and consumed (polled and committed).

    python -P bench/bus.py [--messages 20000] [--size 1024] [--kafka kafka://127.0.0.1:9092 | apache | tansu]

Always measures the SQLite log (in a temporary directory); measures Kafka too when a broker is given:
a URL, or ``apache`` / ``tansu`` to start the broker the tests start (tests/kafka_broker.py: Apache Kafka
from its Maven Central jars, or Tansu). On Kafka it also measures plain kafka-python on the same broker
(a producer with acks=all flushing every batch; a consumer polling a batch and committing per poll) and
prints the product's rates ÷ plain. Consumption is timed from the first message received, so a group
join is not counted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from yuqing.bus import Bus, open_bus  # noqa: E402
from yuqing.bus.kafka import parse_kafka_url  # noqa: E402


@dataclass(frozen=True)
class Result:
    name: str
    produced_per_s: float
    consumed_per_s: float


def measure(name: str, bus: Bus, messages: int, size: int, batch: int) -> Result:
    topic, group = f"bench-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    bus.ensure_topics([topic])
    payload = b"x" * size
    producer = bus.producer()
    started = time.perf_counter()
    for i in range(messages):
        producer.send(topic, payload, key=f"key-{i % 1000}")
        if (i + 1) % batch == 0:
            producer.flush()
    producer.flush()
    produced = messages / (time.perf_counter() - started)
    producer.close()

    consumer = bus.consumer(group, [topic])
    received = 0
    first_at: float | None = None
    deadline = time.monotonic() + 300
    while received < messages and time.monotonic() < deadline:
        records = consumer.poll(timeout=0.5, max_records=batch)
        if not records:
            continue
        first_at = first_at or time.perf_counter()
        consumer.commit(records)
        received += len(records)
    if received < messages:
        raise SystemExit(f"{name}: only {received} of {messages} messages consumed")
    consumed = messages / (time.perf_counter() - (first_at or 0.0))
    consumer.close()
    return Result(name, produced, consumed)


def measure_plain(url: str, messages: int, size: int, batch: int, partitions: int) -> Result:
    """The same work with kafka-python directly, as a baseline for the product's Kafka bus."""
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    servers = parse_kafka_url(url).servers
    topic, group = f"plain-{uuid.uuid4().hex[:8]}", f"plain-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=servers)
    admin.create_topics([NewTopic(topic, partitions, 1)])
    admin.close()
    payload = b"x" * size
    producer = KafkaProducer(bootstrap_servers=servers, acks="all")
    started = time.perf_counter()
    for i in range(messages):
        producer.send(topic, payload, key=f"key-{i % 1000}".encode())
        if (i + 1) % batch == 0:
            producer.flush()
    producer.flush()
    produced = messages / (time.perf_counter() - started)
    producer.close()

    consumer = KafkaConsumer(
        topic, bootstrap_servers=servers, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    received, first_at = 0, None
    deadline = time.monotonic() + 300
    while received < messages and time.monotonic() < deadline:
        polled = consumer.poll(timeout_ms=500, max_records=batch)
        count = sum(len(records) for records in polled.values())
        if not count:
            continue
        first_at = first_at or time.perf_counter()
        consumer.commit()
        received += count
    consumer.close(autocommit=False)
    if received < messages:
        raise SystemExit(f"plain kafka-python: only {received} of {messages} messages consumed")
    return Result("plain", produced, messages / (time.perf_counter() - (first_at or 0.0)))


def kafka_url(arg: str) -> tuple[str, object | None]:
    """A broker URL, or a broker started as the tests start it (``apache``, ``tansu``)."""
    if arg in ("apache", "tansu"):
        from tests.kafka_broker import start_apache_kafka, start_tansu

        url, process = (start_apache_kafka if arg == "apache" else start_tansu)()
        return url, process
    return arg, None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=1024, help="payload bytes")
    parser.add_argument("--batch", type=int, default=500, help="messages per flush and per poll/commit")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--kafka", help="kafka://host:port of a broker to measure as well")
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        bus = open_bus(f"sqlite:///{Path(tmp) / 'bus.sqlite3'}", partitions=args.partitions)
        results.append(measure("sqlite", bus, args.messages, args.size, args.batch))
        bus.close()
    broker = None
    if args.kafka:
        url, broker = kafka_url(args.kafka)
        try:
            bus = open_bus(url, partitions=args.partitions)
            results.append(measure("kafka", bus, args.messages, args.size, args.batch))
            bus.close()
            results.append(measure_plain(url, args.messages, args.size, args.batch, args.partitions))
        finally:
            if broker is not None:
                broker.stop()  # type: ignore[attr-defined]

    print(f"{args.messages} messages of {args.size} B, {args.partitions} partitions, batches of {args.batch}")
    print(f"{'bus':<8}{'produced/s':>14}{'consumed+committed/s':>24}{'consume/produce':>18}")
    for r in results:
        ratio = r.consumed_per_s / r.produced_per_s
        print(f"{r.name:<8}{r.produced_per_s:>14,.0f}{r.consumed_per_s:>24,.0f}{ratio:>18.2f}")
    if len(results) == 3:
        sqlite, kafka, plain = results
        print(
            f"sqlite/kafka: produce {sqlite.produced_per_s / kafka.produced_per_s:.2f}x, "
            f"consume {sqlite.consumed_per_s / kafka.consumed_per_s:.2f}x"
        )
        print(
            f"kafka bus ÷ plain kafka-python: produce {kafka.produced_per_s / plain.produced_per_s:.2f}, "
            f"consume {kafka.consumed_per_s / plain.consumed_per_s:.2f} (target ≥ 0.7)"
        )


if __name__ == "__main__":
    main()
