"""The near-duplicate signature the nlp stage carries on a post (``EnrichedPost.near_dup``): read back by the
incidents stage it is the signature computed from the post, through the bus's JSON; one that is missing,
unreadable or of an older hashing scheme is computed again, so clustering is the same either way; only
the posts incidents files carry it, and the search store does not keep it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from incidents.clustering import IncidentTracker
from nlp.dedup import WORDS_KEPT, Signature
from nlp.post_signature import carried, computed, of_post, sign
from nlp.tokenize import segment
from yuqing.schemas import EnrichedPost, Location, NearDup, Tags
from yuqing.storage.sqlite_fts import SqliteFtsStore

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
ORIGINAL = "南京市鼓楼区一小区地下车库起火，消防出动3辆车，两人受轻伤已送医"
TEXTS = {
    "plain": ORIGINAL,
    "repost": f"太吓人了，大家注意安全2333//@江湖夜雨:{ORIGINAL}",
    "chain": f"转发//@小鱼儿2023:同问//@江湖夜雨:{ORIGINAL}",
    "long": "市民反映道路积水严重，" * (WORDS_KEPT // 8),
    "wordless": "[哈哈][哈哈] https://t.cn/abc",
}


def post(text: str, pid: str = "p1", *, relevant: bool = True, minutes: int = 0) -> EnrichedPost:
    at = T0 + timedelta(minutes=minutes)
    return EnrichedPost(
        id=pid,
        source_id="weibo",
        source_kind="social",
        url=f"https://weibo.example/{pid}",
        title="",
        content=text,
        published_at=at,
        fetched_at=at,
        tokens=segment(text),
        tags=Tags(relevant=relevant, locations=[Location(code="320106", name="鼓楼区")]),
    )


def through_the_bus(p: EnrichedPost) -> EnrichedPost:
    return EnrichedPost.model_validate_json(p.model_dump_json())


@pytest.mark.parametrize("kind", list(TEXTS))
def test_the_carried_signature_is_the_computed_one(kind: str) -> None:
    p = post(TEXTS[kind])
    sign([p])
    assert p.near_dup is not None
    got, want = of_post(through_the_bus(p)), computed(p)
    assert got == want  # values, numbers, places, emptiness, the reposted text's signature
    # stored again (the incidents stage's record) as the bytes it was read from: those it computes
    assert got.hashvalues_bytes() == want.hashvalues_bytes()
    assert got.stored_numbers() == want.stored_numbers()
    assert got.words == want.words
    assert (got.quoted is None) == (want.quoted is None)
    if want.quoted is not None:
        assert got.quoted is not None and got.quoted.words == want.quoted.words
    assert not got.stale


def test_a_repost_found_on_carried_signatures_as_on_computed_ones() -> None:
    original, repost = post(TEXTS["plain"], "a"), post(TEXTS["repost"], "b")
    sign([original, repost])
    a, b = of_post(through_the_bus(original)), of_post(through_the_bus(repost))
    assert a.match(b, 0.5) == computed(original).match(computed(repost), 0.5) >= 0.5


@pytest.mark.parametrize(
    "near_dup",
    [
        NearDup(minhash="not base64 at all!", numbers=[]),
        NearDup(minhash="", numbers=[]),
        # an older scheme's bare values: read as stale, so computed again rather than matching nothing
        NearDup(minhash=base64.b64encode(np.arange(128, dtype="<u4").tobytes()).decode(), numbers=[]),
    ],
)
def test_an_unreadable_or_outdated_carried_signature_is_computed_again(near_dup: NearDup) -> None:
    p = post(TEXTS["repost"])
    p.near_dup = near_dup
    sig = of_post(through_the_bus(p))
    assert sig == computed(p) and not sig.stale


def test_only_the_posts_incidents_files_carry_it() -> None:
    relevant, irrelevant = post(ORIGINAL, "r"), post(ORIGINAL, "i", relevant=False)
    message = post(ORIGINAL, "m")
    message.item_kind, message.tags.relevant = "message", False
    sign([relevant, irrelevant, message])
    assert relevant.near_dup is not None and message.near_dup is not None
    assert irrelevant.near_dup is None


def test_clustering_is_the_same_with_and_without_carried_signatures() -> None:
    texts = [
        TEXTS["plain"],
        TEXTS["repost"],
        TEXTS["chain"],
        "鼓楼区车库火灾后续：物业称将排查电动车充电桩",
        "福州台江区学校食堂被曝使用过期食材，家长要求教育局彻查",
        TEXTS["long"],
    ]
    posts = [post(t, f"p{i}", minutes=i) for i, t in enumerate(texts)]

    def filed(carry: bool) -> list[tuple[str, str | None]]:
        tracker = IncidentTracker()
        out = []
        for p in posts:
            q = p.model_copy(deep=True)
            if carry:
                sign([q])
                q = through_the_bus(q)
            change = tracker.add(q)
            out.append((change.incident.id, change.member.duplicate_of) if change else ("", None))
        return out

    assert filed(True) == filed(False)
    assert filed(True)[1][1] == "p0"  # the repost is a near-duplicate of the original


def test_the_search_store_does_not_keep_it(tmp_path: Path) -> None:
    store = SqliteFtsStore(f"sqlite:///{tmp_path}/search.sqlite3")
    store.ensure_schema()
    p = post(ORIGINAL)
    sign([p])
    store.index([p])
    (stored,) = store.get(["p1"])
    store.close()
    assert stored["id"] == "p1" and stored["content"] == ORIGINAL
    assert "near_dup" not in stored


def test_signature_equality_sees_the_values() -> None:
    # the check above would pass on any two signatures if equality ignored the values
    a, b = computed(post(TEXTS["plain"])), computed(post("福州台江区学校食堂被曝使用过期食材"))
    assert a != b
    assert Signature.from_parts(a.hashvalues_bytes(), a.stored_numbers(), a.places) == a
    assert carried(a) != carried(b)


def test_the_carried_signature_is_read_not_computed_again() -> None:
    # what makes the incidents stage faster: a carried signature is used as it is
    p = post(TEXTS["plain"])
    p.near_dup = carried(computed(post(TEXTS["long"])))
    assert of_post(through_the_bus(p)) == computed(post(TEXTS["long"])) != computed(p)
