"""The terms the nlp stage carries on a post (``EnrichedPost.cluster_terms``): read back by the incidents
stage they are the weights and kinds of emergency computed from the post's tokens, through the bus's JSON;
missing ones, or ones made with other word lists (``SCHEME``), are computed again, so clustering is the
same either way; only the posts incidents files carry them, and the search store does not keep them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_incidents import STORIES, enriched  # tests/nlp is on the path, as for factories

import nlp.post_terms as post_terms
from incidents.clustering import IncidentTracker
from nlp.post_terms import SCHEME, attach, computed, event_kinds_of_tokens, of_post, terms
from nlp.tokenize import segment
from yuqing.schemas import ClusterTerms, EnrichedPost, Tags
from yuqing.storage.sqlite_fts import SqliteFtsStore

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
TEXTS = [
    "南京市鼓楼区一小区地下车库起火，消防出动3辆车，两人受轻伤已送医",
    "化工厂泄漏，下风口居民紧急疏散，安置点已开放",  # 下风口 is cut into 下 风口
    "停水停水停水！武侯区锦绣花园停水三天，物业说供水管爆了，停水到底什么时候恢复",  # repeated words
    "PX项目 COVID 疫情 确诊病例",
    "！！！。。。 123 456",  # no content word
]


def post(text: str, pid: str = "p1", *, relevant: bool = True) -> EnrichedPost:
    return EnrichedPost(
        id=pid, source_id="weibo", source_kind="social", url=f"https://weibo.example/{pid}", content=text,
        published_at=T0, fetched_at=T0, tokens=segment(text), tags=Tags(relevant=relevant),
    )


def through_the_bus(p: EnrichedPost) -> EnrichedPost:
    return EnrichedPost.model_validate_json(p.model_dump_json())


@pytest.mark.parametrize("text", TEXTS)
def test_the_carried_terms_are_the_computed_ones(text: str) -> None:
    p = post(text)
    attach([p])
    assert p.cluster_terms is not None and p.cluster_terms.scheme == SCHEME
    weights, events = of_post(through_the_bus(p))
    assert weights == terms(p.tokens)  # the same floats, after JSON
    assert list(weights) == list(terms(p.tokens))  # in the same order (heaviest first)
    assert events == sorted(event_kinds_of_tokens(p.tokens))


def test_the_words_of_the_examples_are_what_they_say() -> None:
    _, events = of_post(post(TEXTS[1]))
    assert events == ["accident", "leak"]  # 泄漏, and 疏散 / 下风口 / 安置点
    assert of_post(post(TEXTS[2]))[0]["停水"] > of_post(post(TEXTS[2]))[0]["武侯区"]
    assert of_post(post(TEXTS[4])) == ({}, [])


def test_the_carried_terms_are_read_not_computed_again() -> None:
    p = post(TEXTS[0])
    p.cluster_terms = computed(post(TEXTS[1]))
    assert of_post(through_the_bus(p)) == of_post(post(TEXTS[1])) != of_post(post(TEXTS[0]))


@pytest.mark.parametrize("scheme", ["", "0123456789abcdef"])
def test_terms_of_other_word_lists_are_computed_again(scheme: str) -> None:
    p = post(TEXTS[1])
    p.cluster_terms = ClusterTerms(weights={"别的": 1.0}, events=["quake"], scheme=scheme)
    assert of_post(through_the_bus(p)) == (terms(p.tokens), ["accident", "leak"])


def test_the_scheme_follows_the_word_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    assert post_terms._scheme() == SCHEME
    monkeypatch.setattr(post_terms, "STOPWORDS", post_terms.STOPWORDS | {"小区"})
    assert post_terms._scheme() != SCHEME
    monkeypatch.undo()
    monkeypatch.setattr(post_terms, "EVENT_TYPES", {**post_terms.EVENT_TYPES, "冒顶": "collapse"})
    assert post_terms._scheme() != SCHEME


def test_only_the_posts_incidents_files_carry_them() -> None:
    relevant, irrelevant = post(TEXTS[0], "r"), post(TEXTS[0], "i", relevant=False)
    message = post(TEXTS[0], "m")
    message.item_kind, message.tags.relevant = "message", False
    attach([relevant, irrelevant, message])
    assert relevant.cluster_terms is not None and message.cluster_terms is not None
    assert irrelevant.cluster_terms is None


def test_clustering_is_the_same_with_and_without_carried_terms() -> None:
    posts = sorted((enriched(s) for s in STORIES), key=lambda p: (p.published_at, p.id))

    def filed(carry: bool) -> list[tuple[str, list[str]]]:
        tracker = IncidentTracker()
        out = []
        for i, p in enumerate(posts):
            q = p.model_copy(deep=True, update={"fetched_at": p.fetched_at + timedelta(seconds=i)})
            if carry:
                attach([q])
                q = through_the_bus(q)
            change = tracker.add(q)
            out.append((change.incident.id, change.incident.keywords) if change else ("", []))
        return out

    assert filed(True) == filed(False)
    assert len({incident for incident, _ in filed(True)}) > 1


def test_the_search_store_does_not_keep_them(tmp_path: Path) -> None:
    store = SqliteFtsStore(f"sqlite:///{tmp_path}/search.sqlite3")
    store.ensure_schema()
    p = post(TEXTS[0])
    attach([p])
    store.index([p])
    (stored,) = store.get(["p1"])
    store.close()
    assert stored["content"] == TEXTS[0] and "cluster_terms" not in stored
