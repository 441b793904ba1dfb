"""SMS through the office's HTTP gateway (短信平台): one short text to one phone number.

POST ``url`` with JSON ``{"phone": …, "text": …}``. When a ``secret`` is set the request is signed:
``X-Yuqing-Timestamp`` (unix seconds) and ``X-Yuqing-Signature`` = hex HMAC-SHA256(secret,
f"{timestamp}\\n{body}") over the exact body bytes, so the gateway can refuse forged or replayed
requests. A 2xx whose JSON has no ``code`` or a ``code`` of 0/"0"/"OK" is sent; 429 and 5xx are retried;
another code or 4xx failed. The text is the subject and the console link, with the office's signature
(``sign``, e.g. 【网信办】) in front, cut to ``max_chars``."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import httpx

from alerting.notify.base import OutgoingMessage, SendResult

OK_CODES = (0, "0", "OK", "ok")


def sms_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class SmsGatewayChannel:
    def __init__(
        self,
        *,
        url: str,
        secret: str | None = None,
        sign: str = "",
        max_chars: int = 140,
        timeout: float = 10.0,
        **_: Any,
    ) -> None:
        self.url, self.secret, self.sign = url, secret, sign
        self.max_chars, self.timeout = max_chars, timeout

    def text(self, message: OutgoingMessage) -> str:
        head = f"{self.sign}{message.subject}"
        room = self.max_chars - len(message.link) - 1
        if len(head) > room:
            head = head[: max(0, room - 1)] + "…"
        return f"{head} {message.link}"

    def send(self, message: OutgoingMessage) -> SendResult:
        if not message.address:
            return SendResult.failed("no phone number for this person")
        body = json.dumps({"phone": message.address, "text": self.text(message)}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.secret:
            ts = str(int(time.time()))
            headers |= {"X-Yuqing-Timestamp": ts, "X-Yuqing-Signature": sms_signature(self.secret, ts, body)}
        try:
            response = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return SendResult.retry(f"{exc.__class__.__name__}: {exc}")
        if response.status_code == 429 or response.status_code >= 500:
            return SendResult.retry(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            return SendResult.failed(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        code = answer.get("code") if isinstance(answer, dict) else None
        if code is None or code in OK_CODES:
            return SendResult.sent(f"code {code}" if code is not None else f"HTTP {response.status_code}")
        return SendResult.failed(f"code {code}: {answer.get('message') if isinstance(answer, dict) else ''}")
