"""The default search store: one SQLite file with a documents table and an FTS5 index over jieba tokens.

- ``documents``: one row per post with the columns filters and facets read (kept small, so
  aggregating over many posts scans little); ``document_posts``: the post itself as JSON;
- ``document_places``: (place code, document) for every place a post names and every place above it,
  so a province code finds the posts of its cities and counties with one indexed lookup;
- ``documents_fts``: FTS5 over the space-joined tokens of the title and of the content. The
  ``unicode61`` tokenizer splits on blanks and punctuation only, so a Chinese word the nlp stage
  segmented stays one token and matches whole; ranking is BM25 with the title weighted higher;
- ``rollup``: how many posts each hour holds, in all (field ``''``) and per value of every facet field
  (field ``category`` …), and each China day per facet value (field ``category@day`` …, ``hour`` the
  day's first hour), kept in the same transaction as the documents. A query without text or filters
  (other than a time range) reads its total, facets and histogram there: the whole days of its range
  from the day rows, the whole hours around them from the hour rows, the minutes at its edges from
  ``documents``, so the answer is exact and costs days and hours, not posts. Other queries count their
  matches in one pass (the match set materialized once, every aggregation over it);
- ``document_chunks``: a version per 1,024 rowids, bumped by every write to them. A full-text query
  without filters, by relevance, never visits ``documents`` for its counts: the rowids and BM25 scores
  come from the index alone, the page's tie-breaks are read for the best few, and the facets and
  histogram are counted over the matched rowids in numpy from the facet columns every store object holds
  in memory (``facet_columns.py``), brought to the query's snapshot by those versions. At a million
  posts, about 16k matches with three facets and a day histogram took 72/140 ms (p50/p95) reading
  ``documents``, and take 25/38 ms this way (bench/search.py, "either of 2 words + 3 facets").

The file is in WAL mode: the indexer writes while the API reads. Each thread has its own connection.
"""

from __future__ import annotations

import heapq
import json
import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from yuqing.clock import CN_TZ
from yuqing.schemas import EnrichedPost
from yuqing.sqlite_wal import enable_wal
from yuqing.storage.base import (
    NOT_STORED,
    PostsRejected,
    SearchHit,
    SearchQuery,
    SearchResult,
    StoreError,
    canonical_location_code,
    index_text,
    post_location_ancestors,
    split_title_tokens,
)
from yuqing.storage.facet_columns import CHUNKS_SCHEMA, FILE_ID, FacetColumns, bump_chunks
from yuqing.storage.query import FtsPlan, fts_plan, parse_query

log = logging.getLogger(__name__)
TITLE_WEIGHT = 3.0
BODY_WEIGHT = 1.0
_CN_OFFSET = 8 * 3600  # Asia/Shanghai has kept UTC+8 without daylight saving since 1991
_BUCKET_SECONDS = {"hour": 3600, "day": 86400}
_FACET_COLUMNS: dict[str, str] = {
    "source_id": "source_id", "category": "category", "sentiment": "sentiment",
    "source_kind": "source_kind", "severity": "severity", "location_code": "location_codes",
}

