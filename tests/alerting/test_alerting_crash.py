"""Issue 2's crash case on the real alerting stage: SIGKILL `yuqing worker alerting` mid-stream, restart
it, and every incident has exactly one alert — created once (one audit entry), with its deadlines once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from yuqing.bus import open_bus
from yuqing.db.session import open_database
from yuqing.schemas import Incident, Location, Severity

pytestmark = pytest.mark.slow
N = 150
COMMITTED = ("select coalesce(sum(next_seq), 0) from offsets "
             "where group_id = 'alerting' and topic = 'incidents'")


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return int(conn.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "yuqing.cli.main", "worker", "alerting"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_sigkill_mid_stream_then_restart_creates_every_alert_once(tmp_path: Path) -> None:
    db_path = tmp_path / "yuqing.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update(YUQING_DATA_DIR=str(tmp_path), YUQING_BUS_PARTITIONS="2")
    open_database(f"sqlite:///{db_path}").close()  # migrated before the workers start

    bus_path = tmp_path / "bus.sqlite3"
    bus = open_bus(f"sqlite:///{bus_path}", partitions=2)
    producer = bus.producer()
    now = datetime.now(UTC)
    for i in range(N):
        incident = Incident(
            id=f"inc-crash-{i:03d}", title=f"封丘县化工企业爆炸事故 第{i}号", keywords=["爆炸"],
            first_seen=now - timedelta(minutes=5), last_seen=now, category="城乡建设",
            locations=[Location(name="封丘县", code="410727", level="county")],
            severity=Severity(level="重大", triggers=["11人死亡"]), post_count=3, source_count=2, heat=120,
        )
        producer.send("incidents", incident, key=incident.id)
    producer.flush()
    bus.close()

    first = _start(env)
    try:
        assert _wait(lambda: _count(db_path, "select count(*) from alerts") >= 20, 120), "no alerts appeared"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = _count(db_path, "select count(*) from alerts")
        assert killed_at < N, "killed too late to be mid-stream"
    finally:
        if first.poll() is None:
            first.kill()

    second = _start(env)
    try:
        # done when the alerting group has committed everything: redelivered messages were handled too
        assert _wait(lambda: _count(bus_path, COMMITTED) == N, 180), "restart did not finish"
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
    assert second.returncode == 0
    assert _count(db_path, "select count(*) from alerts") == N
    assert _count(db_path, "select count(distinct incident_id) from alerts") == N
    assert _count(db_path, "select count(*) from audit_log where action = 'alert_created'") == N
    # two clocks per 重大 alert, never doubled by a redelivery
    assert _count(db_path, "select count(*) from alert_deadlines") == 2 * N
