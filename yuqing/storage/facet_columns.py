"""The facet columns of every document of an SQLite search store, held in memory as numpy arrays indexed by
rowid, so the facets and histogram of a full-text match are counted in one pass over the matched rowids
(``np.bincount`` over integer codes) instead of looking up every match in ``documents``.

Exact under concurrent writers (the indexer is another process): the store numbers its documents in
chunks of ``CHUNK_ROWS`` rowids and every write transaction bumps the version of the chunks it touches
(``document_chunks``; a chunk without a row has version 0; row -1 is a random id of the file). Before
counting, the reader — inside the read transaction that also runs the full-text match — reads the
versions and reloads from ``documents`` every chunk whose version differs from the one it holds, so the
arrays are exactly the snapshot the match saw (also when another thread's connection had moved them to
a newer or older snapshot: versions are compared for equality). Loading every chunk takes about 5 s per
million posts, once per process: the store does it in a background thread started by the first
full-text query with facets, which (like every such query until the load is done) counts the documents
in SQL instead — the same answer, slower.
Afterwards a query reloads only the chunks written since the last one (a few ms each).
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

CHUNK_ROWS = 1024  # rowids per chunk: what one write re-reads in a reader
_CN_OFFSET = 8 * 3600
SINGLE_FIELDS = ("source_id", "source_kind", "category", "sentiment", "severity")  # a value (or NULL) a post
CHUNKS_SCHEMA = ("CREATE TABLE IF NOT EXISTS document_chunks"
                 " (chunk INTEGER PRIMARY KEY, version INTEGER NOT NULL)")
# chunk -1 names the file: a file made anew at the same path (versions from 0 again) is read afresh
FILE_ID = "INSERT OR IGNORE INTO document_chunks (chunk, version) VALUES (-1, random())"


def bump_chunks(conn: sqlite3.Connection, rowids: Sequence[int]) -> None:
    """Mark the chunks of the rowids a write transaction changed (in that transaction)."""
    chunks = sorted({rowid // CHUNK_ROWS for rowid in rowids})
    conn.executemany("INSERT INTO document_chunks (chunk, version) VALUES (?, 1)"
                     " ON CONFLICT (chunk) DO UPDATE SET version = version + 1", [(c,) for c in chunks])


class _Dictionary:
    """The values of one field as dense integer codes (a process-local numbering)."""

    def __init__(self) -> None:
        self.codes: dict[str | None, int] = {None: -1}
        self.values: list[str] = []

    def encode(self, values: Sequence[str | None]) -> npt.NDArray[np.int32]:
        """The codes of the values (None: -1); values not seen before get new codes."""
        for value in set(values) - self.codes.keys():
            assert value is not None  # None has its code
            self.codes[value] = len(self.values)
            self.values.append(value)
        return np.fromiter(map(self.codes.__getitem__, values), np.int32, len(values))


class FacetColumns:
    """The arrays; one per store object, shared by its threads (a lock orders refresh and counting)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[int, int] = {}  # chunk -> version loaded (-1: the file's id)
        self._loaded = False
        self._size = 0  # rowids held: 0 .. size - 1
        self._dictionaries = {name: _Dictionary() for name in (*SINGLE_FIELDS, "location_code")}
        self._single = {name: np.full(0, -1, np.int32) for name in SINGLE_FIELDS}
        self._places = np.full((0, 1), -1, np.int32)  # a row's distinct location codes, -1 padded
        self._published = np.zeros(0, np.float64)

    @property
    def loaded(self) -> bool:
        """Whether every document was read once (after that, a refresh reads only what was written)."""
        return self._loaded

    def load(self, conn: sqlite3.Connection) -> None:
        """Bring the columns to the snapshot of the caller's transaction."""
        with self._lock:
            self._refresh(conn)
            self._loaded = True

    def counts(self, conn: sqlite3.Connection, rowids: npt.NDArray[np.int64], facets: Sequence[str],
               histogram_width: int) -> tuple[dict[str, Counter[str]], Counter[int]]:
        """Facet value -> count and bucket start -> count of the documents ``rowids`` (distinct), read in
        the caller's transaction. ``histogram_width``: seconds per bucket, 0 for none."""
        with self._lock:
            self._refresh(conn)
            by_facet = {name: self._facet(name, rowids) for name in dict.fromkeys(facets)}
            buckets: Counter[int] = Counter()
            if histogram_width and len(rowids):
                # what SQL's CAST((published_at + offset) / width AS INTEGER) * width - offset gives
                keys = np.trunc((self._published[rowids] + _CN_OFFSET) / histogram_width).astype(np.int64)
                first = int(keys.min())
                n = np.bincount(keys - first)
                buckets.update({(first + int(i)) * histogram_width - _CN_OFFSET: int(n[i])
                                for i in np.flatnonzero(n)})
        return by_facet, buckets

    def _facet(self, name: str, rowids: npt.NDArray[np.int64]) -> Counter[str]:
        codes = self._places[rowids].ravel() if name == "location_code" else self._single[name][rowids]
        codes = codes[codes >= 0]
        values = self._dictionaries[name].values
        counts = np.bincount(codes, minlength=len(values)) if len(codes) else np.zeros(0, np.int64)
        return Counter({values[code]: int(counts[code]) for code in np.flatnonzero(counts)})

    # --- loading ------------------------------------------------------------------------------
    def _refresh(self, conn: sqlite3.Connection) -> None:
        versions = dict(conn.execute("SELECT chunk, version FROM document_chunks").fetchall())
        (last,) = conn.execute("SELECT max(rowid) FROM documents").fetchone()
        chunks = 0 if last is None else last // CHUNK_ROWS + 1
        if self._versions.get(-1) != versions.get(-1):  # another file: every chunk is stale
            self._versions = {-1: versions.get(-1, 0)}
        stale = [c for c in range(chunks) if self._versions.get(c, -1) != versions.get(c, 0)]
        if not stale:
            return
        self._grow(chunks * CHUNK_ROWS)
        start = stale[0]
        for i, chunk in enumerate(stale):  # consecutive stale chunks are read with one query
            if i + 1 == len(stale) or stale[i + 1] != chunk + 1:
                self._load(conn, start * CHUNK_ROWS, (chunk + 1) * CHUNK_ROWS)
                start = stale[i + 1] if i + 1 < len(stale) else 0
        for chunk in stale:
            self._versions[chunk] = versions.get(chunk, 0)

    def _grow(self, size: int) -> None:
        if size <= self._size:
            return
        size = max(size, self._size * 5 // 4)  # room for the rowids of the next writes
        for name, codes in self._single.items():
            self._single[name] = np.concatenate([codes, np.full(size - len(codes), -1, np.int32)])
        more = np.full((size - len(self._places), self._places.shape[1]), -1, np.int32)
        self._places = np.concatenate([self._places, more])
        self._published = np.concatenate([self._published, np.zeros(size - len(self._published))])
        self._size = size

    def _load(self, conn: sqlite3.Connection, lo: int, hi: int) -> None:
        """Read the rowids lo .. hi - 1 from ``documents`` (rowids without a document get no values).
        Column by column, so the per-value work is in C (map, set, numpy)."""
        for codes in self._single.values():
            codes[lo:hi] = -1
        self._places[lo:hi] = -1
        rows = conn.execute(f"SELECT rowid, published_at, {', '.join(SINGLE_FIELDS)} FROM documents"
                            " WHERE rowid >= ? AND rowid < ?", (lo, hi)).fetchall()
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        rowids = np.array(columns[0], np.int64)
        self._published[rowids] = np.array(columns[1], np.float64)
        for name, values in zip(SINGLE_FIELDS, columns[2:], strict=True):
            self._single[name][rowids] = self._dictionaries[name].encode(values)
        places = conn.execute("SELECT d.rowid, j.value FROM documents d, json_each(d.location_codes) j"
                              " WHERE d.rowid >= ? AND d.rowid < ? AND d.location_codes != '[]'",
                              (lo, hi)).fetchall()
        if places:
            docs, values = zip(*places, strict=True)
            self._put_places(np.array(docs, np.int64), self._dictionaries["location_code"].encode(
                [str(value) for value in values]))

    def _put_places(self, docs: npt.NDArray[np.int64], codes: npt.NDArray[np.int32]) -> None:
        """Each document's distinct codes into its row of ``_places`` (made wider if a row needs it)."""
        order = np.lexsort((codes, docs))
        docs, codes = docs[order], codes[order]
        new = np.ones(len(docs), bool)
        new[1:] = (docs[1:] != docs[:-1]) | (codes[1:] != codes[:-1])
        docs, codes = docs[new], codes[new]
        first = np.ones(len(docs), bool)
        first[1:] = docs[1:] != docs[:-1]
        starts = np.flatnonzero(first)
        slots = np.arange(len(docs)) - np.repeat(starts, np.diff(np.append(starts, len(docs))))
        width = int(slots.max()) + 1
        if width > self._places.shape[1]:
            wider = np.full((self._size, width), -1, np.int32)
            wider[:, :self._places.shape[1]] = self._places
            self._places = wider
        self._places[docs, slots] = codes
