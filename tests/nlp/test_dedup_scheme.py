"""The hashing of nlp/dedup.py (scheme 2: bigrams as integers, hashed in numpy), what it stores, what becomes
of signatures stored by the older scheme (sha1 of each bigram), and the check of estimates near the
threshold on the texts themselves."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import MinHash

from nlp.dedup import (
    MARGIN,
    NUM_PERM,
    THRESHOLD,
    WORDS_KEPT,
    NearDuplicateIndex,
    Signature,
    normalize,
    shingles,
    signature,
)

FIRE = "南京市鼓楼区一小区发生火灾，已造成3人受伤，消防部门正在全力救援，请附近居民注意安全。"
REPOST = "太可怕了，希望大家都平安，消防员辛苦了//@江湖夜雨:" + FIRE
MASK64 = (1 << 64) - 1
COMMON = (  # common characters, for random texts that share many bigrams
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动"
    "同工也能下过子说产种面而方后多定行学法所民得经"
)


def fmix64(x: int) -> int:
    x ^= x >> 33
    x = x * 0xFF51AFD7ED558CCD & MASK64
    x ^= x >> 33
    x = x * 0xC4CEB9FE1A85EC53 & MASK64
    return x ^ x >> 33


def reference_values(text: str) -> list[int]:
    """The MinHash values of scheme 2 in plain integers, one shingle at a time."""
    grams = shingles(normalize(text))
    ids = {ord(g[0]) | ord(g[1]) << 32 if len(g) == 2 else ord(g) for g in grams}
    hashes = [fmix64(i) >> 32 for i in ids]
    a, b = MinHash(num_perm=NUM_PERM, scheme="affine32").permutations
    return [min((int(a[k]) * h + int(b[k])) % (1 << 32) for h in hashes) for k in range(NUM_PERM)]


@pytest.mark.parametrize(
    "text", [FIRE, "医院排队挂号三个小时，看病难问题什么时候能解决？", "火", "火灾", "ab12"]
)
def test_values_are_the_minimum_of_each_permutation_over_the_bigrams(text: str) -> None:
    assert signature(text).values.tolist() == reference_values(text)


def test_a_repost_keeps_its_reposted_text_through_storage() -> None:
    sig = signature(REPOST, ["3201"])
    stored = Signature.from_parts(sig.hashvalues_bytes(), sig.stored_numbers(), sorted(sig.places))
    assert stored == sig
    assert stored.quoted is not None and stored.quoted.words == normalize(FIRE)
    assert stored.words == normalize(REPOST)
    assert stored.hashvalues_bytes() == sig.hashvalues_bytes()
    assert stored.keys == sig.keys


def test_band_keys_are_computed_once_per_signature() -> None:
    sig = signature(REPOST)
    assert sig.keys is sig.keys
    assert len(sig.keys) == 2 * 42  # the post and the post it reposts
    assert signature("").keys == []


@pytest.mark.parametrize("text", [FIRE, REPOST])
def test_signatures_stored_by_the_older_scheme_match_nothing_and_store_back_unchanged(text: str) -> None:
    new = signature(text, ["3201"])
    # what the older scheme stored: the bare values (uint32 little-endian), the repost's following
    old_bytes = b"".join(t.values.astype("<u4").tobytes() for t in (new, new.quoted) if t is not None)
    old = Signature.from_parts(old_bytes, new.stored_numbers(), ["3201"])
    assert old.stale and list(old.texts()) == []
    assert old.hashvalues_bytes() == old_bytes and old.stored_numbers() == new.stored_numbers()
    assert old.match(new) == 0.0 and new.match(old) == 0.0 and old.similarity(new) == 0.0
    index = NearDuplicateIndex()
    index.add("old", old)
    assert "old" not in index and index.find(new) is None
    index.remove("old")  # the tracker removes members that leave: no error for one never indexed
    index.add("new", new)
    assert index.find(old) is None
    assert index.find(signature(text, ["3201"])) == "new"


@pytest.mark.parametrize("blob", [b"", b"MH2", b"MH2\x03" + bytes(512), b"MH2\x01" + bytes(100), b"\xff" * 7])
def test_unreadable_stored_signatures_are_stale_not_errors(blob: bytes) -> None:
    sig = Signature.from_parts(blob, ["3"], [])
    assert sig.stale and sig.hashvalues_bytes() == blob and sig.stored_numbers() == ["3"]
    assert NearDuplicateIndex().find(sig) is None


def test_long_texts_keep_no_words_and_still_match_on_their_values() -> None:
    long_text = "".join(random.Random(3).choices(COMMON, k=WORDS_KEPT + 50))
    sig = signature(long_text)
    assert sig.words is None
    stored = Signature.from_parts(sig.hashvalues_bytes(), sig.stored_numbers(), [])
    assert stored.words is None and not stored.stale
    index = NearDuplicateIndex()
    index.add("long", stored)
    assert index.find(signature(long_text + "。")) == "long"


def exact(a: str, b: str) -> float:
    x, y = shingles(normalize(a)), shingles(normalize(b))
    return len(x & y) / len(x | y)


def test_near_the_threshold_the_texts_decide_not_the_draw_of_hash_functions() -> None:
    rng = random.Random(11)
    decided_by_the_texts = 0
    for _ in range(400):
        base = "".join(rng.choices(COMMON, k=rng.randrange(20, 60)))
        chars = list(base)
        for _ in range(len(chars) // rng.choice((5, 6, 7))):
            chars[rng.randrange(len(chars))] = rng.choice(COMMON)
        edited = "".join(chars)
        a, b = signature(base), signature(edited)
        for stored in (a, Signature.from_parts(a.hashvalues_bytes(), a.stored_numbers(), [])):
            index = NearDuplicateIndex()
            index.add("a", stored)
            if not index.candidates(b):
                continue  # LSH did not return it: tests/nlp/test_dedup_reposts.py covers how rarely
            estimate, truth = b.similarity(a), exact(base, edited)
            if abs(estimate - THRESHOLD) < MARGIN:
                assert (index.find(b) == "a") == (truth >= THRESHOLD), (estimate, truth)
                decided_by_the_texts += (estimate >= THRESHOLD) != (truth >= THRESHOLD)
            else:
                assert (index.find(b) == "a") == (estimate >= THRESHOLD)
    assert decided_by_the_texts >= 10  # pairs the estimate alone puts on the wrong side


def test_signatures_compare_by_value() -> None:
    assert signature(FIRE, ["3201"]) == signature(FIRE, ["3201"])
    assert len({signature(FIRE), signature(FIRE), signature(REPOST)}) == 2
    assert signature(FIRE) != signature(FIRE, ["3201"])
    assert np.array_equal(signature(FIRE).minhash.hashvalues, signature(FIRE).values)


def test_posts_sharing_keys_are_found_until_removed_and_leave_nothing_behind() -> None:
    texts = [FIRE, FIRE + "😭", "#南京火灾# " + FIRE, REPOST, "转发//@张三:" + FIRE]
    index = NearDuplicateIndex()
    for i, text in enumerate(texts):
        index.add(f"post-{i}", signature(text))
    index.add("post-0", signature(FIRE))  # a second add of a key changes nothing
    assert len(index) == len(texts)
    probe = signature(FIRE + "！")
    assert index.candidates(probe) == {f"post-{i}" for i in range(len(texts))}
    for i in range(len(texts) - 1):
        index.remove(f"post-{i}")
        assert index.candidates(probe) == {f"post-{j}" for j in range(i + 1, len(texts))}
    assert index.find(probe) == f"post-{len(texts) - 1}"
    index.remove(f"post-{len(texts) - 1}")
    assert index.find(probe) is None and len(index) == 0 and not index._buckets
