"""The default search store: one SQLite file with a documents table and an FTS5 index over jieba tokens.

- ``documents``: one row per post with the columns filters and facets read (kept small, so
  aggregating over many posts scans little); ``document_posts``: the post itself as JSON;
- ``document_places``: (place code, document) for every place a post names and every place above it,
  so a province code finds the posts of its cities and counties with one indexed lookup;
- ``documents_fts``: FTS5 over the space-joined tokens of the title and of the content. The
  ``unicode61`` tokenizer splits on blanks and punctuation only, so a Chinese word the nlp stage
  segmented stays one token and matches whole; ranking is BM25 with the title weighted higher.

The file is in WAL mode: the indexer writes while the API reads. Each thread has its own connection.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from yuqing.clock import CN_TZ
from yuqing.schemas import EnrichedPost
from yuqing.sqlite_wal import enable_wal
from yuqing.storage.base import (
    PostsRejected,
    SearchHit,
    SearchQuery,
    SearchResult,
    StoreError,
    canonical_location_code,
    index_text,
    post_location_ancestors,
    post_time,
    query_terms,
    split_title_tokens,
)

TITLE_WEIGHT = 3.0
BODY_WEIGHT = 1.0
_CN_OFFSET = 8 * 3600  # Asia/Shanghai has kept UTC+8 without daylight saving since 1991
_BUCKET_SECONDS = {"hour": 3600, "day": 86400}
_FACET_COLUMNS: dict[str, str] = {
    "source_id": "source_id", "category": "category", "sentiment": "sentiment",
    "source_kind": "source_kind", "severity": "severity", "location_code": "location_codes",
}

SCHEMA_VERSION = 1  # PRAGMA user_version of a store file; bump when the tables change
SCHEMA = """
CREATE TABLE documents (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    published_at REAL NOT NULL,
    fetched_at REAL NOT NULL,
    source_id TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    category TEXT,
    location_codes TEXT NOT NULL DEFAULT '[]',
    sentiment TEXT NOT NULL,
    severity TEXT,
    relevant INTEGER NOT NULL,
    heat REAL NOT NULL
);
CREATE TABLE document_posts (
    doc INTEGER PRIMARY KEY REFERENCES documents (rowid) ON DELETE CASCADE,
    post TEXT NOT NULL
);
CREATE INDEX documents_published ON documents (published_at);
CREATE INDEX documents_source ON documents (source_id, published_at);
CREATE INDEX documents_category ON documents (category, published_at);
CREATE INDEX documents_heat ON documents (heat);
CREATE TABLE document_places (
    code TEXT NOT NULL,
    doc INTEGER NOT NULL REFERENCES documents (rowid) ON DELETE CASCADE,
    PRIMARY KEY (code, doc)
) WITHOUT ROWID;
CREATE INDEX document_places_doc ON document_places (doc);
CREATE VIRTUAL TABLE documents_fts USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2'
);
"""


def sqlite_path(url: str) -> Path:
    """``sqlite:///relative/path`` or ``sqlite:////absolute/path`` (SQLAlchemy's spelling)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise StoreError(f"search URL {url!r}: use sqlite:///relative/path or sqlite:////absolute/path")
    return Path(url[len(prefix):].split("?", 1)[0])


def fts_match_expression(terms: Sequence[str], operator: str = "or") -> str:
    """An FTS5 query of quoted phrases, so no character of the user's text has query meaning."""
    phrases = ['"' + term.replace('"', '""') + '"' for term in terms]
    return f" {operator.upper()} ".join(phrases)


