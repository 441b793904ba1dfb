"""The sample drill, as a duty officer sees it: the eyewitness posts, the hospital's notice, the
environment bureau's monitoring and the official bulletins of one explosion form ONE incident, although
many of them share no word; a car crash in the same county, or an explosion in another county, does not
join it."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import pytest

from incidents.clustering import IncidentTracker, Member
from nlp.enrich import Enricher
from yuqing.schemas import Counts, RawPost, post_id_for
from yuqing.settings import PROJECT_ROOT

DRILL = PROJECT_ROOT / "sample_site" / "data" / "fengqiu_explosion_replay.jsonl"


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return Enricher.load(None)


def raw(
    url: str, content: str, at: str, title: str = "", region: str = "410727", reposts: int = 10
) -> RawPost:
    return RawPost(id=post_id_for("drill", url), source_id="drill", source_kind="social", region=region,
                   url=url, title=title, content=content, published_at=at, fetched_at=at,
                   counts=Counts(repost=reposts))


def drill_posts() -> list[RawPost]:
    rows = [json.loads(line) for line in DRILL.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [raw(r["url"], r["content"], r["seen_at"], title=r["title"]) for r in rows]


def test_one_explosion_is_one_incident(enricher: Enricher) -> None:
    tracker = IncidentTracker()
    posts = drill_posts()
    for post in posts:
        tracker.add(enricher.enrich(post))
    sizes = Counter(tracker.post_cluster.values())
    main_id, main_size = sizes.most_common(1)[0]
    distinct = len({p.id for p in posts})
    # all but the missing worker's sister's first post ("我弟弟在那个车间上班…"), which names no emergency
    # and is not tagged 政务舆情; her repost ("//@失联工人家属") names 失联 and joins. The downwind school
    # (下风口, split by jieba into 下 风口) and the shelter (安置点) join by the aftermath's words.
    assert main_size >= distinct - 1, sizes
    main = next(i for i in tracker.ranked() if i.id == main_id)
    assert main.severity.level == "重大"  # 11 dead
    assert [loc.code for loc in main.locations] == ["410727"]
    assert "爆炸" in main.title


def test_aftermath_posts_join_and_old_state_keeps_its_kinds(enricher: Enricher) -> None:
    tracker = IncidentTracker()
    for post in drill_posts()[:6]:
        tracker.add(enricher.enrich(post))
    explosion = Counter(tracker.post_cluster.values()).most_common(1)[0][0]
    at = "2026-11-21T15:20:00+08:00"
    school = "听说下风口的学校已经提前放学了，孩子们都戴着口罩回家"
    downwind = enricher.enrich(raw("http://x/school", school, at))
    member = Member.from_post(downwind)
    assert member.events == ["accident"]
    state = member.to_state()
    del state["events"]  # a member stored before members kept their kinds
    assert Member.from_state(state).events == []  # its terms (风口 …) name none
    change = tracker.add(downwind)
    assert change is not None and change.incident.id == explosion
    # 拆迁安置 (resettlement after demolition) is no shelter of an emergency
    letter = "封丘县城关镇拆迁安置房迟迟不交房，群众多次反映无人处理"
    housing = enricher.enrich(raw("http://x/housing", letter, at))
    assert Member.from_post(housing).events == []
    change = tracker.add(housing)
    assert change is None or change.incident.id != explosion


def test_another_emergency_kind_or_place_stays_apart(enricher: Enricher) -> None:
    tracker = IncidentTracker()
    for post in drill_posts()[:6]:
        tracker.add(enricher.enrich(post))
    explosion = Counter(tracker.post_cluster.values()).most_common(1)[0][0]
    later = (datetime.fromisoformat("2026-11-21T15:30:00+08:00") + timedelta(minutes=5)).isoformat()
    crash = enricher.enrich(raw("http://x/crash", "封丘县城关镇路口两车相撞发生车祸，一人受伤送医", later))
    elsewhere = enricher.enrich(raw("http://x/boom", "长垣市一家烟花作坊发生爆炸，现场浓烟滚滚，消防正在救援",
                                    later, region="410783"))
    for post in (crash, elsewhere):
        change = tracker.add(post)
        assert change is not None
        assert change.incident.id != explosion, post.content


def test_the_explosion_is_the_same_incident_in_any_arrival_order(enricher: Enricher) -> None:
    """Partitions do not keep time order: in any order the drill ends as one incident with the same
    level, category and answering department type (so the alert shows the same ones run after run)."""
    import random

    enriched = [enricher.enrich(p) for p in drill_posts()]
    seen = set()
    for seed in range(6):
        order = list(enriched)
        random.Random(seed).shuffle(order)
        tracker = IncidentTracker()
        for post in order:
            tracker.add(post)
        main_id, size = Counter(tracker.post_cluster.values()).most_common(1)[0]
        main = next(i for i in tracker.ranked() if i.id == main_id)
        seen.add((size, main.severity.level, main.category, main.department_type))
    assert len(seen) == 1, seen
    (size, level, _, department_type), = seen
    assert level == "重大" and department_type == "应急管理局"
    assert size >= len({p.id for p in enriched}) - 1