SCHEMA_VERSION = 3  # PRAGMA user_version of a store file; bump when the tables change
# 1 -> 2: the rollup table, built from documents when a version 1 file is opened
# 2 -> 3: document_chunks (facet_columns.py), empty when created: every chunk starts at version 0
_ROLLUP_FIELDS = ("source_id", "source_kind", "category", "sentiment", "severity")  # besides location_code
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
""" + """
CREATE TABLE rollup (
    field TEXT NOT NULL,
    hour INTEGER NOT NULL,
    value TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (field, hour, value)
) WITHOUT ROWID;
""" + CHUNKS_SCHEMA + ";"
PLAN_SCHEMA = (  # which 监测方案 each document matches
    "CREATE TABLE IF NOT EXISTS document_plans (plan INTEGER NOT NULL,"
    " doc INTEGER NOT NULL REFERENCES documents (rowid) ON DELETE CASCADE,"
    " PRIMARY KEY (plan, doc)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS document_plans_doc ON document_plans (doc)",
)
_HOUR = f"CAST((published_at + {_CN_OFFSET}) / 3600 AS INTEGER) * 3600 - {_CN_OFFSET}"
_DAY = "@day"  # suffix of the fields of the day rows
_FILTER_FIELDS = ("source_id", "category", "sentiment", "relevant")  # a query may filter on one of them


def _rollup_from_documents() -> str:
    """The hour rows and the filter fields' day rows of every document, as _rollup_keys counts a post
    (location codes once per post)."""
    arms = []
    for by in (None, *_FILTER_FIELDS):
        prefix = f"'{by}=' || d.{by} || '|' || " if by else ""
        hour, suffix = ("d.day", _DAY) if by else ("d.hour", "")
        for name in ("", *_ROLLUP_FIELDS):
            value = f"d.{name}" if name else "''"
            where = " AND ".join(f"d.{column} IS NOT NULL" for column in (by, name) if column) or "1"
            arms.append(f"SELECT {prefix}'{name}{suffix}' AS field, {hour} AS hour, {value} AS value FROM d"
                        f" WHERE {where}")
        where = f"d.{by} IS NOT NULL" if by else "1"
        arms.append(f"SELECT {prefix}'location_code{suffix}', {hour}, p.code FROM d JOIN p ON p.doc = d.rowid"
                    f" WHERE {where}")
    day = _HOUR.replace("3600", "86400")
    return (f"WITH d AS (SELECT rowid, {_HOUR} AS hour, {day} AS day, source_id, source_kind, category,"
            " sentiment, severity, CAST(relevant AS TEXT) AS relevant FROM documents),"
            " p AS (SELECT DISTINCT d.rowid AS doc, j.value AS code"
            " FROM documents d, json_each(d.location_codes) j)"
            " INSERT INTO rollup (field, hour, value, n) SELECT field, hour, value, count(*) FROM ("
            + " UNION ALL ".join(arms) + ") GROUP BY field, hour, value")


_ROLLUP_DAYS_FROM_HOURS = f"""
INSERT INTO rollup (field, hour, value, n)
SELECT field || '{_DAY}', CAST((hour + {_CN_OFFSET}) / 86400 AS INTEGER) * 86400 - {_CN_OFFSET}, value, sum(n)
FROM rollup WHERE field IN ({", ".join(f"'{name}'" for name in (*_ROLLUP_FIELDS, "location_code"))})
GROUP BY 1, 2, 3
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
        self._columns = FacetColumns()  # the facet columns of the documents, for full-text counts
        self._columns_loader: threading.Thread | None = None
        self._loader_conn: sqlite3.Connection | None = None

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
            conn.execute("PRAGMA cache_size = -65536")  # 64 MiB of pages per connection
            conn.execute("PRAGMA temp_store = MEMORY")  # where a match set is materialized
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
        loader, conn = self._columns_loader, self._loader_conn
        if loader is not None and loader.is_alive() and loader is not threading.current_thread():
            if conn is not None:
                with suppress(sqlite3.ProgrammingError):
                    conn.interrupt()  # stop the load: a connection is closed only when no thread uses it
            loader.join()
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
                elif version in (1, 2):
                    _migrate(conn, version)
                elif version != SCHEMA_VERSION:
                    raise StoreError(f"search store {self.path} was made by another version of yuqing (schema"
                                     f" {version}, expected {SCHEMA_VERSION}): delete it and re-index")
                for statement in PLAN_SCHEMA:  # added beside version 2, idempotent
                    conn.execute(statement)
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
                rollup: Counter[tuple[str, int, str]] = Counter()
                written: list[int] = []
                for post in newest.values():
                    conn.execute("SAVEPOINT post")
                    try:
                        rollup.update(self._upsert(conn, post, written))
                    except (sqlite3.IntegrityError, sqlite3.DataError, ValueError) as exc:
                        conn.execute("ROLLBACK TO post")  # this post's data is refused, the batch goes on
                        rejected[post.id] = f"{exc.__class__.__name__}: {exc}"
                    conn.execute("RELEASE post")
                _apply_rollup(conn, rollup)
                bump_chunks(conn, written)
        except sqlite3.Error as exc:
            raise StoreError(f"search store {self.path}: indexing failed ({exc})") from exc
        if rejected:
            raise PostsRejected(rejected)

    def _upsert(self, conn: sqlite3.Connection, post: EnrichedPost,
                written: list[int]) -> Counter[tuple[str, int, str]]:
        """Write one post (its rowid is added to ``written``); returns what the rollup gains (+1) and
        loses (-1) by it."""
        row = conn.execute(
            "SELECT rowid, fetched_at, published_at, source_id, source_kind, category, sentiment, severity,"
            " location_codes, relevant FROM documents WHERE id = ?", (post.id,)).fetchone()
        delta: Counter[tuple[str, int, str]] = Counter()
        if row is not None and row[1] > post.fetched_at.timestamp():
            return delta  # an older version arrived late: keep the newer one
        if row is not None:
            conn.execute("DELETE FROM documents_fts WHERE rowid = ?", (row[0],))
            conn.execute("DELETE FROM document_places WHERE doc = ?", (row[0],))
            conn.execute("DELETE FROM document_plans WHERE doc = ?", (row[0],))
            delta.subtract(_rollup_keys(row[2], row[3:8], row[9], json.loads(row[8])))
        tags = post.tags
        values = (
            post.posted_at.timestamp(), post.fetched_at.timestamp(), post.source_id,
            post.source_kind, tags.category, json.dumps([loc.code for loc in tags.locations]),
            tags.sentiment.label, tags.severity.level, int(tags.relevant), post.heat,
        )
        delta.update(_rollup_keys(values[0], (values[2], values[3], values[4], values[6], values[7]),
                                  tags.relevant, [loc.code for loc in tags.locations]))
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
        conn.execute("INSERT INTO document_posts (doc, post) VALUES (?, ?)"
                     " ON CONFLICT (doc) DO UPDATE SET post = excluded.post",
                     (rowid, post.model_dump_json(exclude=NOT_STORED)))
        conn.executemany("INSERT INTO document_places (code, doc) VALUES (?, ?)",
                         [(code, rowid) for code in post_location_ancestors(post)])
        conn.executemany("INSERT OR IGNORE INTO document_plans (plan, doc) VALUES (?, ?)",
                         [(plan, rowid) for plan in post.plan_ids])
        assert rowid is not None  # the lastrowid of an INSERT
        written.append(rowid)
        return delta

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

    def load_facet_columns(self) -> None:
        """Read the in-memory facet columns now (otherwise the first full-text query with facets starts
        reading them in a background thread and counts in SQL until they are read)."""
        conn = self._conn
        with _transaction(conn):
            self._columns.load(conn)

    def _columns_ready(self, query: SearchQuery) -> bool:
        """Whether the query's counts can come from the facet columns; starts loading them if not."""
        if self._columns.loaded or not (query.facets or query.histogram):
            return True
        with self._lock:
            if self._columns_loader is None:
                self._columns_loader = threading.Thread(target=self._load_columns_quietly,
                                                        name="facet-columns", daemon=True)
                self._columns_loader.start()
        return False

    def _load_columns_quietly(self) -> None:
        try:
            self._loader_conn = self._raw_conn()
            self.load_facet_columns()
        except (sqlite3.Error, StoreError) as exc:  # the store was closed or is away: a later query retries
            log.warning("search store %s: facet columns not loaded (%s)", self.path, exc)
            with self._lock:
                self._columns_loader = None

    def _ranked_and_counted(self, conn: sqlite3.Connection, match: str,
                            query: SearchQuery) -> tuple[list[tuple[int, float]], Counts]:
        """A page of a full-text match by relevance and its counts, without visiting the documents of
        every match: the best scores by a top-N sort (``ORDER BY score LIMIT``), the rowids of all
        matches from the index alone, the facets and histogram over them from the in-memory columns
        (facet_columns.py)."""
        best, every = _best_scores(conn, match, query.offset + query.size)
        page = _ranked_by_score(conn, best, query.offset, query.size)
        if every:  # few matches: the rows above are all of them
            rowids = np.array([rowid for rowid, _ in best], np.int64)
        elif not (query.facets or query.histogram):
            (total,) = conn.execute(_FTS_COUNT, [match]).fetchone()
            return page, (total, {}, Counter())
        else:
            (listed,) = conn.execute(_FTS_ROWIDS, [match]).fetchone()
            rowids = np.fromstring(listed, dtype=np.int64, sep=",") if listed else np.zeros(0, np.int64)
        if not (query.facets or query.histogram):
            return page, (len(rowids), {}, Counter())
        width = _BUCKET_SECONDS[query.histogram] if query.histogram else 0
        return page, (len(rowids), *self._columns.counts(conn, rowids, query.facets, width))

    def _search(self, conn: sqlite3.Connection, query: SearchQuery) -> SearchResult:
        node = parse_query(query.text, query.operator)  # QuerySyntaxError names the position
        plan = fts_plan(node) if node is not None else FtsPlan(None, [], [])
        terms = plan.match is not None
        where, params = _filters(query, per_match=terms)
        if terms:
            # CROSS JOIN keeps the full-text match as the outer loop (run once, not once per document)
            source = "documents_fts CROSS JOIN documents d ON d.rowid = documents_fts.rowid"
            where.insert(0, "documents_fts MATCH ?")
            params.insert(0, plan.match)
            score = f"-bm25(documents_fts, {TITLE_WEIGHT}, {BODY_WEIGHT})"
        else:
            source, score = "documents d", "0.0"
        where += plan.where  # the parts full text cannot say: source kinds, places, negations
        params += plan.params
        clause = " AND ".join(where) or "1"
        order = _ORDER[query.sort if terms or query.sort != "relevance" else "time"]

        counts: Counts | None
        page: list[tuple[int, float]]
        with _transaction(conn):  # one snapshot for the hits, the total and the aggregations
            if terms and len(where) == 1 and query.sort == "relevance" and self._columns_ready(query):
                page, counts = self._ranked_and_counted(conn, params[0], query)
            elif terms:  # the matches ranked, counted and aggregated in one pass over them
                page = []
                counts = _counts(conn, source, clause, params, query.facets, query.histogram,
                                 page=(score, query.sort, query.size, query.offset, page))
            else:  # the page from an index in time or heat order; the counts from the rollup if they can
                page = conn.execute(
                    f"SELECT d.rowid, {score} AS score FROM {source} WHERE {clause} ORDER BY {order}"
                    " LIMIT ? OFFSET ?", [*params, query.size, query.offset],
                ).fetchall() if query.size else []
                counts = _rollup_counts(conn, query) if not plan.where else None
                if counts is None:
                    counts = _counts(conn, source, clause, params, query.facets, query.histogram)
            posts = _posts_by_rowid(conn, [rowid for rowid, _ in page])
        assert counts is not None
        total, facet_counts, buckets = counts
        facets: dict[str, list[tuple[str, int]]] = {
            name: sorted(facet_counts[name].items(), key=lambda kv: (-kv[1], kv[0]))[: query.facet_size]
            for name in query.facets
        }
        histogram = _histogram(buckets, _BUCKET_SECONDS[query.histogram]) if query.histogram else []
        hits = [SearchHit(post=posts[rowid], score=float(s)) for rowid, s in page]
        return SearchResult(total=total, hits=hits, facets=facets, histogram=histogram)


