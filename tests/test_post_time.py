"""One time a post is filed under, everywhere: clustering, the search store and the console agree, and a
source's publication time after the fetch (a wrong clock or time zone) gives way to the fetch time."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import jieba

from api.schemas import PostOut
from incidents.clustering import Member
from yuqing.clock import CN_TZ
from yuqing.schemas import EnrichedPost
from yuqing.storage import SearchQuery, open_store

FETCHED = datetime(2026, 12, 4, 9, 0, tzinfo=CN_TZ)


def _post(pid: str, published: datetime | None) -> EnrichedPost:
    title = "自来水浑浊投诉"
    return EnrichedPost(id=pid, source_id="weibo", url=f"https://example.cn/{pid}", title=title,
                        content="居民反映自来水浑浊。", published_at=published, fetched_at=FETCHED,
                        tokens=jieba.lcut(title))


def test_clustering_store_and_console_file_a_post_at_the_same_time(tmp_path: Path) -> None:
    posts = {
        "sane": _post("sane", FETCHED - timedelta(hours=2)),  # its own time
        "none": _post("none", None),  # no time from the source: the fetch
        "future": _post("future", FETCHED + timedelta(hours=8)),  # a zone error: the fetch
    }
    expected = {"sane": FETCHED - timedelta(hours=2), "none": FETCHED, "future": FETCHED}
    assert {k: p.posted_at for k, p in posts.items()} == expected
    assert {k: Member.from_post(p).at for k, p in posts.items()} == expected
    store = open_store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    store.index(list(posts.values()))
    shown = {h.post["id"]: PostOut.from_store(h.post).posted_at for h in store.search(SearchQuery()).hits}
    assert shown == expected
    # the store files them at those times: a window ending at the fetch holds only the sane post
    before = store.search(SearchQuery(end=FETCHED - timedelta(minutes=1)))
    assert [h.post["id"] for h in before.hits] == ["sane"]
    within = store.search(SearchQuery(start=FETCHED, end=FETCHED + timedelta(minutes=1)))
    assert sorted(h.post["id"] for h in within.hits) == ["future", "none"]
    store.close()


def test_the_store_walks_follow_the_same_time(tmp_path: Path) -> None:
    """The re-index and the plans' back-fill walk the store by a time cursor: with posts filed at the fetch
    time (a source's time after the fetch) they still visit each post once and end (they once looped)."""
    from nlp.plans.service import stored_posts as plan_walk
    from yuqing.storage.reindex import stored_posts as reindex_walk

    store = open_store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    posts = [_post(f"f{i}", FETCHED + timedelta(hours=i + 1)) for i in range(7)]  # all filed at the fetch
    posts += [_post(f"s{i}", FETCHED - timedelta(minutes=i)) for i in range(5)]
    store.index(posts)
    expected = sorted(p.id for p in posts)
    assert sorted(p["id"] for p in plan_walk(store, page=3)) == expected
    assert sorted(p["id"] for p in reindex_walk(store, page=3)) == expected
    store.close()
