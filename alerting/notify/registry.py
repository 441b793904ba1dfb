"""Channel types by name: how to build one from its options, its default rate limit, and whether it sends
one message per recipient (console, e-mail) or one per group (robots, webhooks). Add a type here only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from alerting.notify.base import Channel
from alerting.notify.console import ConsoleChannel
from alerting.notify.dingtalk import DingTalkChannel
from alerting.notify.dingtalk_work import DingTalkWorkChannel
from alerting.notify.email import EmailChannel
from alerting.notify.feishu import FeishuChannel
from alerting.notify.sms import SmsGatewayChannel
from alerting.notify.webhook import WebhookChannel
from alerting.notify.wecom import WeComChannel
from alerting.notify.wecom_app import WeComAppChannel
from alerting.rules import Channel as ChannelConfig
from alerting.rules import RulesError

ROBOT_PER_MINUTE = 20
SMS_PER_MINUTE = 20  # gateways and carriers throttle; over it the outbox sends one digest per person


@dataclass(frozen=True, slots=True)
class ChannelType:
    factory: Callable[..., Channel]
    per_recipient: bool  # True: one message per person; False: one per group robot
    needs_address: str | None = None  # the contact attribute a per-recipient channel sends to
    per_minute: int | None = None


TYPES: dict[str, ChannelType] = {
    "console": ChannelType(ConsoleChannel, per_recipient=True),
    "email": ChannelType(EmailChannel, per_recipient=True, needs_address="email"),
    "dingtalk": ChannelType(DingTalkChannel, per_recipient=False, per_minute=ROBOT_PER_MINUTE),
    "wecom": ChannelType(WeComChannel, per_recipient=False, per_minute=ROBOT_PER_MINUTE),
    "feishu": ChannelType(FeishuChannel, per_recipient=False, per_minute=ROBOT_PER_MINUTE),
    "webhook": ChannelType(WebhookChannel, per_recipient=False),
    # personal paging: one message to one named person (the escalation ladder's leaders)
    "wecom_app": ChannelType(WeComAppChannel, per_recipient=True, needs_address="wecom_userid"),
    "dingtalk_work": ChannelType(DingTalkWorkChannel, per_recipient=True, needs_address="dingtalk_userid"),
    "sms": ChannelType(
        SmsGatewayChannel, per_recipient=True, needs_address="phone", per_minute=SMS_PER_MINUTE
    ),
}


def channel_type(name: str) -> ChannelType:
    try:
        return TYPES[name]
    except KeyError:
        raise RulesError(f"unknown channel type {name!r}; known: {', '.join(sorted(TYPES))}") from None


@dataclass(frozen=True, slots=True)
class ConfiguredChannel:
    config: ChannelConfig
    kind: ChannelType
    channel: Channel

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def per_minute(self) -> int | None:
        return self.config.per_minute or self.kind.per_minute


def build_channels(
    configs: list[ChannelConfig], overrides: dict[str, Channel] | None = None
) -> dict[str, ConfiguredChannel]:
    """Instantiate every configured channel; ``overrides`` replaces a channel by name (tests, dry runs)."""
    out: dict[str, ConfiguredChannel] = {}
    for cfg in configs:
        kind = channel_type(cfg.type)
        if overrides and cfg.name in overrides:
            channel = overrides[cfg.name]
        else:
            try:
                channel = kind.factory(**cfg.resolved_options())
            except TypeError as exc:
                raise RulesError(f"channel {cfg.name}: bad options: {exc}") from None
        out[cfg.name] = ConfiguredChannel(cfg, kind, channel)
    return out
