"""Sending a stored 日报 to the leaders' channels: a webhook (a local fake HTTP server) gets the title, the
figures and the console link; a failing server is retried by the next run; a sent report is never sent
twice; ``yuqing report due --send`` does it from the rules file's channels."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from report_data import seed_case
from sqlalchemy import select
from test_report_access import _cli_env
from typer.testing import CliRunner

from alerting.notify import build_channels
from alerting.rules import Channel
from reports.delivery import DeliveryError, Target, deliver
from reports.models import ReportDelivery
from reports.periodic import daily_period, generate, summary_text
from yuqing.cli.main import app as cli
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage.sqlite_fts import SqliteFtsStore

RULES = Path(__file__).resolve().parents[2] / "alerting" / "config" / "rules.yaml"


class Hook:
    """A webhook receiver answering 500 while ``failing`` is set."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.failing = False
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = 500 if hook.failing else 200
                if not hook.failing:
                    hook.received.append(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.server.shutdown()


@pytest.fixture
def seeded(settings: Settings, database: Database, clock: FakeClock, store: SqliteFtsStore):
    return seed_case(settings, database, clock, store)


def test_sent_once_and_retried_after_a_failure(database: Database, clock: FakeClock, seeded,
                                               hook: Hook) -> None:
    channels = build_channels([Channel(name="leaders", type="webhook", options={"url": hook.url})])
    now = clock.advance(timedelta(days=1))
    rp = daily_period("2026-05-11")

    def run() -> str:
        with database.transaction() as session:
            made = generate(session, rp, "pdf", now=now, actor="t")
            assert made.stored is not None
            [result] = deliver(session, made.stored, [Target("leaders")], channels, now=now,
                               summary=summary_text(session, rp, now=now), console_url="http://console.example")
            return result.status

    hook.failing = True
    assert run() == "retry" and hook.received == []
    hook.failing = False
    assert run() == "sent"
    assert run() == "skipped"  # never twice
    [body] = hook.received
    text = json.dumps(body, ensure_ascii=False)
    assert "舆情日报（2026 年 5 月 11 日）" in text and "新增事件 1 起，新增预警 1 条" in text
    assert "http://console.example/reports/files/" in text
    with database.transaction() as session:
        [row] = session.scalars(select(ReportDelivery)).all()
        assert row.status == "sent" and row.attempts == 2


def test_unknown_channel_and_mail_without_address_are_refused(database: Database, clock: FakeClock,
                                                               seeded) -> None:
    mail = Channel(name="mail", type="email", options={"host": "127.0.0.1", "sender": "yq@example.cn"})
    channels = build_channels([mail])
    now = clock.advance(timedelta(days=1))
    with database.transaction() as session:
        made = generate(session, daily_period("2026-05-11"), "pdf", now=now, actor="t")
        assert made.stored is not None
        with pytest.raises(DeliveryError, match="未在规则文件"):
            deliver(session, made.stored, [Target("robot")], channels, now=now, summary="", console_url="")
        with pytest.raises(DeliveryError, match="需要收件地址"):
            deliver(session, made.stored, [Target("mail")], channels, now=now, summary="", console_url="")


def test_cli_due_sends_through_the_rules_file(monkeypatch: pytest.MonkeyPatch, settings: Settings,
                                              database: Database, seeded, hook: Hook, tmp_path: Path) -> None:
    from yuqing.settings import get_settings

    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.read_text(encoding="utf-8").replace(
        "    - {name: console, type: console}",
        "    - {name: console, type: console}\n"
        f"    - {{name: leaders, type: webhook, options: {{url: \"{hook.url}\"}}}}",
    ), encoding="utf-8")
    _cli_env(monkeypatch, settings, database, tmp_path)
    monkeypatch.setenv("YUQING_RULES_FILE", str(rules))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        first = runner.invoke(cli, ["report", "due", "--format", "pdf", "--send", "leaders"])
        assert first.exit_code == 0, first.output
        assert "leaders: sent" in first.output and len(hook.received) == 2  # yesterday's 日报, last 周报
        again = runner.invoke(cli, ["report", "due", "--format", "pdf", "--send", "leaders"])
        assert again.exit_code == 0 and "已存在" in again.output and len(hook.received) == 2
        bad = runner.invoke(cli, ["report", "due", "--send", "nobody"])
        assert bad.exit_code == 2 and "未在规则文件" in bad.output
    finally:
        get_settings.cache_clear()


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting, so it needs a real port
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_email_carries_the_pdf_and_a_failing_mail_server_is_retried(database: Database, clock: FakeClock,
                                                                      seeded) -> None:
    from email import message_from_bytes
    from email.policy import default as default_policy

    from aiosmtpd.controller import Controller

    port = _free_port()
    mail = Channel(name="mail", type="email", options={"host": "127.0.0.1", "port": port,
                                                        "sender": "yuqing@example.cn", "timeout": 3})
    channels = build_channels([mail])
    now = clock.advance(timedelta(days=1))
    rp = daily_period("2026-05-11")
    target = Target("mail", "leader@example.gov.cn")

    def run() -> str:
        with database.transaction() as session:
            made = generate(session, rp, "pdf", now=now, actor="t")
            assert made.stored is not None
            [result] = deliver(session, made.stored, [target], channels, now=now,
                               summary=summary_text(session, rp, now=now), console_url="http://console.example")
            return result.status

    assert run() == "retry"  # nobody listens on the port yet: kept for the next run
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert run() == "sent"
        assert run() == "skipped"
    finally:
        controller.stop()
    [raw] = inbox.messages
    message = message_from_bytes(raw, policy=default_policy)
    assert message["To"] == "leader@example.gov.cn" and message["Subject"] == "舆情日报（2026 年 5 月 11 日）"
    assert "http://console.example/reports/files/" in message.get_body(("plain",)).get_content()
    [part] = list(message.iter_attachments())
    assert part.get_filename() == "舆情日报（2026 年 5 月 11 日）.pdf"
    assert part.get_content_type() == "application/pdf"
    with database.transaction() as session:
        stored = generate(session, rp, "pdf", now=now, actor="t").stored
        assert stored is not None and part.get_content() == stored.content  # the whole file, as stored
        [row] = session.scalars(select(ReportDelivery)).all()
        assert row.status == "sent" and row.attempts == 2 and row.last_attempt_at is not None


def test_a_channels_per_minute_limit_holds_the_rest_for_the_next_minute(database: Database, clock: FakeClock,
                                                                          seeded, hook: Hook) -> None:
    channels = build_channels([Channel(name="leaders", type="webhook", per_minute=1,
                                       options={"url": hook.url})])
    now = clock.advance(timedelta(days=1))

    def send(day: str, at: datetime) -> str:
        rp = daily_period(day)
        with database.transaction() as session:
            made = generate(session, rp, "html", now=at, actor="t")
            assert made.stored is not None
            [result] = deliver(session, made.stored, [Target("leaders")], channels, now=at,
                               summary="s", console_url="http://console.example")
            return f"{result.status} {result.detail}"

    assert send("2026-05-11", now).startswith("sent")
    held = send("2026-05-10", now)
    assert held.startswith("retry 限流") and len(hook.received) == 1  # over the limit: not sent, not counted
    assert send("2026-05-10", now + timedelta(seconds=61)).startswith("sent") and len(hook.received) == 2
    with database.transaction() as session:
        assert sorted(r.attempts for r in session.scalars(select(ReportDelivery))) == [1, 1]