class SqliteFtsStore:
    def __init__(self, url: str, *, busy_timeout_ms: int = 30_000) -> None:
        self.url = url
        self.path = sqlite_path(url)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._schema_ready = False

    # --- connections --------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_ms / 1000,
                                   isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            enable_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"search store {self.path}: cannot open ({exc})") from exc
        with self._lock:
            self._connections.append(conn)
        return conn

    @property
    def _conn(self) -> sqlite3.Connection:
        """This thread's connection; the schema is created on first use, so reading a new file works."""
        conn = self._raw_conn()
        if not self._schema_ready:
            self.ensure_schema()
        return conn

    def _raw_conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # --- schema -------------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        conn = self._raw_conn()
        try:
            with _transaction(conn, "IMMEDIATE"):  # one process creates the tables, the others wait
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == 0 and not _has_documents(conn):
                    _create_schema(conn)
                elif version != SCHEMA_VERSION:
                    raise StoreError(f"search store {self.path} was made by another version of yuqing (schema"
                                     f" {version}, expected {SCHEMA_VERSION}): delete it and re-index")
        except sqlite3.OperationalError as exc:
            if "fts5" in str(exc).lower():
                raise StoreError(f"this Python's SQLite {sqlite3.sqlite_version} lacks FTS5; "
                                 "use an Elasticsearch YUQING_SEARCH_URL") from exc
            raise StoreError(f"search store {self.path}: {exc}") from exc
        self._schema_ready = True

    # --- writing ------------------------------------------------------------------------------
    def index(self, posts: Sequence[EnrichedPost]) -> None:
        newest: dict[str, EnrichedPost] = {}
        for post in posts:
            held = newest.get(post.id)
            if held is None or post.fetched_at >= held.fetched_at:
                newest[post.id] = post
        if not newest:
            return
        conn = self._conn
        rejected: dict[str, str] = {}
        try:
            with _transaction(conn, "IMMEDIATE"):  # take the write lock first: no upgrade deadlock
                for post in newest.values():
                    conn.execute("SAVEPOINT post")
                    try:
                        self._upsert(conn, post)
                    except (sqlite3.IntegrityError, sqlite3.DataError, ValueError) as exc:
                        conn.execute("ROLLBACK TO post")  # this post's data is refused, the batch goes on
                        rejected[post.id] = f"{exc.__class__.__name__}: {exc}"
                    conn.execute("RELEASE post")
        except sqlite3.Error as exc:
            raise StoreError(f"search store {self.path}: indexing failed ({exc})") from exc
        if rejected:
            raise PostsRejected(rejected)

    def _upsert(self, conn: sqlite3.Connection, post: EnrichedPost) -> None:
        row = conn.execute("SELECT rowid, fetched_at FROM documents WHERE id = ?", (post.id,)).fetchone()
        if row is not None and row[1] > post.fetched_at.timestamp():
            return  # an older version arrived late: keep the newer one
        if row is not None:
            conn.execute("DELETE FROM documents_fts WHERE rowid = ?", (row[0],))
            conn.execute("DELETE FROM document_places WHERE doc = ?", (row[0],))
        tags = post.tags
        values = (
            post_time(post).timestamp(), post.fetched_at.timestamp(), post.source_id,
            post.source_kind, tags.category, json.dumps([loc.code for loc in tags.locations]),
            tags.sentiment.label, tags.severity.level, int(tags.relevant), post.heat,
        )
        if row is None:
            rowid = conn.execute(
                "INSERT INTO documents (id, published_at, fetched_at, source_id, source_kind, category,"
                " location_codes, sentiment, severity, relevant, heat) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (post.id, *values),
            ).lastrowid
        else:
            rowid = row[0]
            conn.execute(
                "UPDATE documents SET published_at=?, fetched_at=?, source_id=?, source_kind=?,"
                " category=?, location_codes=?, sentiment=?, severity=?, relevant=?, heat=? WHERE rowid=?",
                (*values, rowid),
            )
        title_tokens, body_tokens = split_title_tokens(post.title, post.tokens)
        conn.execute("INSERT INTO documents_fts (rowid, title, body) VALUES (?, ?, ?)",
                     (rowid, index_text(title_tokens), index_text(body_tokens)))
        conn.execute("INSERT OR REPLACE INTO document_posts (doc, post) VALUES (?, ?)",
                     (rowid, post.model_dump_json()))
        conn.executemany("INSERT INTO document_places (code, doc) VALUES (?, ?)",
                         [(code, rowid) for code in post_location_ancestors(post)])

    # --- reading ------------------------------------------------------------------------------
    def get(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        try:
            rows = self._conn.execute(
                "SELECT d.id, p.post FROM documents d JOIN document_posts p ON p.doc = d.rowid"
                f" WHERE d.id IN ({marks})", list(ids)).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"search store {self.path}: {exc}") from exc
        found = {row[0]: json.loads(row[1]) for row in rows}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    def search(self, query: SearchQuery) -> SearchResult:
        try:
            return self._search(self._conn, query)
        except sqlite3.Error as exc:
            raise StoreError(f"search store {self.path}: {exc}") from exc

    def _search(self, conn: sqlite3.Connection, query: SearchQuery) -> SearchResult:
        terms = query_terms(query.text) if query.text.strip() else []
        if query.text.strip() and not terms:
            return SearchResult(total=0, hits=[])  # only punctuation: nothing can match
        where, params = _filters(query)
        if terms:
            # CROSS JOIN keeps the full-text match as the outer loop (run once, not once per document)
            source = "documents_fts CROSS JOIN documents d ON d.rowid = documents_fts.rowid"
            where.insert(0, "documents_fts MATCH ?")
            params.insert(0, fts_match_expression(terms, query.operator))
            score = f"-bm25(documents_fts, {TITLE_WEIGHT}, {BODY_WEIGHT})"
        else:
            source, score = "documents d", "0.0"
        clause = " AND ".join(where) or "1"
        order = _ORDER[query.sort if terms or query.sort != "relevance" else "time"]

        with _transaction(conn):  # one snapshot for the hits, the total and the aggregations
            page = conn.execute(
                f"SELECT d.rowid, {score} AS score FROM {source} WHERE {clause} ORDER BY {order}"
                " LIMIT ? OFFSET ?", [*params, query.size, query.offset],
            ).fetchall()
            posts = _posts_by_rowid(conn, [rowid for rowid, _ in page])
            total = conn.execute(f"SELECT count(*) FROM {source} WHERE {clause}", params).fetchone()[0]
            facets = {name: _facet(conn, name, source, clause, params, query.facet_size)
                      for name in query.facets}
            histogram = _histogram(conn, query.histogram, source, clause, params) if query.histogram else []
        hits = [SearchHit(post=posts[rowid], score=float(s)) for rowid, s in page]
        return SearchResult(total=total, hits=hits, facets=facets, histogram=histogram)


