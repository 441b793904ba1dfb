"""The Kafka bus (kafka-python): the same semantics as the SQLite log, on a real Kafka cluster.

URL: ``kafka://host1:9092,host2:9092`` with optional query parameters (milliseconds):
``max_poll_interval_ms`` (default 6000: a batch must be handled within it or the member leaves the group;
the Tansu test broker needs it this short for groups to form), ``session_timeout_ms`` (default 6000),
``heartbeat_interval_ms`` (default 2000), ``timeout_ms`` (default 10000: bootstrap, metadata and
request bound, so an unreachable broker fails fast instead of hanging) and ``replication_factor`` for
topics the bus creates (default 1).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kafka_errors
from kafka.admin import NewTopic
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata

from yuqing.bus.base import Backlog, BusError, CommitFailedError, Message, encode_value

# errors that mean "this member is no longer in the generation that owned these partitions"
_REBALANCE_ERRORS = (
    kafka_errors.CommitFailedError,
    kafka_errors.RebalanceInProgressError,
    kafka_errors.IllegalGenerationError,
    kafka_errors.UnknownMemberIdError,
)


@dataclass(frozen=True, slots=True)
class KafkaBusOptions:
    servers: list[str]
    max_poll_interval_ms: int = 6_000
    session_timeout_ms: int = 6_000
    heartbeat_interval_ms: int = 2_000
    timeout_ms: int = 10_000
    replication_factor: int = 1


def parse_kafka_url(url: str) -> KafkaBusOptions:
    parsed = urlparse(url)
    servers = [s.strip() for s in parsed.netloc.split(",") if s.strip()]
    if parsed.scheme != "kafka" or not servers:
        raise BusError(f"bus URL {url!r}: use kafka://host:9092[,host2:9092]")
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            raise BusError(f"bus URL {url!r}: {server!r} is not host:port")
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    known = set(KafkaBusOptions.__dataclass_fields__) - {"servers"}
    unknown = set(query) - known
    if unknown:
        raise BusError(f"bus URL {url!r}: unknown parameter(s) {', '.join(sorted(unknown))}")
    try:
        numbers = {k: int(v) for k, v in query.items()}
    except ValueError as exc:
        raise BusError(f"bus URL {url!r}: {exc}") from None
    return KafkaBusOptions(servers=servers, **numbers)


def _to_message(record: ConsumerRecord) -> Message:
    return Message(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key.decode("utf-8", errors="replace") if record.key is not None else None,
        value=record.value if record.value is not None else b"",
        timestamp_ms=record.timestamp,
        headers={k: (v or b"").decode("utf-8", errors="replace") for k, v in record.headers or ()},
    )


class KafkaBus:
    """``partitions`` is the partition count of the topics this bus creates."""

    def __init__(self, url: str, *, partitions: int = 4) -> None:
        self.options = parse_kafka_url(url)
        self.partitions = partitions
        self._known_topics: set[str] = set()
        self._lock = threading.Lock()
        self._probe: KafkaConsumer | None = None  # a group-less consumer that reads end offsets
        try:
            self._admin = KafkaAdminClient(**self._common_config())
        except kafka_errors.KafkaError as exc:
            raise self.unreachable(exc) from exc

    def unreachable(self, exc: BaseException) -> BusError:
        servers = ",".join(self.options.servers)
        return BusError(f"cannot reach Kafka at {servers}: {exc}; check YUQING_BUS_URL")

    def _common_config(self) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.options.servers,
            "request_timeout_ms": self.options.timeout_ms,
            "bootstrap_timeout_ms": self.options.timeout_ms,
        }

    def producer(self) -> KafkaBusProducer:
        return KafkaBusProducer(self)

    def consumer(
        self, group: str, topics: Sequence[str], *, client_id: str | None = None
    ) -> KafkaBusConsumer:
        return KafkaBusConsumer(self, group, topics, client_id=client_id)

    def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the missing topics with ``partitions`` partitions; existing topics are left alone."""
        with self._lock:
            wanted = [t for t in topics if t not in self._known_topics]
            if not wanted:
                return
            try:
                existing = set(self._admin.list_topics())
                for topic in wanted:
                    if topic in existing:
                        continue
                    with contextlib.suppress(kafka_errors.TopicAlreadyExistsError):
                        self._admin.create_topics(
                            [NewTopic(topic, self.partitions, self.options.replication_factor)],
                            timeout_ms=self.options.timeout_ms,
                        )
                self._wait_for_leaders(wanted)
            except kafka_errors.KafkaError as exc:
                raise BusError(f"Kafka: cannot create topics {', '.join(wanted)}: {exc}") from exc
            self._known_topics.update(wanted)

    def _wait_for_leaders(self, topics: Sequence[str]) -> None:
        """A created topic is usable once each partition has a leader; a group that formed before that
        would be assigned nothing (its leader had no metadata for the topic) until a metadata refresh."""
        deadline = time.monotonic() + self.options.timeout_ms / 1000
        while True:
            described = self._admin.describe_topics(list(topics))
            ready = all(
                not t.get("error_code") and t.get("partitions")
                and all(p.get("leader_id", -1) >= 0 for p in t["partitions"])
                for t in described
            )
            if ready or time.monotonic() > deadline:
                return
            time.sleep(0.1)

    def backlog(self, group: str, topic: str) -> Backlog:
        deadline = time.monotonic() + self.options.timeout_ms / 1000
        while True:
            try:
                return self._read_backlog(group, topic)
            except kafka_errors.KafkaError as exc:  # a fresh cluster has no group coordinator at first
                if not getattr(exc, "retriable", False) or time.monotonic() > deadline:
                    raise BusError(f"Kafka: cannot read the backlog of {group} on {topic}: {exc}") from exc
                time.sleep(0.2)

    def _read_backlog(self, group: str, topic: str) -> Backlog:
        with self._lock:
            if self._probe is None:
                self._probe = KafkaConsumer(**self._common_config(), enable_auto_commit=False)
            partitions = self._probe.partitions_for_topic(topic) or set()
            ends = self._probe.end_offsets([TopicPartition(topic, p) for p in partitions])
        offsets = self._admin.list_group_offsets({group: None}).get(group, {})
        committed = sum(max(0, o.offset) for tp, o in offsets.items() if tp.topic == topic)
        return Backlog(committed=committed, end=sum(ends.values()))

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
        self._admin.close()


