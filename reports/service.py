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
