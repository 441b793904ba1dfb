"""Re-segment every post a search store holds with today's segmenter and write it back.

Posts indexed before the switch to jieba-rs (``yuqing.text``) carry the Python jieba's tokens; where the
two disagree (mostly runs of letters, digits and ``.-_``: ``t.cn``, ``0731-88888888``, ``2015-8-31``) a
new query would miss them. ``yuqing search-reindex`` (run once after upgrading, or any time: it is
idempotent) walks the store through its public search API, newest first, recomputes each post's tokens
exactly as the nlp stage does (``segment(clean_text(post.text))``) and indexes it again under the same
id and fetch time, which both stores treat as a replacement. Nothing else of the post changes.

The walk pages by time: a window of at most ``MAX_OFFSET`` hits (the query's offset limit), then a new
window ending just after the oldest time seen, skipping the ids already done at that time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from yuqing.schemas import EnrichedPost, stored_posted_at
from yuqing.storage.base import SearchQuery, SearchStore
from yuqing.text import DEFAULT_CAP, clean_text, segment

PAGE = 500
MAX_OFFSET = 10_000
_TIE = timedelta(milliseconds=1)


def retokenized(post: dict[str, Any]) -> EnrichedPost:
    """The stored post with the tokens the nlp stage would give it today."""
    enriched = EnrichedPost.model_validate(post)
    enriched.tokens = segment(clean_text(enriched.text, DEFAULT_CAP)[0])
    return enriched


def _time(post: dict[str, Any]) -> datetime:
    return stored_posted_at(post)  # the time the store files it under: the cursor follows it


def stored_posts(store: SearchStore, page: int = PAGE) -> Iterator[dict[str, Any]]:
    """Every post in the store once, newest first (by the stores' own time order)."""
    end: datetime | None = None
    done: list[tuple[datetime, str]] = []  # posts already yielded that the next window still covers
    while True:
        skip = {ident for _, ident in done}
        seen = list(done)
        fresh = 0
        for offset in range(0, MAX_OFFSET, page):
            hits = store.search(SearchQuery(sort="time", size=page, offset=offset, end=end)).hits
            for hit in hits:
                post = hit.post
                seen.append((_time(post), post["id"]))
                if post["id"] in skip:
                    continue
                fresh += 1
                yield post
            if len(hits) < page:
                return
        if not fresh:  # more than MAX_OFFSET posts within one tie span: cannot page further
            return
        end = min(at for at, _ in seen) + _TIE
        done = [(at, ident) for at, ident in seen if at < end]


def reindex(
    store: SearchStore, *, batch: int = PAGE, progress: Callable[[int], None] | None = None
) -> int:
    """Re-segment and re-index every stored post; ``progress(n)`` after each batch of n. Returns the
    number of posts written."""
    written = 0
    pending: list[EnrichedPost] = []

    def flush() -> None:
        nonlocal written
        if pending:
            store.index(pending)
            written += len(pending)
            if progress is not None:
                progress(len(pending))
            pending.clear()

    for post in stored_posts(store):
        pending.append(retokenized(post))
        if len(pending) >= batch:
            flush()
    flush()
    return written


def total(store: SearchStore) -> int:
    return store.search(SearchQuery(size=0)).total
