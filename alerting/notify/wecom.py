"""WeCom (企业微信) group robot: POST to .../cgi-bin/webhook/send?key=KEY with a markdown message.

Answers ``{"errcode": 0, "errmsg": "ok"}``; 45009 means the robot's limit (20 a minute) was hit."""

from __future__ import annotations

from typing import Any

from alerting.notify.base import OutgoingMessage, SendResult, post_json, robot_result

DEFAULT_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
RATE_LIMITED = {45009}


class WeComChannel:
    def __init__(self, *, key: str, url: str = DEFAULT_URL, timeout: float = 10.0, **_: Any) -> None:
        self.key, self.url, self.timeout = key, url, timeout

    def payload(self, message: OutgoingMessage) -> dict[str, object]:
        return {"msgtype": "markdown", "markdown": {"content": message.markdown()}}

    def send(self, message: OutgoingMessage) -> SendResult:
        result, body = post_json(
            self.url, self.payload(message), params={"key": self.key}, timeout=self.timeout
        )
        if result is not None:
            return result
        return robot_result(body, code_keys=("errcode",), message_key="errmsg", rate_limited=RATE_LIMITED)
