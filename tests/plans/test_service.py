"""Plans stored and managed (on SQLite and PostgreSQL), the back-fill over stored posts, the preview."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from nlp.plans.matcher import matches
from nlp.plans.service import (
    PlanError,
    PlanInput,
    active_matcher,
    backfill,
    create_plan,
    list_plans,
    may_manage,
    preview,
    resolve_owners,
    set_paused,
    update_plan,
)
from yuqing.expression import parse_plan
from yuqing.schemas import EnrichedPost
from yuqing.storage import SearchQuery, SearchStore

NOW = datetime(2025, 6, 1, tzinfo=UTC)
PLAN = "(物业|业主|小区)+(停车|车位|噪音)-表扬"


def _expected(posts: list[EnrichedPost], expression: str) -> list[str]:
    node = parse_plan(expression)
    return [p.id for p in posts
            if matches(node, p.title, p.content, p.source_kind, [loc.code for loc in p.tags.locations])]


def test_plans_are_stored_edited_paused_and_checked(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        row = create_plan(session, PlanInput("小区", PLAN, channels=["console"]), actor="duty", now=NOW)
        session.commit()
        assert [r.name for r in list_plans(session)] == ["小区"]
        with pytest.raises(PlanError, match="已有名为") as dup:
            create_plan(session, PlanInput("小区", "a"), actor="duty", now=NOW)
        assert dup.value.status == 409
        session.rollback()
        with pytest.raises(PlanError, match="第 1 个字符") as bad:
            create_plan(session, PlanInput("坏的", "(物业"), actor="duty", now=NOW)
        assert bad.value.field == "expression"
        with pytest.raises(PlanError, match="没有用户"):
            create_plan(session, PlanInput("x", "a", owner_users=["nobody"]), actor="duty", now=NOW)
        with pytest.raises(PlanError, match="名称"):
            create_plan(session, PlanInput(" ", "a"), actor="duty", now=NOW)
        session.rollback()
        assert len(active_matcher(session)) == 1
        update_plan(session, row, PlanInput("小区停车", "停车+小区"), actor="duty", now=NOW)
        set_paused(session, row, True, actor="duty", now=NOW)
        session.commit()
        assert len(active_matcher(session)) == 0
        assert list_plans(session)[0].expression == "停车+小区"


def test_roles_duty_and_admin_all_a_department_its_own(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        row = create_plan(session, PlanInput("p", "a+b"), actor="x", now=NOW)
        row.owner_departments = ["fengqiu-yjj"]
        assert may_manage("admin", None, row) and may_manage("duty_officer", None, row)
        assert may_manage("department", "fengqiu-yjj", row)
        assert not may_manage("department", "other", row)
        assert not may_manage("leader", None, row) and not may_manage("analyst", None, row)
        assert list_plans(session, department="fengqiu-yjj") == [row]
        assert list_plans(session, department="other") == []


def test_backfill_marks_every_stored_match_and_search_filters_by_plan(
    sqlite_store: SearchStore, posts: list[EnrichedPost]
) -> None:
    expected = _expected(posts, PLAN)
    assert 5 < len(expected) < len(posts) / 2  # a real plan on real messages: some, not all
    assert backfill(sqlite_store, 7, PLAN, batch=5) == len(expected)
    found = sqlite_store.search(SearchQuery(plan_ids=[7], size=500, sort="time"))
    assert sorted(h.post["id"] for h in found.hits) == sorted(expected)
    assert found.total == len(expected)
    assert all(h.post["plan_ids"] == [7] for h in found.hits)
    assert backfill(sqlite_store, 7, PLAN) == len(expected)  # again: the same, nothing doubled
    assert sqlite_store.search(SearchQuery(plan_ids=[7], size=0)).total == len(expected)
    # a second plan adds its id beside the first
    second = "停车"
    both = set(expected) & set(_expected(posts, second))
    backfill(sqlite_store, 8, second)
    assert {h.post["id"] for h in sqlite_store.search(SearchQuery(plan_ids=[7], size=500)).hits
            if h.post["plan_ids"] == [7, 8]} == both
    assert sqlite_store.search(SearchQuery(plan_ids=[7, 8], size=0)).total == len(
        set(expected) | set(_expected(posts, second)))


def test_an_edited_plan_leaves_the_posts_it_no_longer_matches(
    sqlite_store: SearchStore, posts: list[EnrichedPost]
) -> None:
    backfill(sqlite_store, 7, PLAN)
    narrower = "小区+停车-表扬"
    expected = _expected(posts, narrower)
    assert len(expected) < len(_expected(posts, PLAN))
    assert backfill(sqlite_store, 7, narrower) == len(expected)
    found = sqlite_store.search(SearchQuery(plan_ids=[7], size=500)).hits
    assert sorted(h.post["id"] for h in found) == sorted(expected)


def test_backfill_scope_kind_and_region(sqlite_store: SearchStore, posts: list[EnrichedPost]) -> None:
    expression = "(问题|反映)+(region:41|kind:gov)"
    expected = _expected(posts, expression)
    assert expected
    assert backfill(sqlite_store, 3, expression) == len(expected)


def test_preview_lists_the_newest_matches(sqlite_store: SearchStore, posts: list[EnrichedPost]) -> None:
    expected = _expected(posts, PLAN)
    found, looked = preview(sqlite_store, PLAN, size=3)
    when = {p.id: p.published_at for p in posts}
    newest = sorted(expected, key=when.__getitem__, reverse=True)
    assert [p["id"] for p in found] == newest[:3]
    assert looked <= len(posts)
    found, looked = preview(sqlite_store, PLAN, size=500, scan=50)
    assert looked == 50
    assert [p["id"] for p in found] == [pid for pid in newest if pid in {p.id for p in posts[-50:]}]
    with pytest.raises(PlanError, match="必须出现的词"):
        preview(sqlite_store, "-表扬")


def test_stored_posts_walks_every_post_once_even_with_equal_times(
    sqlite_store: SearchStore, posts: list[EnrichedPost]
) -> None:
    from nlp.plans.service import stored_posts

    same = posts[100].published_at
    twins = [p.model_copy(update={"id": f"twin{i:02d}"}) for i, p in enumerate(posts[:20])]
    sqlite_store.index([p.model_copy(update={"published_at": same}) for p in twins])
    walked = [p["id"] for p in stored_posts(sqlite_store, page=3)]
    assert len(walked) == len(set(walked)) == len(posts) + 20
    assert [p["id"] for p in stored_posts(sqlite_store, page=7, limit=10)] == walked[:10]


def test_owner_departments_by_id_or_by_name(db_engine: Engine) -> None:
    name = "中共河南省委网络安全和信息化委员会办公室"  # ha-wxb in the shipped directory
    with Session(db_engine) as session:
        assert resolve_owners(session, [name, "ha-wxb", "dept:ha-wxb"]) == ([], ["ha-wxb"])
        with pytest.raises(PlanError, match="部门名称") as unknown:
            resolve_owners(session, ["不存在的局"])
        assert unknown.value.field == "owners"
