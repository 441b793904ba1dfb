"""WeCom (企业微信) application message (应用消息) to one person: it reaches the named leader's own WeCom,
not a group.

GET ``/cgi-bin/gettoken?corpid=…&corpsecret=…`` gives an ``access_token`` (7200 s); POST
``/cgi-bin/message/send?access_token=…`` with ``touser`` (the person's WeCom userid, from the directory
entry's ``wecom_userid``), ``agentid`` and a markdown message. ``errcode`` 0 with an empty ``invaliduser``
is sent; 40014/42001 mean the token is invalid or expired (fetched anew once); 45009/45033 are the
vendor's rate limits (retried)."""

from __future__ import annotations

from typing import Any

from alerting.notify.app_token import AccessToken, post_with_token
from alerting.notify.base import OutgoingMessage, SendResult, robot_result

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
TOKEN_INVALID = {40014, 42001}
RATE_LIMITED = {45009, 45033}


class WeComAppChannel:
    def __init__(
        self,
        *,
        corpid: str,
        corpsecret: str,
        agentid: int | str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        **_: Any,
    ) -> None:
        self.agentid, self.timeout = int(agentid), timeout
        self.base_url = base_url.rstrip("/")
        self.token = AccessToken(
            f"{self.base_url}/cgi-bin/gettoken", {"corpid": corpid, "corpsecret": corpsecret}, timeout=timeout
        )

    def payload(self, message: OutgoingMessage) -> dict[str, object]:
        return {
            "touser": message.address,
            "msgtype": "markdown",
            "agentid": self.agentid,
            "markdown": {"content": message.markdown()},
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 1800,
        }

    def send(self, message: OutgoingMessage) -> SendResult:
        if not message.address:
            return SendResult.failed("no wecom_userid for this person")
        problem, fields = post_with_token(
            self.token,
            f"{self.base_url}/cgi-bin/message/send",
            self.payload(message),
            timeout=self.timeout,
            token_invalid=TOKEN_INVALID,
        )
        if problem is not None:
            return problem
        if fields.get("errcode") == 0 and fields.get("invaliduser"):
            return SendResult.failed(f"invaliduser {fields['invaliduser']}: not a member of the app")
        return robot_result(fields, code_keys=("errcode",), message_key="errmsg", rate_limited=RATE_LIMITED)
