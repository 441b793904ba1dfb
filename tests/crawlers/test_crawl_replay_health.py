"""Replay sources (no network) and the source-health figures, on SQLite and PostgreSQL."""

import json
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from crawlers.config import ReplaySource, load_source_file
from crawlers.crawl import crawl_round
from crawlers.health import source_health
from crawlers.models import CrawlRun
from yuqing.bus import Bus
from yuqing.clock import CN_TZ, FakeClock
from yuqing.db.session import Database, open_database
from yuqing.schemas import RawPost
from yuqing.settings import PROJECT_ROOT

NewPosts = Callable[[], list[tuple[str | None, RawPost]]]  # the raw_posts fixture
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=CN_TZ)
REPLAY_YAML = PROJECT_ROOT / "crawlers" / "sources" / "fengqiu-drill-replay.yaml"


def replay_source(tmp_path: Path, extra: str = "", broken_line: bool = False) -> ReplaySource:
    original = load_source_file(REPLAY_YAML)
    assert isinstance(original, ReplaySource)
    data = tmp_path / "replay.jsonl"
    shutil.copy(original.file, data)
    if broken_line:
        with data.open("a", encoding="utf-8") as fh:
            fh.write('{"url": "https://drill.example/x", "published_at": "not a time"}\n')
    yaml_file = tmp_path / "replay.yaml"
    yaml_file.write_text(
        REPLAY_YAML.read_text(encoding="utf-8").replace(
            "../../sample_site/data/fengqiu_explosion_replay.jsonl", str(data)
        )
        + extra,
        encoding="utf-8",
    )
    source = load_source_file(yaml_file)
    assert isinstance(source, ReplaySource)
    return source


def lines(source: ReplaySource) -> list[dict[str, object]]:
    return [json.loads(line) for line in source.file.read_text(encoding="utf-8").splitlines() if line.strip()]


def round_(source: ReplaySource, database: Database, bus: Bus, clock: FakeClock) -> tuple[int, int]:
    producer = bus.producer()
    summary = crawl_round([source], db=database, producer=producer, clock=clock)[source.id]
    producer.close()
    return summary.new, summary.updated


def seen_at(line: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(line["seen_at"]))


def test_replay_plays_the_event_at_speed_with_updates_and_resumes_after_restart(
    tmp_path: Path, db: Database, db_url: str, bus: Bus, raw_posts: NewPosts
) -> None:
    source = replay_source(tmp_path)
    data = lines(source)
    event_start = seen_at(data[0])
    clock = FakeClock(T0)

    assert round_(source, db, bus, clock) == (1, 0)  # the replay starts: only the first post is due
    [(key, first)] = raw_posts()
    assert key == source.id and first.url == data[0]["url"]
    assert first.published_at == T0 and first.region == "410727" and first.source_kind == "social"

    db.close()  # restart half-way through: the replay position is kept
    restarted = open_database(db_url)
    clock.advance(timedelta(seconds=30))  # x240: the first two hours of the event
    due = [d for d in data[1:] if seen_at(d) - event_start <= timedelta(hours=2)]
    assert round_(source, restarted, bus, clock) == (len(due) - 2, 2)  # two posts seen again, more reposts
    assert [p.url for _, p in raw_posts()] == [d["url"] for d in due]

    clock.advance(timedelta(minutes=5))  # the rest of the event
    rest = len(data) - 1 - len(due)
    assert round_(source, restarted, bus, clock) == (rest - 2, 2)
    posts = [p for _, p in raw_posts()]
    assert posts[-1].url == data[-1]["url"]
    published = datetime.fromisoformat(str(data[-1]["published_at"]))
    assert posts[-1].published_at == T0 + (published - event_start) / 240

    assert round_(source, restarted, bus, clock) == (0, 0)
    restarted.close()


def test_updates_carry_the_higher_counts_and_the_same_id(
    tmp_path: Path, db: Database, bus: Bus, raw_posts: NewPosts
) -> None:
    source = replay_source(tmp_path)
    clock = FakeClock(T0)
    round_(source, db, bus, clock)
    clock.advance(timedelta(hours=1))
    round_(source, db, bus, clock)
    posts = [p for _, p in raw_posts()]
    updates = [p for p in posts if p.is_update]
    assert len(updates) == 4
    for update in updates:
        originals = [p for p in posts if p.id == update.id and not p.is_update]
        assert len(originals) == 1
        assert update.counts.repost > originals[0].counts.repost


@pytest.mark.parametrize(
    "db_engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_health_counts_items_errors_and_flags_a_silent_source(
    tmp_path: Path, db_engine: Engine, bus: Bus
) -> None:
    database = Database(db_engine)
    source = replay_source(tmp_path, extra="silent_after: 90m\n", broken_line=True)
    clock = FakeClock(T0)
    round_(source, database, bus, clock)
    clock.advance(timedelta(minutes=10))  # the whole event has played
    new, updated = round_(source, database, bus, clock)
    total = 1 + new + updated

    with database.transaction() as session:
        [health] = source_health(session, clock.now())
    assert (health.source_id, health.status, health.silent) == (source.id, "ok", False)
    assert health.items_last_hour == health.items_last_day == health.items_total == total == 22
    assert health.errors_last_day == {"parse": 1}  # the broken line, reported when the replay started
    assert health.recent_problems[0].kind == "parse" and "line 23" in health.recent_problems[0].reason
    assert health.last_item_at == T0 + timedelta(minutes=10)

    clock.advance(timedelta(minutes=65))  # the source keeps running but yields nothing
    assert round_(source, database, bus, clock) == (0, 0)
    with database.transaction() as session:
        [health] = source_health(session, clock.now())
    assert health.silent is False and health.items_last_hour == 0 and health.items_last_day == 22

    clock.advance(timedelta(minutes=30))  # 95 minutes without an item
    round_(source, database, bus, clock)
    with database.transaction() as session:
        [health] = source_health(session, clock.now())
    assert health.silent is True and health.status == "silent"
    assert health.last_success_at == clock.now() and health.silent_after_seconds == 5400

    clock.advance(timedelta(days=9))  # history older than eight days is pruned
    round_(source, database, bus, clock)
    with database.transaction() as session:
        [health] = source_health(session, clock.now())
        assert session.scalar(select(func.count()).select_from(CrawlRun)) == 1
    assert health.items_total == 22 and health.recent_problems == []
