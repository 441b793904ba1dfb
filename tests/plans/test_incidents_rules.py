"""Plans feed incidents (the plan ids of their posts) and rules (a `plans: [...]` condition)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerting.rules import evaluate, parse_config
from incidents.clustering import IncidentTracker
from nlp.tokenize import segment
from yuqing.schemas import EnrichedPost, Incident, Location, Tags

T0 = datetime(2026, 11, 20, 8, tzinfo=UTC)


def _post(pid: str, title: str, minutes: int, plans: list[int]) -> EnrichedPost:
    at = T0 + timedelta(minutes=minutes)
    return EnrichedPost(id=pid, source_id=f"s{pid}", url=f"https://example.cn/{pid}", title=title,
                        content=title, published_at=at, fetched_at=at, tokens=segment(title), plan_ids=plans,
                        tags=Tags(locations=[Location(name="封丘县", code="410727")]))


def test_an_incident_carries_the_plans_of_its_posts() -> None:
    tracker = IncidentTracker()
    changes = [tracker.add(p) for p in (
        _post("1", "封丘县化工厂发生爆炸 浓烟滚滚", 0, [1]),
        _post("2", "封丘县化工厂发生爆炸 多人受伤", 5, [1, 2]),
        _post("3", "封丘县化工厂爆炸 消防到场", 9, []),
    )]
    last = [c for c in changes if c is not None][-1].incident
    assert last.post_count == 3
    assert last.plan_ids == [1, 2]


CONFIG = """
rules:
  - name: place-plan
    level: 较大
    when: {plans: [1, 7]}
  - name: place-plan-hot
    level: 重大
    when: {plans: [1], post_count_at_least: 10}
"""


def _incident(plans: list[int], posts: int = 1) -> Incident:
    return Incident(id="i", title="t", first_seen=T0, last_seen=T0, plan_ids=plans, post_count=posts)


def test_a_rule_on_plans_opens_alerts() -> None:
    config = parse_config(CONFIG)
    assert evaluate(config, _incident([7]), T0).level == "较大"
    assert evaluate(config, _incident([1], posts=12), T0).matched == ("place-plan", "place-plan-hot")
    assert evaluate(config, _incident([3]), T0).level is None
    assert evaluate(config, _incident([]), T0).level is None
    assert config.rules[0].when.failed(_incident([]), T0) == ["plans"]
