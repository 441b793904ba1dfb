"""The numbers behind candidate search, kept in numpy: each incident's centroid and its row of candidates.

``Terms`` gives every term the tracker counts an id and keeps its ``log(1 + document frequency)`` in an
array, so a TF-IDF weight is ``w * ((log(1 + docs) - logdf[id]) + 1.0)`` for a whole array of terms at
once: the same float operations in the same order as the one-term-at-a-time formula, so the same values.

``Centroid`` is an incident's summed term weights as arrays (term ids, weights) with the top terms
(``top_entries``) chosen in numpy: only terms within rounding of the ``limit``-th heaviest are sorted in
Python.

``Rows`` holds one row per open incident: its selection (the centroid's top terms, as ids and
weights) and what a candidate must have to be scored at all (open to new posts, active around the post's
time, has places, has kinds of emergency, its category). ``Rows.bounds`` gives, for many rows at once,
the most each row can score (the cosine of a post with its selection and every boost it could get), in
one compiled pass (``incidents.row_kernel``), so only the rows that can win are scored again exactly, one
at a time, by the tracker.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

import numpy as np

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_TIME = np.iinfo(np.int64).min


def micros(at: datetime) -> int:
    """A time as whole microseconds since the epoch (exact, so comparisons agree with datetimes')."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - _EPOCH) // _MICROSECOND


def _grown(array: np.ndarray, size: int) -> np.ndarray:
    """``array`` with room for ``size`` entries along its first axis (doubling; new entries zero)."""
    if size <= len(array):
        return array
    bigger = np.zeros((max(size, 2 * len(array)), *array.shape[1:]), dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


class Terms:
    """Term ids and ``log(1 + document frequency)`` by id (0.0 for a term no counted post has)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {"": 0}  # id 0 pads rows: weight 0
        self.names: list[str] = [""]
        self.logdf = np.zeros(1024)
        self.scratch = np.zeros(1024)  # a post's TF-IDF by term id while it is scored, else zeros

    def id(self, term: str) -> int:
        tid = self.ids.get(term)
        if tid is None:
            tid = self.ids[term] = len(self.names)
            self.names.append(term)
            if tid == len(self.logdf):
                self.logdf = _grown(self.logdf, tid + 1)
                self.scratch = np.zeros_like(self.logdf)
        return tid

    def compact(self, keep: set[int]) -> np.ndarray:
        """Forget the terms not in ``keep`` (nor counted: logdf 0); the new id of each old id (0 for a
        forgotten term, whose weight is 0 wherever it was)."""
        kept = sorted(keep | {int(i) for i in np.flatnonzero(self.logdf[: len(self.names)])} | {0})
        old_to_new = np.zeros(len(self.names), dtype=np.int64)
        old_to_new[kept] = np.arange(len(kept))
        logdf = self.logdf[kept]
        self.names = [self.names[i] for i in kept]
        self.ids = {name: i for i, name in enumerate(self.names)}
        self.logdf = _grown(np.zeros(1024), len(kept))
        self.logdf[: len(kept)] = logdf
        self.scratch = np.zeros_like(self.logdf)
        return old_to_new

    def __len__(self) -> int:
        return len(self.names)

    def set_logdfs(self, terms: Iterable[str], values: list[float]) -> None:
        """Set the ``log(1 + document frequency)`` of distinct terms (``values`` in their order)."""
        tids = [self.id(term) for term in terms]  # first: they may grow the array
        self.logdf[tids] = values

    def weights(self, ids: np.ndarray, w: np.ndarray, docs: int) -> np.ndarray:
        """TF-IDF of terms ``ids`` with term weights ``w`` when ``docs`` posts are counted."""
        return w * ((math.log(1 + docs) - self.logdf.take(ids)) + 1.0)


class Centroid:
    """An incident's summed term weights (of its original posts), as arrays indexed by position."""

    __slots__ = ("_at", "ids", "n", "thinned", "w")

    def __init__(self) -> None:
        self._at: dict[str, int] = {}  # term -> position
        self.ids = np.zeros(16, dtype=np.int64)
        self.w = np.zeros(16)
        self.n = 0
        self.thinned = False  # a post's weights were taken away: some terms' may be gone

    def __len__(self) -> int:
        return self.n

    def add(self, weights: Mapping[str, float], terms: Terms, sign: int = 1) -> None:
        """Add (``sign`` 1) or take away (−1) a post's term weights: ``sign * w + old`` per term, as
        ``Counter.update`` sums them. A post's weights are positive (``nlp.post_terms.terms``: at least 1),
        so only taking one away can leave a term's weight gone (``thinned``)."""
        at, ids, w = self._at, self.ids, self.w
        self.thinned = self.thinned or sign < 0
        grow = self.n + len(weights)
        if grow > len(ids):
            self.ids = ids = _grown(ids, grow)
            self.w = w = _grown(w, grow)
        start = n = self.n
        known = terms.ids
        new_ids, new_w, held, added = [], [], [], []
        for term, weight in weights.items():
            pos = at.get(term)
            if pos is None:
                at[term] = n
                n += 1
                tid = known.get(term)
                new_ids.append(terms.id(term) if tid is None else tid)
                new_w.append(sign * weight)
            else:
                held.append(pos)
                added.append(sign * weight)
        if held:  # stored all at once (numpy's float sums are Python's)
            w[held] = np.add(added, w[held])
        ids[start:n] = new_ids
        w[start:n] = new_w
        self.n = n

    def top_entries(self, terms: Terms, docs: int, limit: int) -> list[tuple[str, int, float]]:
        """The ``limit`` heaviest terms by TF-IDF (rounded to 9 places, so float noise never reorders
        equals; equals by term), leaving out terms whose weight is gone (≤ 1e-9): (term, id, summed
        weight), heaviest first."""
        n = self.n
        ids, w = self.ids[:n], self.w[:n]
        vals = terms.weights(ids, w, docs)
        if self.thinned:
            keep = w > 1e-9
            ids, w, vals = ids[keep], w[keep], vals[keep]
        if len(vals) > limit:  # only terms within rounding of the limit-th heaviest can be among them
            floor = np.partition(vals, len(vals) - limit)[len(vals) - limit] - 1e-6
            near = vals >= floor
            ids, w, vals = ids[near], w[near], vals[near]
        names, tids = terms.names, ids.tolist()
        heaviest = np.round(vals, 9)
        np.negative(heaviest, out=heaviest)
        # sorted as tuples, heaviest (rounded) first, then by term: a centroid holds each term once, so
        # no two tuples tie on both and the id and weight after them never decide
        ranked = sorted(zip(heaviest.tolist(), [names[t] for t in tids], tids, w.tolist(), strict=True))
        return [(name, tid, weight) for _, name, tid, weight in ranked[:limit]]

    def remap(self, old_to_new: np.ndarray) -> None:
        self.ids[: self.n] = old_to_new[self.ids[: self.n]]


class Rows:
    """One row per open incident, ``width`` selection terms wide; see the module docstring."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.sel_ids = np.zeros((256, width), dtype=np.int64)
        self.sel_w = np.zeros((256, width))
        self.first = np.full(256, _NO_TIME, dtype=np.int64)  # first and last post, in microseconds
        self.last = np.full(256, _NO_TIME, dtype=np.int64)
        self.open_to_posts = np.zeros(256, dtype=bool)  # has originals and is not a sealed 留言 case
        self.placed = np.zeros(256, dtype=bool)
        self.eventful = np.zeros(256, dtype=bool)
        self.category = np.full(256, -1, dtype=np.int64)
        self._categories: dict[str, int] = {}
        self.size = 0  # rows handed out
        self.free: list[int] = []
        # imported here: numba holds about 160 MB resident (110 MB of it the LLVM library's file pages), so
        # only a process that clusters loads it (not alerting or the API, which import incidents.clustering
        # for its constants)
        from incidents.row_kernel import near_first, row_bounds

        self._row_bounds = row_bounds
        self.near_first = near_first  # (positions, bounds) of the bounds at least a floor, highest first
        self._compile()

    def _compile(self) -> None:
        """Compile (or load from the disk cache) the scoring loops now, not at the first post."""
        bounds = self.bounds(
            np.zeros(0, dtype=np.int64), {}, 1.0, Terms(), 0, at=_EPOCH, window=timedelta(0), placed=False,
            event_boost=0.0, location_boost=0.0, category=None, category_boost=0.0,
        )
        self.near_first(bounds, 0.0)

    def take(self) -> int:
        if self.free:
            return self.free.pop()
        row = self.size
        self.size += 1
        if row == len(self.first):
            grow = 2 * len(self.first)
            self.sel_ids = _grown(self.sel_ids, grow)
            self.sel_w = _grown(self.sel_w, grow)
            self.first = np.concatenate([self.first, np.full(grow - len(self.first), _NO_TIME)])
            self.last = np.concatenate([self.last, np.full(grow - len(self.last), _NO_TIME)])
            self.open_to_posts = _grown(self.open_to_posts, grow)
            self.placed = _grown(self.placed, grow)
            self.eventful = _grown(self.eventful, grow)
            self.category = np.concatenate([self.category, np.full(grow - len(self.category), -1)])
        return row

    def release(self, row: int) -> None:
        self.sel_ids[row] = 0
        self.sel_w[row] = 0.0
        self.first[row] = self.last[row] = _NO_TIME
        self.open_to_posts[row] = self.placed[row] = self.eventful[row] = False
        self.category[row] = -1
        self.free.append(row)

    def set_selection(self, row: int, ids: list[int], weights: list[float]) -> None:
        self.sel_ids[row] = 0
        self.sel_w[row] = 0.0
        self.sel_ids[row, : len(ids)] = ids
        self.sel_w[row, : len(ids)] = weights

    def category_code(self, category: str | None) -> int:
        if category is None:
            return -1
        return self._categories.setdefault(category, len(self._categories))

    def set_state(
        self,
        row: int,
        *,
        first: datetime | None,
        last: datetime | None,
        open_to_posts: bool,
        placed: bool,
        eventful: bool,
        category: str | None,
    ) -> None:
        self.first[row] = _NO_TIME if first is None else micros(first)
        self.last[row] = _NO_TIME if last is None else micros(last)
        self.open_to_posts[row] = open_to_posts
        self.placed[row] = placed
        self.eventful[row] = eventful
        self.category[row] = self.category_code(category)

    def remap(self, old_to_new: np.ndarray) -> None:
        self.sel_ids[: self.size] = old_to_new[self.sel_ids[: self.size]]

    def bounds(
        self,
        rows: np.ndarray,
        post: Mapping[str, float],
        post_norm: float,
        terms: Terms,
        docs: int,
        *,
        at: datetime,
        window: timedelta,
        placed: bool,
        event_boost: float,
        location_boost: float,
        category: str | None,
        category_boost: float,
    ) -> np.ndarray:
        """The most each row can score: the cosine of the post's TF-IDF vector ``post`` with the row's
        selection under the current IDF, plus every boost the row could get (location and event boosts
        only for a ``placed`` post); ``-inf`` for rows no post may join now (closed to posts, or not active
        within ``window`` of ``at``). Computed in one compiled pass (``incidents.row_kernel``), to float
        rounding: the IDF factor is ``(log(1 + docs) + 1.0) - logdf``; the tracker scores again exactly,
        as ``Terms.weights`` does, what comes near a decision."""
        known = terms.ids
        ids, weights = [], []
        for term, weight in post.items():
            tid = known.get(term)
            if tid is not None:  # a term no counted post has is in no selection
                ids.append(tid)
                weights.append(weight)
        when, span = micros(at), window // _MICROSECOND
        code = self._categories.get(category, -1) if category else -1
        return self._row_bounds(
            rows,
            self.sel_ids,
            self.sel_w,
            terms.logdf,
            terms.scratch,
            np.array(ids, dtype=np.int64),
            np.array(weights),
            math.log(1 + docs) + 1.0,
            post_norm,
            self.open_to_posts,
            self.first,
            self.last,
            when - span,
            when + span,
            location_boost if placed else 0.0,
            self.placed,
            event_boost,
            self.eventful,
            code,
            self.category,
            category_boost,
        )


def terms_in_use(centroids: Iterable[Centroid]) -> set[int]:
    """The term ids any of these centroids holds."""
    used: set[int] = set()
    for centroid in centroids:
        used.update(centroid.ids[: centroid.n].tolist())
    return used
