"""Notification channels: one small Protocol (``send(message) -> SendResult``) and a registry of types.

Dedup, rate limits, digests, retries and the send log are pipeline stages in alerting.outbox, not here.
"""

from alerting.notify.base import Channel, OutgoingMessage, SendResult
from alerting.notify.registry import build_channels, channel_type

__all__ = ["Channel", "OutgoingMessage", "SendResult", "build_channels", "channel_type"]
