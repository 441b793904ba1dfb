"""Heat: how much attention a post or an incident has, as one number for ranking.

Every count enters through ``ln(1 + x)``, so the tenth thousand reposts adds less than the first ten;
the factors multiply so that a weak source or a calm mood damps the volume instead of adding to it:

    engagement = 0.5·ln(1 + reposts) + 0.4·ln(1 + comments + replies) + 0.2·ln(1 + likes)
    post heat  = 10 · (1 + engagement) · source_weight · (1 + negative)          negative ∈ {0, 1}
    volume     = ln(1 + posts) + 0.5·ln(1 + sources)
    growth     = 1 + 0.3·ln(1 + burst)                                            burst ≥ 0
    incident   = 10 · (volume + engagement of the summed counts) · source_weight · growth
                 · (1 + negative_share)

``source_weight`` of an incident is the largest weight among its sources (one national outlet makes a
story national). Each formula is non-decreasing in every input (tests/nlp/test_heat.py checks it).
"""

from __future__ import annotations

import math

from yuqing.schemas import Counts

MAX_SOURCE_WEIGHT = 10.0


def engagement(counts: Counts) -> float:
    return (
        0.5 * math.log1p(max(0, counts.repost))
        + 0.4 * math.log1p(max(0, counts.comment) + max(0, counts.reply))
        + 0.2 * math.log1p(max(0, counts.like))
    )


def _weight(source_weight: float) -> float:
    return min(max(source_weight, 0.0), MAX_SOURCE_WEIGHT)


def post_heat(counts: Counts, source_weight: float = 1.0, negative: bool = False) -> float:
    return round(10 * (1 + engagement(counts)) * _weight(source_weight) * (2 if negative else 1), 3)


def incident_heat(
    posts: int,
    sources: int,
    counts: Counts,
    source_weight: float = 1.0,
    burst: float = 0.0,
    negative_share: float = 0.0,
) -> float:
    volume = math.log1p(max(0, posts)) + 0.5 * math.log1p(max(0, sources))
    growth = 1 + 0.3 * math.log1p(max(0.0, burst))
    mood = 1 + min(max(negative_share, 0.0), 1.0)
    return round(10 * (volume + engagement(counts)) * _weight(source_weight) * growth * mood, 3)
