"""Operational alerts: problems of the system itself, opened when seen and resolved when they clear.

A stage calls ``sync`` with every problem of one kind it sees now; problems no longer seen are resolved.
Each opening and resolution goes to the audit log."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from yuqing.audit import record
from yuqing.db.models import OperationalAlert


def sync(
    session: Session,
    *,
    kind: str,
    problems: Mapping[str, str],
    checked: Collection[str],
    now: datetime,
    actor: str,
) -> list[str]:
    """``problems`` maps subject → detail for every current problem of ``kind`` among the ``checked``
    subjects; open alerts of checked subjects with no problem now are resolved. Returns opened subjects."""
    open_rows = {
        row.subject: row
        for row in session.scalars(
            select(OperationalAlert).where(
                OperationalAlert.kind == kind, OperationalAlert.resolved_at.is_(None)
            )
        )
    }
    opened: list[str] = []
    for subject, detail in problems.items():
        row = open_rows.get(subject)
        if row is not None:
            row.last_seen_at, row.detail = now, detail
            continue
        session.add(OperationalAlert(kind=kind, subject=subject, open_key=f"{kind}:{subject}", detail=detail,
                                     opened_at=now, last_seen_at=now))
        record(session, at=now, actor=actor, channel="system", action="ops_alert_opened",
               object_type="operational_alert", object_id=f"{kind}:{subject}", reason=detail)
        opened.append(subject)
    for subject, row in open_rows.items():
        if subject in checked and subject not in problems:
            row.resolved_at, row.open_key = now, None
            record(session, at=now, actor=actor, channel="system", action="ops_alert_resolved",
                   object_type="operational_alert", object_id=f"{kind}:{subject}")
    return opened


def open_alerts(session: Session) -> list[OperationalAlert]:
    return list(
        session.scalars(
            select(OperationalAlert)
            .where(OperationalAlert.resolved_at.is_(None))
            .order_by(OperationalAlert.opened_at.desc())
        )
    )
