"""One base class for every bus-driven stage.

A stage implements ``handle(message) -> outputs``. The base class owns polling, producing the outputs,
flushing them, committing offsets and dead-lettering: a stage never touches offsets. The fate of a failed
message is decided by the exception it raises:

- ``PermanentError`` (and any other exception, e.g. a parse error): dead-letter with the reason, go on;
- ``RetryableError``: retry the same message with backoff, then dead-letter after ``max_retries``.

Offsets are committed only after the outputs of the whole batch are flushed, so a crash between
processing and committing re-delivers (at-least-once); stages make their effects idempotent.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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


class Worker:
    """Subclass, set ``name`` and ``topics``, implement ``handle``; optionally ``tick`` for timers."""

    name: str = "worker"
    topics: Sequence[str] = ()
    max_retries: int = 3
    retry_backoff: float = 0.5
    tick_interval: float = 5.0
    batch_size: int = 100
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

    def prepare_batch(self, batch: Sequence[Message]) -> None:
        """Called with each polled batch before its messages are handled one by one (batch work such
        as vectorising many texts at once). Must not raise for one bad message: ``handle`` decides."""

    def on_batch_done(self) -> None:
        """Called after a batch's outputs are flushed and before its offsets are committed."""

    # --- owned by the base class --------------------------------------------------------------
    def process(self, message: Message) -> None:
        attempt = 0
        while True:
            try:
                for out in self.handle(message) or ():
                    self.producer.send(out.topic, out.value, key=out.key)
                self.processed += 1
                return
            except RetryableError as exc:
                attempt += 1
                if attempt > self.max_retries:
                    self._dead_letter(message, exc)
                    return
                log.warning("%s: retry %d of offset %s/%s: %s", self.name, attempt,
                            message.partition, message.offset, exc)
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))
            except Exception as exc:  # noqa: BLE001 - any other failure is this message's fault
                log.warning("%s: dead-letter %s/%s: %s", self.name, message.partition, message.offset, exc)
                log.debug("%s", traceback.format_exc())
                self._dead_letter(message, exc)
                return

    def _dead_letter(self, message: Message, exc: BaseException) -> None:
        self.producer.send(Topics.DEAD_LETTER, dead_letter_for(self.name, message, exc), key=message.key)
        self.dead_lettered += 1

    def run(self, stop: threading.Event | None = None, *, max_idle_polls: int | None = None) -> None:
        """Consume until ``stop`` is set (or, in tests, after ``max_idle_polls`` empty polls).

        A bus fault (broker away, a failed flush) or a batch write that raises RetryableError in
        ``on_batch_done`` never ends the stage: the consumer is closed with the batch uncommitted, and
        after a backoff a new one resumes from the committed offsets."""
        stop = stop or threading.Event()
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
                    self.prepare_batch(batch)
                    for message in batch:
                        self.process(message)
                    self.producer.flush()
                    self.on_batch_done()
                    try:
                        consumer.commit(batch)
                    except CommitFailedError as exc:
                        log.warning("%s: commit failed, batch will be re-delivered: %s", self.name, exc)
                    backoff = 0.0
                except (BusError, RetryableError) as exc:  # the bus, or a batch write (on_batch_done)
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
