"""In-console notifications: the notification row itself is what the console shows, so sending is a no-op."""

from __future__ import annotations

from typing import Any

from alerting.notify.base import OutgoingMessage, SendResult


class ConsoleChannel:
    def __init__(self, **_options: Any) -> None:
        pass

    def send(self, message: OutgoingMessage) -> SendResult:
        return SendResult.sent("shown in the console")
