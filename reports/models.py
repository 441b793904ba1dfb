"""Tables of the reports domain (on yuqing.db.base.Base).

incident_reviews   复盘: what went wrong (问题) and what is changed (整改措施), one per incident; every save
                   is also in the audit log
generated_reports  日报 / 周报 generated once per period and format (unique ``kind, period, fmt``)
report_deliveries  each stored report sent to a leaders' channel, once (unique per report and target)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yuqing.db.base import Base, UTCDateTime

_BigId = BigInteger().with_variant(Integer, "sqlite")


class IncidentReview(Base):
    __tablename__ = "incident_reviews"

    incident_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    problems: Mapped[str] = mapped_column(Text, doc="问题")
    measures: Mapped[str] = mapped_column(Text, doc="整改措施")
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GeneratedReport(Base):
    __tablename__ = "generated_reports"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), doc="daily | weekly")
    period: Mapped[str] = mapped_column(String(16), doc="2026-12-04 | 2026-W49")
    fmt: Mapped[str] = mapped_column(String(8), doc="pdf | docx | html")
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (UniqueConstraint("kind", "period", "fmt", name="uq_generated_reports_period"),)


class ReportDelivery(Base):
    """One stored report sent to one channel: unique per (report, channel, address), so a scheduled run
    that repeats sends nothing twice; a failed attempt is retried by the next run, up to a limit."""

    __tablename__ = "report_deliveries"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("generated_reports.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(200), default="", doc="e-mail address; empty for robots")
    status: Mapped[str] = mapped_column(String(8), doc="sent | retry | failed")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="per-minute budget")

    __table_args__ = (
        UniqueConstraint("report_id", "channel", "address", name="uq_report_deliveries_target"),
    )
