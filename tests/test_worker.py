"""The worker base class: a bus fault mid-stream does not end the stage and loses nothing; a failing
timer does not stop message processing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from yuqing.bus import BusError, Message, open_bus
from yuqing.worker import Output, Worker


class FlakyBus:
    """The real SQLite bus, whose first consumer fails on its second poll."""

    def __init__(self, url: str) -> None:
        self.inner = open_bus(url, partitions=2)
        self.consumers = 0

    def producer(self):
        return self.inner.producer()

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str | None = None):
        self.consumers += 1
        real = self.inner.consumer(group, topics)
        if self.consumers > 1:
            return real
        polls = {"n": 0}
        original = real.poll

        def poll(timeout: float = 1.0, max_records: int = 100) -> list[Message]:
            polls["n"] += 1
            if polls["n"] == 2:
                raise BusError("broker went away")
            return original(timeout=timeout, max_records=max_records)

        real.poll = poll  # type: ignore[method-assign]
        return real

    def ensure_topics(self, topics: Sequence[str]) -> None:
        self.inner.ensure_topics(topics)

    def close(self) -> None:
        self.inner.close()


class Collect(Worker):
    name = "collect"
    topics = ("in",)
    batch_size = 5
    tick_interval = 0.0
    reconnect_backoff = 0.01

    def __init__(self, bus) -> None:
        super().__init__(bus)
        self.seen: list[str] = []
        self.ticks = 0

    def handle(self, message: Message) -> Iterable[Output]:
        self.seen.append(message.value.decode())
        return [Output("out", message.value, key=message.key)]

    def tick(self, now: datetime) -> None:
        self.ticks += 1
        raise RuntimeError("timer broke")


def test_bus_fault_reconnects_and_every_message_gets_through(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bus.sqlite3'}"
    bus = FlakyBus(url)
    producer = bus.producer()
    for i in range(20):
        producer.send("in", f"m{i}", key=f"k{i % 3}")
    producer.flush()
    worker = Collect(bus)
    worker.run(max_idle_polls=3)
    assert bus.consumers == 2, "a new consumer replaced the failed one"
    assert set(worker.seen) == {f"m{i}" for i in range(20)}
    assert worker.ticks >= 1, "the failing timer kept being called, messages kept flowing"

    check = open_bus(url, partitions=2).consumer("check", ["out"])
    out: set[str] = set()
    for _ in range(5):
        out |= {m.value.decode() for m in check.poll(timeout=0.2)}
    assert out == {f"m{i}" for i in range(20)}
