"""The indexer stage end to end on the SQLite bus and the SQLite FTS5 store."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import jieba
import pytest

from indexer.stage import IndexerWorker, run
from yuqing.bus import Bus, Message, open_bus
from yuqing.clock import CN_TZ
from yuqing.schemas import DeadLetter, EnrichedPost
from yuqing.settings import Settings
from yuqing.storage import SearchQuery, StoreError, open_store
from yuqing.storage.base import PostsRejected
from yuqing.storage.sqlite_fts import SqliteFtsStore
from yuqing.topology import Topics

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=CN_TZ)


def post(n: int, title: str = "小区自来水浑浊", *, fetched: datetime = T0) -> EnrichedPost:
    content = f"第{n}号楼居民反映自来水浑浊。"
    return EnrichedPost(id=f"p{n}", source_id="weibo", url=f"https://example.cn/{n}", title=title,
                        content=content, published_at=T0 + timedelta(minutes=n), fetched_at=fetched,
                        tokens=jieba.lcut(f"{title}\n{content}"))


def send(bus: Bus, *values: object) -> None:
    producer = bus.producer()
    for value in values:
        producer.send(Topics.ENRICHED_POSTS, value, key="k")
    producer.flush()


def read_all(bus: Bus, topic: str, expected: int) -> list[Message]:
    """The topic's messages: polls until ``expected`` arrived, then once more to catch any extra."""
    consumer = bus.consumer("test-reader", [topic])
    got: list[Message] = []
    for _ in range(20):
        if len(got) >= expected:
            break
        got.extend(consumer.poll(timeout=0.2))
    got.extend(consumer.poll(timeout=0.2))
    consumer.close()
    return got


@pytest.fixture
def bus(tmp_path: Path) -> Bus:
    bus = open_bus(f"sqlite:///{tmp_path / 'bus.sqlite3'}", partitions=2)
    bus.ensure_topics(Topics.ALL)
    yield bus
    bus.close()


@pytest.fixture
def store(tmp_path: Path) -> SqliteFtsStore:
    store = SqliteFtsStore(f"sqlite:///{tmp_path / 'search.sqlite3'}")
    yield store
    store.close()


def test_posts_are_indexed_and_bad_messages_dead_lettered(bus: Bus, store: SqliteFtsStore) -> None:
    send(bus, post(1), b"{not json", post(2), {"id": "p9", "title": "no source nor url"}, post(3))
    worker = IndexerWorker(bus, store)
    worker.run(max_idle_polls=2)

    result = store.search(SearchQuery(text="自来水"))
    assert sorted(h.post["id"] for h in result.hits) == ["p1", "p2", "p3"]
    letters = [DeadLetter.model_validate_json(m.value) for m in read_all(bus, Topics.DEAD_LETTER, 2)]
    assert len(letters) == 2
    assert {d.stage for d in letters} == {"indexer"}
    assert {d.payload for d in letters} == {"{not json", '{"id": "p9", "title": "no source nor url"}'}

    again = IndexerWorker(bus, store)  # offsets were committed: nothing is read twice
    again.run(max_idle_polls=2)
    assert again.processed == 0


def test_posts_with_nan_or_infinity_are_dead_lettered(bus: Bus, store: SqliteFtsStore) -> None:
    good = post(1).model_dump_json()
    send(bus, good.replace('"id":"p1"', '"id":"nan"').replace('"heat":0.0', '"heat":NaN'), post(2),
         good.replace('"id":"p1"', '"id":"inf"').replace('"score":0.0', '"score":Infinity'),
         good.replace('"id":"p1"', '"id":"huge"').replace('"heat":0.0', '"heat":1e999'),  # parsed as inf
         good.replace('"id":"p1"', '"id":"p3"').replace('"heat":0.0', '"heat":1.5e-7'))  # a finite one
    worker = IndexerWorker(bus, store)
    worker.run(max_idle_polls=2)
    assert (worker.indexed, worker.dead_lettered) == (2, 3)
    letters = [DeadLetter.model_validate_json(m.value) for m in read_all(bus, Topics.DEAD_LETTER, 3)]
    assert sorted(d.reason for d in letters) == [
        "post huge holds a number that is NaN or Infinity",
        "post inf holds a number that is NaN or Infinity",
        "post nan holds a number that is NaN or Infinity",
    ]
    assert store.search(SearchQuery()).total == 2


