"""Tables of the crawlers: what each source has already emitted (incremental crawling), the source's
scheduling/replay state, one row per crawl run, and the problems met (source health)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yuqing.db.base import Base, JSONType, UTCDateTime


class CrawlSeen(Base):
    """A post a source has emitted: its canonical URL, content fingerprint and last emitted counts."""

    __tablename__ = "crawl_seen"

    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    post_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(40))
    counts: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_emitted: Mapped[datetime] = mapped_column(UTCDateTime)
    updates: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_crawl_seen_source_fingerprint", "source_id", "fingerprint"),)


class CrawlSourceState(Base):
    """Per source: what it is, when it last ran, last succeeded and last yielded; replay start."""

    __tablename__ = "crawl_sources"

    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="news")
    type: Mapped[str] = mapped_column(String(16), default="rss")
    silent_after_s: Mapped[int] = mapped_column(Integer, default=6 * 3600)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_item_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    items_total: Mapped[int] = mapped_column(Integer, default=0)
    replay_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replay_position: Mapped[int] = mapped_column(Integer, default=0)


class CrawlRun(Base):
    """One crawl of one source: pages fetched, items found, new and updated posts emitted, errors by kind."""

    __tablename__ = "crawl_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    items_found: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    items_updated: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)


class CrawlProblem(Base):
    """One problem met while crawling a source, with its kind and reason (recent ones shown in health)."""

    __tablename__ = "crawl_problems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_crawl_problems_source_at", "source_id", "at"),)
