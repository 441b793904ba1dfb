"""Fixtures for the alerting tests: settings pointing at small rules/directory files, a fake clock, a
database on the shared ``db_engine`` fixture, recording channels, and an incident factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from alerting.notify.base import OutgoingMessage, SendResult
from alerting.worker import AlertingWorker
from yuqing.bus import open_bus
from yuqing.clock import CN_TZ, FakeClock
from yuqing.db.session import Database
from yuqing.schemas import Incident, Location, Severity
from yuqing.settings import Settings, load_settings

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Tuesday 2026-11-10 09:00 Beijing time: no holiday nearby
T0 = datetime(2026, 11, 10, 9, 0, tzinfo=CN_TZ)

RULES = """
rules:
  - {name: major, level: 重大, when: {severity_at_least: 重大}}
  - {name: large, level: 较大, when: {severity_at_least: 较大}}
  - {name: ordinary, level: 一般, when: {severity_at_least: 一般}}
  - {name: hot, level: 较大, when: {heat_at_least: 500}}
escalation:
  reminders:
    - {name: "50%", at: 0.5, notify: [department]}
    - {name: "75%", at: 0.75, notify: [department_head, duty_officer]}
  breach: {notify: [deputy_leader, department_head, duty_officer], supervise: true,
           repeat_every_minutes: 60, repeat_max: 2}
  unacknowledged: {levels: [重大, 特别重大], after_minutes: 30, notify: [department_head, duty_officer],
                   repeat_every_minutes: 30, repeat_max: 1}
  acknowledgement_timeout_minutes: 120
notifications:
  retry: {max_attempts: 3, base_seconds: 60, max_seconds: 600}
  channels:
    - {name: console, type: console}
    - {name: mail, type: email, options: {host: 127.0.0.1, port: 1, sender: yuqing@example.org}}
    - {name: aq-robot, type: dingtalk, options: {url: "http://127.0.0.1:1/robot"}}
"""


class RecordingChannel:
    """A channel that records what it was asked to send and answers with a scripted outcome."""

    def __init__(self, outcomes: list[SendResult] | None = None) -> None:
        self.sent: list[OutgoingMessage] = []
        self.outcomes = list(outcomes or [])

    def send(self, message: OutgoingMessage) -> SendResult:
        self.sent.append(message)
        return self.outcomes.pop(0) if self.outcomes else SendResult.sent()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0.astimezone(UTC))


@pytest.fixture
def alert_settings(tmp_path: Path) -> Settings:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    return load_settings(
        data_dir=tmp_path / "var",
        rules_file=rules,
        departments_file=FIXTURES / "departments.yaml",
        console_url="https://yq.example/",
    )


@pytest.fixture
def db(db_engine: Engine) -> Iterator[Database]:
    yield Database(db_engine)


@pytest.fixture
def channels() -> dict[str, RecordingChannel]:
    return {"mail": RecordingChannel(), "aq-robot": RecordingChannel()}


@pytest.fixture
def make_worker(
    db: Database, alert_settings: Settings, clock: FakeClock, channels: dict[str, RecordingChannel]
) -> Iterator[Callable[[], AlertingWorker]]:
    """A new worker instance on the same database and bus each call (a restart)."""
    buses = []

    def make() -> AlertingWorker:
        bus = open_bus(alert_settings.bus_url, partitions=2)
        buses.append(bus)
        return AlertingWorker(bus, db, alert_settings, clock=clock, channel_overrides=dict(channels))

    yield make
    for bus in buses:
        bus.close()


def incident(
    incident_id: str = "inc-1",
    *,
    level: str | None = "重大",
    version: int = 1,
    first_seen: datetime = T0,
    category: str | None = "卫生计生",
    code: str = "340826",
    **extra: Any,
) -> Incident:
    locations = [Location(name="地点", code=code)] if code else []
    return Incident(
        id=incident_id,
        title=extra.pop("title", "某县医院输液事故引发关注"),
        first_seen=first_seen,
        last_seen=first_seen + timedelta(minutes=10),
        category=category,
        locations=locations,
        severity=Severity(level=level),
        version=version,
        post_count=12,
        source_count=3,
        **extra,
    )
