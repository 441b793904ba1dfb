"""The numpy side of candidate search (incidents/vectors.py, incidents/row_kernel.py): the top terms are
the ones the term-by-term formula picks, ties and removed terms included; the term table compacts after
evictions without changing a single clustering decision; candidate bounds are the term-by-term cosines
and boosts, and leave out exactly the incidents no post may join."""

from __future__ import annotations

import heapq
import math
import random
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from incidents import clustering
from incidents.clustering import IncidentTracker
from incidents.vectors import Centroid, Rows, Terms

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "nlp"))
from test_incidents import STORIES, enriched

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def reference_top(weights: dict[str, float], ldf: dict[str, float], docs: int, limit: int) -> list[str]:
    """The selection as computed before numpy: TF-IDF term by term, then sorted."""
    n = math.log(1 + docs)
    vec = {t: w * (n - ldf.get(t, 0.0) + 1.0) for t, w in weights.items() if w > 1e-9}
    if len(vec) > limit:
        floor = heapq.nlargest(limit, vec.values())[-1] - 1e-6
        vec = {t: w for t, w in vec.items() if w >= floor}
    return sorted(vec, key=lambda t: (-round(vec[t], 9), t))[:limit]


@pytest.mark.parametrize("seed", range(20))
def test_top_terms_are_the_term_by_term_ones(seed: int) -> None:
    rng = random.Random(seed)
    terms = Terms()
    words = [f"词{i}" for i in range(300)]
    ldf = {}
    for w in words:
        if rng.random() < 0.8:
            ldf[w] = math.log(1 + rng.randint(1, 50))
    terms.set_logdfs(ldf, list(ldf.values()))
    centroid, summed = Centroid(), Counter[str]()
    for _ in range(rng.randint(1, 30)):  # posts join, some leave again (weights back to about 0)
        post = {w: 1.0 + math.log(rng.randint(1, 3)) for w in rng.sample(words, rng.randint(1, 40))}
        sign = -1 if summed and rng.random() < 0.2 else 1
        if sign < 0:
            post = {w: summed[w] for w in list(summed)[:5] if summed[w] > 0}
        centroid.add(post, terms, sign)
        summed.update({t: sign * w for t, w in post.items()})
    docs = rng.randint(60, 5000)
    top = centroid.top_entries(terms, docs, 40)
    assert [t for t, _, _ in top] == reference_top(dict(summed), ldf, docs, 40)
    for t, tid, w in top:  # each chosen term's id and summed weight
        assert terms.names[tid] == t and w == summed[t]
    n = len(centroid)
    names = [terms.names[i] for i in centroid.ids[:n].tolist()]
    held = dict(zip(names, centroid.w[:n].tolist(), strict=True))
    for t, w in summed.items():  # every term's weight summed as Counter.update sums them
        assert held[t] == w


def test_ties_are_broken_by_term() -> None:
    terms = Terms()
    centroid = Centroid()
    centroid.add({"乙": 1.0, "甲": 1.0, "丙": 1.0, "丁": 2.0}, terms)
    assert [t for t, _, _ in centroid.top_entries(terms, 10, 3)] == reference_top(
        {"乙": 1.0, "甲": 1.0, "丙": 1.0, "丁": 2.0}, {}, 10, 3
    )


def posts_over_days(days: int) -> list:
    """The stories' posts again and again, a copy every four days (new ids, and words of that copy's own),
    so incidents open and go quiet and their words leave with them."""
    out = []
    for day in range(days):
        for story in STORIES:
            copy = {"id": f"{story['id']}-d{day}", "minutes": story["minutes"] + day * 4 * 24 * 60}
            post = enriched(story | copy)
            post.tokens = [*post.tokens, *(f"当日{day}{chr(0x4E00 + 7 * day + k)}" for k in range(5))]
            out.append(post)
    return out


def test_compacting_the_term_table_changes_no_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    posts = posts_over_days(8)

    def run(compact_after: int) -> tuple[dict[str, str], list, int]:
        monkeypatch.setattr(clustering, "_COMPACT_AFTER", compact_after)
        tracker = IncidentTracker()
        sent = []
        for post in posts:
            change = tracker.add(post)
            if change is not None:
                sent.append(change.incident.model_dump())
            tracker.evict()
        return dict(tracker.post_cluster), sent, len(tracker._terms)

    kept, kept_sent, kept_terms = run(10**9)
    compacted, compacted_sent, compacted_terms = run(-(10**9))  # compacted at every eviction
    assert compacted == kept and compacted_sent == kept_sent
    assert compacted_terms < kept_terms  # the terms of incidents gone quiet were forgotten


