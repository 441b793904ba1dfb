"""The one mapping between the incident's three forms: the wire message (``yuqing.schemas.Incident``), the
stored row (``incidents.models.IncidentRow``) and the API's view (``IncidentOut``).

Every field of the wire message has a column, so an incident read back from its row is the incident that
was written (``tests/incidents/test_mapping.py`` checks it field by field on SQLite and PostgreSQL). The
row adds what only the database knows: ``location_code`` (the first place's code, for filtering),
``merged_into`` (set by alerting's same-event merge; never written from a message) and ``updated_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from pydantic import BaseModel

from incidents.models import IncidentRow
from yuqing.schemas import Incident, Location, MessageReply, Severity, SeverityLevel


def row_values(incident: Incident, now: datetime) -> dict[str, Any]:
    """The row's columns for this incident (as an upsert writes them; ``merged_into`` is left alone)."""
    return {
        "id": incident.id,
        "title": incident.title,
        "keywords": list(incident.keywords),
        "first_seen": incident.first_seen,
        "last_seen": incident.last_seen,
        "category": incident.category,
        "department_type": incident.department_type,
        "severity": incident.severity.level,
        "severity_triggers": list(incident.severity.triggers),
        "locations": [loc.model_dump() for loc in incident.locations],
        "location_code": incident.locations[0].code if incident.locations else None,
        "post_count": incident.post_count,
        "source_count": incident.source_count,
        "heat": incident.heat,
        "burst": incident.burst,
        "negative_share": incident.negative_share,
        "anger_share": incident.anger_share,
        "fear_share": incident.fear_share,
        "post_ids": list(incident.post_ids),
        "source_ids": list(incident.source_ids),
        "kind": incident.kind,
        "version": incident.version,
        "updated_at": now,
        "reply": incident.reply.model_dump(mode="json") if incident.reply else None,
        "notes": list(incident.notes),
        "plan_ids": list(incident.plan_ids),
    }


def row_from_incident(incident: Incident, now: datetime) -> IncidentRow:
    """A new row holding the incident."""
    return IncidentRow(**row_values(incident, now))


def incident_from_row(row: IncidentRow) -> Incident:
    """The incident as stored: every field the message had."""
    return Incident(
        id=row.id,
        title=row.title,
        keywords=list(row.keywords or []),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        locations=[Location.model_validate(loc) for loc in row.locations or []],
        category=row.category,
        department_type=row.department_type,
        severity=Severity(
            level=cast(SeverityLevel | None, row.severity), triggers=list(row.severity_triggers or [])
        ),
        post_count=row.post_count,
        source_count=row.source_count,
        heat=row.heat,
        burst=row.burst,
        negative_share=row.negative_share,
        anger_share=row.anger_share,
        fear_share=row.fear_share or 0.0,
        post_ids=list(row.post_ids or []),
        source_ids=list(row.source_ids or []),
        kind=row.kind,
        version=row.version,
        reply=MessageReply.model_validate(row.reply) if row.reply else None,
        notes=list(row.notes or []),
        plan_ids=list(row.plan_ids or []),
    )


class IncidentOut(BaseModel):
    """An incident as the API and the console show it: every field of the message (the severity as its
    level and triggers) and ``merged_into``."""

    id: str
    title: str
    keywords: list[str]
    first_seen: datetime
    last_seen: datetime
    category: str | None
    department_type: str | None = None
    severity: str | None
    severity_triggers: list[str]
    locations: list[dict[str, Any]]
    post_count: int
    source_count: int
    heat: float
    burst: float
    negative_share: float
    anger_share: float = 0.0
    fear_share: float = 0.0
    post_ids: list[str] = []
    source_ids: list[str] = []
    kind: str
    version: int = 1
    reply: dict[str, Any] | None = None
    notes: list[str] = []
    plan_ids: list[int] = []
    merged_into: str | None

    @classmethod
    def of(cls, row: IncidentRow) -> IncidentOut:
        return view_of(row)


def view_of(row: IncidentRow) -> IncidentOut:
    """The API's view of a stored incident."""
    return IncidentOut.model_validate(
        {k: getattr(row, k) for k in IncidentOut.model_fields}
        | {
            "fear_share": row.fear_share or 0.0,
            "post_ids": list(row.post_ids or []),
            "source_ids": list(row.source_ids or []),
            "notes": list(row.notes or []),
            "plan_ids": list(row.plan_ids or []),
        }
    )
