"""人工研判: a duty officer makes an alert of an incident the rules did not alert on, or raises its level.

The rules only see what the NLP measured; an officer sometimes knows more (a place that is sensitive this
week, a story about to break). ``open_or_raise`` runs the same intake as the alerting stage — assignment
by 属地管理, the level's deadline clocks from the incident's first detection, the escalation ladder, the
first notices — with the officer as the actor and their reason in the audit log. A level never falls:
asking for a level at or below the alert's own is refused.

The API process builds the intake context itself (``intake_context``): the rules file, deadline
policies, calendar and directory as the alerting stage reads them, and the notification outbox, which the
alerting stage sends from.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy.orm import Session

from alerting import outbox
from alerting.calendar import WorkCalendar
from alerting.clocks import Policies
from alerting.directory import load_directory
from alerting.intake import Cause, IntakeContext, IntakeResult, create_alert, locked_alert, raise_level
from alerting.notify.registry import build_channels
from alerting.recipients import DirectoryRecipients
from alerting.rules import load_config
from alerting.state import FINAL, Status
from incidents.mapping import incident_from_row
from incidents.models import IncidentRow
from yuqing import audit
from yuqing.schemas import severity_rank
from yuqing.settings import Settings

MANUAL_RULE = "manual"


class ManualAlertRefused(ValueError):
    """The request cannot be carried out; the message says why (in Chinese, for the console)."""


def intake_context(session: Session, settings: Settings) -> IntakeContext:
    """What the intake needs, read the way the alerting stage reads it (RulesError, DirectoryError,
    CalendarError or PolicyError when a file is broken)."""
    config = load_config(settings.rules_file)
    channels = build_channels(config.notifications.channels)
    directory = load_directory(session, settings)

    deliver = partial(outbox.enqueue, channels=channels, console_url=settings.console_url)
    return IntakeContext(
        config=config,
        policies=Policies.load(settings.policies_file),
        calendar=WorkCalendar.load(settings.calendar_overrides_file),
        directory=directory,
        resolve=DirectoryRecipients(directory),
        deliver=deliver,
    )


def open_or_raise(
    session: Session,
    row: IncidentRow,
    *,
    level: str,
    reason: str,
    actor: str,
    channel: audit.Channel,
    now: datetime,
    ctx: IntakeContext,
) -> IntakeResult:
    reason = reason.strip()
    if not reason:
        raise ManualAlertRefused("须填写研判理由")
    if row.merged_into:
        raise ManualAlertRefused(f"事件已并入 {row.merged_into}，请在该事件上操作")
    cause = Cause(actor=actor, channel=channel, reason=f"人工研判：{reason}")
    alert = locked_alert(session, row.id)
    if alert is None:
        created = create_alert(session, incident_from_row(row), level, (MANUAL_RULE,), ctx, now, cause)
        return IntakeResult("created", created.id)
    if alert.status in FINAL:
        raise ManualAlertRefused(f"预警 #{alert.id} 已{'合并' if alert.status == Status.MERGED else '关闭'}")
    if severity_rank(level) <= severity_rank(alert.level):
        raise ManualAlertRefused(f"预警 #{alert.id} 已是{alert.level}，只能上调级别")
    raise_level(session, alert, level, (MANUAL_RULE,), ctx, now, cause, incident=incident_from_row(row))
    return IntakeResult("raised", alert.id)


def manual_alert(
    session: Session,
    settings: Settings,
    row: IncidentRow,
    *,
    level: str,
    reason: str,
    actor: str,
    channel: audit.Channel,
    now: datetime,
) -> IntakeResult:
    """``open_or_raise`` with the context read from ``settings``; a broken configuration file raises
    ``ConfigUnavailable`` naming it."""
    from alerting.calendar import CalendarError
    from alerting.clocks import PolicyError
    from alerting.directory import DirectoryError
    from alerting.rules import RulesError

    try:
        ctx = intake_context(session, settings)
    except (RulesError, DirectoryError, CalendarError, PolicyError) as exc:
        raise ConfigUnavailable(str(exc)) from None
    return open_or_raise(session, row, level=level, reason=reason, actor=actor, channel=channel, now=now,
                         ctx=ctx)


class ConfigUnavailable(RuntimeError):
    """The rules, policies, calendar or directory could not be read."""
