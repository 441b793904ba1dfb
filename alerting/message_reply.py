"""留言 cases: the official reply the crawler found on the message board stops the case's reply clock.

The incident of a 留言 (kind ``message``) carries the board's reply once it shows one
(``Incident.reply``). On intake, the alert's open ``message_reply`` clock is met at the reply's time —
the time the board gives, else when the crawler first saw the reply — and the reply is the evidence: a
``留言答复`` entry on the alert's release timeline (link: the message's page; note: who answered and
what) and an audit entry. A case already 签收 (acknowledged, responding or supervised) moves to
information published with the reply as its link and evidence, so it can be closed with its review; a
case nobody has acknowledged keeps its status — the reply is not a 签收 by anyone — and the officer who
acknowledges it records the publication (the clock is met already). A reply after the due time is met
late and counts as late in 考核 (``alerting.performance``: met after ``due_at``).

Input problems are kept on the case, never lost: a 留言 without a readable date (its clock counts from
the crawl, ``Incident.notes``), a reply time in the future (met now) or before the message (kept, with
the problem in the audit entry), a reply to a case without a reply clock (recorded, nothing met).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting import escalation
from alerting.models import Alert, AlertDeadline, AlertRelease
from alerting.state import Action, can, next_status
from yuqing import audit
from yuqing.db.models import AuditLog
from yuqing.schemas import Incident

log = logging.getLogger(__name__)

ACTOR = "system:crawler"
REPLY_KIND = "message_reply"  # the deadline kind and the release kind (yuqing.domain)
REPLIED = "message_replied"
UNMATCHED = "reply_unmatched"
INPUT_PROBLEM = "input_problem"


def evidence_of(incident: Incident) -> str:
    reply = incident.reply
    assert reply is not None
    who = reply.department or "回复单位未注明"
    return f"{who}：{reply.text}"[:4000]


def apply_reply(session: Session, alert: Alert, incident: Incident, now: datetime) -> str | None:
    """Meet the alert's ``message_reply`` clock with the incident's reply; what was done
    (``met`` / ``late`` / ``unmatched``), or None when there is nothing (more) to do."""
    reply = incident.reply
    if reply is None:
        return None
    deadline = session.scalar(
        select(AlertDeadline).where(AlertDeadline.alert_id == alert.id, AlertDeadline.kind == REPLY_KIND)
    )
    if deadline is None:
        return _unmatched(session, alert, incident, now, "该预警没有留言答复时限")
    if deadline.met_at is not None or deadline.stopped_at is not None:
        return None  # recorded already (a re-sent incident, an officer first), or closed / merged
    problems = []
    at = reply.replied_at or reply.seen_at
    if reply.replied_at is None:
        problems.append("网站未注明答复时间，按首次抓取到答复的时间计")
    if at > now:
        problems.append(f"答复时间 {at.isoformat()} 晚于当前时间，按当前时间计")
        at = now
    if at < deadline.start:
        problems.append(f"答复时间 {at.isoformat()} 早于留言时间 {deadline.start.isoformat()}")
    late = at > deadline.due_at
    deadline.stopped_at, deadline.met_at = now, at
    escalation.cancel_pending(session, alert.id, now, "留言已答复", deadline_id=deadline.id)
    evidence = evidence_of(incident)
    session.add(
        AlertRelease(
            alert_id=alert.id,
            kind=REPLY_KIND,
            released_at=at,
            link=reply.url,
            note=evidence,
            recorded_by=ACTOR,
            deadlines_met=[REPLY_KIND],
        )
    )
    before = alert.status
    if alert.info_link is None and can(Action.PUBLISH_INFO, alert.status):  # 签收 / 处置中 / 督办中
        alert.status = next_status(Action.PUBLISH_INFO, alert.status)
        alert.info_link, alert.info_evidence = reply.url, evidence
    alert.updated_at = now
    audit.record_alert(
        session,
        at=now,
        actor=ACTOR,
        channel="system",
        action=REPLIED,
        alert_id=alert.id,
        reason="留言已在网站答复" + ("（超过答复时限）" if late else ""),
        details={
            "link": reply.url,
            "department": reply.department,
            "replied_at": at.isoformat(),
            "due_at": deadline.due_at.isoformat(),
            "late": late,
            "problems": problems,
            "from": before,
            "to": alert.status,
        },
    )
    return "late" if late else "met"


def _unmatched(session: Session, alert: Alert, incident: Incident, now: datetime, why: str) -> str | None:
    """A reply that has no clock to stop: kept in the alert's history once, with the reason."""
    assert incident.reply is not None
    done = session.scalar(
        select(AuditLog.id).where(
            AuditLog.object_type == "alert",
            AuditLog.object_id == str(alert.id),
            AuditLog.action == UNMATCHED,
        )
    )
    if done is not None:
        return None
    log.warning("alert %s: reply on %s not matched: %s", alert.id, incident.reply.url, why)
    audit.record_alert(
        session,
        at=now,
        actor=ACTOR,
        channel="system",
        action=UNMATCHED,
        alert_id=alert.id,
        reason=f"抓取到的答复无法对应到答复时限：{why}",
        details={"link": incident.reply.url, "evidence": evidence_of(incident)},
    )
    return "unmatched"


def note_problems(session: Session, alert: Alert, incident: Incident, now: datetime) -> None:
    """The incident's input problems (a 留言 without a date …) in the new alert's history."""
    for note in incident.notes:
        audit.record_alert(
            session,
            at=now,
            actor=ACTOR,
            channel="system",
            action=INPUT_PROBLEM,
            alert_id=alert.id,
            reason=note,
            details={"incident_id": incident.id},
        )
