"""Near-duplicate short posts: MinHash + LSH over character shingles of the normalised text.

Normalising drops what reposts and small edits add around the same words: ``//@user:`` repost markers,
``@mentions``, ``#hashtags#``, URLs, emoji, punctuation, whitespace and stock phrases (转发微博). The
character 2-shingles (bigrams) of what is left go into a 128-permutation MinHash; LSH finds candidates whose
estimated Jaccard similarity may pass ``threshold`` and each candidate is then checked on its estimate and
on two facts templates change while the words stay: the numbers (3人死亡 vs 5人死亡) and the places (codes
from the location resolver: 南京鼓楼区 vs 徐州鼓楼区). Numbers agree when one post's numbers contain the
other's (a repost may add some); places agree unless both have places and none of them contain each other.

A 64-bit simhash with Hamming distance ≤ 3 misses most of these pairs on texts this short (see
tests/nlp/test_dedup.py); ``bench/dedup.py`` prints precision and recall on a labelled set of pairs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

NUM_PERM = 128
SHINGLE = 2
THRESHOLD = 0.5
_SCHEME = "affine32"

_REPOST = re.compile(r"//\s*@[^:：\s]{1,30}[:：]?|(?:回复|转发)?@[^\s:：,，@]{1,30}[:：]?")
_HASHTAG = re.compile(r"#[^#\n]{1,60}#")
_URL = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff]+", re.IGNORECASE)
_STOCK = re.compile(r"转发微博|轉發微博|repost|网页链接|展开全文|收起全文|\[[^\[\]]{1,8}\]", re.IGNORECASE)
_CN_DIGITS = "零〇一二两三四五六七八九十百千万"
_NUMBER = re.compile(rf"\d+(?:\.\d+)?|[{_CN_DIGITS}]+(?=[人名个起辆户岁天年月日时分栋层次例条家所只头吨元])")


def normalize(text: str) -> str:
    """The words of a post without repost chains, mentions, hashtags, links, emoji, punctuation, spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _URL.sub(" ", text)
    text = _HASHTAG.sub(" ", text)
    text = _REPOST.sub(" ", text)
    text = _STOCK.sub(" ", text)
    return "".join(ch for ch in text.lower() if unicodedata.category(ch)[0] in "LN")


def shingles(normalized: str, k: int = SHINGLE) -> set[str]:
    if len(normalized) <= k:
        return {normalized} if normalized else set()
    return {normalized[i : i + k] for i in range(len(normalized) - k + 1)}


def numbers(normalized: str) -> frozenset[str]:
    return frozenset(_NUMBER.findall(normalized))


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    return MinHash(num_perm=NUM_PERM, scheme=_SCHEME).permutations


@dataclass(frozen=True, slots=True)
class Signature:
    """What a post contributes to near-duplicate search; ``to_bytes``/``from_bytes`` to store it."""

    minhash: LeanMinHash
    numbers: frozenset[str]
    places: frozenset[str]
    empty: bool = False

    def similarity(self, other: Signature) -> float:
        return float(self.minhash.jaccard(other.minhash))

    def agrees_with(self, other: Signature) -> bool:
        """Same facts: neither adds numbers the other contradicts, and the places are compatible."""
        nums = self.numbers <= other.numbers or other.numbers <= self.numbers
        return nums and places_agree(self.places, other.places)

    def hashvalues_bytes(self) -> bytes:
        return np.asarray(self.minhash.hashvalues, dtype="<u4").tobytes()

    @classmethod
    def from_parts(cls, hashvalues: bytes, numbers: Iterable[str], places: Iterable[str]) -> Signature:
        values = np.frombuffer(hashvalues, dtype="<u4").astype(np.uint32)
        minhash = LeanMinHash(seed=1, hashvalues=values, scheme=_SCHEME)
        empty = bool(np.all(values == np.iinfo(np.uint32).max))
        return cls(minhash, frozenset(numbers), frozenset(places), empty)


def places_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return True
    return any(x.startswith(y) or y.startswith(x) for x in a for y in b)


def signature(text: str, places: Iterable[str] = ()) -> Signature:
    """The signature of a post's text; ``places`` are its location codes (most specific)."""
    norm = normalize(text)
    mh = MinHash(num_perm=NUM_PERM, scheme=_SCHEME, permutations=_permutations())
    grams = shingles(norm)
    mh.update_batch([g.encode() for g in grams])
    return Signature(LeanMinHash(mh), numbers(norm), frozenset(places), empty=not grams)


class NearDuplicateIndex:
    """The signatures of recent posts; ``find`` returns the most similar earlier post that agrees."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self._sigs: dict[str, Signature] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._sigs

    def __len__(self) -> int:
        return len(self._sigs)

    def add(self, key: str, sig: Signature) -> None:
        if key in self._sigs or sig.empty:
            return
        self._lsh.insert(key, sig.minhash)
        self._sigs[key] = sig

    def remove(self, key: str) -> None:
        if self._sigs.pop(key, None) is not None:
            self._lsh.remove(key)

    def find(self, sig: Signature, exclude: str | None = None) -> str | None:
        if sig.empty:
            return None
        best: tuple[float, str] | None = None
        for key in self._lsh.query(sig.minhash):
            if key == exclude:
                continue
            other = self._sigs[key]
            score = sig.similarity(other)
            if score >= self.threshold and sig.agrees_with(other) and (best is None or (score, key) > best):
                best = (score, key)
        return best[1] if best else None
