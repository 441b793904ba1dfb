"""复盘: the analyst's 问题 and 整改措施 for an incident, stored once per incident; every save is also an
entry in the audit log (object ``incident``), with the previous text."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from incidents.models import IncidentRow
from reports.incident import IncidentNotFound
from reports.models import IncidentReview
from yuqing import audit

MAX_CHARS = 5000


class ReviewRefused(ValueError):
    """Missing or too long text: the reason is in Chinese, for the console and the API."""


def _clean(text: str | None, what: str) -> str:
    text = (text or "").replace("\x00", "").strip()
    if not text:
        raise ReviewRefused(f"请填写{what}")
    if len(text) > MAX_CHARS:
        raise ReviewRefused(f"{what}不能超过 {MAX_CHARS} 字")
    return text


def save_review(session: Session, incident_id: str, *, problems: str | None, measures: str | None, actor: str,
                channel: audit.Channel, now: datetime) -> IncidentReview:
    if session.get(IncidentRow, incident_id) is None:
        raise IncidentNotFound(incident_id)
    problems, measures = _clean(problems, "存在问题"), _clean(measures, "整改措施")
    row = session.get(IncidentReview, incident_id)
    previous = None
    if row is None:
        row = IncidentReview(incident_id=incident_id, problems=problems, measures=measures, updated_by=actor,
                             updated_at=now)
        session.add(row)
    else:
        previous = {"problems": row.problems, "measures": row.measures, "by": row.updated_by}
        row.problems, row.measures, row.updated_by, row.updated_at = problems, measures, actor, now
    audit.record(session, at=now, actor=actor, channel=channel, action="review_saved", object_type="incident",
                 object_id=incident_id, reason=None,
                 details={"problems": problems, "measures": measures, "previous": previous})
    session.flush()
    return row
