"""Plans in the nlp stage: every post matched, plan ids on the post, a match kept as 政务舆情 even where
the classifier says noise; plans reloaded when they change; a database failure keeps the last plans."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from nlp.enrich import Enricher
from nlp.location import Gazetteer
from nlp.plans.models import PlanRow
from nlp.plans.service import PlanInput, create_plan, set_paused
from nlp.plans.stage import PlanSource
from nlp.worker import EnrichWorker
from yuqing.bus import open_bus
from yuqing.db.session import Database
from yuqing.schemas import EnrichedPost, RawPost, Tags
from yuqing.topology import Topics

NOW = datetime(2026, 11, 20, 8, tzinfo=UTC)


class NoiseTagger:
    """The classifier at its worst: every post is noise."""

    def tag_many(self, texts: list[str], tokens: list[list[str]]) -> list[Tags]:
        return [Tags(relevant=False, relevance_score=0.1) for _ in texts]


def _raw(pid: str, title: str, content: str = "", kind: str = "social", region: str | None = None) -> RawPost:
    return RawPost(id=pid, source_id="s", source_kind=kind, url=f"https://example.cn/{pid}", title=title,
                   content=content, published_at=NOW, fetched_at=NOW, region=region)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _enriched(bus: Any, group: str) -> dict[str, EnrichedPost]:
    consumer = bus.consumer(group, [Topics.ENRICHED_POSTS])
    out: dict[str, EnrichedPost] = {}
    for _ in range(5):
        for message in consumer.poll(timeout=0.2, max_records=500):
            post = EnrichedPost.model_validate(message.json())
            out[post.id] = post
    consumer.close()
    return out


def test_posts_carry_plan_ids_and_matches_stay_relevant(tmp_path: Path, db_engine: Engine) -> None:
    db = Database(db_engine)
    with db.transaction() as session:
        place = create_plan(session, PlanInput("封丘火情", "(封丘|新乡|长垣)+(爆炸|起火|泄漏|中毒)-演练"),
                            actor="t", now=NOW).id
        topic = create_plan(session, PlanInput("燃气", "title:(燃气|天然气)+(泄漏|爆炸)"),
                            actor="t", now=NOW).id
        paused = create_plan(session, PlanInput("停用", "爆炸", paused=True), actor="t", now=NOW).id
    bus = open_bus(f"sqlite:///{tmp_path / 'bus.sqlite3'}", partitions=2)
    bus.ensure_topics(list(Topics.ALL))
    producer = bus.producer()
    posts = [
        _raw("a", "封丘县一化工厂发生爆炸", "现场浓烟"),
        _raw("b", "燃气管道泄漏", "新乡市某小区燃气泄漏"),
        _raw("c", "封丘县举行危化品泄漏应急演练"),
        _raw("d", "今日天气晴", "长垣市气温回升"),
        _raw("e", "通报", "天然气爆炸"),  # the topic plan wants it in the title
    ]
    for post in posts:
        producer.send(Topics.RAW_POSTS, post, key=post.id)
    producer.flush()
    clock = Clock()
    source = PlanSource(database=db, monotonic=clock)
    worker = EnrichWorker(bus, Enricher(NoiseTagger(), Gazetteer.load()), plans=source)
    worker.run(max_idle_polls=2)
    out = _enriched(bus, "t1")
    assert {pid: p.plan_ids for pid, p in out.items()} == {
        "a": [place], "b": [place, topic], "c": [], "d": [], "e": []}
    assert {pid for pid, p in out.items() if p.tags.relevant} == {"a", "b"}
    assert paused not in {i for p in out.values() for i in p.plan_ids}

    with db.transaction() as session:  # plans change: the stage sees it at its next look
        set_paused(session, session.get(PlanRow, place), True, actor="t", now=NOW)
    clock.t += 60
    assert [p.id for p in source.matcher().plans] == [topic]


def test_a_database_failure_keeps_the_last_plans(db_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    db = Database(db_engine)
    with db.transaction() as session:
        create_plan(session, PlanInput("p", "爆炸"), actor="t", now=NOW)
    clock = Clock()
    source = PlanSource(database=db, monotonic=clock)
    assert len(source.matcher()) == 1

    class Broken:
        def transaction(self) -> Any:
            raise RuntimeError("database is away")

    source._database = Broken()
    clock.t += 60
    assert len(source.matcher()) == 1
    assert "plans not reloaded" in caplog.text
