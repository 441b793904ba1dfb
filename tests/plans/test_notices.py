"""When a 监测方案's owners are due a notice about an incident: new (first time), rising (posts at least
doubled since they last heard and at least RISING_MIN_POSTS, or the level rose), else nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from alerting.plan_notices import RISING_MIN_POSTS, Heard, _heard, plan_notice
from nlp.plans.models import PlanRow
from yuqing.schemas import Incident, Severity

NOW = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
PLAN = PlanRow(id=7, name="封丘火情", expression="封丘+起火")


def _incident(posts: int, level: str | None = None) -> Incident:
    return Incident(id="inc-9", title="封丘县一厂房起火", first_seen=NOW, last_seen=NOW, post_count=posts,
                    source_count=2, severity=Severity(level=level))  # type: ignore[arg-type]


def test_new_then_rising_by_posts_and_by_level() -> None:
    new = plan_notice(PLAN, _incident(3), None)
    assert new is not None and new.threshold == "p7:new:3:0" and new.subject.endswith("新事件")
    assert "命中新事件" in new.body and "帖文 3 条" in new.body and "未定级" in new.body
    heard = _heard([new.threshold])
    assert heard == Heard(posts=3, rank=0)
    assert plan_notice(PLAN, _incident(6), heard) is None  # doubled, but below the floor
    assert plan_notice(PLAN, _incident(RISING_MIN_POSTS - 1), heard) is None
    rising = plan_notice(PLAN, _incident(RISING_MIN_POSTS), heard)
    assert rising is not None and rising.threshold == f"p7:posts:{RISING_MIN_POSTS}"
    heard = _heard([new.threshold, rising.threshold])
    assert plan_notice(PLAN, _incident(2 * RISING_MIN_POSTS - 1), heard) is None
    level = plan_notice(PLAN, _incident(10, "较大"), heard)
    assert level is not None and level.threshold == "p7:level:2" and "级别升至 较大" in level.body
    heard = _heard([new.threshold, rising.threshold, level.threshold])
    assert plan_notice(PLAN, _incident(10, "较大"), heard) is None


def test_what_was_heard_is_the_largest_count_and_rank_queued() -> None:
    assert _heard([]) is None
    assert _heard(["p7:new:40:3", "p7:posts:16", "p7:level:1"]) == Heard(posts=40, rank=3)
    started_high = plan_notice(PLAN, _incident(50, "重大"), _heard(["p7:new:40:3"]))
    assert started_high is None  # 50 is not double 40 and the level did not rise