_ORDER = {
    "relevance": "score DESC, d.published_at DESC, d.id",
    "time": "d.published_at DESC, d.id",
    "heat": "d.heat DESC, d.published_at DESC, d.id",
}


def _filters(query: SearchQuery, *, per_match: bool = False) -> tuple[list[str], list[Any]]:
    """SQL conditions on ``documents d``. ``per_match``: the caller visits few documents (a full-text
    match set), so a place is looked up for each instead of listing every document of the place."""
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
    if query.plan_ids:
        plans = list(dict.fromkeys(query.plan_ids))
        marks = ",".join("?" * len(plans))
        where.append(f"d.rowid IN (SELECT doc FROM document_plans WHERE plan IN ({marks}))")
        params.extend(plans)
    if query.location_codes:
        codes = list(dict.fromkeys(canonical_location_code(c) for c in query.location_codes))
        marks = ",".join("?" * len(codes))
        if per_match:
            where.append(f"EXISTS (SELECT 1 FROM document_places WHERE code IN ({marks}) AND doc = d.rowid)")
        else:
            where.append(f"d.rowid IN (SELECT doc FROM document_places WHERE code IN ({marks}))")
        params.extend(codes)
    return where, params


def _posts_by_rowid(conn: sqlite3.Connection, rowids: list[int]) -> dict[int, dict[str, Any]]:
    if not rowids:
        return {}
    marks = ",".join("?" * len(rowids))
    rows = conn.execute(f"SELECT doc, post FROM document_posts WHERE doc IN ({marks})", rowids)
    return {rowid: json.loads(post) for rowid, post in rows}


