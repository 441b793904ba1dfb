"""The incident tables: each incident as the incidents stage last sent it (``IncidentRow``; ``merged_into``
is set by alerting's same-event merge) and which posts belong to which incident (``IncidentPost``).
The stage's clustering state is ``incidents.state``; conversions to and from the wire schema are in
``incidents.mapping``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yuqing.db.base import Base, JSONType, UTCDateTime


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    category: Mapped[str | None] = mapped_column(String(40))
    department_type: Mapped[str | None] = mapped_column(String(60))
    severity: Mapped[str | None] = mapped_column(String(8))
    severity_triggers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    locations: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    location_code: Mapped[str | None] = mapped_column(String(12), index=True)
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    source_count: Mapped[int] = mapped_column(Integer, default=0)
    heat: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    burst: Mapped[float] = mapped_column(Float, default=0.0)
    negative_share: Mapped[float] = mapped_column(Float, default=0.0)
    anger_share: Mapped[float] = mapped_column(Float, default=0.0)
    kind: Mapped[str] = mapped_column(String(16), default="opinion")
    version: Mapped[int] = mapped_column(Integer, default=1)
    merged_into: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reply: Mapped[dict[str, Any] | None] = mapped_column(
        JSONType, default=None, doc="a 留言 incident: the official reply its board shows (MessageReply)"
    )
    fear_share: Mapped[float] = mapped_column(Float, default=0.0)
    post_ids: Mapped[list[str]] = mapped_column(JSONType, default=list, doc="latest posts (bounded)")
    source_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    notes: Mapped[list[str]] = mapped_column(JSONType, default=list, doc="problems of its input")
    plan_ids: Mapped[list[int]] = mapped_column(JSONType, default=list, doc="监测方案 its posts match")


class IncidentPost(Base):
    __tablename__ = "incident_posts"

    incident_id: Mapped[str] = mapped_column(String(40), ForeignKey("incidents.id"), primary_key=True)
    post_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duplicate_of: Mapped[str | None] = mapped_column(String(40), doc="near-duplicate of this post id")

    __table_args__ = (Index("ix_incident_posts_post_id", "post_id"),)
