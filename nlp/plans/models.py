"""The ``monitor_plans`` table: one row per 监测方案 (name, expression, owners, channels, paused)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from yuqing.db.base import Base, JSONType, UTCDateTime


class PlanRow(Base):
    __tablename__ = "monitor_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    expression: Mapped[str] = mapped_column(Text)
    owner_users: Mapped[list[str]] = mapped_column(JSONType, default=list)
    owner_departments: Mapped[list[str]] = mapped_column(JSONType, default=list)
    channels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    backfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="when the back-fill ended")
    backfill_hits: Mapped[int] = mapped_column(Integer, default=0, doc="stored posts the back-fill matched")