Counts = tuple[int, dict[str, Counter[str]], Counter[int]]  # total, facet -> value -> n, bucket -> n


def _bucket(timestamp: float, width: int) -> int:
    """The hour or China day a time falls in, as SQL computes it in _counts (CAST truncates like int)."""
    return int((timestamp + _CN_OFFSET) / width) * width - _CN_OFFSET


def _counts(conn: sqlite3.Connection, source: str, clause: str, params: list[Any], facets: Sequence[str],
            histogram: str | None,
            page: tuple[str, str, int, int, list[tuple[int, float]]] | None = None) -> Counts:
    """The total, facets and histogram of the documents ``source`` and ``clause`` match, in one pass:
    the match set is materialized once and every aggregation reads it. ``page``: (score expression,
    sort, size, offset, list) also ranks the matches and fills the list with (rowid, score)."""
    if not facets and not histogram and page is None:
        (total,) = conn.execute(f"SELECT count(*) FROM {source} WHERE {clause}", params).fetchone()
        return total, {}, Counter()
    columns = ["d.rowid AS doc", "d.published_at"]
    columns += [f"d.{_FACET_COLUMNS[name]}" for name in dict.fromkeys(facets)]
    pad = ", NULL, NULL, NULL"  # the page's score, time and id
    arms = [f"SELECT '' AS f, NULL AS v, count(*) AS n{pad} FROM m"]
    params = list(params)
    if page is not None and page[2]:
        score, sort, size, offset, _ = page
        columns += [f"{score} AS score", "d.id AS id", "d.heat AS heat"]
        # the first offset + size rows with their sort keys; they are put in order below (the keys end
        # with the unique id, so the order is the same however SQLite hands the rows over)
        arms.append(f"SELECT * FROM (SELECT 'page', doc, heat, score, published_at, id FROM m"
                    f" ORDER BY {_ORDER[sort].replace('d.', '')} LIMIT ?)")
        params.append(size + offset)
    for name in dict.fromkeys(facets):
        if name == "location_code":
            arms.append(f"SELECT 'location_code', j.value, count(DISTINCT m.doc){pad}"
                        " FROM m, json_each(m.location_codes) j GROUP BY 2")
        else:
            arms.append(f"SELECT '{name}', {name}, count(*){pad} FROM m WHERE {name} IS NOT NULL GROUP BY 2")
    if histogram:
        width = _BUCKET_SECONDS[histogram]
        arms.append(f"SELECT NULL, CAST((published_at + {_CN_OFFSET}) / {width} AS INTEGER) * {width}"
                    f" - {_CN_OFFSET}, count(*){pad} FROM m GROUP BY 2")
    sql = (f"WITH m AS MATERIALIZED (SELECT {', '.join(columns)} FROM {source} WHERE {clause}) "
           + " UNION ALL ".join(arms))
    by_facet: dict[str, Counter[str]] = {name: Counter() for name in facets}
    total, buckets = 0, Counter[int]()
    ranked: list[tuple[Any, ...]] = []
    for field, value, n, score, published_at, doc_id in conn.execute(sql, params):
        if field is None:
            buckets[int(value)] = n
        elif field == "":
            total = n
        elif field == "page":
            ranked.append((value, score, published_at, doc_id, n))
        else:
            by_facet[field][str(value)] = n
    if page is not None and page[2]:
        ranked.sort(key=_SORT_KEYS[page[1]])
        page[4].extend((rowid, score) for rowid, score, *_ in ranked[page[3]:page[3] + page[2]])
    return total, by_facet, buckets


