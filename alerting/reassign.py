"""Assignment by the rules, again whenever they may answer differently (属地管理、分级负责、谁主管谁负责).

``rule_assignment`` is the department the rules give an incident at an alert level: the directory's
属地 and category rules (``alerting.directory``), the emergency's own department type when its severity
words name one (应急管理局 for an explosion), and the lowest administrative level that answers for the
level (``alerting/config/assignment.yaml``: a 重大 event in a county is the city's).

``follow_rules`` runs it again when the alert's level or category changed: when the answer is another
department the alert moves there (``move``), the reason is recorded in the audit log and on the alert, both
departments are told, and the open clocks keep their start and due times. A department chosen by a person
(转派) stays on a category change; a level rise applies the rules again (分级负责).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting import assignments, escalation
from alerting.directory import AdminLevel, Assignment, Department, Directory
from alerting.models import Alert
from alerting.state import FINAL
from nlp.severity import emergency_words, responsible_type
from yuqing import audit
from yuqing.db.models import AuditLog
from yuqing.safe_input import ConfigFileError, describe_validation_error, load_yaml_file
from yuqing.schemas import SEVERITY_ORDER, Incident, severity_rank

RULES_FILE = Path(__file__).resolve().parent / "config" / "assignment.yaml"
SYSTEM = escalation.SYSTEM
RULES_ACTION = "reassigned_by_rules"  # the audit-log action of a move by the rules (yuqing.domain label)
MANUAL_ACTIONS = ("reassign", "consult")  # a person chose the lead department


class AssignmentRulesError(ValueError):
    """assignment.yaml is wrong; the message names the file and the field."""


class AssignmentRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: dict[str, AdminLevel] = {}
    emergency_department_from: str | None = "一般"

    def min_level(self, level: str | None) -> AdminLevel | None:
        return self.levels.get(level) if level else None

    def emergency_applies(self, level: str | None) -> bool:
        start = self.emergency_department_from
        return start is not None and severity_rank(level) >= severity_rank(start)


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> AssignmentRules:
    """The assignment rules; defaults (no level rule, emergencies by their type) when the file is absent."""
    if not path.exists():
        return AssignmentRules()
    try:
        raw = load_yaml_file(path, what="assignment rules")
        rules = AssignmentRules.model_validate(raw or {})
    except ConfigFileError as exc:
        raise AssignmentRulesError(str(exc)) from None
    except ValidationError as exc:
        raise AssignmentRulesError(f"{path}: {describe_validation_error(exc)}") from None
    named = [*rules.levels, rules.emergency_department_from]
    unknown = [lv for lv in named if lv and lv not in SEVERITY_ORDER]
    if unknown:
        raise AssignmentRulesError(
            f"{path}: unknown level {unknown[0]!r} (one of {', '.join(SEVERITY_ORDER)})"
        )
    return rules


def rule_assignment(
    directory: Directory, incident: Incident, level: str | None, rules: AssignmentRules | None = None
) -> Assignment:
    """The department the rules give ``incident`` at alert ``level``, with the reason."""
    rules = rules or load_rules()
    department_type = incident.department_type
    emergency = responsible_type(incident.severity) if rules.emergency_applies(level) else None
    if emergency:
        department_type = emergency
    assignment = directory.assign(
        category=incident.category,
        department_type=department_type,
        locations=incident.locations,
        min_level=rules.min_level(level),
        why_level=f"{level}级别" if level else "",
    )
    if emergency:
        words = "、".join(emergency_words(incident.severity)[:3])
        reason = assignment.reason.replace(
            f"主管部门类型 {emergency}", f"突发事件（{words}）由{emergency}负责", 1
        )
        assignment = Assignment(**{**assignment.__dict__, "reason": reason})
    return assignment


def _chosen_by_person(session: Session, alert: Alert) -> bool:
    """The last choice of the lead department was a person's (转派 / 会商), not the rules'."""
    last = session.scalar(
        select(AuditLog.action)
        .where(
            AuditLog.object_type == "alert",
            AuditLog.object_id == str(alert.id),
            AuditLog.action.in_([*MANUAL_ACTIONS, RULES_ACTION]),
        )
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(1)
    )
    return last in MANUAL_ACTIONS


@dataclass(frozen=True, slots=True)
class Moved:
    from_id: str | None
    from_name: str | None
    to_id: str
    to_name: str


def move(
    session: Session,
    alert: Alert,
    dept: Department,
    *,
    reason: str,
    action: str,
    actor: str,
    channel: audit.Channel,
    now: datetime,
    details: dict[str, Any] | None = None,
    kind: str = "rules",
) -> Moved | None:
    """Hand ``alert`` to ``dept``: the reason on the alert, in the audit log and in ``alert_assignments``
    (``kind``), both departments told (at the worker's next tick), the clocks untouched. None when it is
    already there."""
    if alert.department_id == dept.id:
        return None
    moved = Moved(alert.department_id, alert.department_name, dept.id, dept.name)
    alert.department_id, alert.department_name, alert.region_code = dept.id, dept.name, dept.region
    alert.assignment_reason = reason
    alert.updated_at = now
    audit.record_alert(
        session,
        at=now,
        actor=actor,
        channel=channel,
        action=action,
        alert_id=alert.id,
        reason=reason,
        details={
            "from": {"department_id": moved.from_id, "department_name": moved.from_name},
            "to": {"department_id": dept.id, "department_name": dept.name},
            **(details or {}),
        },
    )
    assignments.record(
        session, alert, from_id=moved.from_id, from_name=moved.from_name, kind=kind, actor=actor,
        reason=reason, at=now,
    )
    escalation.notify_reassigned(session, alert, now)
    if moved.from_id:
        escalation.notify_handed_over(session, alert, moved.from_id, now)
    return moved


def follow_rules(
    session: Session,
    alert: Alert,
    incident: Incident,
    directory: Directory,
    now: datetime,
    *,
    level_changed: bool,
    before_level: str | None = None,
    before_category: str | None = None,
) -> Moved | None:
    """Apply the rules again after the level or the incident changed; move the alert when they answer
    differently. A person's choice of department stays unless the level changed."""
    if alert.status in FINAL:
        return None
    assignment = rule_assignment(directory, incident, alert.level)
    dept = directory.department(assignment.department_id)
    if dept is None or dept.id == alert.department_id:
        return None
    if not level_changed and _chosen_by_person(session, alert):
        return None
    if level_changed:
        why = f"级别由{before_level or '—'}升至{alert.level}，按规则重新分派"
    elif before_category != incident.category:
        why = f"事件类别由{before_category or '未定'}变为{incident.category or '未定'}，按规则重新分派"
    else:
        why = "事件信息更新，按规则重新分派"
    return move(
        session,
        alert,
        dept,
        reason=f"{why}：{assignment.reason}",
        action=RULES_ACTION,
        actor=SYSTEM,
        channel="system",
        now=now,
        details={"level": alert.level, "category": incident.category, "rule": assignment.reason},
    )
