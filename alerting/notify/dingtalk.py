"""DingTalk group robot (自定义机器人) with 加签: ``timestamp`` (ms) and ``sign`` in the URL.

sign = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))). Body: a markdown message.
The robot answers ``{"errcode": 0}``; 130101 means sending too fast (limit: 20 a minute)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from alerting.notify.base import OutgoingMessage, SendResult, post_json, robot_result

RATE_LIMITED = {130101, 130102}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` value before URL encoding (httpx encodes query parameters)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class DingTalkChannel:
    def __init__(self, *, url: str, secret: str | None = None, timeout: float = 10.0, **_: Any) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout

    def payload(self, message: OutgoingMessage) -> dict[str, object]:
        return {"msgtype": "markdown", "markdown": {"title": message.subject, "text": message.markdown()}}

    def send(self, message: OutgoingMessage) -> SendResult:
        params: dict[str, str] = {}
        if self.secret:
            ts = int(time.time() * 1000)
            params = {"timestamp": str(ts), "sign": dingtalk_sign(self.secret, ts)}
        result, body = post_json(self.url, self.payload(message), params=params, timeout=self.timeout)
        if result is not None:
            return result
        return robot_result(body, code_keys=("errcode",), message_key="errmsg", rate_limited=RATE_LIMITED)
