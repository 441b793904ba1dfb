"""Tables of the alerting domain (on yuqing.db.base.Base).

alerts               one per incident (unique ``fingerprint``: the dedup key), level, state, department
alert_deadlines      one clock per (alert, kind): due, original due, met / stopped / breached
alert_releases       持续发布: every release (权威信息, 进展通报, 发布会) with time, link and note
alert_assists        会商: the 协办 departments of an alert (the lead is the alert's department)
alert_assignments    every change of an alert's lead department (转派, 退回, 会商, rules), read by 考核
escalation_steps     durable timers: each reminder or escalation with the time it fires (unique ``key``)
supervisions         督办 records opened at a breach or on request
notifications        the outbox and the send log's dedup: one row per (alert, deadline, threshold, recipient,
                     channel) through the unique ``dedup_key``; console rows are what the console shows
notification_attempts every attempt to deliver a notification, with its result
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yuqing.db.base import Base, JSONType, UTCDateTime

_BigId = BigInteger().with_variant(Integer, "sqlite")


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True, doc="one alert per incident")
    incident_id: Mapped[str] = mapped_column(String(40), index=True)
    incident_version: Mapped[int] = mapped_column(Integer, default=1)
    incident_kind: Mapped[str] = mapped_column(String(16), default="opinion")
    title: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(8), index=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    resume_status: Mapped[str | None] = mapped_column(String(24), doc="where a snoozed alert returns to")
    matched_rules: Mapped[list[str]] = mapped_column(JSONType, default=list)
    category: Mapped[str | None] = mapped_column(String(40))
    department_type: Mapped[str | None] = mapped_column(String(60))
    locations: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    heat: Mapped[float] = mapped_column(Float, default=0.0)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, doc="the incident's first detection")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    department_id: Mapped[str | None] = mapped_column(String(60), index=True)
    department_name: Mapped[str | None] = mapped_column(String(120))
    region_code: Mapped[str | None] = mapped_column(String(12))
    assignment_reason: Mapped[str | None] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(80))
    ack_cycle: Mapped[int] = mapped_column(Integer, default=0, doc="bumped when escalation restarts")
    ack_cycle_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    snoozed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    snooze_reason: Mapped[str | None] = mapped_column(Text)
    info_link: Mapped[str | None] = mapped_column(Text)
    info_evidence: Mapped[str | None] = mapped_column(Text)
    press_link: Mapped[str | None] = mapped_column(Text)
    press_evidence: Mapped[str | None] = mapped_column(Text)
    review: Mapped[str | None] = mapped_column(Text)
    response_line: Mapped[str | None] = mapped_column(Text, doc="回应口径: the agreed wording")
    response_line_approved_by: Mapped[str | None] = mapped_column(String(80))
    response_line_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    spokesperson_name: Mapped[str | None] = mapped_column(String(80), doc="who spoke for the government")
    spokesperson_role: Mapped[str | None] = mapped_column(String(16), doc="yuqing.domain.SPEAKER_ROLES")
    spoke_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    ladder: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, doc="escalation ladder snapshot")


class AlertDeadline(Base):
    __tablename__ = "alert_deadlines"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    original_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    calendar_version: Mapped[str | None] = mapped_column(String(40))
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime, doc="the matching action was recorded")
    stopped_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, doc="clock stopped (met, closed, merged)"
    )
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("alert_id", "kind", name="uq_alert_deadlines_alert_kind"),)


class AlertRelease(Base):
    """持续发布: one release on an alert (权威信息, 进展通报, 发布会) with its link and note.
    The first 权威信息 and the first 发布会 are the ones that meet their clocks (``deadlines_met``)."""

    __tablename__ = "alert_releases"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24), doc="yuqing.domain.RELEASE_KINDS")
    released_at: Mapped[datetime] = mapped_column(UTCDateTime)
    link: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(80))
    deadlines_met: Mapped[list[str]] = mapped_column(JSONType, default=list)


class EscalationStep(Base):
    """A durable timer. ``key`` is unique, so scheduling the same step twice is harmless."""

    __tablename__ = "escalation_steps"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("alert_deadlines.id"))
    threshold: Mapped[str] = mapped_column(String(24), doc="50% | 75% | breach | unacknowledged")
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_escalation_steps_pending", "fired_at", "cancelled_at", "fire_at"),)


class Supervision(Base):
    """督办: a supervision record, opened at a breach (or on request) and closed with the alert."""

    __tablename__ = "supervisions"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("alert_deadlines.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    supervisor: Mapped[str | None] = mapped_column(String(120), doc="the leader who supervises")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Notification(Base):
    """One message to one recipient on one channel; ``dedup_key`` makes queueing idempotent."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alerts.id"), index=True, doc="None: a 监测方案 notice about an incident with no alert"
    )
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("alert_deadlines.id"))
    threshold: Mapped[str] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(40), doc="configured channel name")
    recipient: Mapped[str] = mapped_column(String(120), doc="role:name, e.g. department:d-110101-gov")
    address: Mapped[str | None] = mapped_column(String(200), doc="e-mail address etc.; robots need none")
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(12), doc="queued | sending | sent | failed | digested | covered (a record, never sent)"
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_detail: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[str | None] = mapped_column(
        String(64), index=True, doc="the incident of a 监测方案 notice (plan_new / plan_rising)"
    )

    __table_args__ = (Index("ix_notifications_queue", "channel", "status", "next_attempt_at"),)


class NotificationAttempt(Base):
    """The send log: every attempt and its result (a digest logs one row per notification it carried)."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(String(8), doc="sent | retry | failed")
    detail: Mapped[str | None] = mapped_column(Text)
    digest_size: Mapped[int] = mapped_column(Integer, default=1)
    message_ref: Mapped[str] = mapped_column(String(40), doc="one id per message sent (shared in a digest)")

    __table_args__ = (Index("ix_notification_attempts_channel_at", "channel", "at"),)


class AlertAssist(Base):
    """会商: a 协办 department of an alert (the lead is ``alerts.department_id``); it sees the case on its
    page. A department taken off the case keeps its row with ``removed_at``."""

    __tablename__ = "alert_assists"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    department_id: Mapped[str] = mapped_column(String(60), index=True)
    department_name: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    added_by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("alert_id", "department_id", name="uq_alert_assists_alert_department"),
    )


class AlertAssignment(Base):
    """One change of an alert's lead department (转派, 退回值班室, 会商 lead, the rules' move): where it came
    from, where it went, when, by whom and why. 考核 reads reassignments from here."""

    __tablename__ = "alert_assignments"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    from_department_id: Mapped[str | None] = mapped_column(String(60), index=True)
    from_department_name: Mapped[str | None] = mapped_column(Text)
    to_department_id: Mapped[str] = mapped_column(String(60))
    to_department_name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), doc="yuqing.domain.ASSIGNMENT_KINDS")
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
