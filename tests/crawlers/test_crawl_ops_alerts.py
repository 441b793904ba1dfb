"""A failing source raises one operational alert for the duty officers, and it clears on recovery."""

from __future__ import annotations

from datetime import datetime, timedelta

from crawlers.config import source_from_dict
from crawlers.crawl import crawl_round
from crawlers.worker import Scheduler
from yuqing.bus import Bus
from yuqing.clock import CN_TZ, FakeClock
from yuqing.db.session import Database
from yuqing.ops_alerts import open_alerts
from yuqing.settings import load_settings

SETTINGS = {"DOWNLOAD_TIMEOUT": 2, "RETRY_TIMES": 0, "LOG_LEVEL": "CRITICAL"}


def feed(path: str, site: str):
    return source_from_dict({"id": "news", "name": "新闻源", "type": "rss", "start_urls": [site + path]})


def test_failing_source_opens_one_alert_and_recovery_resolves_it(site: str, db: Database, bus: Bus,
                                                                   tmp_path) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 12, 0, tzinfo=CN_TZ))
    scheduler = Scheduler(load_settings(data_dir=tmp_path), db, clock, lambda s: True, "crawl")
    producer = bus.producer()

    broken = feed("/bad/500", site)
    for _ in range(2):  # failing twice still means one open alert
        crawl_round([broken], db=db, producer=producer, clock=clock, scrapy_settings=SETTINGS)
        scheduler.raise_health_alerts([broken])
        clock.advance(timedelta(minutes=10))
    with db.transaction() as session:
        alerts = open_alerts(session)
        assert [(a.kind, a.subject) for a in alerts] == [("source_failing", "news")]
        assert "新闻源" in alerts[0].detail

    good = feed("/news/rss.xml", site)
    crawl_round([good], db=db, producer=producer, clock=clock, scrapy_settings=SETTINGS)
    scheduler.raise_health_alerts([good])
    producer.close()
    with db.transaction() as session:
        assert open_alerts(session) == []