class KafkaBusProducer:
    """acks=all (and idempotent where the broker supports it); ``flush`` raises if any send failed."""

    def __init__(self, bus: KafkaBus) -> None:
        self._bus = bus
        self._errors: list[BaseException] = []
        try:
            self._producer = KafkaProducer(
                **bus._common_config(),
                acks="all",
                max_block_ms=bus.options.timeout_ms,
                delivery_timeout_ms=max(30_000, bus.options.timeout_ms * 3),
            )
        except kafka_errors.KafkaError as exc:
            raise bus.unreachable(exc) from exc

    def send(
        self,
        topic: str,
        value: bytes | str | Mapping[str, Any] | Any,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self._bus.ensure_topics([topic])
        try:
            future = self._producer.send(
                topic,
                value=encode_value(value),
                key=key.encode() if key is not None else None,
                headers=[(k, v.encode()) for k, v in (headers or {}).items()],
            )
        except kafka_errors.KafkaError as exc:
            raise BusError(f"Kafka: cannot send to {topic}: {exc}") from exc
        future.add_errback(self._errors.append)

    def flush(self, timeout: float | None = None) -> None:
        try:
            self._producer.flush(timeout=timeout)
        except kafka_errors.KafkaError as exc:
            raise BusError(f"Kafka: flush did not complete: {exc}") from exc
        if self._errors:
            first, count = self._errors[0], len(self._errors)
            self._errors.clear()
            raise BusError(f"Kafka: {count} message(s) were not stored: {first}")

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._producer.close(timeout=self._bus.options.timeout_ms / 1000)


class KafkaBusConsumer:
    """A member of a Kafka consumer group with manual, explicit offset commits."""

    def __init__(
        self, bus: KafkaBus, group: str, topics: Sequence[str], *, client_id: str | None = None
    ) -> None:
        if not topics:
            raise BusError("a consumer needs at least one topic")
        bus.ensure_topics(list(topics))
        opts = bus.options
        config: dict[str, Any] = {
            **bus._common_config(),
            "group_id": group,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_poll_interval_ms": opts.max_poll_interval_ms,
            "session_timeout_ms": opts.session_timeout_ms,
            "heartbeat_interval_ms": opts.heartbeat_interval_ms,
        }
        if client_id:
            config["client_id"] = client_id
        try:
            self._consumer = KafkaConsumer(**config)
        except kafka_errors.KafkaError as exc:
            raise bus.unreachable(exc) from exc
        try:
            for topic in topics:  # the group's leader assigns only partitions its metadata knows
                self._consumer.partitions_for_topic(topic)
        except kafka_errors.KafkaError as exc:
            self._consumer.close(autocommit=False)
            raise bus.unreachable(exc) from exc
        self._consumer.subscribe(list(topics))
        self._timeout_ms = opts.timeout_ms

    @property
    def assignment(self) -> set[tuple[str, int]]:
        """The partitions this member holds right now."""
        return {(tp.topic, tp.partition) for tp in self._consumer.assignment()}

    def poll(self, timeout: float = 1.0, max_records: int = 100) -> list[Message]:
        try:
            records = self._consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        except kafka_errors.KafkaError as exc:
            raise BusError(f"Kafka: poll failed: {exc}") from exc
        return [_to_message(r) for tp in sorted(records) for r in records[tp]]

    def commit(self, messages: Sequence[Message] | None = None) -> None:
        offsets: dict[TopicPartition, OffsetAndMetadata] | None = None
        if messages is not None:
            if not messages:
                return
            offsets = {}
            for m in messages:
                tp = TopicPartition(m.topic, m.partition)
                if tp not in offsets or offsets[tp].offset < m.offset + 1:
                    offsets[tp] = OffsetAndMetadata(m.offset + 1, "", -1)
        try:
            self._consumer.commit(offsets=offsets, timeout_ms=self._timeout_ms)
        except _REBALANCE_ERRORS as exc:
            raise CommitFailedError(f"Kafka: commit refused after a rebalance: {exc}") from exc
        except kafka_errors.KafkaError as exc:
            raise BusError(f"Kafka: commit failed: {exc}") from exc

    def close(self) -> None:
        """Leave the group; nothing uncommitted is committed."""
        self._consumer.close(autocommit=False)
