"""A source of kind ``policy``: the sample site's 政策文件 page, crawled over HTTP, goes through the
``policies`` stage into the register and opens a 政策解读 case (the city's own policy) and a 转载 case (the
province's key policy); other posts on the same topic are left alone, and a page seen again changes
nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerting.directory import Directory
from alerting.models import Alert, AlertDeadline
from alerting.policies_register import list_policies
from alerting.policy_models import PolicyRow
from alerting.policy_worker import PolicyWorker
from crawlers.config import load_sources
from crawlers.crawl import crawl_round
from sample_site import serve_sample_site
from yuqing.bus import Bus, open_bus
from yuqing.clock import FakeClock, utcnow
from yuqing.schemas import EnrichedPost, RawPost
from yuqing.settings import PROJECT_ROOT, Settings
from yuqing.topology import Topics

DEPARTMENTS = PROJECT_ROOT / "alerting" / "config" / "departments.yaml"
FAST_SCRAPY = {"DOWNLOAD_TIMEOUT": 5, "RETRY_TIMES": 1, "RETRY_BACKOFF_BASE": 0.05, "LOG_LEVEL": "ERROR"}


@pytest.fixture
def bus(tmp_path: Path) -> Iterator[Bus]:
    b = open_bus(f"sqlite:///{tmp_path / 'bus.sqlite3'}", partitions=2)
    yield b
    b.close()


def _crawl_policy_page(db, bus: Bus, clock: FakeClock) -> list[RawPost]:
    base, stop = serve_sample_site(port=0)
    try:
        sources, problems = load_sources(PROJECT_ROOT / "crawlers" / "sources", {"sample_site": base})
        assert problems == []
        source = next(s for s in sources if s.id == "nanyang-policy")
        assert source.kind == "policy"
        producer = bus.producer()
        summary = crawl_round([source], db=db, producer=producer, clock=clock, scrapy_settings=FAST_SCRAPY)
        producer.close()
        assert not summary["nanyang-policy"].errors
    finally:
        stop()
    consumer = bus.consumer("test-raw", [Topics.RAW_POSTS])
    posts = []
    while batch := consumer.poll(timeout=0.2, max_records=100):
        posts.extend(RawPost.model_validate_json(m.value) for m in batch)
        consumer.commit(batch)
    consumer.close()
    return posts


def test_the_sample_policy_page_opens_an_interpretation_case_and_a_reprint_case(
    db, bus: Bus, alert_settings: Settings
) -> None:
    settings = alert_settings.model_copy(update={"departments_file": DEPARTMENTS})
    clock = FakeClock(utcnow())
    with db.transaction() as s:
        Directory.load_yaml(DEPARTMENTS).save(s, now=clock.now())
    posts = _crawl_policy_page(db, bus, clock)
    assert len(posts) == 2 and all(p.source_kind == "policy" and p.region == "4113" for p in posts)
    assert {p.author for p in posts} == {"南阳市教育局", "河南省人民政府办公厅"}
    assert all(p.published_at is not None and p.published_at < clock.now() for p in posts)

    producer = bus.producer()
    for post in posts:  # as the nlp stage passes them on
        producer.send(Topics.ENRICHED_POSTS, EnrichedPost(**post.model_dump()), key=post.source_id)
    other = EnrichedPost(**{**posts[0].model_dump(), "id": "other", "source_id": "nanyang-news",
                            "source_kind": "news", "url": "http://news.example/1.html"})
    producer.send(Topics.ENRICHED_POSTS, other, key="nanyang-news")
    producer.close()
    worker = PolicyWorker(bus, db, settings, clock=clock)
    worker.run(max_idle_polls=2)
    assert worker.dead_lettered == 0

    with db.session() as s:
        views = {v.issuer: v for v in list_policies(s)}
        kinds = dict(s.execute(select(Alert.id, Alert.incident_kind)).all())
        deadlines = {d.alert_id: d for d in s.scalars(select(AlertDeadline))}
    assert set(views) == {"南阳市教育局", "河南省人民政府办公厅"}
    local, provincial = views["南阳市教育局"], views["河南省人民政府办公厅"]
    assert (local.level, local.deadline) == ("local", "policy_interpretation")
    assert local.department == "南阳市教育局"
    assert kinds[local.alert_id] == "policy" and local.source == "nanyang-policy" and local.problem is None
    assert (provincial.level, provincial.key, provincial.deadline) == ("provincial", True, "reprint")
    assert kinds[provincial.alert_id] == "key_policy" and provincial.deadline_state == "open"
    published = next(p.published_at for p in posts if p.author == "河南省人民政府办公厅")
    assert deadlines[provincial.alert_id].due_at == published + timedelta(hours=24)

    # the page crawled again (a restart re-delivers it): still one policy and one case each
    producer = bus.producer()
    for post in posts:
        producer.send(Topics.ENRICHED_POSTS, EnrichedPost(**post.model_dump()), key=post.source_id)
    producer.close()
    PolicyWorker(bus, db, settings, clock=clock).run(max_idle_polls=2)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(PolicyRow)) == 2
        assert s.scalar(select(func.count()).select_from(Alert)) == 2


def test_a_policy_page_without_a_usable_address_is_dead_lettered_with_the_reason(
    db, bus: Bus, alert_settings: Settings
) -> None:
    clock = FakeClock(utcnow())
    post = EnrichedPost(id="p", source_id="nanyang-policy", source_kind="policy", url="mailto:office@example",
                        title="某政策", fetched_at=clock.now())
    producer = bus.producer()
    producer.send(Topics.ENRICHED_POSTS, post, key="nanyang-policy")
    producer.close()
    worker = PolicyWorker(bus, db, alert_settings, clock=clock)
    worker.run(max_idle_polls=2)
    assert worker.dead_lettered == 1
    consumer = bus.consumer("test-dl", [Topics.DEAD_LETTER])
    letters = consumer.poll(timeout=0.5, max_records=10)
    consumer.close()
    assert letters and "不是 http(s) 地址" in letters[0].value.decode("utf-8")


def test_the_incidents_stage_leaves_policy_pages_out_of_opinion_incidents(db, bus: Bus) -> None:
    from incidents.stage import IncidentsWorker
    from yuqing.schemas import Location, Tags

    clock = FakeClock(utcnow())
    tags = Tags(relevant=True, category="劳动和社会保障", locations=[Location(name="南阳市", code="4113")])
    producer = bus.producer()
    for n, kind in enumerate(("policy", "policy", "news", "news")):
        post = EnrichedPost(
            id=f"p{n}", source_id=f"src-{kind}", source_kind=kind, url=f"https://a.example/{n}",
            title="河南省进一步稳就业若干政策措施 失业保险 以工代赈", content="稳就业 补贴 高校毕业生",
            tokens=["河南省", "稳就业", "政策措施", "失业保险", "以工代赈", "补贴", "高校毕业生"],
            published_at=clock.now(), fetched_at=clock.now(), tags=tags)
        producer.send(Topics.ENRICHED_POSTS, post, key=post.id)
    producer.close()
    worker = IncidentsWorker(bus, db, clock=clock)
    worker.run(max_idle_polls=2)
    members = set(worker.tracker.post_cluster)
    assert not {"p0", "p1"} & members, "a policy page never joins a 舆情 incident"
    assert {"p2", "p3"} <= members
