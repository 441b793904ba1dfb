"""效果评估: the response's effect measured from the incident's posts, as rules with their figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from factories import alerting_worker, login, make_post, seed_incident
from fastapi.testclient import TestClient

from alerting import service
from alerting.effect_review import review
from alerting.read_models import DeadlineRead
from api.schemas import PostOut
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage.sqlite_fts import SqliteFtsStore

R = datetime(2026, 5, 11, 12, 0, tzinfo=UTC)  # information published


def _posts(spec: list[tuple[float, str]]) -> list[PostOut]:
    """(hours relative to R, sentiment) per post."""
    return [PostOut.from_store(make_post(i, title=f"帖子{i}", at=R + timedelta(hours=h), sentiment=s)
                               .model_dump(mode="json"))
            for i, (h, s) in enumerate(spec)]


def _deadlines(met_at: datetime | None) -> list[DeadlineRead]:
    due = R + timedelta(hours=1)
    return [DeadlineRead(id=1, kind="authoritative_info", start=R - timedelta(hours=4), due_at=due,
                         original_due_at=due, provisional=False, met_at=met_at,
                         stopped_at=met_at, breached_at=None, state="met" if met_at else "open",
                         remaining_seconds=None)]


def test_no_response_yet_means_nothing_to_judge() -> None:
    result = review(_posts([(-1, "negative")] * 5), _deadlines(None), R)
    assert result.verdict == "未回应" and result.before is None


def test_a_discussion_that_falls_back_and_turns_less_negative() -> None:
    before = [(-3 + i * 0.25, "negative") for i in range(10)] + [(-2.9, "neutral"), (-1.1, "neutral")]
    after = [(0.5, "negative"), (1.5, "neutral"), (2.5, "positive"), (3.5, "neutral")]
    result = review(_posts(before + after), _deadlines(R), R + timedelta(hours=8))
    assert result.before is not None and result.after is not None
    # the window is as long as the incident ran before the response (3 h, at least 1 h, at most 6 h)
    assert result.before.start == R - timedelta(hours=3) and result.after.end == R + timedelta(hours=3)
    assert (result.before.posts, result.after.posts) == (12, 3)  # the 3.5 h post is outside
    assert result.before.negative_share == round(10 / 12, 4)
    assert result.verdict == "舆情回落" and not result.provisional
    assert "4 条/时" in result.summary and "-75%" in result.summary and "结论：舆情回落" in result.summary


def test_a_discussion_that_keeps_growing_is_not_calmed_and_an_open_window_is_provisional() -> None:
    before = [(-2 + i * 0.5, "negative") for i in range(4)]
    after = [(i * 0.2, "negative") for i in range(8)]
    result = review(_posts(before + after), _deadlines(R), R + timedelta(hours=1, minutes=36))
    assert result.verdict == "舆情未缓解" and result.provisional
    assert "评估窗口尚未结束" in result.summary


def test_too_few_posts_is_said_so() -> None:
    result = review(_posts([(-0.5, "negative"), (0.5, "neutral")]), _deadlines(R), R + timedelta(hours=9))
    assert result.verdict == "数据不足"


def test_the_incident_page_and_api_show_the_review_after_information_is_published(
    client: TestClient, settings: Settings, database: Database, clock: FakeClock, store: SqliteFtsStore
) -> None:
    start = clock.now()
    first = start - timedelta(hours=2)
    posts = [make_post(100 + i, title="化工厂 异味", at=first + timedelta(minutes=20 * i),
                       location=("安庆市", "3408")) for i in range(6)]
    store.index(posts)
    worker = alerting_worker(settings, database, clock)
    alert_id = seed_incident(worker, database, incident_id="inc-eff", title="安庆 化工厂 异味",
                             place=("安庆市", "3408"), first_seen=start - timedelta(hours=2),
                             post_ids=[p.id for p in posts])
    assert alert_id is not None
    login(client, "duty")
    detail = client.get("/api/incidents/inc-eff").json()
    assert detail["effect"]["verdict"] == "未回应"
    with database.transaction() as s:
        service.acknowledge(s, alert_id=alert_id, actor="duty", channel="api", now=clock.now())
        service.record_info_published(s, alert_id=alert_id, link="https://aq.gov.cn/n/1", evidence="通报",
                                      actor="duty", channel="api", now=clock.now())
    clock.advance(timedelta(hours=3))
    effect = client.get("/api/incidents/inc-eff").json()["effect"]
    assert effect["before"]["posts"] == 6 and effect["after"]["posts"] == 0
    assert effect["verdict"] == "舆情回落" and not effect["provisional"]
    page = client.get(f"/alerts/{alert_id}").text
    assert 'id="effect"' in page and "舆情回落" in page
