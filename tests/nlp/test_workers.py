"""The two nlp stages end to end on the SQLite bus: raw posts → enriched posts → ranked incidents."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from incidents.stage import IncidentsWorker
from nlp.enrich import Enricher
from nlp.location import Gazetteer
from nlp.tokenize import clean_text
from nlp.worker import EnrichWorker
from yuqing.bus import Bus, open_bus
from yuqing.db.migrate import create_schema
from yuqing.db.session import Database, make_engine
from yuqing.schemas import Counts, DeadLetter, EnrichedPost, Incident, RawPost, Tags
from yuqing.settings import Settings
from yuqing.topology import Topics

STORIES = json.loads((Path(__file__).parent / "test_incidents_stories.json").read_text(encoding="utf-8"))
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


class LabelledTagger:
    """The labels the stories were written with, for the texts they were written for: these tests are
    about the pipeline (cleaning, one segmentation, places, heat, the bus, clustering), not the models'
    accuracy, which tests/nlp/test_classify_tokenize.py measures."""

    def __init__(self) -> None:
        self.labels = {clean_text(f"{s['title']}\n{s['content']}".strip())[0]: s["tags"] for s in STORIES}
        self.calls: list[list[str]] = []

    def tag_many(self, texts: list[str], tokens: list[list[str]]) -> list[Tags]:
        self.calls.append(tokens[0] if tokens else [])
        return [Tags(**self.labels.get(t, {"relevant": False})) for t in texts]


def raw(story: dict[str, Any]) -> RawPost:
    at = T0 + timedelta(minutes=story["minutes"])
    return RawPost(
        id=story["id"],
        source_id=story["source_id"],
        source_kind=story["source_kind"],
        url=story["url"] or f"https://example.cn/{story['id']}",
        title=story["title"],
        content=story["content"],
        published_at=at,
        fetched_at=at + timedelta(minutes=3),
        counts=Counts(**story["counts"]),
        region=story["region"],
    )


@pytest.fixture
def enricher() -> Enricher:
    return Enricher(LabelledTagger(), Gazetteer.load())


@pytest.fixture
def bus(tmp_path: Path) -> Any:
    bus = open_bus(f"sqlite:///{tmp_path / 'bus.sqlite3'}", partitions=2)
    bus.ensure_topics(list(Topics.ALL))
    yield bus
    bus.close()


def read_all(bus: Bus, topic: str) -> list[Any]:
    consumer = bus.consumer(f"test-{topic}", [topic])
    out: list[Any] = []
    try:
        for _ in range(6):
            batch = consumer.poll(timeout=0.2, max_records=500)
            out.extend(m.json() for m in batch)
    finally:
        consumer.close()
    return out


def test_enrich_segments_once_and_fills_places_and_heat(enricher: Enricher) -> None:
    post = raw(next(s for s in STORIES if s["id"] == "fire-00"))
    out = enricher.enrich(post)
    assert out.id == post.id and out.content == post.content
    assert out.tokens == enricher.tagger.calls[-1]  # type: ignore[attr-defined]
    assert "火灾" in out.tokens
    assert [(loc.name, loc.code) for loc in out.tags.locations] == [("鼓楼区", "320106")]
    assert out.tags.category == "城乡建设" and out.heat > 0 and not out.truncated


def test_enrich_uses_the_source_region_when_the_text_names_no_place(enricher: Enricher) -> None:
    post = raw(next(s for s in STORIES if s["id"] == "water-21")).model_copy(
        update={"title": "小区停水问题", "content": "小区停水三天，物业电话打不通，请督促尽快恢复供水。"}
    )
    assert [loc.code for loc in enricher.enrich(post).tags.locations] == ["510107"]


@pytest.mark.parametrize(
    "content",
    [
        "",
        "😀😀😀",
        "<html><script>alert(1)</script><p>南京&nbsp;鼓楼区</p></html>",
        "\x00\x01控制字符\x7f",
        "Hello world, no Chinese at all",
        "南京鼓楼区停水。" * 20_000,
    ],
)
def test_enrich_survives_bad_input(enricher: Enricher, content: str) -> None:
    post = RawPost(id="bad", source_id="s", url="https://example.cn/bad", content=content, fetched_at=T0)
    out = enricher.enrich(post)
    assert isinstance(out, EnrichedPost)
    assert out.truncated == (len(content) > 100_000)
    assert len(out.content) <= enricher.cap
    assert "<script>" not in " ".join(out.tokens)


def test_enriched_post_is_a_valid_message_and_the_raw_post_is_left_alone(enricher: Enricher) -> None:
    post = raw(next(s for s in STORIES if s["id"] == "fire-00")).model_copy(
        update={"content": "南京鼓楼区停水。" * 20_000}
    )
    before = post.model_dump()
    out = enricher.enrich_many([post])[0]
    assert out.truncated and len(out.content) <= enricher.cap
    assert EnrichedPost.model_validate_json(out.model_dump_json()) == out
    assert post.model_dump() == before


def test_pipeline_on_the_sqlite_bus(bus: Bus, db_engine: Engine, enricher: Enricher) -> None:
    producer = bus.producer()
    for story in sorted(STORIES, key=lambda s: s["minutes"]):
        producer.send(Topics.RAW_POSTS, raw(story), key=story["id"])
    producer.send(Topics.RAW_POSTS, b"{not a post", key="broken")
    producer.flush()

    nlp = EnrichWorker(bus, enricher)
    nlp.run(max_idle_polls=2)
    assert (nlp.processed, nlp.dead_lettered) == (34, 1)
    assert len(enricher.tagger.calls) <= 4  # type: ignore[attr-defined]  # whole polled batches at once
    enriched = [EnrichedPost.model_validate(v) for v in read_all(bus, Topics.ENRICHED_POSTS)]
    assert sorted(p.id for p in enriched) == sorted(s["id"] for s in STORIES)
    # the posts the incidents stage files carry their near-duplicate signature and terms, computed here
    assert {p.id for p in enriched if p.near_dup} == {p.id for p in enriched if p.tags.relevant} != set()
    assert {p.id for p in enriched if p.cluster_terms} == {p.id for p in enriched if p.near_dup}

    incidents = IncidentsWorker(bus, Database(db_engine))
    incidents.run(max_idle_polls=2)
    sent = [Incident.model_validate(v) for v in read_all(bus, Topics.INCIDENTS)]
    latest: dict[str, Incident] = {}
    for inc in sent:
        if inc.id not in latest or inc.version > latest[inc.id].version:
            latest[inc.id] = inc
    assert len(latest) == 3
    assert sorted((i.locations[0].code, i.post_count) for i in latest.values()) == [
        ("320106", 10),
        ("410105", 10),
        ("510107", 10),
    ]
    ranked = incidents.tracker.ranked()
    assert ranked == sorted(latest.values(), key=lambda i: -i.heat)  # what was sent last, hottest first

    dead = [DeadLetter.model_validate(v) for v in read_all(bus, Topics.DEAD_LETTER)]
    assert [(d.stage, d.key) for d in dead] == [("nlp", "broken")]


def test_stages_run_from_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """``nlp.worker:run`` and ``incidents.stage:run`` as the topology starts them."""
    from incidents import stage as incidents_worker
    from nlp import worker

    monkeypatch.setattr(
        worker.Enricher,
        "load",
        classmethod(lambda cls, *a, **k: Enricher(LabelledTagger(), Gazetteer.load())),
    )
    engine = make_engine(settings.db_url)
    create_schema(engine)
    engine.dispose()
    bus = open_bus(settings.bus_url, partitions=settings.bus_partitions)
    producer = bus.producer()
    for story in STORIES:
        producer.send(Topics.RAW_POSTS, raw(story), key=story["id"])
    producer.flush()

    stop = threading.Event()
    threads = [
        threading.Thread(target=stage.run, args=(settings, stop)) for stage in (worker, incidents_worker)
    ]
    for t in threads:
        t.start()
    consumer = bus.consumer("test-incidents", [Topics.INCIDENTS])
    latest: dict[str, Incident] = {}
    deadline = time.monotonic() + 120
    try:
        while sorted(i.post_count for i in latest.values()) != [10, 10, 10] and time.monotonic() < deadline:
            for m in consumer.poll(timeout=0.5, max_records=500):
                inc = Incident.model_validate(m.json())
                latest[inc.id] = inc
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        consumer.close()
        bus.close()
    assert sorted(i.post_count for i in latest.values()) == [10, 10, 10]
    assert not any(t.is_alive() for t in threads)


def test_stories_with_the_shipped_model() -> None:
    """The same posts through the real tagger: the three stories stay three incidents with their places,
    and whatever the model calls irrelevant opens nothing."""
    from incidents.clustering import IncidentTracker
    from nlp.classify import Tagger
    from nlp.training.modelfile import ModelFileError

    try:
        enricher = Enricher(Tagger.load(), Gazetteer.load())
    except ModelFileError:
        pytest.skip("no shipped model yet")
    posts = enricher.enrich_many([raw(s) for s in sorted(STORIES, key=lambda s: s["minutes"])])
    tracker = IncidentTracker()
    members: dict[str, set[str]] = {}
    for post in posts:
        change = tracker.add(post)
        if change:
            members.setdefault(change.incident.id, set()).add(post.id.split("-")[0])
        else:
            assert not post.tags.relevant
    stories = {next(iter(s)): inc_id for inc_id, s in members.items() if len(s) == 1}
    assert {"fire", "food", "water"} <= set(stories)
    by_id = {i.id: i for i in tracker.ranked()}
    for story, code in (("fire", "320106"), ("food", "410105"), ("water", "510107")):
        incident = by_id[stories[story]]
        assert incident.post_count == 10 and [loc.code for loc in incident.locations] == [code]
    assert by_id[stories["water"]].kind == "message"


class FailingTagger(LabelledTagger):
    def tag_many(self, texts: list[str], tokens: list[list[str]]) -> list[Tags]:
        if any("BOOM" in t for t in texts):
            raise RuntimeError("model crashed on BOOM")
        return super().tag_many(texts, tokens)


def test_a_post_that_breaks_the_batch_is_dead_lettered_alone(bus: Bus) -> None:
    producer = bus.producer()
    posts = [raw(s) for s in STORIES[:5]]
    posts.insert(2, posts[0].model_copy(update={"id": "boom", "content": "BOOM"}))
    for post in posts:
        producer.send(Topics.RAW_POSTS, post, key="one-partition")
    producer.flush()
    nlp = EnrichWorker(bus, Enricher(FailingTagger(), Gazetteer.load()))
    nlp.run(max_idle_polls=2)
    assert (nlp.processed, nlp.dead_lettered) == (5, 1)
    enriched = [v["id"] for v in read_all(bus, Topics.ENRICHED_POSTS)]
    assert enriched == [p.id for p in posts if p.id != "boom"]
    dead = [DeadLetter.model_validate(v) for v in read_all(bus, Topics.DEAD_LETTER)]
    assert [(d.reason, d.key) for d in dead] == [("model crashed on BOOM", "one-partition")]
