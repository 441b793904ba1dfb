"""Helpers for the bus contract tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import pytest

from yuqing.bus import Bus, Consumer, Message, open_bus

DRAIN_TIMEOUT_S = 30.0  # a Kafka member needs a few seconds to join its group


class BusUnderTest:
    """Opens buses on one URL and closes everything it opened when the test ends."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self._closers: list[Callable[[], None]] = []

    def open(self, partitions: int = 4) -> Bus:
        bus = open_bus(self.url, partitions=partitions)
        self._closers.append(bus.close)
        return bus

    def consumer(self, bus: Bus, group: str, topics: Sequence[str]) -> Consumer:
        consumer = bus.consumer(group, topics)
        self._closers.append(consumer.close)
        return consumer

    def close_all(self) -> None:
        for close in reversed(self._closers):
            close()


def drain(consumer: Consumer, count: int, timeout: float = DRAIN_TIMEOUT_S) -> list[Message]:
    """Poll until ``count`` messages arrived (or fail after ``timeout`` seconds)."""
    got: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"only {len(got)} of {count} messages arrived within {timeout} s")
        got.extend(consumer.poll(timeout=0.5, max_records=500))
    return got


def poll_for(consumer: Consumer, seconds: float) -> list[Message]:
    """Everything that arrives within ``seconds`` (to show that nothing more comes)."""
    got: list[Message] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got.extend(consumer.poll(timeout=0.2, max_records=500))
    return got
