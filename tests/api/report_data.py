"""Demo-like data for the report tests: an incident in 封丘 with 15 posts, acknowledged, reassigned with a
reason, answered with authoritative information, a progress release and a 复盘 written by an analyst."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from factories import DEPT_B, act, alerting_worker, make_post, seed_incident

from alerting import service
from alerting.directory import load_directory
from reports.review import save_review
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage.sqlite_fts import SqliteFtsStore

TITLE = "封丘县 化工厂 偷排 废水 河道 发黑"
INCIDENT_ID = "inc-fq"


@dataclass
class Seeded:
    incident_id: str
    alert_id: int
    responded_at: datetime
    now: datetime


def seed_case(settings: Settings, database: Database, clock: FakeClock, store: SqliteFtsStore) -> Seeded:
    """12 negative posts in the 3 hours before the answer and 3 neutral ones after it (so the effect
    review says 舆情回落), then the clock moves 5 hours on."""
    t0 = clock.now()
    posts = [
        make_post(100 + i, title=f"封丘 化工厂 偷排 废水 第{i}帖", content="河道 发黑 有 异味",
                  at=t0 - timedelta(hours=3) + timedelta(minutes=15 * i), location=("封丘县", "410727"),
                  source_id="weibo" if i % 2 else "tieba", heat=20.0 + i)
        for i in range(12)
    ]
    posts += [
        make_post(200 + i, title=f"封丘 通报 已 查处 第{i}帖", at=t0 + timedelta(hours=1, minutes=30 * i),
                  sentiment="neutral", source_id="news-a", location=("封丘县", "410727"))
        for i in range(3)
    ]
    store.index(posts)
    worker = alerting_worker(settings, database, clock)
    alert_id = seed_incident(worker, database, incident_id=INCIDENT_ID, title=TITLE,
                             place=("封丘县", "410727"), first_seen=t0 - timedelta(hours=3),
                             post_ids=[p.id for p in posts])
    assert alert_id is not None
    act(database, "ack", alert_id, t0 + timedelta(minutes=5))
    with database.transaction() as session:
        service.reassign(session, alert_id=alert_id, department_id=DEPT_B, reason="涉事企业属合肥市监管",
                         directory=load_directory(session, settings), actor="duty", channel="console",
                         now=t0 + timedelta(minutes=10))
    responded = t0 + timedelta(minutes=30)
    act(database, "info", alert_id, responded)
    with database.transaction() as session:
        service.record_release(session, alert_id=alert_id, kind="progress",
                               link="https://gov.example.cn/notice/2.html", note="通报调查进展",
                               actor="officer", channel="console", now=t0 + timedelta(hours=2))
        save_review(session, INCIDENT_ID, problems="首次响应偏慢，未及时转派。",
                    measures="建立化工园区巡查台账，值班员十分钟内转派。", actor="analyst", channel="console",
                    now=t0 + timedelta(hours=4))
    now = clock.advance(timedelta(hours=5))
    return Seeded(INCIDENT_ID, alert_id, responded, now)
