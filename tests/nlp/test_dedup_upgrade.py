"""After an upgrade: the incidents stage restores members whose signatures the older hashing scheme stored
(bare MinHash values of sha1-hashed bigrams). They come back as they were sent, are no near-duplicate
target (their values mean nothing to the new scheme: no false pairs), and the stage goes on; members this
scheme stored are near-duplicate targets after a restart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from incidents.models import IncidentPost
from incidents.state import IncidentMemberState
from nlp.dedup import Signature
from tests.nlp.test_incidents import STORIES, enriched, feed, worker
from yuqing.db.session import Database
from yuqing.schemas import EnrichedPost


@pytest.fixture(scope="module")
def story_posts() -> list[EnrichedPost]:
    return sorted((enriched(s) for s in STORIES), key=lambda p: (p.published_at, p.id))


def as_the_older_scheme_stored(stored: bytes) -> bytes:
    sig = Signature.from_parts(stored, [], [])
    return b"".join(t.values.astype("<u4").tobytes() for t in (sig, sig.quoted) if t is not None)


def reposts(posts: list[EnrichedPost]) -> list[EnrichedPost]:
    """Each post reposted a minute after the last one, as a crawler reads a repost."""
    at = max(p.published_at for p in posts) + timedelta(minutes=1)
    return [
        p.model_copy(
            update={
                "id": f"{p.id}-rt",
                "title": "",
                "content": f"转发//@江湖夜雨:{p.text}",
                "published_at": at,
                "fetched_at": at,
            }
        )
        for p in posts
    ]


@pytest.mark.parametrize("scheme", ["older", "this"])
def test_members_stored_by_the_older_scheme_are_restored_and_match_nothing(
    db_engine: Engine, story_posts: list[EnrichedPost], scheme: str
) -> None:
    before = [p for p in story_posts[:20] if p.tags.relevant]
    first = {i.id: i for i in feed(worker(db_engine), before)}
    db = Database(db_engine)
    with db.transaction() as s:
        rows = list(s.scalars(select(IncidentMemberState)))
        for row in rows:
            if scheme == "older":
                row.minhash = as_the_older_scheme_stored(row.minhash)
        stored = {row.post_id: (row.minhash, row.numbers) for row in rows}
    restarted = worker(db_engine)
    assert first == {i.id: i for i in restarted.tracker.ranked()}  # restored as they were sent
    assert len(restarted.tracker.dedup) == (0 if scheme == "older" else len(rows))
    assert feed(restarted, reposts(before))  # the stage goes on
    with db.session() as s:
        links = {p.post_id: p.duplicate_of for p in s.scalars(select(IncidentPost))}
        kept = {r.post_id: (r.minhash, r.numbers) for r in s.scalars(select(IncidentMemberState))}
    on_restored = {post: dup for post, dup in links.items() if post.endswith("-rt") and dup in stored}
    if scheme == "older":
        assert on_restored == {}
    else:  # a repost is filed with its post (the first post of the chain its post belongs to)
        roots = {post: links[post] or post for post in stored}
        assert on_restored and all(
            dup == roots[post.removesuffix("-rt")] for post, dup in on_restored.items()
        )
    assert {k: v for k, v in kept.items() if k in stored} == stored  # stored back as they were
