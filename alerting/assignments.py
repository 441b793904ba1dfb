"""The reassignment record: one ``alert_assignments`` row each time an alert's lead department changes.

Every path that moves an alert writes here — 转派 (``service.reassign``), 退回值班室 (the same call with
kind ``return``), the lead of a 会商 and the rules' move (``reassign.move``) — beside its audit entry, so
考核 (``alerting.performance``) counts reassignments from a table instead of from audit-log JSON.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from alerting.models import Alert, AlertAssignment
from yuqing.domain import ASSIGNMENT_KINDS

ASSESSED_KINDS = tuple(k for k in ASSIGNMENT_KINDS if k != "rules")  # a person's move, counted by 考核


def record(
    session: Session,
    alert: Alert,
    *,
    from_id: str | None,
    from_name: str | None,
    kind: str,
    actor: str,
    reason: str,
    at: datetime,
) -> AlertAssignment:
    """Note that ``alert`` (already moved) came from ``from_id``; ``kind`` is one of ASSIGNMENT_KINDS."""
    if kind not in ASSIGNMENT_KINDS:
        raise ValueError(f"unknown reassignment kind {kind!r}")
    row = AlertAssignment(
        alert_id=alert.id,
        at=at,
        from_department_id=from_id,
        from_department_name=from_name,
        to_department_id=alert.department_id or "",
        to_department_name=alert.department_name,
        kind=kind,
        actor=actor,
        reason=reason,
    )
    session.add(row)
    return row
