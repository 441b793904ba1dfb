"""Channels against local servers: robot payloads and signatures checked the way the vendors check them,
plus e-mail through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlparse

import pytest
from aiosmtpd.controller import Controller

from alerting.notify.base import OutgoingMessage
from alerting.notify.dingtalk import DingTalkChannel, dingtalk_sign
from alerting.notify.email import EmailChannel
from alerting.notify.feishu import FeishuChannel
from alerting.notify.webhook import WebhookChannel
from alerting.notify.wecom import WeComChannel

SECRET = "SECtest-secret-123"
MESSAGE = OutgoingMessage(
    subject="[重大] 某县医院输液事故 — 发布权威信息提醒",
    body="「发布权威信息」时限已过 50%",
    link="https://yq.example/alerts/7",
    recipient="channel:robot",
    address="office@wjw.aq.example",
    alert_ids=(7,),
    level="重大",
)


class Robot:
    """A local HTTP server that verifies requests like the vendor would and answers with its codes."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply: tuple[int, dict[str, Any]] | None = None
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                url = urlparse(self.path)
                robot.requests.append(
                    {
                        "path": url.path,
                        "raw": self.path,
                        "query": parse_qs(url.query),
                        "body": body,
                        "headers": dict(self.headers),
                    }
                )
                status, answer = robot.reply or robot.verify(url.path, parse_qs(url.query), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verify(
        self, path: str, query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if path == "/dingtalk":
            ts = query["timestamp"][0]
            want = base64.b64encode(
                hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256).digest()
            )
            ok = query["sign"][0] == want.decode() and abs(int(ts) - time.time() * 1000) < 3_600_000
            return 200, {"errcode": 0 if ok else 310000, "errmsg": "ok" if ok else "sign not match"}
        if path == "/feishu":
            ts = body["timestamp"]
            want = base64.b64encode(
                hmac.new(f"{ts}\n{SECRET}".encode(), b"", hashlib.sha256).digest()
            ).decode()
            ok = body["sign"] == want and abs(int(ts) - time.time()) < 3600
            return 200, {"code": 0 if ok else 19021, "msg": "success" if ok else "sign match fail"}
        if path == "/cgi-bin/webhook/send":
            ok = query.get("key") == ["wecom-key"]
            return 200, {"errcode": 0 if ok else 93000, "errmsg": "ok" if ok else "invalid webhook url"}
        return 200, {"ok": True}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def robot() -> Iterator[Robot]:
    server = Robot()
    yield server
    server.close()


def test_dingtalk_signature_and_markdown_payload_accepted(robot: Robot) -> None:
    result = DingTalkChannel(url=f"{robot.url}/dingtalk?access_token=abc", secret=SECRET).send(MESSAGE)
    assert result.outcome == "sent", result.detail
    req = robot.requests[0]
    assert req["query"]["access_token"] == ["abc"]
    assert req["body"]["msgtype"] == "markdown"
    assert req["body"]["markdown"]["title"] == MESSAGE.subject
    assert MESSAGE.link in req["body"]["markdown"]["text"]
    # the sign travels URL-encoded (base64's + / = would otherwise be read as other characters)
    ts = int(req["query"]["timestamp"][0])
    assert f"sign={quote_plus(dingtalk_sign(SECRET, ts))}" in req["raw"]


def test_dingtalk_wrong_secret_fails_and_rate_limit_retries(robot: Robot) -> None:
    assert DingTalkChannel(url=f"{robot.url}/dingtalk", secret="SECwrong").send(MESSAGE).outcome == "failed"
    robot.reply = (200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"})
    assert DingTalkChannel(url=f"{robot.url}/dingtalk", secret=SECRET).send(MESSAGE).outcome == "retry"


def test_feishu_signature_in_body_accepted(robot: Robot) -> None:
    result = FeishuChannel(url=f"{robot.url}/feishu", secret=SECRET).send(MESSAGE)
    assert result.outcome == "sent", result.detail
    body = robot.requests[0]["body"]
    assert body["msg_type"] == "text" and MESSAGE.link in body["content"]["text"]
    assert FeishuChannel(url=f"{robot.url}/feishu", secret="other").send(MESSAGE).outcome == "failed"


def test_wecom_key_and_markdown(robot: Robot) -> None:
    result = WeComChannel(key="wecom-key", url=f"{robot.url}/cgi-bin/webhook/send").send(MESSAGE)
    assert result.outcome == "sent", result.detail
    body = robot.requests[0]["body"]
    assert body == {"msgtype": "markdown", "markdown": {"content": MESSAGE.markdown()}}
    robot.reply = (200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    assert (
        WeComChannel(key="wecom-key", url=f"{robot.url}/cgi-bin/webhook/send").send(MESSAGE).outcome
        == "retry"
    )


def test_generic_webhook_payload_and_http_errors(robot: Robot) -> None:
    channel = WebhookChannel(url=f"{robot.url}/hook", headers={"X-Token": "t"})
    assert channel.send(MESSAGE).outcome == "sent"
    req = robot.requests[0]
    assert req["headers"]["X-Token"] == "t"
    assert req["body"]["link"] == MESSAGE.link and req["body"]["alert_ids"] == [7]
    assert req["body"]["level"] == "重大" and req["body"]["subject"] == MESSAGE.subject
    robot.reply = (503, {})
    assert channel.send(MESSAGE).outcome == "retry"
    robot.reply = (404, {})
    assert channel.send(MESSAGE).outcome == "failed"


def test_unreachable_robot_is_a_retry() -> None:
    assert WebhookChannel(url="http://127.0.0.1:9/hook", timeout=2).send(MESSAGE).outcome == "retry"


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def test_email_through_a_local_smtp_server() -> None:
    inbox = _Inbox()
    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting, so it needs a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = EmailChannel(host="127.0.0.1", port=port, sender="yuqing@example.org")
        result = channel.send(MESSAGE)
    finally:
        controller.stop()
    assert result.outcome == "sent", result.detail
    sender, rcpts, content = inbox.messages[0]
    assert sender == "yuqing@example.org" and rcpts == ["office@wjw.aq.example"]
    mail = message_from_bytes(content, policy=default_policy)
    assert mail["Subject"] == MESSAGE.subject
    assert MESSAGE.link in mail.get_body().get_content()


def test_email_without_server_is_a_retry_and_without_address_fails() -> None:
    channel = EmailChannel(host="127.0.0.1", port=9, sender="yuqing@example.org", timeout=2)
    assert channel.send(MESSAGE).outcome == "retry"
    no_address = OutgoingMessage(subject="s", body="b", link="l", recipient="r")
    assert channel.send(no_address).outcome == "failed"
