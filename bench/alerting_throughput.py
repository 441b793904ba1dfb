"""Alerting throughput on the embedded defaults (SQLite): incidents turned into alerts per second (one
transaction each: rules, assignment, deadlines, escalation steps, first notices), and escalation steps
fired plus notifications sent per second when a day of timers falls due at once.

    python -P bench/alerting_throughput.py [--incidents 500] [--db-url postgresql+psycopg://postgres@127.0.0.1/bench]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerting.worker import AlertingWorker
from yuqing.bus import open_bus
from yuqing.clock import FakeClock
from yuqing.db.registry import load_all_models
from yuqing.db.session import Database, make_engine
from yuqing.schemas import Incident, Location, Severity
from yuqing.settings import PROJECT_ROOT, load_settings

CODES = ["340803", "340826", "340881", "340104", "340111", "340124", "3408", "34"]
CATEGORIES = ["卫生计生", "环境保护", "教育文体", "城乡建设", "交通运输", None]
LEVELS = ["一般", "较大", "重大", "特别重大"]


def incidents(n: int, start: datetime) -> list[Incident]:
    return [
        Incident(
            id=f"bench-{i}",
            title=f"测试事件 {i}",
            first_seen=start,
            last_seen=start,
            category=CATEGORIES[i % len(CATEGORIES)],
            locations=[Location(name="地点", code=CODES[i % len(CODES)])],
            severity=Severity(level=LEVELS[i % len(LEVELS)]),
            post_count=10,
            source_count=2,
        )
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--incidents", type=int, default=500)
    parser.add_argument("--db-url", default=None, help="default: a SQLite file in a temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_url = args.db_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        engine = make_engine(db_url)
        load_all_models().metadata.create_all(engine)
        settings = load_settings(
            data_dir=Path(tmp),
            db_url=db_url,
            departments_file=PROJECT_ROOT / "alerting" / "config" / "departments.yaml",
        )
        start = datetime(2026, 11, 10, 1, 0, tzinfo=UTC)
        clock = FakeClock(start)
        bus = open_bus(settings.bus_url)
        worker = AlertingWorker(bus, Database(engine), settings, clock=clock)
        batch = incidents(args.incidents, start)

        began = time.perf_counter()
        for inc in batch:
            worker.ingest(inc)
        ingest_s = time.perf_counter() - began
        first = worker.run_timers(clock.now())  # the first notices

        clock.advance(timedelta(hours=30))  # every 5-hour and 24-hour ladder falls due at once
        began = time.perf_counter()
        report = worker.run_timers(clock.now())
        timers_s = time.perf_counter() - began
        bus.close()
        engine.dispose()
    print(f"db: {db_url.split(':', 1)[0]}")
    rate = args.incidents / ingest_s
    print(f"ingest: {args.incidents} incidents in {ingest_s:.2f} s = {rate:.0f} incidents/s")
    print(f"first notices sent: {first.sent}")
    steps = report.fired + report.skipped
    print(f"timers after 30 h: {report.fired} steps fired, {report.skipped} skipped, in {timers_s:.2f} s")
    print(f"  = {steps / timers_s:.0f} steps/s; {report.sent} notifications sent in the same run")


if __name__ == "__main__":
    main()
