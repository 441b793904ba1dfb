"""Bus: ``open_bus(url)`` returns the SQLite log or the Kafka implementation."""

from __future__ import annotations

from urllib.parse import urlparse

from yuqing.bus.base import (
    Backlog,
    Bus,
    BusError,
    CommitFailedError,
    Consumer,
    Message,
    Producer,
    encode_value,
)

__all__ = [
    "Backlog", "Bus", "BusError", "CommitFailedError", "Consumer", "Message", "Producer", "encode_value",
    "open_bus",
]


def open_bus(url: str, *, partitions: int = 4) -> Bus:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from yuqing.bus.sqlite import SqliteBus

        return SqliteBus(url, partitions=partitions)
    if scheme == "kafka":
        from yuqing.bus.kafka import KafkaBus

        return KafkaBus(url, partitions=partitions)
    raise BusError(f"bus URL {url!r}: use sqlite:///path or kafka://host:9092")
