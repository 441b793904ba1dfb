"""Candidate search leaves out the incidents that share only a post's lightest terms with it (they cannot
reach the threshold whatever boosts they get): on 6,000 real Weibo posts, tagged by the shipped model,
every post goes where it goes when every incident sharing a term is scored, and every incident sent is
the same."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from incidents.clustering import IncidentTracker
from nlp.enrich import Enricher
from yuqing.schemas import EnrichedPost, RawPost

WEIBO = Path(__file__).resolve().parents[3] / "shared" / "data" / "weibo_sentiment" / "train.tsv"
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
REGIONS = ("320100", "350102", "110105", None)


@pytest.fixture(scope="module")
def posts() -> list[EnrichedPost]:
    if not WEIBO.exists():
        pytest.fail(f"needs the shared data at {WEIBO}")
    with WEIBO.open(encoding="utf-8", newline="") as fh:
        texts = [r[1] for r in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if len(r) >= 2][1:]
    chosen = random.Random(16).sample(texts, 6000)
    raw = [
        RawPost(
            id=f"w{i}",
            source_id="weibo",
            source_kind="social",
            url=f"https://weibo.example/{i}",
            content=text,
            published_at=T0 + timedelta(seconds=5 * i),
            fetched_at=T0 + timedelta(seconds=5 * i + 60),
            region=REGIONS[i % len(REGIONS)],
        )
        for i, text in enumerate(chosen)
    ]
    return Enricher.load().enrich_many(raw)


def run(posts: list[EnrichedPost], tracker: IncidentTracker) -> tuple[list[Any], list[Any]]:
    placed, sent = [], []
    for post in posts:
        change = tracker.add(post)
        placed.append((change.incident.id, change.member.duplicate_of) if change else None)
        if change is not None:
            sent.append(change.incident.model_dump())
    return placed, sent


def test_leaving_out_the_lightest_terms_changes_no_decision(
    posts: list[EnrichedPost], monkeypatch: pytest.MonkeyPatch
) -> None:
    pruned = IncidentTracker()
    searched = pruned._searched
    left_out = []

    def counting(member: Any, post_vec: dict[str, float], post_norm: float) -> list[str]:
        terms = searched(member, post_vec, post_norm)
        left_out.append(len([t for t in post_vec if t in pruned._postings]) - len(terms))
        return terms

    monkeypatch.setattr(pruned, "_searched", counting)
    full = IncidentTracker()
    monkeypatch.setattr(full, "_searched", lambda member, post_vec, post_norm: list(post_vec))

    got, got_sent = run(posts, pruned)
    want, want_sent = run(posts, full)
    assert got == want
    assert got_sent == want_sent
    joined = [p for post, p in zip(posts, got, strict=True) if p and p[0] != f"inc-{post.id}"]
    assert len(joined) > 100  # posts that joined an incident another post opened
    assert sum(n > 0 for n in left_out) > len(left_out) // 4  # light terms were left out, often
