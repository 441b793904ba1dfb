"""Search store: ``open_store(url)`` returns SQLite FTS5 or Elasticsearch."""

from __future__ import annotations

from urllib.parse import urlparse

from yuqing.storage.base import SearchHit, SearchQuery, SearchResult, SearchStore, StoreError

__all__ = ["SearchHit", "SearchQuery", "SearchResult", "SearchStore", "StoreError", "open_store"]


def open_store(url: str, *, index_prefix: str = "yuqing") -> SearchStore:
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        from yuqing.storage.sqlite_fts import SqliteFtsStore

        return SqliteFtsStore(url)
    if scheme in ("http", "https"):
        from yuqing.storage.elastic import ElasticStore

        return ElasticStore(url, index_prefix=index_prefix)
    raise StoreError(f"search URL {url!r}: use sqlite:///path or http(s)://host:9200")
