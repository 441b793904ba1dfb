"""Core relational state shared across stages: officers' label corrections, the append-only audit log and
operational alerts.

Domain tables live beside their domain (incidents.models, alerting.models, api.models, crawlers.models) on
the same Base;
``yuqing.db.registry`` imports them all so migrations and ``create_all`` see one metadata.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yuqing.db.base import Base, JSONType, UTCDateTime


class LabelCorrection(Base):
    """An officer's correction of a post's labels; the next `yuqing nlp train` includes it."""

    __tablename__ = "label_corrections"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    post_id: Mapped[str] = mapped_column(String(40), index=True)
    text: Mapped[str] = mapped_column(Text)
    task: Mapped[str] = mapped_column(String(20), doc="relevance | category | sentiment | emotion")
    label: Mapped[str] = mapped_column(String(40))
    previous: Mapped[str | None] = mapped_column(String(40))
    user: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditLog(Base):
    """Append-only: who did what, when, from where and why. Never updated or deleted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(80), doc="user name, or system:<stage>")
    channel: Mapped[str] = mapped_column(String(16), doc="console | api | chat | system | cli")
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(60), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class OperationalAlert(Base):
    """A problem with the system itself (a silent or failing source …), open until it clears.

    ``open_key`` is ``kind:subject`` while open and NULL once resolved, so one problem is open once."""

    __tablename__ = "operational_alerts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), doc="source_silent | source_failing")
    subject: Mapped[str] = mapped_column(String(120), doc="what it is about, e.g. a source id")
    open_key: Mapped[str | None] = mapped_column(String(170), unique=True)
    detail: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
