"""Feishu (飞书) custom robot with 签名校验: ``timestamp`` (s) and ``sign`` in the JSON body.

sign = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")). Answers ``{"code": 0}``; 11232 is
the frequency limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from alerting.notify.base import OutgoingMessage, SendResult, post_json, robot_result

RATE_LIMITED = {11232, 9499}


def feishu_sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FeishuChannel:
    def __init__(self, *, url: str, secret: str | None = None, timeout: float = 10.0, **_: Any) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout

    def payload(self, message: OutgoingMessage) -> dict[str, object]:
        body: dict[str, object] = {"msg_type": "text", "content": {"text": message.text()}}
        if self.secret:
            ts = int(time.time())
            body = {"timestamp": str(ts), "sign": feishu_sign(self.secret, ts), **body}
        return body

    def send(self, message: OutgoingMessage) -> SendResult:
        result, body = post_json(self.url, self.payload(message), timeout=self.timeout)
        if result is not None:
            return result
        return robot_result(
            body, code_keys=("code", "StatusCode"), message_key="msg", rate_limited=RATE_LIMITED
        )