def test_bounds_leave_out_closed_and_inactive_rows() -> None:
    rows, terms = Rows(4), Terms()
    terms.set_logdfs(["化工厂"], [math.log(2)])
    at = T0
    for r, (first, last, open_) in enumerate(
        [
            (at - timedelta(hours=1), at, True),  # active
            (at - timedelta(hours=100), at - timedelta(hours=73), True),  # quiet for longer than the window
            (at + timedelta(hours=73), at + timedelta(hours=80), True),  # starts after the window
            (at - timedelta(hours=1), at, False),  # a sealed 留言 case
        ]
    ):
        rows.take()
        rows.set_selection(r, [terms.id("化工厂")], [1.0])
        rows.set_state(
            r, first=first, last=last, open_to_posts=open_, placed=r == 0, eventful=False, category="交通"
        )
    bounds = rows.bounds(
        np.arange(4),
        {"化工厂": 2.0, "新词": 1.0},  # the post shares one of its two terms with every row
        math.sqrt(5.0),
        terms,
        1,
        at=at,
        window=timedelta(hours=72),
        placed=True,
        event_boost=0.3,
        location_boost=0.1,
        category="交通",
        category_boost=0.05,
    )
    assert bounds[0] == pytest.approx(2 / math.sqrt(5) + 0.1 + 0.05)  # no kinds of emergency: no event boost
    assert np.isneginf(bounds[1:]).all()
    assert not terms.scratch.any()  # the post's weights are cleared after scoring


@pytest.mark.parametrize("seed", range(10))
def test_bounds_are_the_cosine_and_boosts_row_by_row(seed: int) -> None:
    """The compiled pass gives, for every row, what the term-by-term formula gives (to float rounding):
    the cosine of the post with the row's selection under the current IDF, plus each boost it could get."""
    rng = random.Random(seed)
    vocab = [f"词{i}" for i in range(60)]
    terms, docs = Terms(), rng.randint(50, 500)
    ldf = {t: math.log(1 + rng.randint(1, docs)) for t in vocab}
    terms.set_logdfs(list(ldf), list(ldf.values()))
    rows = Rows(8)
    selections, states = [], []
    for r in range(40):
        rows.take()
        picked = rng.sample(vocab, rng.randint(0, 8))
        weights = [rng.uniform(0.5, 3.0) for _ in picked]
        rows.set_selection(r, [terms.id(t) for t in picked], weights)
        state = {"placed": rng.random() < 0.5, "eventful": rng.random() < 0.5,
                 "category": rng.choice(["交通", "教育", None])}
        rows.set_state(r, first=T0, last=T0, open_to_posts=True, **state)
        selections.append(dict(zip(picked, weights, strict=True)))
        states.append(state)
    post = {t: rng.uniform(0.5, 3.0) for t in rng.sample(vocab, 10)}
    post["没人用过"] = 1.0  # a term no counted post has
    idf = {t: math.log(1 + docs) - ldf.get(t, math.log(1 + docs)) + 1.0 for t in post}
    post_vec = {t: w * idf[t] for t, w in post.items()}
    post_norm = math.sqrt(sum(w * w for w in post_vec.values()))
    for placed in (True, False):
        bounds = rows.bounds(
            np.arange(40), post_vec, post_norm, terms, docs, at=T0, window=timedelta(hours=72),
            placed=placed, event_boost=0.3, location_boost=0.1, category="交通", category_boost=0.05,
        )
        for r, (selection, state) in enumerate(zip(selections, states, strict=True)):
            vec = {t: w * (math.log(1 + docs) - ldf[t] + 1.0) for t, w in selection.items()}
            norm = math.sqrt(sum(w * w for w in vec.values()))
            dot = sum(w * vec.get(t, 0.0) for t, w in post_vec.items())
            expected = dot / (post_norm * norm) if norm else 0.0
            if placed and state["placed"]:
                expected += 0.1 + (0.3 if state["eventful"] else 0.0)
            if state["category"] == "交通":
                expected += 0.05
            assert bounds[r] == pytest.approx(expected, abs=1e-12)


def test_the_scoring_loop_runs_where_numba_cannot_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only install without a writable cache directory: the loop is compiled at start, not cached,
    and the stage still scores (numba would otherwise refuse to define the function at import)."""
    from numba.core import caching

    from incidents import row_kernel

    monkeypatch.setattr(caching.CacheImpl, "_locator_classes", [])  # no directory can hold a cache
    with pytest.raises(RuntimeError, match="no locator"):  # what numba does without the fallback
        caching.FunctionCache(row_kernel.near_first.py_func)

    near_first = row_kernel.compiled(row_kernel.near_first.py_func)
    order, bounds = near_first(np.array([0.2, 0.5, 0.31, 0.5]), 0.3)
    assert order.tolist() == [1, 3, 2] and bounds.tolist() == [0.5, 0.5, 0.31]
    assert isinstance(near_first._cache, caching.NullCache)  # compiled in memory only
