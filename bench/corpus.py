"""Real posts for the benchmarks: a fixed mix from the shared labelled sets (Weibo posts, news titles,
citizen messages), made into RawPosts as the crawler emits them, two in three with a source region."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime
from pathlib import Path

from yuqing.schemas import RawPost

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = (
    "weibo_emotion/train.tsv",
    "weibo_sentiment/train.tsv",
    "news_titles/train.tsv",
    "gov_messages/dev_raw.tsv",
)
REGIONS = ("320100", "350102", "110105", "510107", None, None)


def texts(sources: tuple[str, ...] = SOURCES) -> list[str]:
    """The text column of every row of ``sources`` (files under ../shared/data), in file order."""
    found: list[str] = []
    for name in sources:
        with (SHARED / name).open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        found.extend(r[1] for r in rows if len(r) >= 2)
    return found


def raw_posts(n: int, seed: int = 7, at: datetime | None = None) -> list[RawPost]:
    """``n`` posts (at most one per row of the sets), drawn with ``seed``; fetched at ``at``."""
    pool = texts()
    rng = random.Random(seed)
    at = at or datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    return [
        RawPost(
            id=f"bench-{i}",
            source_id="bench",
            source_kind="social",
            url=f"https://example.cn/{i}",
            content=text,
            fetched_at=at,
            region=REGIONS[i % len(REGIONS)],
        )
        for i, text in enumerate(rng.sample(pool, min(n, len(pool))))
    ]
