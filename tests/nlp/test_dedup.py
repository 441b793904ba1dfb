"""Near-duplicates of short posts: MinHash + LSH catches what a 64-bit simhash at Hamming ≤ 3 misses."""

from __future__ import annotations

import hashlib

import pytest

from nlp.dedup import NearDuplicateIndex, Signature, normalize, signature

ORIGINAL = "南京市鼓楼区一小区发生火灾，已造成3人受伤，消防部门正在全力救援，请附近居民注意安全。"
NEAR_DUPLICATES = [
    # repost chains
    "太可怕了//@江湖夜雨:转发微博//@南京吃货:" + ORIGINAL,
    "求真相//@张三：" + ORIGINAL,
    # added hashtags, emoji, links
    "#南京火灾# " + ORIGINAL + " #关注民生#",
    ORIGINAL + "[蜡烛][蜡烛] http://t.cn/A6abc12",
    # small edits
    "南京市鼓楼区一小区发生火灾！已造成3人受伤，消防部门正全力救援，请附近居民注意安全",
    "南京鼓楼区一小区发生了火灾，已造成3人受伤，消防部门正在全力救援，请附近的居民注意安全😭",
]
SHORT_PAIRS = [
    (
        "市民反映幸福路污水横流已经半个月了，希望有关部门尽快处理！",
        "转发//@小鱼儿2023:市民反映幸福路污水横流已经半个月了，希望有关部门尽快处理",
    ),
    (
        "医院排队挂号三个小时，看病难问题什么时候能解决？",
        "#看病难# 医院排队挂号三个小时，看病难的问题什么时候能解决？？",
    ),
    ("学校食堂饭菜发霉，家长要求教育局给个说法", "学校食堂的饭菜发霉了，家长们要求教育局给个说法！[怒]"),
    (
        "公交车站台被拆，老人上下班要多走两公里",
        "心疼老人//@一只胖橘:公交车站台被拆，老人上下班要多走两公里 #民生#",
    ),
]
NOT_DUPLICATES = [
    (
        "南京市鼓楼区一小区发生火灾，已造成3人受伤，消防部门正在全力救援",
        "南京市鼓楼区一小区发生火灾，已造成5人受伤，消防部门正在全力救援",
    ),
    (
        "南京市鼓楼区一小区发生火灾，已造成3人受伤，消防部门正在全力救援",
        "福州市鼓楼区一小区发生火灾，已造成3人受伤，消防部门正在全力救援",
    ),
    (
        "南京市鼓楼区一小区发生火灾，已造成三人受伤，消防部门正在全力救援",
        "南京市鼓楼区一小区发生火灾，已造成五人受伤，消防部门正在全力救援",
    ),
    (
        "市民反映幸福路污水横流已经半个月了，希望有关部门尽快处理",
        "医院排队挂号三个小时，看病难问题什么时候能解决",
    ),
]
PLACES = {"南京市": "3201", "福州市": "3501"}


def sig(text: str) -> Signature:
    # stands in for the location resolver, which tests/nlp/test_location.py covers
    return signature(text, [code for name, code in PLACES.items() if name in text])


def is_near_duplicate(a: str, b: str) -> bool:
    index = NearDuplicateIndex()
    index.add("a", sig(a))
    return index.find(sig(b)) == "a"


def simhash64(text: str) -> int:
    """Charikar's simhash over character 3-shingles of the normalised text (the baseline MinHash replaces)."""
    norm = normalize(text)
    weights = [0] * 64
    for i in range(max(1, len(norm) - 2)):
        h = int.from_bytes(hashlib.md5(norm[i : i + 3].encode()).digest()[:8], "big")
        for bit in range(64):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def simhash_duplicate(a: str, b: str) -> bool:
    return bin(simhash64(a) ^ simhash64(b)).count("1") <= 3


ALL_POSITIVES = [(ORIGINAL, d) for d in NEAR_DUPLICATES] + SHORT_PAIRS


@pytest.mark.parametrize(("a", "b"), ALL_POSITIVES)
def test_reposts_hashtags_and_small_edits_are_near_duplicates(a: str, b: str) -> None:
    assert is_near_duplicate(a, b)


@pytest.mark.parametrize(("a", "b"), NOT_DUPLICATES)
def test_same_template_with_other_number_or_place_is_not(a: str, b: str) -> None:
    assert not is_near_duplicate(a, b)


def test_minhash_catches_what_simhash_at_hamming_3_misses() -> None:
    minhash_hits = [is_near_duplicate(a, b) for a, b in ALL_POSITIVES]
    simhash_hits = [simhash_duplicate(a, b) for a, b in ALL_POSITIVES]
    assert all(minhash_hits)
    missed_by_simhash = [pair for pair, hit in zip(ALL_POSITIVES, simhash_hits, strict=True) if not hit]
    assert len(missed_by_simhash) > len(ALL_POSITIVES) / 2, "simhash ≤ 3 should miss most short pairs"


def test_normalize_strips_what_reposts_add() -> None:
    text = "太惨了//@张三:心疼 //@李四：#南京火灾# 南京鼓楼区发生火灾，3人受伤😭 http://t.cn/ab [蜡烛]"
    assert normalize(text) == "太惨了心疼南京鼓楼区发生火灾3人受伤"


def test_signatures_survive_storage() -> None:
    original = sig(ORIGINAL)
    stored = Signature.from_parts(original.hashvalues_bytes(), original.numbers, original.places)
    index = NearDuplicateIndex()
    index.add("stored", stored)
    assert index.find(sig(NEAR_DUPLICATES[0])) == "stored"
    assert stored.similarity(original) == 1.0


def test_index_finds_the_best_match_and_forgets_removed_posts() -> None:
    index = NearDuplicateIndex()
    index.add("fire", sig(ORIGINAL))
    index.add("water", sig(SHORT_PAIRS[0][0]))
    assert index.find(sig(SHORT_PAIRS[0][1])) == "water"
    assert index.find(sig("今天天气不错，出去走走")) is None
    index.remove("water")
    assert index.find(sig(SHORT_PAIRS[0][1])) is None
    assert len(index) == 1


@pytest.mark.parametrize("text", ["", "😀😀😀", "，。！", "//@张三:"])
def test_empty_texts_match_nothing(text: str) -> None:
    index = NearDuplicateIndex()
    index.add("empty", sig(text))
    assert len(index) == 0
    index.add("fire", sig(ORIGINAL))
    assert index.find(sig(text)) is None