class RefusingStore(SqliteFtsStore):
    """Refuses posts whose title says 拒收, as a store does a post it cannot take; writes the rest."""

    def index(self, posts: Sequence[EnrichedPost]) -> None:
        super().index([p for p in posts if "拒收" not in p.title])
        refused = {p.id: "mapper_parsing_exception" for p in posts if "拒收" in p.title}
        if refused:
            raise PostsRejected(refused)


def test_posts_the_store_refuses_are_dead_lettered_and_the_rest_kept(bus: Bus, tmp_path: Path) -> None:
    store = RefusingStore(f"sqlite:///{tmp_path / 'refusing.sqlite3'}")
    send(bus, post(1), post(2, "拒收的帖子"), post(3))
    worker = IndexerWorker(bus, store)
    worker.run(max_idle_polls=2)
    assert (worker.indexed, worker.dead_lettered) == (2, 1)
    (letter,) = [DeadLetter.model_validate_json(m.value) for m in read_all(bus, Topics.DEAD_LETTER, 1)]
    assert letter.reason == "search store refused post p2: mapper_parsing_exception"
    assert EnrichedPost.model_validate_json(letter.payload).id == "p2"
    assert sorted(p["id"] for p in store.get(["p1", "p2", "p3"])) == ["p1", "p3"]
    again = IndexerWorker(bus, store)
    again.run(max_idle_polls=1)
    assert again.processed == 0  # the refused post was committed too: it is in the dead letters
    store.close()


def test_redelivered_and_updated_posts_leave_one_document(bus: Bus, store: SqliteFtsStore) -> None:
    send(bus, post(1), post(1), post(1, "小区自来水恢复正常", fetched=T0 + timedelta(hours=1)), post(1))
    IndexerWorker(bus, store).run(max_idle_polls=2)
    assert [p["title"] for p in store.get(["p1"])] == ["小区自来水恢复正常"]
    assert store.search(SearchQuery()).total == 1


class FlakyStore:
    """The real store, away for its first ``failures`` index calls."""

    def __init__(self, store: SqliteFtsStore, failures: int) -> None:
        self.store, self.failures, self.calls = store, failures, 0

    def index(self, posts: list[EnrichedPost]) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise StoreError("search store away")
        self.store.index(posts)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def test_store_outage_commits_nothing_and_the_batch_is_indexed_when_it_returns(
    bus: Bus, store: SqliteFtsStore
) -> None:
    send(bus, post(1), post(2))
    flaky = FlakyStore(store, failures=IndexerWorker.max_retries + 2)
    worker = IndexerWorker(bus, flaky)  # type: ignore[arg-type]
    worker.retry_backoff = 0.0
    worker.reconnect_backoff = 0.01
    worker.run(max_idle_polls=3)  # the stage stays up through the outage
    assert flaky.calls == IndexerWorker.max_retries + 3, "gave up on the batch once, then wrote it"
    assert worker.indexed == 2
    assert sorted(p["id"] for p in store.get(["p1", "p2"])) == ["p1", "p2"]
    assert read_all(bus, Topics.DEAD_LETTER, 0) == []
    again = IndexerWorker(bus, store)
    again.run(max_idle_polls=2)
    assert again.indexed == 0, "the batch was committed once written"


def test_run_indexes_until_stopped(settings: Settings) -> None:
    settings.ensure_data_dir()
    bus = open_bus(settings.bus_url, partitions=settings.bus_partitions)
    bus.ensure_topics(Topics.ALL)
    send(bus, post(1), post(2))
    stop = threading.Event()
    stage = threading.Thread(target=run, args=(settings, stop))
    stage.start()
    store = open_store(settings.search_url)
    deadline = time.monotonic() + 30
    while store.search(SearchQuery()).total < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    stage.join(timeout=30)
    assert not stage.is_alive()
    assert store.search(SearchQuery(text="浑浊")).total == 2
    store.close()
    bus.close()
