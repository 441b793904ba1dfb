"""The SQLite store's rollup (posts per hour and facet value) answers exactly what counting the documents
answers, however posts are re-indexed and wherever a time range starts and ends; a version 1 file
gets its rollup when opened."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from yuqing.clock import CN_TZ
from yuqing.schemas import EnrichedPost, Location, Sentiment, Severity, Tags
from yuqing.storage import SearchQuery, StoreError
from yuqing.storage.sqlite_fts import SCHEMA_VERSION, SqliteFtsStore, rebuild_rollup

T0 = datetime(2025, 3, 1, 0, 0, tzinfo=CN_TZ)
FACETS = ["source_id", "category", "location_code", "sentiment", "source_kind", "severity"]
CODES = ["110105", "110000", "310101", "310104", "440305", ""]


def random_post(rng: random.Random, pid: str, fetched: datetime) -> EnrichedPost:
    published = T0 + timedelta(seconds=rng.randrange(3 * 86400))
    return EnrichedPost(
        id=pid, source_id=rng.choice(["weibo", "gov-bj", "forum-x"]),
        source_kind=rng.choice(["news", "gov", "forum", "social"]), url=f"https://example.cn/{pid}",
        title="自来水", content="浑浊", published_at=published, fetched_at=fetched, tokens=["自来水", "浑浊"],
        tags=Tags(category=rng.choice(["供水", "交通", "", None]), relevant=rng.random() < 0.7,
                  sentiment=Sentiment(label=rng.choice(["negative", "neutral", "positive"])),
                  severity=Severity(level=rng.choice([None, "一般", "较大"])),
                  locations=[Location(name=c, code=c) for c in rng.choices(CODES, k=rng.randint(0, 3))]),
    )


def expected(posts: dict[str, EnrichedPost], query: SearchQuery) -> tuple[int, dict, list]:
    kept = [p for p in posts.values()
            if (query.start is None or p.published_at >= query.start)
            and (query.end is None or p.published_at < query.end)
            and (not query.source_ids or p.source_id in query.source_ids)
            and (not query.categories or p.tags.category in query.categories)
            and (not query.sentiments or p.tags.sentiment.label in query.sentiments)
            and (not query.relevant_only or p.tags.relevant)]
    values = {
        "source_id": lambda p: [p.source_id], "source_kind": lambda p: [p.source_kind],
        "category": lambda p: [p.tags.category] if p.tags.category is not None else [],
        "sentiment": lambda p: [p.tags.sentiment.label],
        "severity": lambda p: [p.tags.severity.level] if p.tags.severity.level is not None else [],
        "location_code": lambda p: list(dict.fromkeys(loc.code for loc in p.tags.locations)),
    }
    facets = {}
    for name in query.facets:
        counts = Counter(v for p in kept for v in values[name](p))
        facets[name] = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: query.facet_size]
    width = timedelta(hours=1) if query.histogram == "hour" else timedelta(days=1)

    def bucket(when: datetime) -> datetime:
        local = when.astimezone(CN_TZ)
        return local.replace(hour=local.hour if query.histogram == "hour" else 0, minute=0, second=0,
                             microsecond=0)

    buckets = Counter(bucket(p.published_at) for p in kept)
    histogram = []
    if buckets:
        at = min(buckets)
        while at <= max(buckets):
            histogram.append((at, buckets.get(at, 0)))
            at += width
    return len(kept), facets, histogram


def rollup_rows(store: SqliteFtsStore) -> list[tuple]:
    return store._conn.execute("SELECT field, hour, value, n FROM rollup ORDER BY 1, 2, 3").fetchall()


def random_bound(rng: random.Random) -> datetime | None:
    choice = rng.random()
    if choice < 0.2:
        return None
    hours = T0 + timedelta(hours=rng.randrange(-2, 75))
    if choice < 0.5:
        return hours  # on an hour
    return hours + timedelta(seconds=rng.randrange(1, 3600), microseconds=rng.randrange(1_000_000))


def test_counts_stay_exact_through_random_upserts(tmp_path: Path) -> None:
    rng = random.Random(16)
    store = SqliteFtsStore(f"sqlite:///{tmp_path / 'search.sqlite3'}")
    posts: dict[str, EnrichedPost] = {}
    for round_ in range(8):
        batch = []
        for _ in range(40):  # new posts and new versions of old ones (time, category, places move)
            pid = f"p{rng.randrange(120)}"
            fetched = T0 + timedelta(days=5, minutes=round_ * 100 + rng.randrange(100))
            batch.append(random_post(rng, pid, fetched))
        store.index(batch)
        for post in batch:  # the newest version by fetched_at wins, in the batch and across batches
            held = posts.get(post.id)
            if held is None or post.fetched_at >= held.fetched_at:
                posts[post.id] = post
        stale = [p.model_copy(update={"fetched_at": p.fetched_at - timedelta(days=1), "source_id": "stale"})
                 for p in rng.sample(list(posts.values()), 5)]
        store.index(stale)  # late older versions change nothing

        for _ in range(25):
            start, end = random_bound(rng), random_bound(rng)
            if start and end and start >= end:
                start, end = end, start
            filters = rng.choice([{}, {}, {"source_ids": ["weibo", "forum-x", "weibo"]}, {"categories": [""]},
                                  {"categories": ["供水", "交通"]}, {"sentiments": ["negative"]},
                                  {"relevant_only": True}, {"categories": ["供水"], "relevant_only": True}])
            query = SearchQuery(start=start, end=end, facets=FACETS, facet_size=rng.choice([1, 3, 20]),
                                histogram=rng.choice(["hour", "day"]), size=0, **filters)
            result = store.search(query)
            assert (result.total, result.facets, result.histogram) == expected(posts, query), query

    kept = rollup_rows(store)
    assert all(n > 0 for *_, n in kept)  # counts that fell to 0 are deleted
    with store._conn:
        rebuild_rollup(store._conn)
    assert rollup_rows(store) == kept  # what was maintained is what counting the documents gives
    store.close()


def test_rollup_answers_like_the_documents(tmp_path: Path) -> None:
    """A query filtering on two fields counts the documents; the same query without filters reads the
    rollup: where the filters keep every post, both agree."""
    rng = random.Random(3)
    store = SqliteFtsStore(f"sqlite:///{tmp_path / 'search.sqlite3'}")
    store.index([random_post(rng, f"p{i}", T0 + timedelta(days=5)) for i in range(200)])
    every = {"sentiments": ["negative", "neutral", "positive"], "source_ids": ["weibo", "gov-bj", "forum-x"]}
    bounds = [(None, None), (T0 + timedelta(hours=5, minutes=7), T0 + timedelta(hours=50, seconds=3)),
              (T0 + timedelta(hours=5), None), (None, T0 + timedelta(hours=20, minutes=1))]
    for start, end in bounds:
        for unit in ("hour", "day"):
            base = {"start": start, "end": end, "facets": FACETS, "histogram": unit, "size": 0}
            a, b = store.search(SearchQuery(**base)), store.search(SearchQuery(**base, **every))
            assert (a.total, a.facets, a.histogram) == (b.total, b.facets, b.histogram)
    store.close()


def test_a_version_1_file_gets_its_rollup_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite3"
    rng = random.Random(5)
    posts = [random_post(rng, f"p{i}", T0 + timedelta(days=5)) for i in range(60)]
    store = SqliteFtsStore(f"sqlite:///{path}")
    store.index(posts)
    query = SearchQuery(start=T0 + timedelta(hours=3, minutes=30), facets=FACETS, histogram="hour")
    before, rows = store.search(query), rollup_rows(store)
    store.close()
    with sqlite3.connect(path) as conn:  # the file as version 1 left it: no rollup table
        conn.execute("DROP TABLE rollup")
        conn.execute("PRAGMA user_version = 1")

    store = SqliteFtsStore(f"sqlite:///{path}")
    assert store.search(query) == before
    assert rollup_rows(store) == rows
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    store.index([posts[0].model_copy(update={"fetched_at": posts[0].fetched_at + timedelta(hours=1),
                                             "source_id": "moved"})])
    assert dict(store.search(SearchQuery(facets=["source_id"])).facets["source_id"])["moved"] == 1
    store.close()


@pytest.mark.parametrize("version", [4, 99])
def test_a_file_from_a_newer_version_is_refused(tmp_path: Path, version: int) -> None:
    path = tmp_path / "search.sqlite3"
    SqliteFtsStore(f"sqlite:///{path}").close()
    store = SqliteFtsStore(f"sqlite:///{path}")
    store.ensure_schema()
    store._conn.execute(f"PRAGMA user_version = {version}")
    store.close()
    with pytest.raises(StoreError, match="another version"):
        SqliteFtsStore(f"sqlite:///{path}").search(SearchQuery())


def test_a_text_query_ranks_counts_and_pages_in_one_pass(tmp_path: Path) -> None:
    """Equal scores fall back to newest first, then id; every page has the total and the facets of all
    the matches, past the last page too."""
    rng = random.Random(9)
    store = SqliteFtsStore(f"sqlite:///{tmp_path / 'search.sqlite3'}")
    posts = [random_post(rng, f"p{i:02d}", T0 + timedelta(days=5)) for i in range(30)]
    posts = [p.model_copy(update={"published_at": T0 + timedelta(hours=i % 7)}) for i, p in enumerate(posts)]
    store.index(posts)
    newest_first = [p.id for p in sorted(posts, key=lambda p: (-p.published_at.timestamp(), p.id))]
    every = SearchQuery(facets=FACETS, histogram="hour", size=0)
    whole = store.search(every)
    for sort in ("relevance", "time", "heat"):  # equal scores, equal heat
        pages = [store.search(SearchQuery(text="自来水 浑浊", sort=sort, size=7, offset=o, facets=FACETS,
                                          histogram="hour")) for o in range(0, 42, 7)]
        assert [h.post["id"] for page in pages for h in page.hits] == newest_first
        assert {(p.total, str(p.facets), str(p.histogram)) for p in pages} == {
            (30, str(whole.facets), str(whole.histogram))}
    pages = [store.search(SearchQuery(text="自来水 浑浊", size=7, offset=o)) for o in range(0, 42, 7)]
    assert [h.post["id"] for page in pages for h in page.hits] == newest_first  # ranked from the index
    assert {p.total for p in pages} == {30}
    assert store.search(SearchQuery(text="浑浊", size=0)).total == 30
    assert store.search(SearchQuery(text="浑浊", offset=100)).total == 30
    store.close()
