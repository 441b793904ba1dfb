"""Incremental crawling: decide whether an extracted item is new, an update (counts or text changed) or
already emitted, against the ``crawl_seen`` table. The caller commits after the posts are flushed."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawlers.config import Source
from crawlers.extract import canonical_url
from crawlers.items import CrawledItem
from crawlers.models import CrawlSeen
from yuqing.schemas import RawPost, post_id_for

Verdict = Literal["new", "update", "seen", "duplicate"]
_WS = re.compile(r"\s+")


def fingerprint(item: CrawledItem) -> str:
    """Hash of the whitespace-normalised title and content: the same text under another URL is a duplicate."""
    text = _WS.sub(" ", f"{item.title}\n{item.content}").strip()
    if item.reply is not None:  # a 留言 whose official reply appeared has changed: emitted again
        # (its time is left out: a relative time such as 3分钟前 reads differently on every crawl)
        text += _WS.sub(" ", f"\x00reply\x00{item.reply.department or ''}\x00{item.reply.text}")
    return hashlib.sha1(text.encode()).hexdigest()


def decide(
    session: Session, source: Source, item: CrawledItem, now: datetime
) -> tuple[Verdict, RawPost | None]:
    """The verdict, and the post to emit for ``new`` and ``update``; records the item in the session."""
    canonical = canonical_url(item.url)
    post_id = post_id_for(source.id, canonical)
    fp = fingerprint(item)
    counts = item.counts.model_dump()
    row = session.get(CrawlSeen, (source.id, post_id))
    if row is None:
        duplicate = session.scalar(
            select(CrawlSeen.url)
            .where(CrawlSeen.source_id == source.id, CrawlSeen.fingerprint == fp)
            .limit(1)
        )
        if duplicate is not None:
            return "duplicate", None
        post = _post(source, item, post_id, fp, now, is_update=False)  # before the state: a bad item
        session.add(  # that cannot become a post leaves nothing marked as emitted
            CrawlSeen(
                source_id=source.id,
                post_id=post_id,
                url=canonical,
                fingerprint=fp,
                counts=counts,
                first_seen=now,
                last_emitted=now,
                updates=0,
            )
        )
        return "new", post
    if row.counts == counts and row.fingerprint == fp:
        return "seen", None
    post = _post(source, item, post_id, fp, now, is_update=True)
    row.counts = counts
    row.fingerprint = fp
    row.last_emitted = now
    row.updates += 1
    return "update", post


def _post(
    source: Source, item: CrawledItem, post_id: str, fp: str, now: datetime, *, is_update: bool
) -> RawPost:
    return RawPost(
        id=post_id,
        source_id=source.id,
        source_kind=source.kind,
        source_weight=source.weight,
        region=source.region,
        url=item.url,
        title=item.title,
        content=item.content,
        author=item.author,
        published_at=item.published_at,
        fetched_at=now,
        counts=item.counts,
        is_update=is_update,
        fingerprint=fp,
        item_kind=source.item_kind,
        reply=item.reply,
    )
