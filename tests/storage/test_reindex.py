"""``yuqing search-reindex``: posts indexed with the Python jieba's tokens are re-segmented with jieba-rs,
so new queries (segmented by jieba-rs) find them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import jieba
import pytest
import typer
from typer.testing import CliRunner

import yuqing.storage.reindex as reindex_module
from nlp.tokenize import segment
from yuqing.cli.search_cmd import register
from yuqing.clock import CN_TZ
from yuqing.schemas import EnrichedPost
from yuqing.settings import get_settings
from yuqing.storage import SearchQuery, open_store
from yuqing.storage.base import query_terms
from yuqing.storage.reindex import reindex, stored_posts

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=CN_TZ)
OLD = "恬韵韵韵韵WZ的秒拍视频，热线0731-88888888，详情见t.cn/R2Wx"


def old_post(pid: str, text: str, at: datetime) -> EnrichedPost:
    """A post as the nlp stage emitted it before jieba-rs: the Python jieba's tokens."""
    return EnrichedPost(id=pid, source_id="weibo", url=f"https://example.cn/{pid}", title="", content=text,
                        published_at=at, fetched_at=at, tokens=jieba.lcut(text))


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'search.sqlite3'}"
    monkeypatch.setenv("YUQING_SEARCH_URL", url)
    monkeypatch.setenv("YUQING_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def found(url: str, text: str) -> list[str]:
    store = open_store(url)
    try:
        hits = store.search(SearchQuery(text=text, operator="and")).hits
    finally:
        store.close()
    return [h.post["id"] for h in hits]


def test_old_tokens_are_missed_by_new_queries_until_the_store_is_reindexed(url: str) -> None:
    assert jieba.lcut(OLD) != segment(OLD)  # the case: the two segmenters cut this post differently
    assert query_terms("恬韵韵") == ["恬韵韵"]  # jieba: 恬韵 韵韵韵 …; jieba-rs: 恬韵韵 韵韵 …
    store = open_store(url)
    store.index([old_post("hotline", OLD, T0), old_post("other", "今天天气不错", T0 + timedelta(hours=1))])
    store.close()
    assert found(url, "恬韵韵") == []
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["search-reindex"])
    assert result.exit_code == 0, result.output
    assert "re-segmented and re-indexed 2 posts (of 2)" in result.stdout
    assert found(url, "恬韵韵") == ["hotline"]
    # jieba-rs keeps 0731-88888888 and t.cn whole (jieba cut them at - and .): found after reindexing
    # (SQLite's FTS also found them before, its tokenizer splits them again; Elasticsearch's whitespace
    # field did not)
    assert found(url, "0731-88888888") == ["hotline"]
    assert found(url, "t.cn") == ["hotline"]
    assert found(url, "不错") == ["other"]
    store = open_store(url)
    try:
        again = store.get(["hotline"])[0]
    finally:
        store.close()
    assert again["tokens"] == segment(OLD)
    assert again["content"] == OLD


def test_the_walk_yields_every_post_once_across_windows_and_ties(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reindex_module, "MAX_OFFSET", 6)  # windows of two pages of three
    posts = [old_post(f"p{i:02d}", f"第{i}条停水通知", T0 + timedelta(minutes=i // 4)) for i in range(23)]
    store = open_store(url)
    try:
        store.index(posts)
        ids = [p["id"] for p in stored_posts(store, page=3)]
        assert sorted(ids) == sorted(p.id for p in posts)
        assert len(ids) == len(set(ids))
        seen: list[int] = []
        assert reindex(store, batch=5, progress=seen.append) == 23
        assert sum(seen) == 23
    finally:
        store.close()


def test_reindexing_an_empty_store(url: str) -> None:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["search-reindex", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "re-indexed 0 posts (of 0)" in result.stdout
