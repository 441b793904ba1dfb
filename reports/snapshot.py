"""Today's 日报 so far, stored so the console's 报告 page lists it: one snapshot per day, labelled
截至 HH:MM (Beijing time) in its title and its text, replaced by the next snapshot. Its period key is
``2026-12-04@1405``, so it never takes the place of the day's real 日报 (stored once the day has ended)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reports.models import GeneratedReport, ReportDelivery
from reports.periodic import daily_period, render_period
from yuqing.clock import CN_TZ

SNAPSHOT_MARK = "@"


def store_today_snapshot(session: Session, fmt: str, *, now: datetime, actor: str) -> GeneratedReport:
    """Store today's 日报 as of ``now`` (the same minute twice: the first is kept) and drop the earlier
    snapshots that were never sent."""
    local = now.astimezone(CN_TZ)
    rp = daily_period(local.date().isoformat())
    key = f"{rp.key}{SNAPSHOT_MARK}{local:%H%M}"
    existing = session.scalar(select(GeneratedReport).where(
        GeneratedReport.kind == "daily", GeneratedReport.period == key, GeneratedReport.fmt == fmt))
    if existing is not None:
        return existing
    data, _complete = render_period(session, rp, fmt, now=now)
    title = f"{rp.title[:-1]}，截至 {local:%H:%M}）"
    sent = select(ReportDelivery.report_id)
    session.execute(delete(GeneratedReport).where(
        GeneratedReport.kind == "daily", GeneratedReport.fmt == fmt,
        GeneratedReport.period.like(f"%{SNAPSHOT_MARK}%"), GeneratedReport.id.not_in(sent),
    ))
    row = GeneratedReport(kind="daily", period=key, fmt=fmt, title=title, content=data, size=len(data),
                          created_at=now, created_by=actor)
    session.add(row)
    session.flush()
    return row


def is_snapshot(period: str) -> bool:
    return SNAPSHOT_MARK in period
