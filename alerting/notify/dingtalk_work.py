"""DingTalk 工作通知 (corporate conversation message) to one person, sent by an enterprise internal app.

GET ``/gettoken?appkey=…&appsecret=…`` gives an ``access_token`` (7200 s); POST
``/topapi/message/corpconversation/asyncsend_v2?access_token=…`` with ``agent_id``, ``userid_list`` (the
person's DingTalk userid, from the directory entry's ``dingtalk_userid``) and a markdown ``msg``.
``errcode`` 0 (with a ``task_id``) is sent; 40014/42001 mean the token is invalid or expired (fetched anew
once); 90002/90006/90018 are the vendor's flow control (retried)."""

from __future__ import annotations

from typing import Any

from alerting.notify.app_token import AccessToken, post_with_token
from alerting.notify.base import OutgoingMessage, SendResult, robot_result

DEFAULT_BASE_URL = "https://oapi.dingtalk.com"
TOKEN_INVALID = {40014, 42001}
RATE_LIMITED = {90002, 90006, 90018}


class DingTalkWorkChannel:
    def __init__(
        self,
        *,
        appkey: str,
        appsecret: str,
        agent_id: int | str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        **_: Any,
    ) -> None:
        self.agent_id, self.timeout = int(agent_id), timeout
        self.base_url = base_url.rstrip("/")
        self.token = AccessToken(
            f"{self.base_url}/gettoken", {"appkey": appkey, "appsecret": appsecret}, timeout=timeout
        )

    def payload(self, message: OutgoingMessage) -> dict[str, object]:
        return {
            "agent_id": self.agent_id,
            "userid_list": message.address,
            "msg": {
                "msgtype": "markdown",
                "markdown": {"title": message.subject, "text": message.markdown()},
            },
        }

    def send(self, message: OutgoingMessage) -> SendResult:
        if not message.address:
            return SendResult.failed("no dingtalk_userid for this person")
        problem, fields = post_with_token(
            self.token,
            f"{self.base_url}/topapi/message/corpconversation/asyncsend_v2",
            self.payload(message),
            timeout=self.timeout,
            token_invalid=TOKEN_INVALID,
        )
        if problem is not None:
            return problem
        return robot_result(fields, code_keys=("errcode",), message_key="errmsg", rate_limited=RATE_LIMITED)