_ORDER = {
    "relevance": "score DESC, d.published_at DESC, d.id",
    "time": "d.published_at DESC, d.id",
    "heat": "d.heat DESC, d.published_at DESC, d.id",
}


def _filters(query: SearchQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []

    def one_of(column: str, values: Sequence[str]) -> None:
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            params.extend(values)

    if query.start is not None:
        where.append("d.published_at >= ?")
        params.append(query.start.timestamp())
    if query.end is not None:
        where.append("d.published_at < ?")
        params.append(query.end.timestamp())
    one_of("d.source_id", query.source_ids)
    one_of("d.category", query.categories)
    one_of("d.sentiment", query.sentiments)
    one_of("d.id", query.post_ids)
    if query.relevant_only:
        where.append("d.relevant = 1")
    if query.location_codes:
        codes = list(dict.fromkeys(canonical_location_code(c) for c in query.location_codes))
        marks = ",".join("?" * len(codes))
        where.append(f"d.rowid IN (SELECT doc FROM document_places WHERE code IN ({marks}))")
        params.extend(codes)
    return where, params


def _posts_by_rowid(conn: sqlite3.Connection, rowids: list[int]) -> dict[int, dict[str, Any]]:
    if not rowids:
        return {}
    marks = ",".join("?" * len(rowids))
    rows = conn.execute(f"SELECT doc, post FROM document_posts WHERE doc IN ({marks})", rowids)
    return {rowid: json.loads(post) for rowid, post in rows}


def _facet(conn: sqlite3.Connection, name: str, source: str, clause: str, params: list[Any],
           size: int) -> list[tuple[str, int]]:
    """Terms counts over the documents ``source`` and ``clause`` match, most frequent first."""
    if name == "location_code":
        sql = (f"SELECT j.value, count(DISTINCT d.rowid) AS n FROM {source}, json_each(d.location_codes) j"
               f" WHERE {clause} GROUP BY 1 ORDER BY n DESC, 1 LIMIT ?")
    else:
        column = f"d.{_FACET_COLUMNS[name]}"
        sql = (f"SELECT {column}, count(*) AS n FROM {source} WHERE {clause} AND {column} IS NOT NULL"
               " GROUP BY 1 ORDER BY n DESC, 1 LIMIT ?")
    return [(str(k), int(n)) for k, n in conn.execute(sql, [*params, size])]


def _histogram(conn: sqlite3.Connection, unit: str, source: str, clause: str,
               params: list[Any]) -> list[tuple[datetime, int]]:
    """Counts per hour or China day, from the first bucket with a post to the last (gaps are 0)."""
    width = _BUCKET_SECONDS[unit]
    bucket = f"CAST((d.published_at + {_CN_OFFSET}) / {width} AS INTEGER) * {width} - {_CN_OFFSET}"
    rows = conn.execute(f"SELECT {bucket}, count(*) FROM {source} WHERE {clause} GROUP BY 1", params)
    counts = {int(b): int(n) for b, n in rows}
    if not counts:
        return []
    first, last = min(counts), max(counts)
    return [(datetime.fromtimestamp(b, CN_TZ), counts.get(b, 0)) for b in range(first, last + width, width)]


def _has_documents(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'documents'").fetchone() is not None


def _create_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextmanager
def _transaction(conn: sqlite3.Connection, mode: str = "DEFERRED") -> Iterator[sqlite3.Connection]:
    """BEGIN … COMMIT on an autocommit connection (ROLLBACK on error)."""
    conn.execute(f"BEGIN {mode}")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
