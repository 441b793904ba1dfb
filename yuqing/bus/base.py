"""The bus interface. Two implementations: the SQLite log (default) and Kafka.

Semantics both must hold (tests/contracts/test_bus.py checks them on both):
- topics are split into partitions; a message's key picks its partition, so one key keeps its order;
- a consumer belongs to a group; each partition is read by one live member of the group at a time,
  so every message is handled by one member;
- ``commit`` stores, per partition, the offset after the given messages; a member that starts (or takes
  over a partition) resumes from the committed offset: delivery is at-least-once. A new group starts at
  the earliest offset. A member that closes, dies or stops polling for longer than the session timeout
  loses its partitions, and its uncommitted messages go to the member that takes them over;
- a member that lost a partition can never move its offset: its ``commit`` raises CommitFailedError
  (fencing), so a message is committed only by the member that holds its partition;
- ``Producer.flush`` returns only when everything sent is durable.

URLs: ``sqlite:///path?session_timeout_ms=…&retention_ms=…`` (see yuqing/bus/sqlite.py) and
``kafka://host:9092,host2:9092?max_poll_interval_ms=…`` (see yuqing/bus/kafka.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class BusError(RuntimeError):
    """The bus cannot be reached or refused an operation; the message is one line saying what to fix."""


class CommitFailedError(BusError):
    """The consumer lost a partition (rebalance, session timeout) before committing. Nothing of that
    commit is stored; its messages will be re-delivered (to this member or to the new holder)."""


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    timestamp_ms: int
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.value)


def encode_value(value: bytes | str | Mapping[str, Any] | Any) -> bytes:
    """bytes pass through; str is UTF-8; pydantic models and mappings become JSON."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if hasattr(value, "model_dump_json"):
        return value.model_dump_json().encode()
    return json.dumps(value, ensure_ascii=False, default=str).encode()


class Producer(Protocol):
    def send(
        self,
        topic: str,
        value: bytes | str | Mapping[str, Any] | Any,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None: ...

    def flush(self, timeout: float | None = None) -> None:
        """Block until every message sent so far is durably stored; BusError if some could not be."""
        ...

    def close(self) -> None: ...


class Consumer(Protocol):
    def poll(self, timeout: float = 1.0, max_records: int = 100) -> list[Message]:
        """Next messages from the partitions this member holds, in offset order per partition.

        Waits up to ``timeout`` seconds for at least one message (without spinning) and returns [] if
        none came. Polling regularly also keeps this member in its group."""
        ...

    def commit(self, messages: Sequence[Message] | None = None) -> None:
        """Commit the offset after each partition's last message in ``messages`` (default: all polled).

        All or nothing: raises CommitFailedError when this member no longer holds one of the partitions."""
        ...

    def close(self) -> None:
        """Leave the group at once; nothing is committed, uncommitted messages will be delivered again."""
        ...


@dataclass(frozen=True, slots=True)
class Backlog:
    """How far a consumer group is through a topic, summed over the topic's partitions."""

    committed: int  # messages the group has committed past
    end: int  # messages written to the topic

    @property
    def lag(self) -> int:
        return max(0, self.end - self.committed)


class Bus(Protocol):
    def producer(self) -> Producer: ...

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str | None = None) -> Consumer: ...

    def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create missing topics with the bus's partition count; existing topics keep theirs.
        (Producers and consumers also create the topics they use.)"""
        ...

    def backlog(self, group: str, topic: str) -> Backlog:
        """The group's committed position against the topic's end (a group that never committed is at 0)."""
        ...

    def close(self) -> None: ...
