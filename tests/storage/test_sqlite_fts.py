"""What only the SQLite FTS5 store has to get right: its URL, its file, and readers beside a writer."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta
from pathlib import Path

import jieba
import pytest

from yuqing.clock import CN_TZ
from yuqing.schemas import EnrichedPost
from yuqing.storage import SearchQuery, StoreError, open_store
from yuqing.storage.base import PostsRejected
from yuqing.storage.sqlite_fts import SqliteFtsStore, fts_match_expression, sqlite_path

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=CN_TZ)


def post(n: int) -> EnrichedPost:
    title, content = f"第{n}条自来水浑浊投诉", "居民反映自来水浑浊。"
    return EnrichedPost(id=f"p{n}", source_id="weibo", url=f"https://example.cn/{n}", title=title,
                        content=content, published_at=T0 + timedelta(minutes=n), fetched_at=T0,
                        tokens=jieba.lcut(f"{title}\n{content}"))


def test_url_names_a_relative_or_absolute_file(tmp_path: Path) -> None:
    assert sqlite_path("sqlite:///var/search.sqlite3") == Path("var/search.sqlite3")
    assert sqlite_path(f"sqlite:///{tmp_path}/s.sqlite3") == tmp_path / "s.sqlite3"
    for bad in ("sqlite://", "sqlite:///", "postgresql:///x"):
        with pytest.raises(StoreError, match="use sqlite:///relative/path"):
            sqlite_path(bad)


def test_match_expression_quotes_every_word() -> None:
    assert fts_match_expression(["自来水", 'a"b', "NEAR"]) == '"自来水" OR "a""b" OR "NEAR"'
    assert fts_match_expression(["x", "y"], "and") == '"x" AND "y"'


def test_documents_survive_reopening_the_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'search.sqlite3'}"
    store = open_store(url)
    store.index([post(1), post(2)])
    store.close()
    again = open_store(url)
    assert again.search(SearchQuery(text="自来水")).total == 2
    again.close()


def test_a_post_the_store_cannot_hold_is_refused_and_the_batch_kept(tmp_path: Path) -> None:
    store = SqliteFtsStore(f"sqlite:///{tmp_path / 'search.sqlite3'}")
    bad = post(2).model_copy(update={"heat": float("nan")})
    with pytest.raises(PostsRejected) as refused:
        store.index([post(1), bad, post(3)])
    assert list(refused.value.reasons) == ["p2"]
    assert "heat" in refused.value.reasons["p2"]
    assert [p["id"] for p in store.get(["p1", "p2", "p3"])] == ["p1", "p3"]
    assert store.search(SearchQuery(text="浑浊")).total == 2
    store.close()


def test_a_file_from_another_schema_version_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE documents (rowid INTEGER PRIMARY KEY, id TEXT, post TEXT)")
    store = SqliteFtsStore(f"sqlite:///{path}")
    with pytest.raises(StoreError, match=r"made by another version of yuqing .*delete it and re-index"):
        store.search(SearchQuery(text="自来水"))
    store.close()


def test_a_folder_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    store = SqliteFtsStore(f"sqlite:///{tmp_path / 'file' / 'search.sqlite3'}")
    with pytest.raises(StoreError, match="cannot open"):
        store.search(SearchQuery(text="自来水"))


def test_readers_and_writers_in_parallel_see_whole_batches(tmp_path: Path) -> None:
    """Two writers (two indexer processes would each have their own connection) and a reader:
    no 'database is locked', and the reader never sees half a batch."""
    url = f"sqlite:///{tmp_path / 'search.sqlite3'}"
    writers = [SqliteFtsStore(url), SqliteFtsStore(url)]
    reader = SqliteFtsStore(url)
    reader.ensure_schema()
    errors: list[BaseException] = []
    seen: list[int] = []
    done = threading.Event()
    batch = 10

    def write(store: SqliteFtsStore, first: int) -> None:
        try:
            for start in range(first, first + 200, batch):
                store.index([post(n) for n in range(start, start + batch)])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    def read() -> None:
        try:
            while not done.is_set():
                seen.append(reader.search(SearchQuery(text="浑浊", size=5)).total)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w, i * 1000)) for i, w in enumerate(writers)]
    watcher = threading.Thread(target=read)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watcher.join()
    for store in (*writers, reader):
        store.close()

    assert errors == []
    assert seen and all(total % batch == 0 for total in seen)
    assert open_store(url).search(SearchQuery(text="浑浊")).total == 400


def test_a_word_is_a_token_with_a_letter_or_a_digit_of_any_script() -> None:
    # what both stores index and search: every code point str.isalnum accepts, nothing else (not "_")
    from yuqing.storage.base import index_text, is_word

    assert [c for c in map(chr, range(0x110000)) if is_word(c) != c.isalnum()] == []
    assert index_text(["南京", "，", " 停水 ", "_", "——", "3", "Ⅻ", "\u3000"]) == "南京 停水 3 Ⅻ"
