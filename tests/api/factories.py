"""Small builders shared by the API and browser tests: posts, users, and logging in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi.testclient import TestClient

from api.auth.users import create_user
from incidents.mapping import row_from_incident
from incidents.models import IncidentPost
from yuqing.clock import Clock
from yuqing.db.session import Database
from yuqing.schemas import EnrichedPost, Incident, Location, Sentiment, Severity, Tags, post_id_for
from yuqing.settings import Settings

if TYPE_CHECKING:
    from alerting.worker import AlertingWorker

PASSWORD = "correct-horse-9"
DIRECTORY = Path(__file__).resolve().parent / "directory.yaml"  # a small department directory for tests
DEPT_A = "aq-sthj"  # 安庆市生态环境局 in the shipped directory
DEPT_B = "hf-sthj"  # 合肥市生态环境局
USERS = (
    ("admin", "admin", None),
    ("duty", "duty_officer", None),
    ("dept_a", "department", DEPT_A),
    ("dept_b", "department", DEPT_B),
    ("leader", "leader", None),
    ("analyst", "analyst", None),
)


def make_post(
    n: int,
    *,
    title: str,
    content: str = "",
    at: datetime,
    category: str = "环境保护",
    sentiment: str = "negative",
    source_id: str = "news-a",
    location: tuple[str, str] | None = None,
    level: str | None = None,
    heat: float = 10.0,
) -> EnrichedPost:
    url = f"https://news.example.cn/a/{n}.html"
    return EnrichedPost(
        id=post_id_for(source_id, url),
        source_id=source_id,
        url=url,
        title=title,
        content=content,
        published_at=at,
        fetched_at=at + timedelta(minutes=5),
        heat=heat,
        tokens=[t for t in re.split(r"\W+", f"{title} {content}") if t],
        tags=Tags(
            category=category,
            sentiment=Sentiment(label=sentiment, score=0.9),  # type: ignore[arg-type]
            severity=Severity(level=level),  # type: ignore[arg-type]
            locations=[Location(name=location[0], code=location[1])] if location else [],
        ),
    )


def create_users(db: Database, now: datetime) -> None:
    with db.transaction() as session:
        for name, role, dept in USERS:
            create_user(session, name, role, PASSWORD, department_id=dept, now=now)


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


def page_csrf(client: TestClient, path: str = "/login") -> str:
    match = CSRF_META.search(client.get(path).text)
    assert match, "every console page carries the CSRF token"
    return match.group(1)


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log in through the console form; returns the session's CSRF token."""
    token = page_csrf(client)
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return page_csrf(client, "/search")


def alerting_worker(settings: Settings, db: Database, clock: Clock) -> AlertingWorker:
    from alerting.worker import AlertingWorker
    from yuqing.bus import open_bus

    return AlertingWorker(open_bus(settings.bus_url, partitions=1), db, settings, clock=clock)


def seed_incident(
    worker: AlertingWorker,
    db: Database,
    *,
    incident_id: str,
    title: str,
    place: tuple[str, str],
    first_seen: datetime,
    level: str | None = "重大",
    category: str = "环境保护",
    post_ids: Sequence[str] = (),
) -> int | None:
    """An incident as the incidents stage would store it, and the alert the alerting stage makes of it."""
    location = Location(name=place[0], code=place[1], level="city")
    incident = Incident(
        id=incident_id,
        title=title,
        keywords=["排污"],
        first_seen=first_seen,
        last_seen=first_seen,
        locations=[location],
        category=category,
        department_type="生态环境局",
        severity=Severity(level=level, triggers=["群众聚集"]),  # type: ignore[arg-type]
        post_count=len(post_ids),
        source_count=1,
        heat=40.0,
        post_ids=list(post_ids),
    )
    with db.transaction() as session:
        session.add(row_from_incident(incident, first_seen))
        session.flush()
        for post_id in post_ids:
            session.add(IncidentPost(incident_id=incident.id, post_id=post_id, added_at=first_seen))
    return worker.ingest(incident).alert_id


NOTICE_LINK = "https://gov.example.cn/notice/1.html"


def act(db: Database, what: str, alert_id: int, now: datetime, **kw: object) -> None:
    """A department officer's step on an alert through the service: ``ack`` (签收), ``info`` (authoritative
    information published), ``press`` (press conference held, both with a link and evidence) or
    ``reassign`` (``kw`` give the new department)."""
    from alerting import service

    calls = {
        "ack": service.acknowledge,
        "info": service.record_info_published,
        "press": service.record_press_conference,
        "reassign": service.reassign,
    }
    extra = {"link": NOTICE_LINK, "evidence": "官网发布通报"} if what in ("info", "press") else {}
    with db.transaction() as session:
        calls[what](session, alert_id=alert_id, actor="officer", channel="console", now=now, **extra, **kw)


def seed_sources(db: Database, now: datetime) -> None:
    """Two crawled sources as the crawler records them: one healthy, one failing with a recent problem."""
    from crawlers.models import CrawlProblem, CrawlRun, CrawlSourceState

    hour = timedelta(hours=1)
    with db.transaction() as session:
        session.add_all(
            [
                CrawlSourceState(
                    source_id="news-a",
                    name="安庆新闻网",
                    kind="news",
                    type="rss",
                    silent_after_s=21600,
                    last_run_at=now - hour / 6,
                    last_success_at=now - hour / 6,
                    last_item_at=now - hour / 2,
                    items_total=120,
                ),
                CrawlSourceState(
                    source_id="forum-b",
                    name="合肥论坛<b>",
                    kind="forum",
                    type="html",
                    silent_after_s=21600,
                    last_run_at=now - hour / 6,
                    last_success_at=now - 5 * hour,
                    last_item_at=now - 5 * hour,
                    items_total=40,
                ),
                CrawlRun(
                    source_id="news-a",
                    started_at=now - hour / 3,
                    finished_at=now - hour / 3,
                    pages=1,
                    items_found=8,
                    items_new=6,
                    items_updated=1,
                    errors={},
                ),
                CrawlProblem(
                    source_id="forum-b",
                    at=now - hour / 6,
                    kind="http_status",
                    url="https://bbs.example/1",
                    reason="HTTP 503",
                ),
            ]
        )