_FTS_COUNT = "SELECT count(*) FROM documents_fts WHERE documents_fts MATCH ?"
_FTS_ROWIDS = "SELECT group_concat(rowid) FROM documents_fts WHERE documents_fts MATCH ?"  # parsed by numpy
# SQLite's top-N sort keeps only LIMIT rows (FTS5's own ORDER BY rank sorts every match: slower)
_FTS_BEST = (f"SELECT rowid, -bm25(documents_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS score FROM documents_fts"
             " WHERE documents_fts MATCH ? ORDER BY score DESC LIMIT ?")


def _best_scores(conn: sqlite3.Connection, match: str, count: int) -> tuple[list[tuple[int, float]], bool]:
    """The (rowid, score) of the ``count`` best-scoring matches and of every match scoring as the last
    of them (the page breaks such ties by time and id): more rows are asked for while the last one
    still ties. And whether those are all the matches."""
    if not count:
        return [], False
    limit = count + 1
    while True:
        rows: list[tuple[int, float]] = conn.execute(_FTS_BEST, [match, limit]).fetchall()
        if len(rows) < limit or rows[-1][1] < rows[count - 1][1]:
            return rows, len(rows) < limit
        limit *= 2


def _ranked_by_score(conn: sqlite3.Connection, rows: list[tuple[int, float]], offset: int,
                     size: int) -> list[tuple[int, float]]:
    """A page of the (rowid, score) of a full-text match by relevance: the time and id (the tie-breaks)
    are read for the best offset + size and every match scoring as the last of them."""
    if not rows or not offset + size:
        return []
    cut = heapq.nlargest(offset + size, (s for _, s in rows))[-1]
    scores = {rowid: s for rowid, s in rows if s >= cut}
    ranked = []
    ids = list(scores)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        ranked += [(rowid, scores[rowid], published_at, doc_id, heat) for rowid, published_at, doc_id, heat in
                   conn.execute(f"SELECT rowid, published_at, id, heat FROM documents"
                                f" WHERE rowid IN ({','.join('?' * len(chunk))})", chunk)]
    ranked.sort(key=_SORT_KEYS["relevance"])
    return [(rowid, s) for rowid, s, *_ in ranked[offset:offset + size]]


