"""Personal paging: WeCom 应用消息, DingTalk 工作通知 and SMS through an HTTP gateway, each against a local
fake of the vendor's API that checks credentials, tokens and signatures the way the vendor does; then the
escalation ladder's named leader paged through the outbox with the robots' dedup and rate limits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from alerting import outbox
from alerting.directory import Directory
from alerting.models import Alert, Notification
from alerting.notify.base import OutgoingMessage
from alerting.notify.dingtalk_work import DingTalkWorkChannel
from alerting.notify.registry import build_channels
from alerting.notify.sms import SmsGatewayChannel, sms_signature
from alerting.notify.wecom_app import WeComAppChannel
from alerting.recipients import DirectoryRecipients
from alerting.rules import Channel, Retry
from tests.alerting.conftest import incident
from yuqing.clock import CN_TZ

CORP, SECRET, AGENT = "ww-corp-1", "app-secret-xyz", 1000002
SMS_SECRET = "sms-gateway-secret"
MESSAGE = OutgoingMessage(
    subject="[重大] 封丘县化工厂爆炸 — 权威信息发布超时",
    body="「权威信息发布」时限已于 2026-12-04 15:00 届满，未见办结，已启动督办",
    link="https://yq.example/alerts/7",
    recipient="deputy_leader:fq:王副县长",
    address="wangfxz",
    alert_ids=(7,),
    level="重大",
)


class FakeVendor:
    """WeCom's and DingTalk's enterprise-app APIs and an SMS gateway on one local server. Tokens are issued
    only for the right credentials, expire on demand, and a send must carry a live token, the app's agent id
    and a userid that belongs to the app; the SMS gateway checks the HMAC signature and its timestamp."""

    def __init__(self) -> None:
        self.members = {"wangfxz", "zhaofsz"}
        self.tokens: set[str] = set()
        self.token_fetches = 0
        self.inbox: list[dict[str, Any]] = []
        self.sms_status = 200
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._answer(200, vendor.gettoken(url.path, q))

            def do_POST(self) -> None:
                url = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(url.query).items()}
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                self._answer(*vendor.post(url.path, q, raw, dict(self.headers)))

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def gettoken(self, path: str, q: dict[str, str]) -> dict[str, Any]:
        ok = (path == "/cgi-bin/gettoken" and (q.get("corpid"), q.get("corpsecret")) == (CORP, SECRET)) or (
            path == "/gettoken" and (q.get("appkey"), q.get("appsecret")) == (CORP, SECRET)
        )
        if not ok:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        self.token_fetches += 1
        token = f"tok-{self.token_fetches}"
        self.tokens.add(token)
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def post(self, path: str, q: dict[str, str], raw: bytes, headers: dict[str, str]) -> tuple[int, dict]:
        if path == "/sms":
            return self.sms(raw, headers)
        if q.get("access_token") not in self.tokens:
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        body = json.loads(raw)
        if path == "/cgi-bin/message/send":
            if body.get("agentid") != AGENT or body.get("msgtype") != "markdown":
                return 200, {"errcode": 40056, "errmsg": "invalid agentid"}
            if body["touser"] not in self.members:
                return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": body["touser"]}
            self.inbox.append({"vendor": "wecom", "to": body["touser"], "text": body["markdown"]["content"]})
            return 200, {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "m1"}
        if path == "/topapi/message/corpconversation/asyncsend_v2":
            if body.get("agent_id") != AGENT:
                return 200, {"errcode": 40056, "errmsg": "不合法的agentid"}
            if body["userid_list"] not in self.members:
                return 200, {"errcode": 33012, "errmsg": "无效的userid"}
            md = body["msg"]["markdown"]
            self.inbox.append(
                {"vendor": "dingtalk", "to": body["userid_list"], "text": md["title"] + md["text"]}
            )
            return 200, {"errcode": 0, "errmsg": "ok", "task_id": 1}
        return 404, {"errcode": 404}

    def sms(self, raw: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        ts = headers.get("X-Yuqing-Timestamp", "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            return 401, {"code": "STALE", "message": "timestamp missing or stale"}
        if headers.get("X-Yuqing-Signature") != sms_signature(SMS_SECRET, ts, raw):
            return 401, {"code": "SIGN", "message": "bad signature"}
        if self.sms_status != 200:
            return self.sms_status, {"code": "BUSY"}
        body = json.loads(raw)
        self.inbox.append({"vendor": "sms", "to": body["phone"], "text": body["text"]})
        return 200, {"code": 0, "message": "accepted"}

    def expire_tokens(self) -> None:
        self.tokens.clear()


@pytest.fixture
def vendor() -> Iterator[FakeVendor]:
    v = FakeVendor()
    yield v
    v.server.shutdown()


def wecom(vendor: FakeVendor, secret: str = SECRET) -> WeComAppChannel:
    return WeComAppChannel(corpid=CORP, corpsecret=secret, agentid=AGENT, base_url=vendor.url)


def dingtalk(vendor: FakeVendor, secret: str = SECRET) -> DingTalkWorkChannel:
    return DingTalkWorkChannel(appkey=CORP, appsecret=secret, agent_id=AGENT, base_url=vendor.url)


@pytest.mark.parametrize("make", [wecom, dingtalk], ids=["wecom_app", "dingtalk_work"])
def test_app_message_reaches_the_person_and_reuses_its_token(vendor: FakeVendor, make) -> None:
    channel = make(vendor)
    assert channel.send(MESSAGE).outcome == "sent"
    assert channel.send(MESSAGE).outcome == "sent"
    assert vendor.token_fetches == 1  # one token for both messages
    assert [m["to"] for m in vendor.inbox] == ["wangfxz", "wangfxz"]
    assert "权威信息发布超时" in vendor.inbox[0]["text"] and MESSAGE.link in vendor.inbox[0]["text"]


@pytest.mark.parametrize("make", [wecom, dingtalk], ids=["wecom_app", "dingtalk_work"])
def test_an_expired_token_is_fetched_anew_and_the_message_still_goes(vendor: FakeVendor, make) -> None:
    channel = make(vendor)
    assert channel.send(MESSAGE).outcome == "sent"
    vendor.expire_tokens()
    assert channel.send(MESSAGE).outcome == "sent"
    assert vendor.token_fetches == 2 and len(vendor.inbox) == 2


@pytest.mark.parametrize("make", [wecom, dingtalk], ids=["wecom_app", "dingtalk_work"])
def test_wrong_credentials_and_unknown_people_fail_with_the_reason(vendor: FakeVendor, make) -> None:
    bad = make(vendor, secret="wrong")
    result = bad.send(MESSAGE)
    assert result.outcome == "failed" and "40001" in result.detail
    stranger = OutgoingMessage(**{**_fields(MESSAGE), "address": "nobody"})
    result = make(vendor).send(stranger)
    assert result.outcome == "failed" and ("nobody" in result.detail or "33012" in result.detail)
    assert vendor.inbox == []


def test_an_unreachable_vendor_is_retried_not_dropped() -> None:
    channel = WeComAppChannel(corpid=CORP, corpsecret=SECRET, agentid=AGENT, base_url="http://127.0.0.1:9")
    assert channel.send(MESSAGE).outcome == "retry"


def test_sms_is_signed_short_and_verified_by_the_gateway(vendor: FakeVendor) -> None:
    sms = SmsGatewayChannel(url=f"{vendor.url}/sms", secret=SMS_SECRET, sign="【网信办】", max_chars=70)
    to_phone = OutgoingMessage(**{**_fields(MESSAGE), "address": "13800000000"})
    assert sms.send(to_phone).outcome == "sent"
    (got,) = vendor.inbox
    assert got["to"] == "13800000000" and got["text"].startswith("【网信办】[重大] 封丘县化工厂")
    assert got["text"].endswith(MESSAGE.link) and len(got["text"]) <= 70
    forged = SmsGatewayChannel(url=f"{vendor.url}/sms", secret="not-the-secret")
    result = forged.send(to_phone)
    assert result.outcome == "failed" and "bad signature" in result.detail
    vendor.sms_status = 503
    assert sms.send(to_phone).outcome == "retry"
    assert len(vendor.inbox) == 1


def _fields(m: OutgoingMessage) -> dict[str, Any]:
    return {f: getattr(m, f) for f in m.__dataclass_fields__}


FIXTURE = Path(__file__).parent / "fixtures" / "departments.yaml"
AT = datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)


def test_the_ladder_reaches_the_named_leader_through_the_directory(tmp_path: Path) -> None:
    data = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    aq = next(d for d in data["departments"] if d["id"] == "aq-sthj")
    aq["leader_in_charge"] = {"name": "郑副市长", "phone": "13900000001", "wecom_userid": "zhaofsz"}
    path = tmp_path / "departments.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    got = DirectoryRecipients(Directory.load_yaml(path))(
        Alert(department_id="aq-sthj", region_code="3408"), ["deputy_leader"], AT
    )
    assert [(r.name, r.phone, r.wecom_userid, r.dingtalk_userid) for r in got] == [
        ("郑副市长", "13900000001", "zhaofsz", None)
    ]


def test_outbox_pages_each_leader_once_and_digests_over_the_limit(db, make_worker, clock, vendor) -> None:
    worker = make_worker()
    ids = [worker.ingest(incident(f"page-{i}", level="重大")).alert_id for i in range(24)]
    channels = build_channels(
        [
            Channel(
                name="leader-wecom",
                type="wecom_app",
                roles=["deputy_leader"],
                options={"corpid": CORP, "corpsecret": SECRET, "agentid": AGENT, "base_url": vendor.url},
            ),
            Channel(
                name="leader-sms", type="sms", options={"url": f"{vendor.url}/sms", "secret": SMS_SECRET}
            ),
        ]
    )
    leader = outbox.Recipient(
        role="deputy_leader",
        key="deputy_leader:fq:王副县长",
        name="王副县长",
        phone="13900000002",
        wecom_userid="wangfxz",
    )
    head = outbox.Recipient(role="department_head", key="department_head:fq:李局长", name="李局长")

    def queue() -> int:
        added = 0
        with db.transaction() as s:
            for alert_id in ids:
                added += outbox.enqueue(
                    s,
                    s.get(Alert, alert_id),
                    None,
                    "breach",
                    0,
                    [leader, head],
                    clock.now(),
                    channels=channels,
                    console_url="https://yq.example",
                )
        return added

    # the leader on both channels; the head has no address on either (and wecom is for deputy leaders)
    assert queue() == 48
    assert queue() == 0  # queueing the same notices again adds nothing
    retry = Retry(max_attempts=3, base_seconds=60, max_seconds=600)
    stats = outbox.dispatch(db.sessions, channels, clock.now(), retry=retry, console_url="https://yq.example")
    assert stats.sent == 48
    wecom_msgs = [m for m in vendor.inbox if m["vendor"] == "wecom"]
    sms_msgs = [m for m in vendor.inbox if m["vendor"] == "sms"]
    assert len(wecom_msgs) == 24 and {m["to"] for m in wecom_msgs} == {"wangfxz"}
    assert len(sms_msgs) == 20 and {m["to"] for m in sms_msgs} == {"13900000002"}  # 19 + one digest of 5
    with db.session() as s:
        rows = s.query(Notification).filter(Notification.channel == "leader-sms").all()
        assert {r.status for r in rows} == {"sent"} and {r.address for r in rows} == {"13900000002"}
