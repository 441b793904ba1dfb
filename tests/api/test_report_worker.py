"""The ``reports`` stage: the 日报 / 周报 on the schedule of the reports config — what is due when, stored
once, sent once to the configured channels (a failing robot is retried at the next check), today's 日报 so
far kept in the list, and a bad config stopped at start with a Chinese reason."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from report_data import seed_case
from sqlalchemy import select
from test_report_delivery import Hook, hook  # noqa: F401  (the fixture)

from alerting.notify import build_channels
from alerting.rules import Channel
from reports.delivery import DeliveryError
from reports.models import GeneratedReport, ReportDelivery
from reports.periodic import list_stored
from reports.schedule_config import (
    ReportsConfig,
    ReportsConfigError,
    due_daily,
    due_weekly,
    load_reports_config,
)
from reports.worker import ReportScheduler, scheduler_for
from yuqing.clock import CN_TZ, FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage.sqlite_fts import SqliteFtsStore

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reports.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_configs_load() -> None:
    shipped = load_reports_config(ROOT / "reports" / "config" / "reports.yaml")
    assert shipped.daily is not None and shipped.daily.at.hour == 8 and shipped.timezone == "Asia/Shanghai"
    demo = load_reports_config(ROOT / "reports" / "config" / "reports-demo.yaml")
    assert demo.today_snapshot_minutes > 0


@pytest.mark.parametrize(("text", "reason"), [
    ("reports: {daily: {at: '25:00'}}", "daily.at: 时间“25:00”无效"),
    ("reports: {timezone: Mars/Olympus}", "时区“Mars/Olympus”无效"),
    ("reports: {weekly: {day: someday}}", "weekly.day"),
    ("reports: {formats: [xls]}", "formats.0"),
    ("reports: {sendto: []}", "sendto"),
    ("reports: [", "不是有效的 YAML"),
])
def test_a_bad_config_is_a_clear_error(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(ReportsConfigError, match="报告配置文件") as err:
        load_reports_config(_config(tmp_path, text))
    assert reason in str(err.value)
    with pytest.raises(ReportsConfigError, match="无法读取"):
        load_reports_config(tmp_path / "missing.yaml")


def test_what_is_due_when() -> None:
    config = ReportsConfig.model_validate({"daily": {"at": "08:00"},
                                           "weekly": {"day": "monday", "at": "08:30"}})

    def beijing(y: int, m: int, d: int, h: int, mi: int) -> datetime:
        return datetime(y, m, d, h, mi, tzinfo=CN_TZ)

    before = due_daily(config, beijing(2026, 12, 4, 7, 59))
    after = due_daily(config, beijing(2026, 12, 4, 8, 0))
    assert before is not None and before.key == "2026-12-02"
    assert after is not None and after.key == "2026-12-03"
    monday_early = due_weekly(config, beijing(2026, 12, 7, 8, 29))  # 2026-12-07 is a Monday (W50)
    monday_late = due_weekly(config, beijing(2026, 12, 7, 8, 30))
    sunday = due_weekly(config, beijing(2026, 12, 13, 23, 0))
    assert monday_early is not None and monday_early.key == "2026-W48"
    assert monday_late is not None and monday_late.key == "2026-W49"
    assert sunday is not None and sunday.key == "2026-W49"
    off = ReportsConfig.model_validate({"daily": None, "weekly": None})
    morning = beijing(2026, 12, 4, 9, 0)
    assert due_daily(off, morning) is None and due_weekly(off, morning) is None


def test_scheduled_reports_are_stored_once_and_sent_once(database: Database, clock: FakeClock,
                                                         settings: Settings, store: SqliteFtsStore,
                                                         hook: Hook) -> None:  # noqa: F811
    seed_case(settings, database, clock, store)
    channels = build_channels([Channel(name="leaders", type="webhook", options={"url": hook.url})])
    config = ReportsConfig.model_validate({"formats": ["html", "pdf"], "send": [{"channel": "leaders"}]})
    lines: list[str] = []
    scheduler = ReportScheduler(database, config, channels, console_url="http://console.example",
                                echo=lines.append)
    at_0805 = datetime(2026, 5, 12, 0, 5, tzinfo=UTC)  # 08:05 Beijing, Tuesday
    hook.failing = True
    assert scheduler.tick(at_0805) is True  # stored, but both sends wait for the next check
    with database.transaction() as session:
        stored = sorted((r.kind, r.period, r.fmt) for r in list_stored(session))
    assert stored == [("daily", "2026-05-11", "html"), ("daily", "2026-05-11", "pdf"),
                      ("weekly", "2026-W19", "html"), ("weekly", "2026-W19", "pdf")]
    hook.failing = False
    assert scheduler.tick(at_0805 + timedelta(minutes=1)) is False
    assert scheduler.tick(at_0805 + timedelta(minutes=2)) is False
    assert len(hook.received) == 2  # one 日报 and one 周报, each once
    assert any("舆情日报（2026 年 5 月 11 日）" in str(b) for b in hook.received)
    with database.transaction() as session:
        assert session.query(GeneratedReport).count() == 4
        rows = session.scalars(select(ReportDelivery)).all()
        assert sorted((r.status, r.attempts) for r in rows) == [("sent", 2), ("sent", 2)]
    assert sum("已生成" in line for line in lines) == 4


def test_todays_report_so_far_is_listed_and_replaced(database: Database, clock: FakeClock,
                                                     settings: Settings, store: SqliteFtsStore) -> None:
    seed_case(settings, database, clock, store)
    config = ReportsConfig.model_validate({"daily": None, "weekly": None, "formats": ["html"],
                                           "today_snapshot_minutes": 5})
    scheduler = ReportScheduler(database, config, {}, console_url="", echo=lambda _: None)
    now = clock.now()  # 2026-05-11 15:00 Beijing
    scheduler.tick(now)
    scheduler.tick(now + timedelta(minutes=2))  # not yet: one snapshot per 5 minutes
    with database.transaction() as session:
        [first] = list_stored(session)
    assert first.title == "舆情日报（2026 年 5 月 11 日，截至 15:00）" and first.period == "2026-05-11@1500"
    scheduler.tick(now + timedelta(minutes=5))
    with database.transaction() as session:
        [latest] = list_stored(session)
        content = session.get(GeneratedReport, latest.id).content.decode()  # type: ignore[union-attr]
    assert latest.title.endswith("截至 15:05）")  # the earlier snapshot is replaced
    assert "截至" in content and "封丘" in content


def test_an_unknown_channel_stops_the_stage_at_start(database: Database, settings: Settings,
                                                     tmp_path: Path) -> None:
    path = _config(tmp_path, "reports:\n  send:\n    - {channel: nowhere}\n")
    with pytest.raises(DeliveryError, match="渠道“nowhere”未在规则文件"):
        scheduler_for(settings.model_copy(update={"reports_file": path}), database)


def test_worker_with_a_bad_config_exits_2_with_the_reason(tmp_path: Path) -> None:
    path = _config(tmp_path, "reports: {daily: {at: '8 点'}}")
    env = dict(os.environ, YUQING_REPORTS_FILE=str(path), YUQING_DATA_DIR=str(tmp_path),
               YUQING_DB_URL=f"sqlite:///{tmp_path / 'db.sqlite'}", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "yuqing.cli.main", "worker", "reports"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "报告配置文件" in done.stderr and "daily.at" in done.stderr


def test_email_targets_by_address_and_by_the_duty_offices_roles(database: Database, clock: FakeClock) -> None:
    from alerting.directory import Directory
    from reports.delivery import Target
    from reports.worker import resolve_targets

    mail = Channel(name="mail", type="email", options={"host": "127.0.0.1", "sender": "yq@example.cn"})
    channels = build_channels([mail, Channel(name="console", type="console")])
    config = ReportsConfig.model_validate({"send": [
        {"channel": "console"},
        {"channel": "mail", "roles": ["department_head", "duty_office"]},
        {"channel": "mail", "to": ["leader@example.gov.cn", "head@wxb.ha.example"]},
    ]})
    with database.transaction() as session:  # no directory yet: only the given addresses
        before = resolve_targets(session, config, channels)
    assert before == [Target("console"), Target("mail", "leader@example.gov.cn"),
                      Target("mail", "head@wxb.ha.example")]
    directory = Directory.load_yaml(ROOT / "alerting" / "config" / "departments.yaml")  # 河南省网信办
    with database.transaction() as session:
        directory.save(session, now=clock.now())
    with database.transaction() as session:
        targets = resolve_targets(session, config, channels)
    assert targets == [Target("console"), Target("mail", "head@wxb.ha.example"),
                       Target("mail", "office@wxb.ha.example"), Target("mail", "leader@example.gov.cn")]
    no_address = ReportsConfig.model_validate({"send": [{"channel": "mail"}]})
    with database.transaction() as session, pytest.raises(DeliveryError, match="需要收件地址"):
        resolve_targets(session, no_address, channels)