# _ORDER in Python, on (rowid, score, published_at, id, heat): ids are unique, so the order is total
_SORT_KEYS: dict[str, Callable[[tuple[Any, ...]], tuple[Any, ...]]] = {
    "relevance": lambda r: (-r[1], -r[2], r[3]),
    "time": lambda r: (-r[2], r[3]),
    "heat": lambda r: (-r[4], -r[2], r[3]),
}


def _rollup_filter(query: SearchQuery) -> dict[str, list[str]] | None:
    """The filter field (at most one) and its values of a query the rollup can answer ({}: none); None
    when the rollup cannot answer it."""
    if query.post_ids or query.location_codes or query.plan_ids:
        return None
    chosen = {"source_id": query.source_ids, "category": query.categories, "sentiment": query.sentiments,
              "relevant": ["1"] if query.relevant_only else []}
    chosen = {by: values for by, values in chosen.items() if values}
    if len(chosen) > 1:
        return None
    if chosen and query.histogram == "hour":
        return None  # a filter field's rows count days
    return chosen


def _rollup_counts(conn: sqlite3.Connection, query: SearchQuery) -> Counts | None:
    """The counts of a query without text, filtering on one filter field at most, from the rollup: its
    whole hours there (whole days if it filters), the time before the first and after the last from
    ``documents``. None for other queries."""
    chosen = _rollup_filter(query)
    if chosen is None:
        return None
    # a post has one value of a field: the posts of different values are apart, their counts add up
    prefixes = [f"{by}={value}|" for by, values in chosen.items() for value in dict.fromkeys(values)] or [""]
    start = query.start.timestamp() if query.start is not None else None
    end = query.end.timestamp() if query.end is not None else None
    if (start is not None and start < 0) or (end is not None and end < 0):
        return None  # before 1970 CAST truncates toward zero and an hour key is not the hour's start
    unit = 86400 if chosen else 3600
    first = None if start is None else _bucket(start, unit) + (unit if _bucket(start, unit) < start else 0)
    stop = None if end is None else _bucket(end, unit)
    if first is not None and stop is not None and first >= stop:
        return None  # no whole hour (day): the documents are few
    facets: dict[str, Counter[str]] = {name: Counter() for name in query.facets}
    total, buckets = 0, Counter[int]()

    def add(counts: Counts) -> None:
        nonlocal total
        total += counts[0]
        for name, values in counts[1].items():
            facets[name].update(values)
        buckets.update(counts[2])

    where, params = _filters(query.model_copy(update={"start": None, "end": None}))
    for lo, hi in ((start, first), (stop, end)):
        if lo is not None and hi is not None and lo < hi:
            clause = " AND ".join(["d.published_at >= ? AND d.published_at < ?", *where])
            add(_counts(conn, "documents d", clause, [lo, hi, *params], query.facets, query.histogram))
    fields = f"field IN ({','.join('?' * len(prefixes))})"
    hours = "hour >= ? AND hour < ?"
    lo, hi = -(2**62) if first is None else first, 2**62 if stop is None else stop
    width = _BUCKET_SECONDS[query.histogram] if query.histogram else 0
    totals = conn.execute(f"SELECT hour, n FROM rollup WHERE {fields} AND {hours}",
                          [*(prefix + (_DAY if chosen else "") for prefix in prefixes), lo, hi])
    for hour, n in totals:
        total += n
        if width:
            buckets[_bucket(hour, width)] += n
    # facets: the whole China days inside [lo, hi) from the day rows, the hours around them from the hour rows
    day_lo = lo if first is None else _bucket(first + 86400 - 3600, 86400)  # the first day start >= first
    day_hi = hi if stop is None else _bucket(stop, 86400)  # the last day start <= stop
    parts = [("", lo, hi)]
    if day_lo < day_hi:
        parts = [("", lo, day_lo), (_DAY, day_lo, day_hi), ("", day_hi, hi)]
    for name in dict.fromkeys(query.facets):
        for suffix, part_lo, part_hi in parts:
            if part_lo < part_hi:
                facets[name].update(dict(conn.execute(
                    f"SELECT value, sum(n) FROM rollup WHERE {fields} AND {hours} GROUP BY value",
                    [*(prefix + name + suffix for prefix in prefixes), part_lo, part_hi])))
    return total, facets, buckets


