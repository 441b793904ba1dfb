"""One base class for every bus-driven stage.

A stage implements ``handle(message) -> outputs``, or, to work on a polled batch at once,
``handle_batch(messages) -> [Outcome, ...]`` with one outcome per message: ``Outcome.ok(outputs)``,
``Outcome.dead_letter(reason)`` or ``Outcome.retry(reason)``. The base class owns polling, producing the
outputs, flushing them, committing offsets, retrying and dead-lettering: a stage never touches offsets
nor the dead-letter topic. With ``handle`` the fate of a failed message is decided by the exception it
raises:

- ``PermanentError`` (and any other exception, e.g. a parse error): dead-letter with the reason, go on;
- ``RetryableError``: retry the same message with backoff, then dead-letter after ``max_retries``.

A retry outcome of ``handle_batch`` is retried the same way, by handing that message alone to
``handle_batch`` again. A ``RetryableError`` raised by ``handle_batch`` itself means the batch's effects
could not be made (a store away): the whole batch is tried again ``max_retries`` times with backoff,
then left uncommitted, and the stage resumes from the committed offsets after a backoff.

Offsets are committed only after the effects and outputs of the whole batch are done and flushed, so a
crash between processing and committing re-delivers (at-least-once); stages make their effects
idempotent.
"""

from __future__ import annotations

import base64
import gc
import logging
import threading
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from yuqing.bus import Bus, BusError, CommitFailedError, Consumer, Message, Producer
from yuqing.clock import Clock, SystemClock
from yuqing.schemas import DeadLetter
from yuqing.topology import Topics

log = logging.getLogger(__name__)


class PermanentError(Exception):
    """This message can never be processed; dead-letter it with this reason."""


class RetryableError(Exception):
    """A passing fault (a database or store briefly away); try the same message again."""


@dataclass(frozen=True, slots=True)
class Output:
    topic: str
    value: Any
    key: str | None = None


