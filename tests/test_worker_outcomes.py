"""The worker base class's batch hook: ``handle_batch`` gives one outcome per message (ok / retry /
dead-letter with a reason); the base class sends the outputs and the dead letters, retries, and commits
the batch's offsets only after its effects are made."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import jieba
import pytest

from indexer.stage import IndexerWorker
from yuqing.bus import Bus, Message, open_bus
from yuqing.clock import CN_TZ
from yuqing.schemas import DeadLetter, EnrichedPost
from yuqing.storage import SearchQuery
from yuqing.storage.sqlite_fts import SqliteFtsStore
from yuqing.topology import Topics
from yuqing.worker import Outcome, Output, RetryableError, Worker

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=CN_TZ)


class CommitSpy:
    """The real SQLite bus; each commit calls ``on_commit`` with the committed messages first."""

    def __init__(self, inner: Bus) -> None:
        self.inner = inner
        self.on_commit = lambda messages: None
        self.commits: list[list[str]] = []

    def producer(self):
        return self.inner.producer()

    def consumer(self, group: str, topics: Sequence[str], *, client_id: str | None = None):
        real = self.inner.consumer(group, topics)
        original = real.commit

        def commit(messages: Sequence[Message] | None = None) -> None:
            self.commits.append([m.value.decode() for m in messages or ()])
            self.on_commit(messages)
            original(messages)

        real.commit = commit  # type: ignore[method-assign]
        return real

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def bus(tmp_path: Path) -> Bus:
    bus = open_bus(f"sqlite:///{tmp_path / 'bus.sqlite3'}", partitions=1)
    bus.ensure_topics([*Topics.ALL, "in", "out"])
    yield bus
    bus.close()


def send(bus: Bus, topic: str, *values: object) -> None:
    producer = bus.producer()
    for value in values:
        producer.send(topic, value, key="k")
    producer.flush()


def read(bus: Bus, topic: str) -> list[Message]:
    consumer = bus.consumer("test-reader", [topic])
    got: list[Message] = []
    for _ in range(3):
        got.extend(consumer.poll(timeout=0.2))
    consumer.close()
    return got


def dead_letters(bus: Bus) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(m.value) for m in read(bus, Topics.DEAD_LETTER)]


class Upper(Worker):
    """Writes each batch as one effect (``written``), and sends the upper-cased words; "bad" words are
    dead-lettered, "flaky" ones need ``flaky_fails`` retries."""

    name = "upper"
    topics = ("in",)
    retry_backoff = 0.0
    reconnect_backoff = 0.01

    def __init__(self, bus, *, flaky_fails: int = 0, store_fails: int = 0) -> None:
        super().__init__(bus)
        self.written: list[str] = []
        self.calls: list[list[str]] = []
        self.flaky_fails = flaky_fails
        self.store_fails = store_fails

    def handle_batch(self, messages: Sequence[Message]) -> list[Outcome]:
        words = [m.value.decode() for m in messages]
        self.calls.append(words)
        if self.store_fails:
            self.store_fails -= 1
            raise RetryableError("store away")
        outcomes = []
        for word in words:
            if word == "bad":
                outcomes.append(Outcome.dead_letter(f"cannot take {word!r}"))
            elif word == "flaky" and self.flaky_fails:
                self.flaky_fails -= 1
                outcomes.append(Outcome.retry("flaky for now"))
            else:
                self.written.append(word)
                outcomes.append(Outcome.ok([Output("out", word.upper(), key="k")]))
        return outcomes


def test_one_bad_message_is_dead_lettered_with_its_reason_and_the_rest_go_on(bus: Bus) -> None:
    send(bus, "in", "a", "bad", "b")
    spy = CommitSpy(bus)
    worker = Upper(spy)
    committed_after: list[list[str]] = []
    spy.on_commit = lambda messages: committed_after.append(list(worker.written))
    worker.run(max_idle_polls=2)

    assert worker.calls == [["a", "bad", "b"]], "the batch was handled at once"
    assert (worker.processed, worker.dead_lettered) == (2, 1)
    assert [m.value.decode() for m in read(bus, "out")] == ["A", "B"]
    (letter,) = dead_letters(bus)
    assert (letter.stage, letter.reason, letter.payload, letter.error_type) == (
        "upper", "cannot take 'bad'", "bad", "PermanentError")
    assert spy.commits == [["a", "bad", "b"]]
    assert committed_after == [["a", "b"]], "offsets committed only after the batch's effects"
    again = Upper(bus)
    again.run(max_idle_polls=1)
    assert again.calls == [], "the dead-lettered message was committed too"


def test_a_retry_outcome_is_retried_alone_in_order_then_dead_lettered(bus: Bus) -> None:
    send(bus, "in", "a", "flaky", "b")
    worker = Upper(bus, flaky_fails=2)
    worker.run(max_idle_polls=2)
    assert worker.calls == [["a", "flaky", "b"], ["flaky"], ["flaky"]]
    assert [m.value.decode() for m in read(bus, "out")] == ["A", "FLAKY", "B"], "outputs keep their order"
    assert dead_letters(bus) == []

    send(bus, "in", "flaky")
    stuck = Upper(bus, flaky_fails=100)
    stuck.run(max_idle_polls=2)
    assert len(stuck.calls) == 1 + Upper.max_retries
    (letter,) = dead_letters(bus)
    assert (letter.reason, letter.error_type) == ("flaky for now", "RetryableError")


def test_a_batch_whose_effects_fail_is_not_committed_until_they_are_made(bus: Bus) -> None:
    send(bus, "in", "a", "b")
    spy = CommitSpy(bus)
    worker = Upper(spy, store_fails=Upper.max_retries + 2)
    worker.run(max_idle_polls=3)  # the stage stays up: gives the batch up once, then writes it
    assert len(worker.calls) == Upper.max_retries + 3
    assert worker.written == ["a", "b"]
    assert spy.commits == [["a", "b"]], "one commit, after the write"
    assert [m.value.decode() for m in read(bus, "out")] == ["A", "B"]


def post(n: int) -> EnrichedPost:
    title, content = "小区自来水浑浊", f"第{n}号楼居民反映自来水浑浊。"
    return EnrichedPost(id=f"p{n}", source_id="weibo", url=f"https://example.cn/{n}", title=title,
                        content=content, published_at=T0 + timedelta(minutes=n), fetched_at=T0,
                        tokens=jieba.lcut(f"{title}\n{content}"))


def test_indexer_dead_letters_one_bad_message_indexes_the_rest_and_commits_after(
    bus: Bus, tmp_path: Path
) -> None:
    store = SqliteFtsStore(f"sqlite:///{tmp_path / 'search.sqlite3'}")
    send(bus, Topics.ENRICHED_POSTS, post(1), {"id": "p9", "title": "no source nor url"}, post(2), post(3))
    spy = CommitSpy(bus)
    worker = IndexerWorker(spy, store)  # type: ignore[arg-type]
    indexed_at_commit: list[int] = []
    spy.on_commit = lambda messages: indexed_at_commit.append(store.search(SearchQuery()).total)
    worker.run(max_idle_polls=2)

    assert (worker.indexed, worker.processed, worker.dead_lettered) == (3, 3, 1)
    assert sorted(p["id"] for p in store.get(["p1", "p2", "p3"])) == ["p1", "p2", "p3"]
    (letter,) = dead_letters(bus)
    assert letter.stage == "indexer" and letter.error_type == "ValidationError"
    assert "source_id" in letter.reason and "Field required" in letter.reason
    assert indexed_at_commit == [3], "the batch's offsets were committed after its posts were written"
    store.close()
