"""会商: a duty officer names the lead department of a case (牵头) and its 协办 departments.

The lead is the alert's department (it acts on the case and its clocks); each 协办 department sees the
case on its page and is told at the worker's next tick. Every change is one audit entry (``consult``);
an unknown department is refused with the case left as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting import escalation, reassign
from alerting.directory import Department, Directory
from alerting.models import Alert, AlertAssist
from alerting.read_models import AlertRead
from alerting.service import AlertNotFound, InvalidRequest, _read
from alerting.state import Action, require
from yuqing import audit

MAX_ASSISTING = 10


def _department(directory: Directory, department_id: str) -> Department:
    dept = directory.department(department_id.strip())
    if dept is None:
        raise InvalidRequest(f"部门目录中没有编号为 {department_id!r} 的部门，预警仍由原单位负责")
    return dept


def consult(
    session: Session,
    *,
    alert_id: int,
    lead_department_id: str | None,
    assisting: Sequence[str],
    reason: str,
    directory: Directory,
    actor: str,
    channel: audit.Channel,
    now: datetime,
) -> AlertRead:
    """Set the lead department (None: keep it) and the 协办 departments (the full list: a department left
    out is taken off the case)."""
    if reason is None or not reason.strip():
        raise InvalidRequest("a reason for the consultation (会商) is required")
    reason = reason.strip()
    if len(assisting) > MAX_ASSISTING:
        raise InvalidRequest(f"at most {MAX_ASSISTING} 协办 departments")
    lead = _department(directory, lead_department_id) if lead_department_id else None
    helpers = {d.id: d for d in (_department(directory, i) for i in assisting if i.strip())}
    alert = session.scalar(select(Alert).where(Alert.id == alert_id).with_for_update())
    if alert is None:
        raise AlertNotFound(alert_id)
    require(Action.REASSIGN, alert.status)
    if lead is not None:
        reassign.move(
            session, alert, lead, reason=f"会商：{reason}", action="reassign", actor=actor, channel=channel,
            now=now, details={"consult": True}, kind="consult",
        )
    helpers.pop(alert.department_id or "", None)  # the lead is not its own 协办
    query = select(AlertAssist).where(AlertAssist.alert_id == alert.id)
    rows = {r.department_id: r for r in session.scalars(query)}
    added, removed = [], []
    for dept in helpers.values():
        row = rows.get(dept.id)
        if row is None:
            session.add(AlertAssist(alert_id=alert.id, department_id=dept.id, department_name=dept.name,
                                    added_at=now, added_by=actor, reason=reason))
        elif row.removed_at is not None:
            row.removed_at, row.added_at, row.added_by, row.reason = None, now, actor, reason
        else:
            continue
        added.append(dept.id)
    for row in rows.values():
        if row.department_id not in helpers and row.removed_at is None:
            row.removed_at = now
            removed.append(row.department_id)
    alert.updated_at = now
    audit.record_alert(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action="consult",
        alert_id=alert.id,
        reason=reason,
        details={
            "lead": {"department_id": alert.department_id, "department_name": alert.department_name},
            "assisting": [{"department_id": d.id, "department_name": d.name} for d in helpers.values()],
            "added": added,
            "removed": removed,
        },
    )
    for department_id in added:
        escalation.notify_assisting(session, alert, department_id, now)
    return _read(session, alert, now)


def assisting_ids(session: Session, alert_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AlertAssist.department_id)
            .where(AlertAssist.alert_id == alert_id, AlertAssist.removed_at.is_(None))
            .order_by(AlertAssist.added_at, AlertAssist.id)
        )
    )
