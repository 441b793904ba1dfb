"""Incidents: 30 posts of three stories (with repost chains) and four noise posts become three ranked
incidents with the right places and counts; the stage is idempotent and survives restarts."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from incidents.clustering import (
    MAX_LOCATIONS,
    MAX_POST_IDS,
    MAX_SOURCE_IDS,
    MAX_TRIGGERS,
    IncidentTracker,
    Member,
    places_related,
)
from incidents.models import IncidentPost, IncidentRow
from incidents.stage import IncidentsWorker
from incidents.state import IncidentMemberState
from nlp.heat import incident_heat
from nlp.location import Gazetteer, is_ancestor
from nlp.tokenize import clean_text, segment
from yuqing.bus.base import Message
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.schemas import Counts, EnrichedPost, Incident, Location, Severity, Tags, severity_rank
from yuqing.topology import Topics

STORIES = json.loads((Path(__file__).parent / "test_incidents_stories.json").read_text(encoding="utf-8"))
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
EXPECTED_PLACE = {"fire": ("鼓楼区", "320106"), "food": ("金水区", "410105"), "water": ("武侯区", "510107")}


def enriched(story: dict[str, Any]) -> EnrichedPost:
    """A post as the nlp stage hands it on: labels as given, tokens and places computed."""
    text, _ = clean_text(f"{story['title']}\n{story['content']}".strip())
    tokens = segment(text)
    tags = Tags(**story["tags"])
    tags.locations = Gazetteer.load().resolve(text, tokens, story["region"])
    at = T0 + timedelta(minutes=story["minutes"])
    fields = {
        "id": story["id"],
        "source_id": story["source_id"],
        "source_kind": story["source_kind"],
        "url": story["url"] or f"https://example.cn/{story['id']}",
        "title": story["title"],
        "content": story["content"],
        "published_at": at,
        "fetched_at": at + timedelta(minutes=3),
        "counts": Counts(**story["counts"]),
        "region": story["region"],
        "tokens": tokens,
        "tags": tags,
    }
    return EnrichedPost(**fields)


def story(post_id: str) -> dict[str, Any]:
    return next(s for s in STORIES if s["id"] == post_id)


@pytest.fixture(scope="module")
def posts() -> list[EnrichedPost]:
    return sorted((enriched(s) for s in STORIES), key=lambda p: (p.published_at, p.id))


def story_of(post_id: str) -> str:
    return post_id.split("-")[0]


def run_tracker(posts: list[EnrichedPost]) -> tuple[IncidentTracker, dict[str, str]]:
    tracker = IncidentTracker()
    placed = {}
    for post in posts:
        change = tracker.add(post)
        if change:
            placed[post.id] = change.incident.id
    return tracker, placed


def test_three_stories_become_three_incidents(posts: list[EnrichedPost]) -> None:
    tracker, placed = run_tracker(posts)
    ranked = tracker.ranked()
    assert len(ranked) == 3
    for incident in ranked:
        stories = {story_of(pid) for pid, iid in placed.items() if iid == incident.id}
        assert len(stories) == 1, f"{incident.title} mixes {stories}"
        story = stories.pop()
        assert incident.post_count == 10
        assert incident.source_count == len({p.source_id for p in posts if story_of(p.id) == story})
        assert [(loc.name, loc.code) for loc in incident.locations] == [EXPECTED_PLACE[story]]
        first_post = min((p for p in posts if story_of(p.id) == story), key=lambda p: p.published_at)
        assert incident.id == f"inc-{first_post.id}"  # derived from the post that opened it
        assert incident.first_seen == first_post.published_at
    assert [i.heat for i in ranked] == sorted((i.heat for i in ranked), reverse=True)


def test_every_incident_sent_is_a_valid_message(posts: list[EnrichedPost]) -> None:
    # the tracker builds incidents without validating them again: each must be what validation gives
    tracker = IncidentTracker()
    sent = [change.incident for post in posts if (change := tracker.add(post))]
    assert len(sent) > 20
    for incident in sent:
        again = Incident.model_validate(incident.model_dump())
        assert again == incident
        assert incident.model_dump() == again.model_dump()
        types = {k: type(v) for k, v in incident.__dict__.items()}
        assert types == {k: type(v) for k, v in again.__dict__.items()}


def test_noise_never_opens_an_incident(posts: list[EnrichedPost]) -> None:
    _, placed = run_tracker(posts)
    assert not [p for p in placed if story_of(p) == "noise"]


def test_incident_summary(posts: list[EnrichedPost]) -> None:
    tracker, _ = run_tracker(posts)
    by_story = {story_of(i.id.removeprefix("inc-")): i for i in tracker.ranked()}
    fire, food, water = by_story["fire"], by_story["food"], by_story["water"]
    assert fire.title == "南京鼓楼区一居民楼发生火灾 3人遇难"  # the earliest title among the posts
    assert "火灾" in fire.keywords and "食物中毒" in food.keywords and "停水" in water.keywords
    assert fire.category == "城乡建设" and fire.department_type == "住房和城乡建设局"
    assert food.category == "教育文体"
    assert fire.severity.level == "较大" and "3人死亡" in fire.severity.triggers
    assert water.severity.level is None
    assert water.kind == "message" and fire.kind == "opinion"  # a 留言 on a government board
    assert fire.negative_share == pytest.approx(0.9)
    assert fire.anger_share == pytest.approx(0.3)
    assert water.anger_share == pytest.approx(0.8)
    assert fire.burst > 0


def test_repost_chains_are_marked_as_duplicates(posts: list[EnrichedPost]) -> None:
    tracker, _ = run_tracker(posts)
    dups = {m.post_id: m.duplicate_of for c in tracker.clusters.values() for m in c.members.values()}
    assert dups["fire-01"] == "fire-00" and dups["fire-03"] == "fire-00"  # //@ chains
    assert dups["fire-02"] == "fire-00"  # added hashtags
    assert dups["food-13"] == "food-10"  # small edit
    assert dups["fire-04"] is None  # a different article on the same story


def test_update_of_counts_changes_heat_not_counts(posts: list[EnrichedPost]) -> None:
    tracker, placed = run_tracker(posts)
    before = {i.id: i for i in tracker.ranked()}
    water = next(p for p in posts if p.id == "water-22")
    change = tracker.add(
        water.model_copy(update={"counts": Counts(repost=90_000, comment=40_000), "is_update": True})
    )
    assert change is not None and change.changed
    after = change.incident
    old = before[placed["water-22"]]
    assert after.heat > old.heat and after.version == old.version + 1
    assert after.post_count == old.post_count and after.source_count == old.source_count
    assert tracker.ranked()[0].id == after.id  # now the hottest


def test_redelivery_counts_nothing_twice(posts: list[EnrichedPost]) -> None:
    tracker, _ = run_tracker(posts)
    before = {i.id: i for i in tracker.ranked()}
    for post in posts[:12]:
        change = tracker.add(post)
        if change:
            assert not change.changed
            assert change.incident == before[change.incident.id]


def test_same_template_elsewhere_is_another_incident(posts: list[EnrichedPost]) -> None:
    tracker, placed = run_tracker(posts)
    fire = story("fire-00")
    fuzhou = enriched(fire | {"id": "fuzhou-1", "content": fire["content"].replace("南京", "福州")})
    assert [loc.code for loc in fuzhou.tags.locations] == ["350102"]
    change = tracker.add(fuzhou)
    assert change is not None and change.incident.id not in placed.values()


def test_window_closes_incidents(posts: list[EnrichedPost]) -> None:
    tracker, placed = run_tracker(posts)
    late = enriched(story("fire-06") | {"id": "late-1", "minutes": 5 * 24 * 60})
    change = tracker.add(late)
    assert change is not None and change.incident.id == "inc-late-1"
    assert set(tracker.evict()) == set(placed.values())


# --- the stage, on SQLite and PostgreSQL ----------------------------------------------------------
class _NoBus:
    """The worker base class wants a bus for its producer; these tests call handle() directly."""

    def producer(self) -> Any:
        return None


def message(post: EnrichedPost | bytes, offset: int = 0) -> Message:
    value = post if isinstance(post, bytes) else post.model_dump_json().encode()
    return Message(Topics.ENRICHED_POSTS, 0, offset, "k", value, 0)


def worker(db_engine: Engine) -> IncidentsWorker:
    return IncidentsWorker(_NoBus(), Database(db_engine), FakeClock(T0 + timedelta(days=1)))  # type: ignore[arg-type]


def feed(w: IncidentsWorker, posts: list[EnrichedPost]) -> list[Incident]:
    sent = []
    for i, post in enumerate(posts):
        for out in w.handle(message(post, i)) or ():
            assert out.topic == Topics.INCIDENTS and out.key == out.value.id
            sent.append(out.value)
    return sent


def test_stage_writes_incidents_and_sends_each_change(db_engine: Engine, posts: list[EnrichedPost]) -> None:
    w = worker(db_engine)
    sent = feed(w, posts)
    assert len(sent) == 30  # every relevant post changes its incident; noise sends nothing
    latest = {i.id: i for i in sent}
    assert len(latest) == 3 and {i.version for i in latest.values()} == {10}
    with w.db.session() as s:
        rows = {r.id: r for r in s.scalars(select(IncidentRow))}
        assert set(rows) == set(latest)
        for inc in latest.values():
            row = rows[inc.id]
            assert (row.post_count, row.heat, row.version, row.kind) == (10, inc.heat, 10, inc.kind)
            assert row.location_code == inc.locations[0].code
        assert s.scalar(select(func.count()).select_from(IncidentPost)) == 30
        assert s.scalar(select(func.count()).select_from(IncidentMemberState)) == 30
        dup = s.get(IncidentPost, ("inc-fire-00", "fire-01"))
        assert dup is not None and dup.duplicate_of == "fire-00"


def test_stage_is_idempotent_and_survives_restart(db_engine: Engine, posts: list[EnrichedPost]) -> None:
    first = {i.id: i for i in feed(worker(db_engine), posts[:20])}
    restarted = worker(db_engine)
    assert first == {i.id: i for i in restarted.tracker.ranked()}
    again = feed(restarted, posts[15:20])  # re-delivered after the restart: the same versions re-sent
    assert again and all(i == first[i.id] for i in again)
    final = {i.id: i for i in feed(restarted, posts[20:])}
    uninterrupted, _ = run_tracker(posts)
    assert final == {i.id: i for i in uninterrupted.ranked()}
    with restarted.db.session() as s:
        assert s.scalar(select(func.count()).select_from(IncidentPost)) == 30
        assert {r.id: r.version for r in s.scalars(select(IncidentRow))} == {k: 10 for k in final}


def test_stage_dead_letters_what_is_not_a_post(db_engine: Engine) -> None:
    w = worker(db_engine)
    for bad in (b"not json", b'{"id": "x"}', b"{}"):
        with pytest.raises(ValueError):
            w.handle(message(bad))


def test_stage_closes_quiet_incidents_and_forgets_their_state(
    db_engine: Engine, posts: list[EnrichedPost]
) -> None:
    w = worker(db_engine)
    feed(w, posts)
    late = enriched(story("fire-06") | {"id": "late-1", "minutes": 5 * 24 * 60})
    feed(w, [late])
    w.tick(T0 + timedelta(days=5))
    assert [i.id for i in w.tracker.ranked()] == ["inc-late-1"]
    with w.db.session() as s:
        assert set(s.scalars(select(IncidentMemberState.incident_id))) == {"inc-late-1"}
        assert s.scalar(select(func.count()).select_from(IncidentRow)) == 4  # closed incidents stay
    assert [i.id for i in worker(db_engine).tracker.ranked()] == ["inc-late-1"]
    updated = posts[0].model_copy(update={"is_update": True, "counts": Counts(repost=10**6)})
    assert w.handle(message(updated)) is None  # its incident is closed: not counted again elsewhere


def test_titles_come_from_clean_text() -> None:
    html = story("water-22") | {
        "id": "html-1",
        "content": "<div><p>成都武侯区锦绣花园小区停水三天了！</p><script>x()</script>物业不管&nbsp;</div>",
    }
    change = IncidentTracker().add(enriched(html))
    assert change is not None and change.incident.title == "成都武侯区锦绣花园小区停水三天了"


@pytest.mark.parametrize("content", ["😀😀😀", "http://t.cn/A6abc12", "！！！"])
def test_wordless_posts_open_nothing(content: str) -> None:
    assert IncidentTracker().add(enriched(story("fire-00") | {"id": "x", "content": content})) is None


@pytest.mark.parametrize("seed", range(5))
def test_arrival_order_does_not_matter(posts: list[EnrichedPost], seed: int) -> None:
    """Partitions deliver posts out of time order; the stories still come out whole."""
    shuffled = posts[:]
    random.Random(seed).shuffle(shuffled)
    tracker, placed = run_tracker(shuffled)
    groups: dict[str, set[str]] = {}
    for post_id, incident_id in placed.items():
        groups.setdefault(incident_id, set()).add(story_of(post_id))
    assert sorted(i.post_count for i in tracker.ranked()) == [10, 10, 10]
    assert all(len(stories) == 1 for stories in groups.values())


@pytest.mark.parametrize("seed", range(3))
def test_aggregates_kept_as_members_join_equal_a_recount(posts: list[EnrichedPost], seed: int) -> None:
    """The aggregates kept up to date as posts arrive out of time order, with updates of counts in
    between, are those counted again from all the members in time order."""
    rng = random.Random(seed)
    stream = posts[:]
    rng.shuffle(stream)
    for post in rng.sample(posts, 8):
        update = post.model_copy(update={"counts": Counts(like=rng.randint(0, 500)), "is_update": True})
        stream.insert(rng.randint(stream.index(post) + 1, len(stream)), update)
    tracker = IncidentTracker()
    for post in stream:
        change = tracker.add(post)
        if change is None:
            continue
        cluster = tracker.clusters[change.incident.id]
        assert change.incident == recount(cluster)
        cluster.aggregates.rebuild(cluster.members.values())
        assert tracker._aggregate(cluster) == change.incident


def recount(cluster: Any) -> Incident:
    """The incident as the tracker computed it from all its members before it kept its aggregates."""
    members = sorted(cluster.members.values(), key=lambda m: (m.at, m.post_id))
    n = len(members)
    category = _majority(m.category for m in members)
    top_level = max(severity_rank(m.severity) for m in members)
    severe = [m for m in members if top_level and severity_rank(m.severity) == top_level]
    fields = list(Counts.model_fields)
    per_field = zip(*map(attrgetter(*fields), (m.counts for m in members)), strict=True)
    counts = Counts(**{f: sum(values) for f, values in zip(fields, per_field, strict=True)})
    sources = sorted({m.source_id for m in members})
    burst = _burst([m.at for m in members])
    negative = sum(m.sentiment == "negative" for m in members) / n
    return Incident(
        id=cluster.id,
        title=_title(members),
        keywords=cluster.keywords,
        first_seen=members[0].at,
        last_seen=members[-1].at,
        locations=_locations(members),
        category=category,
        department_type=_majority(m.department_type for m in members if m.category == category),
        severity=Severity(
            level=severe[0].severity if severe else None,
            triggers=list(dict.fromkeys(t for m in severe for t in m.triggers))[:MAX_TRIGGERS],
        ),
        post_count=n,
        source_count=len(sources),
        heat=incident_heat(n, len(sources), counts, max(m.source_weight for m in members), burst, negative),
        burst=round(burst, 3),
        negative_share=round(negative, 4),
        anger_share=round(sum(m.emotion == "angry" for m in members) / n, 4),
        fear_share=round(sum(m.emotion == "fear" for m in members) / n, 4),
        post_ids=[m.post_id for m in reversed(members)][:MAX_POST_IDS],
        source_ids=sources[:MAX_SOURCE_IDS],
        kind="message" if any(m.message for m in members) else "opinion",
        version=max(cluster.version, 1),
    )


def _majority(values: Iterable[str | None]) -> str | None:
    """The most common value; the earliest among equals (``values`` in time order)."""
    counts = Counter(v for v in values if v)
    if not counts:
        return None
    best = max(counts.values())
    return next(v for v in counts if counts[v] == best)


def _title(members: list[Member]) -> str:
    originals = [m for m in members if m.duplicate_of is None] or members
    for m in originals:
        if m.title:
            return m.title
    text = originals[0].snippet
    return re.split(r"[。！？!?\n]", text, maxsplit=1)[0][:60] or text[:60]


def _burst(times: list[datetime]) -> float:
    latest = max(times)
    hour_ago, day_before = latest - timedelta(hours=1), latest - timedelta(hours=25)
    last_hour = sum(1 for t in times if t > hour_ago)
    before = sum(1 for t in times if day_before < t <= hour_ago)
    return last_hour / (1 + before / 24)


def _locations(members: list[Member]) -> list[Location]:
    """The places most posts name: the most supported place, as specific as half its support allows,
    then other unrelated places with at least a third of that support."""
    votes: Counter[str] = Counter(c for m in members for c in dict.fromkeys(m.codes))
    if not votes:
        return []
    names = {loc.code: loc for m in members for loc in m.locations}

    supports = dict.fromkeys(votes, 0)  # a code's votes and its descendants' (``is_ancestor``)
    for c, v in votes.items():
        for end in range(1, len(c) + 1):
            if c[:end] in supports:
                supports[c[:end]] += v
    support = supports.__getitem__

    ranked = sorted(votes, key=lambda c: (-support(c), -len(c), c))
    chosen: list[str] = []
    top = support(ranked[0])
    for code in ranked:
        if len(chosen) >= MAX_LOCATIONS or support(code) * 3 < top:
            break
        if places_related([code], chosen):
            continue
        deeper = [c for c in votes if is_ancestor(code, c) and support(c) * 2 >= support(code)]
        while deeper:
            code = max(deeper, key=lambda c: (support(c), len(c)))
            deeper = [c for c in votes if is_ancestor(code, c) and support(c) * 2 >= support(code)]
        chosen.append(code)
    return [names[c] for c in chosen]
