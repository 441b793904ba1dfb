"""The reports as bytes, for the CLI, the API and the console alike."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from reports import incident_doc
from reports.incident import gather
from reports.render import render
from yuqing.storage import SearchStore


def incident_report(session: Session, store: SearchStore | None, incident_id: str, fmt: str, *,
                    now: datetime) -> bytes:
    """The 专报 / 复盘 of one incident (``IncidentNotFound`` for an unknown id)."""
    return render(incident_doc.build(gather(session, store, incident_id, now=now)), fmt)


def ledger_report(session: Session, *, date_from: str | None, date_to: str | None, department: str | None,
                  kind: str | None, fmt: str, now: datetime, console_url: str = "") -> tuple[bytes, str]:
    """台账 as XLSX or CSV and its file name; ``PeriodError`` / ``LedgerError`` (Chinese) for bad input."""
    from alerting.performance import parse_day, resolve_period
    from reports.ledger import (
        LEDGER_FORMATS,
        LedgerError,
        check_kind,
        ledger_rows,
        ledger_title,
        render_ledger,
    )

    if fmt not in LEDGER_FORMATS:
        raise LedgerError(f"不支持的格式“{fmt}”（可选 xlsx、csv）")
    period = resolve_period(parse_day(date_from, "开始日期"), parse_day(date_to, "结束日期"), now=now)
    kind = check_kind(kind)
    rows = ledger_rows(session, period, now=now, department=department or None, kind=kind,
                       console_url=console_url)
    title = ledger_title(period, department, kind)
    name = f"台账-{period.date_from.isoformat()}-{period.last_day.isoformat()}.{fmt}"
    return render_ledger(rows, fmt, title), name