Fate = Literal["ok", "retry", "dead_letter"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message of a batch: its outputs, or the error to retry or dead-letter with."""

    fate: Fate
    outputs: tuple[Output, ...] = ()
    error: BaseException | None = None

    @classmethod
    def ok(cls, outputs: Iterable[Output] | None = ()) -> Outcome:
        return cls("ok", tuple(outputs or ()))

    @classmethod
    def dead_letter(cls, reason: str | BaseException) -> Outcome:
        return cls("dead_letter", error=PermanentError(reason) if isinstance(reason, str) else reason)

    @classmethod
    def retry(cls, reason: str | BaseException) -> Outcome:
        return cls("retry", error=RetryableError(reason) if isinstance(reason, str) else reason)

    @classmethod
    def failed(cls, exc: BaseException) -> Outcome:
        """The outcome for what a message raised: retry a RetryableError, dead-letter anything else."""
        return cls.retry(exc) if isinstance(exc, RetryableError) else cls.dead_letter(exc)


def dead_letter_for(stage: str, msg: Message, exc: BaseException) -> DeadLetter:
    try:
        payload = msg.value.decode()
    except UnicodeDecodeError:
        payload = "base64:" + base64.b64encode(msg.value).decode()
    reason = str(exc) or exc.__class__.__name__
    return DeadLetter(
        stage=stage,
        reason=reason[:2000],
        error_type=exc.__class__.__name__,
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        key=msg.key,
        payload=payload,
        failed_at=datetime.now(UTC),
    )


# Python's default thresholds (700, 10, 10) start a collection every 700 new container objects, and a full
# one every 100 of those: a stage holding many long-lived objects (the incidents stage keeps every open
# incident's members, terms and signatures) walks them again and again while it parses messages. These
# collect young objects ~70 times less often; measured on the incidents tracker over 20k posts: CPU −12%.
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    """Set this process's garbage-collection thresholds for a long-running stage (``GC_THRESHOLDS``)."""
    gc.set_threshold(*GC_THRESHOLDS)


# What the stages that see every post (nlp, indexer, incidents) poll at most at once: Kafka's own default
# max.poll.records. Each does its work a batch at a time (one enrich_many, one index call, one clustering
# transaction that writes and sends each incident once, in its newest version), so when they lag a
# larger batch costs less per post; when they keep up, a poll returns what is there. The other stages
# keep 100: they do each message's effects one by one.
POST_BATCH = 500


class Worker:
    """Subclass, set ``name`` and ``topics``, implement ``handle`` (or ``handle_batch``); optionally ``tick``
    for timers."""

    name: str = "worker"
    topics: Sequence[str] = ()
    max_retries: int = 3
    retry_backoff: float = 0.5
    tick_interval: float = 5.0
    batch_size: int = 100  # messages polled at most at once (the stages of every post poll POST_BATCH)
    reconnect_backoff: float = 1.0  # first wait after a bus fault; doubles up to 30 s

    def __init__(self, bus: Bus, clock: Clock | None = None) -> None:
        self.bus = bus
        self.clock: Clock = clock or SystemClock()
        self.producer: Producer = bus.producer()
        self.processed = 0
        self.dead_lettered = 0

    # --- to implement -------------------------------------------------------------------------
    def handle(self, message: Message) -> Iterable[Output] | None:
        raise NotImplementedError

    def tick(self, now: datetime) -> None:
        """Called about every ``tick_interval`` seconds between polls (timers, escalations)."""

    def handle_batch(self, messages: Sequence[Message]) -> Sequence[Outcome]:
        """One outcome per message, in order. Override to work on the batch at once (one write, one
        model call); the default hands each message to ``handle`` in turn, retrying it in place."""
        return [self._handle_one(message) for message in messages]

    def prepare_batch(self, batch: Sequence[Message]) -> None:
        """Called with each polled batch before ``handle_batch``. Must not raise for one bad message."""

    def on_batch_done(self) -> None:
        """Called after a batch's outputs are flushed and before its offsets are committed."""

    # --- owned by the base class --------------------------------------------------------------
    def process_batch(self, batch: Sequence[Message]) -> None:
        """Everything for one polled batch but the commit: its effects, outputs and dead letters, flushed.
        Raises RetryableError (or BusError) when the batch must stay uncommitted."""
        self.prepare_batch(batch)
        outcomes = self._batch_outcomes(batch)
        if len(outcomes) != len(batch):
            raise RuntimeError(f"{self.name}: {len(outcomes)} outcomes for a batch of {len(batch)}")
        for message, outcome in zip(batch, outcomes, strict=True):
            self._settle(message, outcome)
        self.producer.flush()
        self.on_batch_done()

    def process(self, message: Message) -> None:
        """One message on its own, as in a batch of one (without the flush)."""
        self._settle(message, self._batch_outcomes([message])[0])

    def _handle_one(self, message: Message) -> Outcome:
        attempt = 0
        while True:
            try:
                return Outcome.ok(self.handle(message))
            except RetryableError as exc:
                attempt += 1
                if attempt > self.max_retries:
                    return Outcome.dead_letter(exc)
                self._wait_retry(message, attempt, exc)
            except Exception as exc:  # noqa: BLE001 - any other failure is this message's fault
                log.debug("%s", traceback.format_exc())
                return Outcome.dead_letter(exc)

    def _batch_outcomes(self, batch: Sequence[Message]) -> Sequence[Outcome]:
        """``handle_batch``, tried again while it raises RetryableError; RetryableError when it stays."""
        attempt = 0
        while True:
            try:
                return self.handle_batch(batch)
            except RetryableError as exc:
                attempt += 1
                if attempt > self.max_retries:
                    raise RetryableError(f"{exc}; batch of {len(batch)} not committed") from exc
                log.warning("%s: retry %d of a batch of %d: %s", self.name, attempt, len(batch), exc)
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))

    def _settle(self, message: Message, outcome: Outcome) -> None:
        """Send an outcome's outputs, or its dead letter; a retry outcome is retried on its own first."""
        attempt = 0
        while outcome.fate == "retry":
            attempt += 1
            error = outcome.error or RetryableError("retry")
            if attempt > self.max_retries:
                outcome = Outcome.dead_letter(error)
                break
            self._wait_retry(message, attempt, error)
            outcome = self._batch_outcomes([message])[0]
        if outcome.fate == "dead_letter":
            error = outcome.error or PermanentError("dead-lettered")
            log.warning("%s: dead-letter %s/%s: %s", self.name, message.partition, message.offset, error)
            self._dead_letter(message, error)
            return
        for out in outcome.outputs:
            self.producer.send(out.topic, out.value, key=out.key)
        self.processed += 1

    def _wait_retry(self, message: Message, attempt: int, exc: BaseException) -> None:
        log.warning("%s: retry %d of offset %s/%s: %s", self.name, attempt,
                    message.partition, message.offset, exc)
        time.sleep(self.retry_backoff * 2 ** (attempt - 1))

    def _dead_letter(self, message: Message, exc: BaseException) -> None:
        self.producer.send(Topics.DEAD_LETTER, dead_letter_for(self.name, message, exc), key=message.key)
        self.dead_lettered += 1

    def run(self, stop: threading.Event | None = None, *, max_idle_polls: int | None = None) -> None:
        """Consume until ``stop`` is set (or, in tests, after ``max_idle_polls`` empty polls).

        A bus fault (broker away, a failed flush) or a batch whose effects cannot be made (RetryableError
        from ``handle_batch`` after its retries, or from ``on_batch_done``) never ends the stage: the
        consumer is closed with the batch uncommitted, and after a backoff a new one resumes from the
        committed offsets."""
        stop = stop or threading.Event()
        tune_gc()
        idle = 0
        last_tick = 0.0
        backoff = 0.0
        consumer: Consumer | None = None
        try:
            while not stop.is_set():
                if time.monotonic() - last_tick >= self.tick_interval:
                    self._safe_tick()
                    last_tick = time.monotonic()
                try:
                    if consumer is None:
                        consumer = self.bus.consumer(self.name, list(self.topics))
                    batch = consumer.poll(timeout=0.5, max_records=self.batch_size)
                    if not batch:
                        idle += 1
                        if max_idle_polls is not None and idle >= max_idle_polls:
                            break
                        continue
                    idle = 0
                    self.process_batch(batch)
                    try:
                        consumer.commit(batch)
                    except CommitFailedError as exc:
                        log.warning("%s: commit failed, batch will be re-delivered: %s", self.name, exc)
                    backoff = 0.0
                except (BusError, RetryableError) as exc:  # the bus, or a batch's effects
                    backoff = min(30.0, max(self.reconnect_backoff, backoff * 2))
                    log.error("%s: %s, resuming from committed offsets in %.0fs: %s", self.name,
                              "bus error" if isinstance(exc, BusError) else "batch not written", backoff, exc)
                    consumer = self._drop(consumer)
                    stop.wait(backoff)
        finally:
            try:
                self.producer.flush()
            finally:
                self._drop(consumer)
                self.producer.close()

    def _safe_tick(self) -> None:
        try:
            self.tick(self.clock.now())
        except Exception:  # a failing timer must not stop message processing
            log.exception("%s: tick failed; will try again next interval", self.name)

    @staticmethod
    def _drop(consumer: Consumer | None) -> None:
        if consumer is not None:
            try:
                consumer.close()
            except BusError as exc:
                log.warning("closing consumer: %s", exc)
        return None
