"""The scheduled 日报 / 周报: the next run at 08:00 Beijing time, a run at start (catching up), a failed run
retried at the next one, and --at in the wrong format refused."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from reports.schedule import ScheduleError, next_run, parse_at, serve
from yuqing.cli.main import app as cli
from yuqing.clock import FakeClock

CN = ZoneInfo("Asia/Shanghai")


def test_next_run_is_the_next_eight_oclock_in_beijing() -> None:
    at = parse_at("08:00")
    assert next_run(datetime(2026, 12, 4, 23, 30, tzinfo=UTC), at) == datetime(2026, 12, 5, 8, 0, tzinfo=CN)
    assert next_run(datetime(2026, 12, 4, 0, 0, tzinfo=UTC), at) == datetime(2026, 12, 5, 8, 0, tzinfo=CN)
    assert next_run(datetime(2026, 12, 3, 23, 59, tzinfo=UTC), at) == datetime(2026, 12, 4, 8, 0, tzinfo=CN)


@pytest.mark.parametrize("bad", ["8", "24:00", "08:60", "8点", ""])
def test_bad_times(bad: str) -> None:
    with pytest.raises(ScheduleError, match="HH:MM"):
        parse_at(bad)


def test_serve_runs_at_start_survives_a_failure_and_stops() -> None:
    clock = FakeClock(datetime(2026, 12, 4, 23, 59, 59, 999000, tzinfo=UTC))  # 1 ms before 08:00 Beijing
    stop = threading.Event()
    runs: list[datetime] = []

    def job(now: datetime) -> None:
        runs.append(now)
        if len(runs) == 1:
            raise RuntimeError("database down")
        clock.advance(datetime(2026, 12, 6, tzinfo=UTC) - clock.now())
        stop.set()

    assert serve(clock, time(8, 0), job, stop) == 2
    assert len(runs) == 2


def test_cli_refuses_a_bad_time_and_an_unknown_channel() -> None:
    runner = CliRunner()
    bad = runner.invoke(cli, ["report", "schedule", "--at", "8am"])
    assert bad.exit_code == 2 and "HH:MM" in bad.output
    unknown = runner.invoke(cli, ["report", "schedule", "--send", "nobody"])
    assert unknown.exit_code == 2 and "未在规则文件" in unknown.output