def _histogram(counts: Counter[int], width: int) -> list[tuple[datetime, int]]:
    """Counts per hour or China day, from the first bucket with a post to the last (gaps are 0)."""
    counts = Counter({b: n for b, n in counts.items() if n})
    if not counts:
        return []
    first, last = min(counts), max(counts)
    return [(datetime.fromtimestamp(b, CN_TZ), counts.get(b, 0)) for b in range(first, last + width, width)]


def _rollup_keys(published_at: float, values: Sequence[str | None], relevant: bool,
                 codes: Iterable[str]) -> list[tuple[str, int, str]]:
    """What one post adds to the rollup: its hour in all, its hour and day under each facet value; and
    under its value of each filter field, its day in all and under each facet value (``category=供水|@day``,
    ``category=供水|source_id@day`` …), so a query filtering on one of those fields is answered there too."""
    hour, day = _bucket(published_at, 3600), _bucket(published_at, 86400)
    fields = dict(zip(_ROLLUP_FIELDS, values, strict=True))
    named = [(name, value) for name, value in fields.items() if value is not None]
    named += [("location_code", code) for code in dict.fromkeys(codes)]
    fields["relevant"] = str(int(relevant))
    keys = [("", hour, ""), *((name, hour, value) for name, value in named),
            *((name + _DAY, day, value) for name, value in named)]
    for prefix in (f"{by}={fields[by]}|" for by in _FILTER_FIELDS if fields[by] is not None):
        keys.append((prefix + _DAY, day, ""))
        keys += [(prefix + name + _DAY, day, value) for name, value in named]
    return keys


def _apply_rollup(conn: sqlite3.Connection, delta: Counter[tuple[str, int, str]]) -> None:
    changes = [(*key, n) for key, n in delta.items() if n]
    conn.executemany("INSERT INTO rollup (field, hour, value, n) VALUES (?, ?, ?, ?)"
                     " ON CONFLICT (field, hour, value) DO UPDATE SET n = n + excluded.n", changes)
    conn.executemany("DELETE FROM rollup WHERE field = ? AND hour = ? AND value = ? AND n <= 0",
                     [key for *key, n in changes if n < 0])


def rebuild_rollup(conn: sqlite3.Connection) -> None:
    """Count the rollup afresh from ``documents`` (inside the caller's write transaction)."""
    conn.execute("DELETE FROM rollup")
    conn.execute(_rollup_from_documents())
    conn.execute(_ROLLUP_DAYS_FROM_HOURS)


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring a version 1 or 2 file to the current schema (inside the caller's write transaction)."""
    if version == 1:
        conn.execute(SCHEMA[SCHEMA.index("CREATE TABLE rollup"):SCHEMA.index(CHUNKS_SCHEMA)])
        rebuild_rollup(conn)
    conn.execute(CHUNKS_SCHEMA)
    conn.execute(FILE_ID)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _has_documents(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'documents'").fetchone() is not None


def _create_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(FILE_ID)
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
