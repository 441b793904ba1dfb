"""传播分析 of an incident: the source-type split, the top keywords (posts per word, stopwords and single
characters left out) and the places by posts; and the trend charts' release marks in Beijing time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from factories import make_post

from api.console.incident_charts import wall_ms
from api.incident_insights import place_counts, source_split, top_keywords
from api.schemas import PostOut

T = datetime(2026, 5, 11, 4, 0, tzinfo=UTC)  # 12:00 in Beijing


def _docs() -> list[dict]:
    posts = [
        make_post(
            1, title="化工厂 排污 河水 发黑", content="河水 河水 我们 的 了", at=T,
            location=("安庆市", "3408"),
        ),
        make_post(2, title="排污 死鱼", at=T + timedelta(minutes=5), location=("安庆市", "3408")),
        make_post(3, title="排污 视频", at=T + timedelta(minutes=9), location=("合肥市", "3401")),
    ]
    posts[2] = posts[2].model_copy(update={"source_kind": "social"})
    return [p.model_dump(mode="json") for p in posts]


def test_keywords_count_posts_not_repeats_and_skip_stopwords_and_single_characters() -> None:
    ranked = [(k.word, k.posts) for k in top_keywords(_docs())]
    assert ranked[0] == ("排污", 3)
    assert ("河水", 1) in ranked, "a word repeated in one post counts once"
    words = {w for w, _ in ranked}
    assert not words & {"我们", "的", "了"}, "stopwords and single characters are left out"
    assert top_keywords(_docs(), limit=2) == top_keywords(_docs())[:2]


def test_source_split_and_places_most_posts_first() -> None:
    posts = [PostOut.from_store(d) for d in _docs()]
    split = [(s.kind, s.posts, s.share) for s in source_split(posts)]
    assert split == [("news", 2, 0.6667), ("social", 1, 0.3333)]
    assert [(p.code, p.name, p.posts) for p in place_counts(posts)] == [
        ("3408", "安徽省安庆市", 2),
        ("3401", "安徽省合肥市", 1),
    ]
    # no post names a place: the incident's own places, without a count
    bare = [p.model_copy(update={"locations": []}) for p in posts]
    fallback = place_counts(bare, [{"name": "安庆市", "code": "3408"}])
    assert [(p.name, p.posts) for p in fallback] == [("安徽省安庆市", 0)]
    assert source_split([]) == [] and place_counts([]) == []


def test_chart_times_are_beijing_wall_clock() -> None:
    assert wall_ms(T) == int(datetime(2026, 5, 11, 12, 0, tzinfo=UTC).timestamp() * 1000)
