"""Stored posts made from real messages (../shared/data), as the nlp stage would have indexed them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from nlp.tokenize import segment
from yuqing.clock import CN_TZ
from yuqing.schemas import EnrichedPost, Location, Tags
from yuqing.storage import SearchStore, open_store

GOV = Path("/work/shared/data/gov_messages/dev_raw.tsv")
KINDS = ("news", "gov", "forum", "social")


def real_texts(limit: int = 300) -> list[str]:
    path = GOV
    if not path.is_file():
        path = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gov_messages" / "dev_raw.tsv"
    if not path.is_file():
        pytest.skip("../shared/data/gov_messages/dev_raw.tsv is not here", allow_module_level=True)
    return [line.split("\t", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()[1:limit + 1]]


def real_posts(limit: int = 300) -> list[EnrichedPost]:
    start = datetime(2025, 5, 1, 8, tzinfo=CN_TZ)
    posts = []
    for i, text in enumerate(real_texts(limit)):
        title, content = text[:20], text[20:]
        when = start + timedelta(minutes=7 * i)
        codes = ["410727"] if i % 5 == 0 else (["430100"] if i % 5 == 1 else [])
        posts.append(EnrichedPost(
            id=f"m{i:04d}", source_id=f"src-{i % 3}", source_kind=KINDS[i % 4], url=f"https://example.cn/{i}",
            title=title, content=content, published_at=when, fetched_at=when,
            tokens=segment(f"{title}\n{content}"),
            tags=Tags(locations=[Location(name=c, code=c) for c in codes]),
        ))
    return posts


@pytest.fixture(scope="module")
def posts() -> list[EnrichedPost]:
    return real_posts()


@pytest.fixture
def sqlite_store(tmp_path: Path, posts: list[EnrichedPost]) -> Iterator[SearchStore]:
    store = open_store(f"sqlite:///{tmp_path / 'search.sqlite3'}")
    store.ensure_schema()
    store.index(posts)
    yield store
    store.close()
