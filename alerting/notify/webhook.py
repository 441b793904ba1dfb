"""Generic JSON webhook: POSTs the message as a JSON object; any 2xx is success."""

from __future__ import annotations

from typing import Any

from alerting.notify.base import OutgoingMessage, SendResult, post_json


class WebhookChannel:
    def __init__(
        self, *, url: str, headers: dict[str, str] | None = None, timeout: float = 10.0, **_: Any
    ) -> None:
        self.url, self.headers, self.timeout = url, headers or {}, timeout

    def payload(self, message: OutgoingMessage) -> dict[str, object]:
        return {
            "subject": message.subject,
            "body": message.body,
            "link": message.link,
            "recipient": message.recipient,
            "level": message.level,
            "alert_ids": list(message.alert_ids),
            "digest_size": message.digest_size,
            **message.extra,
        }

    def send(self, message: OutgoingMessage) -> SendResult:
        result, _ = post_json(self.url, self.payload(message), headers=self.headers, timeout=self.timeout)
        return result or SendResult.sent("2xx")
