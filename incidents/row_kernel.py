"""The one compiled loop of candidate search (numba): every candidate row's cosine with a post and the
most it can score with the boosts it could get, in one pass over the rows' selection terms, with no
temporary arrays (``incidents.vectors.Rows.bounds`` calls it; numpy took a dozen passes and calls).

Compiled on first use and cached on disk (next to this file, else in the user's cache directory, or in
``NUMBA_CACHE_DIR``); where no cache directory is writable, compiled at each start instead (about a
second), with a warning.
The arithmetic is IEEE double without fast-math, term by term in row order; the tracker scores again
exactly, one incident at a time, whatever comes within rounding of a decision.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

log = logging.getLogger(__name__)


def compiled(function: Callable[..., Any]) -> Any:
    """``function`` compiled by numba, cached on disk when a cache directory is writable."""
    try:
        return njit(cache=True)(function)
    except RuntimeError as exc:  # numba: "cannot cache function …: no locator available"
        log.warning("incidents: %s; compiling %s at each start", exc, function.__name__)
        return njit(function)


@compiled
def row_bounds(
    rows: np.ndarray,
    sel_ids: np.ndarray,
    sel_w: np.ndarray,
    logdf: np.ndarray,
    scratch: np.ndarray,
    post_ids: np.ndarray,
    post_w: np.ndarray,
    idf_base: float,
    post_norm: float,
    open_to_posts: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    earliest: int,
    latest: int,
    located_boost: float,
    placed: np.ndarray,
    event_boost: float,
    eventful: np.ndarray,
    category_code: int,
    category: np.ndarray,
    category_boost: float,
) -> np.ndarray:
    """For each of ``rows``: ``-inf`` when no post may join it now (closed to posts, or its last post
    before ``earliest`` or its first after ``latest``), else the cosine of the post (``post_ids`` and
    their TF-IDF ``post_w``, norm ``post_norm``) with the row's selection under the IDF factor
    ``idf_base - logdf`` (``idf_base`` = log(1 + docs) + 1), plus ``located_boost`` (and ``event_boost``
    for a row with kinds of emergency) when the row has places, plus ``category_boost`` when its category
    code is ``category_code``. ``scratch`` is all zeros, as long as ``logdf``, and is left so."""
    for k in range(post_ids.shape[0]):
        scratch[post_ids[k]] = post_w[k]
    out = np.empty(rows.shape[0])
    width = sel_ids.shape[1]
    for k in range(rows.shape[0]):
        r = rows[k]
        if not open_to_posts[r] or last[r] < earliest or first[r] > latest:
            out[k] = -math.inf
            continue
        dot = 0.0
        norm = 0.0
        for j in range(width):
            w = sel_w[r, j]
            if w == 0.0:  # padding (a kept weight is over 1e-9)
                continue
            t = sel_ids[r, j]
            v = (idf_base - logdf[t]) * w
            norm += v * v
            dot += v * scratch[t]
        bound = dot / (post_norm * math.sqrt(norm)) if norm > 0.0 else 0.0
        if located_boost != 0.0 and placed[r]:
            bound += located_boost + event_boost if eventful[r] else located_boost
        if category_code >= 0 and category[r] == category_code:
            bound += category_boost
        out[k] = bound
    for k in range(post_ids.shape[0]):
        scratch[post_ids[k]] = 0.0
    return out


@compiled
def near_first(bounds: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the bounds at least ``floor``, highest first (equal bounds in position order),
    and those bounds."""
    near = np.flatnonzero(bounds >= floor)
    order = near[np.argsort(-bounds[near], kind="mergesort")]
    return order, bounds[order]
