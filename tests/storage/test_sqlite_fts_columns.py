"""A full-text query by relevance counts its facets and histogram from the store's in-memory facet columns
(yuqing/storage/facet_columns.py): the answer is the one counting the documents gives, also while another
store object (another process) rewrites posts, moves them between chunks' values and adds new chunks."""

from __future__ import annotations

import random
import sqlite3
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.storage.test_sqlite_fts_rollup import FACETS, T0, expected, random_post
from yuqing.schemas import EnrichedPost
from yuqing.storage import SearchQuery, facet_columns
from yuqing.storage.sqlite_fts import SCHEMA_VERSION, SqliteFtsStore

WORDS = ["浑浊", "停水", "水压", "投诉", "小区", "维修"]


def worded_post(rng: random.Random, pid: str, fetched_minutes: int) -> EnrichedPost:
    """A random post whose text holds a random number of a few words (so scores differ and tie)."""
    post = random_post(rng, pid, T0 + timedelta(days=5, minutes=fetched_minutes))
    tokens = ["自来水", *rng.choices(WORDS, k=rng.randint(1, 6))]
    return post.model_copy(update={"tokens": tokens, "content": "".join(tokens[1:])})


def matching(posts: dict[str, EnrichedPost], word: str) -> dict[str, EnrichedPost]:
    return {pid: p for pid, p in posts.items() if word in p.tokens}


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(facet_columns, "CHUNK_ROWS", 8)  # many chunks from few posts


def test_text_counts_stay_exact_while_another_store_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'search.sqlite3'}"
    writer, reader = SqliteFtsStore(url), SqliteFtsStore(url)
    reader.load_facet_columns()  # an empty store: every document is written after the load
    rng = random.Random(11)
    posts: dict[str, EnrichedPost] = {}
    for round_ in range(10):
        batch = [worded_post(rng, f"p{rng.randrange(150)}", round_ * 100 + i) for i in range(30)]
        writer.index(batch)
        posts.update({p.id: p for p in batch})
        for word in ("浑浊", "维修", "自来水"):
            query = SearchQuery(text=word, facets=FACETS, histogram=rng.choice(["hour", "day"]),
                                size=rng.choice([0, 5]), facet_size=rng.choice([2, 20]))
            result = reader.search(query)
            no_text = query.model_copy(update={"text": ""})
            assert (result.total, result.facets, result.histogram) == expected(matching(posts, word), no_text)
    writer.close()
    reader.close()


def test_text_counts_and_ranking_equal_the_counted_path(tmp_path: Path) -> None:
    """The same query with a filter that keeps every post goes the way that reads ``documents``: both
    answer the same hits in the same order with the same scores, facets and histogram."""
    store = SqliteFtsStore(f"sqlite:///{tmp_path / 'search.sqlite3'}")
    rng = random.Random(12)
    store.index([worded_post(rng, f"p{i}", i) for i in range(120)])
    store.load_facet_columns()
    keep_all = {"sentiments": ["negative", "neutral", "positive"]}
    for word in ("浑浊", "停水 维修", "小区"):
        for offset in (0, 7, 40):
            query = SearchQuery(text=word, facets=FACETS, histogram="hour", size=9, offset=offset)
            assert store.search(query) == store.search(query.model_copy(update=keep_all))
    store.close()


def test_a_version_2_file_is_upgraded_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite3"
    rng = random.Random(13)
    posts = {p.id: p for p in (worded_post(rng, f"p{i}", i) for i in range(40))}
    store = SqliteFtsStore(f"sqlite:///{path}")
    store.index(list(posts.values()))
    store.close()
    with sqlite3.connect(path) as conn:  # the file as version 2 left it
        conn.execute("DROP TABLE document_chunks")
        conn.execute("PRAGMA user_version = 2")

    store = SqliteFtsStore(f"sqlite:///{path}")
    store.load_facet_columns()
    query = SearchQuery(text="浑浊", facets=FACETS, histogram="day")
    result = store.search(query)
    assert (result.total, result.facets, result.histogram) == expected(
        matching(posts, "浑浊"), query.model_copy(update={"text": ""}))
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    moved = posts["p1"].model_copy(update={"fetched_at": T0 + timedelta(days=9), "source_id": "moved",
                                           "tokens": ["浑浊"]})
    store.index([moved])
    assert dict(store.search(query).facets["source_id"])["moved"] == 1
    store.close()


def test_the_first_query_counts_in_sql_while_the_columns_load_in_the_background(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'search.sqlite3'}"
    rng = random.Random(14)
    writer = SqliteFtsStore(url)
    writer.index([worded_post(rng, f"p{i}", i) for i in range(60)])
    loaded = SqliteFtsStore(url)
    loaded.load_facet_columns()
    query = SearchQuery(text="浑浊 小区", facets=FACETS, histogram="hour", size=6)

    fresh = SqliteFtsStore(url)
    assert not fresh._columns.loaded
    first = fresh.search(query)  # starts the load, counts in SQL meanwhile
    assert fresh._columns_loader is not None
    fresh._columns_loader.join(timeout=30)
    assert fresh._columns.loaded
    assert first == fresh.search(query) == loaded.search(query)
    for store in (writer, loaded, fresh):
        store.close()


def test_closing_while_the_columns_load_waits_for_the_loader(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'search.sqlite3'}"
    rng = random.Random(15)
    SqliteFtsStore(url).index([worded_post(rng, f"p{i}", i) for i in range(300)])
    store = SqliteFtsStore(url)
    query = SearchQuery(text="浑浊", facets=FACETS, histogram="day")
    before = store.search(query)  # starts the loader
    loader = store._columns_loader
    store.close()  # interrupts or waits for it: no statement runs on a closed connection
    assert loader is not None and not loader.is_alive()
    assert store.search(query) == before  # the store opens again on use
    store.close()


def test_a_file_made_anew_at_the_same_path_is_read_afresh(tmp_path: Path) -> None:
    """Two files with the same chunk versions (both written once) but other posts: the columns read from
    one are not taken for the other (the file's random id in chunk -1 differs)."""
    stores = []
    for name, source in (("a.sqlite3", "weibo"), ("b.sqlite3", "forum-x")):
        store = SqliteFtsStore(f"sqlite:///{tmp_path / name}")
        rng = random.Random(16)
        posts = [worded_post(rng, f"p{i}", i) for i in range(20)]
        store.index([post.model_copy(update={"source_id": source}) for post in posts])
        stores.append(store)
    columns = facet_columns.FacetColumns()
    every = np.arange(1, 21, dtype=np.int64)
    for store, source in zip(stores, ("weibo", "forum-x"), strict=True):
        conn = store._conn
        assert conn.execute("SELECT count(*) FROM document_chunks WHERE chunk = -1").fetchone() == (1,)
        by_facet, _ = columns.counts(conn, every, ["source_id"], 0)
        assert by_facet["source_id"] == {source: 20}
        store.close()
