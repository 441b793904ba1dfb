"""Sending a stored 日报 / 周报 to the leaders' channels: the channels of the rules file
(``notifications.channels``: DingTalk, WeCom, Feishu robots, webhook, e-mail) get the title, the key
figures and the console link to the file; e-mail carries the file itself as an attachment. A channel's
per-minute limit (robots: 20) is shared with the alert outbox: over it, the send waits for the next run.

Each (report, channel, address) is sent once: the ``report_deliveries`` row is unique, a sent one is not
sent again, a failed attempt (mail server down, robot answering 5xx) is retried by the next run, up to
``MAX_ATTEMPTS``, and every attempt's result is kept on the row."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerting.notify import OutgoingMessage, SendResult
from alerting.notify.base import Attachment
from alerting.notify.registry import ConfiguredChannel
from alerting.outbox import used_budget
from reports.models import GeneratedReport, ReportDelivery

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class DeliveryError(ValueError):
    """A target that cannot be used (unknown channel, e-mail without an address); Chinese message."""


@dataclass(frozen=True)
class Target:
    channel: str
    address: str = ""

    @classmethod
    def parse(cls, text: str) -> Target:
        """``leaders`` (a robot) or ``mail:leader@example.gov.cn`` (e-mail to one address)."""
        name, _, address = text.partition(":")
        if not name.strip():
            raise DeliveryError(f"发送目标“{text}”无效，应为 渠道名 或 渠道名:邮箱地址")
        return cls(name.strip(), address.strip())


@dataclass
class DeliveryResult:
    target: Target
    status: str  # sent | retry | failed | skipped (already sent, or out of attempts)
    detail: str


def _row(session: Session, report: GeneratedReport, target: Target, now: datetime) -> ReportDelivery:
    query = select(ReportDelivery).where(ReportDelivery.report_id == report.id,
                                         ReportDelivery.channel == target.channel,
                                         ReportDelivery.address == target.address)
    row = session.scalar(query)
    if row is not None:
        return row
    row = ReportDelivery(report_id=report.id, channel=target.channel, address=target.address, status="retry",
                         attempts=0, created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another run made it meanwhile
        row = session.scalar(query)
        assert row is not None
    return row


MIME_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html",
}


def message(report: GeneratedReport, summary: str, console_url: str, target: Target, *,
            attach: bool = False) -> OutgoingMessage:
    """The summary and the console link; with ``attach`` (e-mail) the report file goes along."""
    where = "见附件，也可" if attach else "已存档，可"
    attachments = (
        (Attachment(f"{report.title}.{report.fmt}", report.content, MIME_TYPES.get(report.fmt, "")),)
        if attach else ()
    )
    return OutgoingMessage(
        subject=report.title,
        body=f"{summary}\n\n报告（{report.fmt.upper()}）{where}在控制台“报告”页下载。",
        link=f"{console_url.rstrip('/')}/reports/files/{report.id}",
        recipient=target.channel,
        address=target.address or None,
        attachments=attachments,
    )


def remaining_budget(session: Session, channel: ConfiguredChannel, now: datetime) -> int | None:
    """What is left of the channel's per-minute limit: the outbox's sends and the reports' attempts in the
    last minute both count (``None``: the channel has no limit)."""
    if channel.per_minute is None:
        return None
    reports_used = session.scalar(
        select(func.count()).select_from(ReportDelivery).where(
            ReportDelivery.channel == channel.name,
            ReportDelivery.last_attempt_at > now - timedelta(minutes=1),
        )
    ) or 0
    return channel.per_minute - used_budget(session, channel.name, now) - int(reports_used)


def check_targets(targets: list[Target], channels: dict[str, ConfiguredChannel]) -> None:
    for target in targets:
        if target.channel not in channels:
            known = "、".join(channels) or "无"
            raise DeliveryError(
                f"渠道“{target.channel}”未在规则文件 notifications.channels 中配置（已配置：{known}）"
            )
        if channels[target.channel].config.type == "email" and not target.address:
            raise DeliveryError(f"邮件渠道“{target.channel}”需要收件地址：{target.channel}:地址")


def deliver(session: Session, report: GeneratedReport, targets: list[Target],
            channels: dict[str, ConfiguredChannel], *, summary: str, console_url: str,
            now: datetime) -> list[DeliveryResult]:
    check_targets(targets, channels)
    results = []
    for target in targets:
        row = _row(session, report, target, now)
        if row.status == "sent" or row.attempts >= MAX_ATTEMPTS:
            why = "已发送" if row.status == "sent" else "已达重试上限"
            results.append(DeliveryResult(target, "skipped", why))
            continue
        channel = channels[target.channel]
        budget = remaining_budget(session, channel, now)
        if budget is not None and budget <= 0:
            why = f"限流：渠道每分钟 {channel.per_minute} 条已用完，下次运行再发"
            results.append(DeliveryResult(target, "retry", why))
            continue
        attach = channel.config.type == "email"
        try:
            result = channel.channel.send(message(report, summary, console_url, target, attach=attach))
        except Exception as exc:
            log.exception("channel %s raised instead of returning a SendResult", target.channel)
            result = SendResult.retry(f"channel error: {exc.__class__.__name__}: {exc}")
        row.attempts += 1
        row.last_attempt_at = now
        row.last_detail = result.detail[:1000]
        row.status = result.outcome
        if result.outcome == "sent":
            row.sent_at = now
        elif result.outcome == "retry" and row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
        results.append(DeliveryResult(target, row.status, result.detail))
    session.flush()
    return results
