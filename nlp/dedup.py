"""Near-duplicate short posts: MinHash + LSH over character shingles of the normalised text.

Normalising drops what reposts and small edits add around the same words: ``//@user:`` repost markers,
``@mentions``, ``#hashtags#``, URLs, emoji, punctuation, whitespace and stock phrases (转发微博). The
character 2-shingles (bigrams) of what is left go into a 128-permutation MinHash; LSH finds candidates whose
estimated Jaccard similarity may pass ``threshold`` and each candidate is then checked on its estimate and
on two facts templates change while the words stay: the numbers (3人死亡 vs 5人死亡) and the places (codes
from the location resolver: 南京鼓楼区 vs 徐州鼓楼区). Numbers agree when one post's numbers contain the
other's (a repost may add some); places agree unless both have places and none of them contain each other.

A repost as a crawler reads it, ``评论//@user:原文`` (or a chain of them), carries the post it reposts: the
text after its last repost marker. That text gets a signature of its own (``Signature.quoted``), and two
posts match when any of their texts match (the whole text or the reposted one), so a repost is found
whatever the length of its comment (containment of the original in the repost). Two reposts match only
when what they repost matches: the same comment on two different posts is not a duplicate.

Numbers are read with the removed parts as separators (a laugh's ``2333`` before ``//@user:`` is not glued
onto the date the original opens with), and written the same way whatever the numerals: 两人 = 二人 = 2人,
十二 = 12, 3万 = 三万 = 30000 (``cn2an``).

LSH has ``BANDS`` bands of ``ROWS`` rows: a pair whose estimated similarity is 0.5 (64 of 128 values equal)
shares a band with probability 1 − 0.0042 (0.99996 at 0.6); the 25 bands of 5 rows the default
``MinHashLSH(threshold=0.5)`` picks return only about 55% of such pairs.

A 64-bit simhash with Hamming distance ≤ 3 misses most of these pairs on texts this short (see
tests/nlp/test_dedup.py); ``bench/dedup.py`` prints precision and recall on a labelled set of pairs.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

import cn2an
import numpy as np
from datasketch import LeanMinHash, MinHash
from datasketch.hashfunc import sha1_hash32

NUM_PERM = 128
SHINGLE = 2
THRESHOLD = 0.5
BANDS, ROWS = 42, 3  # 126 of the 128 values
ALIKE = THRESHOLD / 2  # two reposts whose reposted texts are this alike may match on their whole texts
_SCHEME = "affine32"

_REPOST = re.compile(r"//\s*@[^:：\s]{1,30}[:：]?|(?:回复|转发)?@[^\s:：,，@]{1,30}[:：]?")
_MARKER = re.compile(r"//\s*@[^:：\s/]{1,30}[:：]")  # what follows is the reposted post
_HASHTAG = re.compile(r"#[^#\n]{1,60}#")
_URL = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff]+", re.IGNORECASE)
_STOCK = re.compile(r"转发微博|轉發微博|repost|网页链接|展开全文|收起全文|\[[^\[\]]{1,8}\]", re.IGNORECASE)
_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
_MEASURE = "人名个起辆户岁天年月日时分栋层次例条家所只头吨元"
_NUMBER = re.compile(rf"\d+(?:\.\d+)?[十百千万亿]*|[{_CN_DIGITS}]+(?=[{_MEASURE}])")


def _stripped(text: str) -> str:
    """The text without links, hashtags, repost markers, mentions and stock phrases (each left a space)."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _URL.sub(" ", text)
    text = _HASHTAG.sub(" ", text)
    text = _REPOST.sub(" ", text)
    return _STOCK.sub(" ", text).lower()


class _Table(dict[int, str | None]):
    """A ``str.translate`` table filled as characters are met: ``keep`` maps a character by its Unicode
    category (the first letter), for each character once."""

    def __init__(self, keep: Callable[[str, str], str | None]) -> None:
        super().__init__()
        self.keep = keep

    def __missing__(self, code: int) -> str | None:
        ch = chr(code)
        out = self[code] = self.keep(ch, unicodedata.category(ch)[0])
        return out


_WORDS = _Table(lambda ch, kind: ch if kind in "LN" else None)
# for numbers: spaces (where something was removed) and symbols (emoji) separate; punctuation and marks go
# as in ``normalize`` (1,000 and 3.5 read as before: 1000, 35)
_NUMBER_PARTS = _Table(lambda ch, kind: ch if kind in "LN" else " " if kind in "SZ" or ch.isspace() else None)


def normalize(text: str) -> str:
    """The words of a post without repost chains, mentions, hashtags, links, emoji, punctuation, spaces."""
    return _stripped(text).translate(_WORDS)


def quoted(text: str) -> str | None:
    """The post a repost reposts: the text after its last repost marker; None when it is no repost."""
    parts = _MARKER.split(unicodedata.normalize("NFKC", text or ""))
    return parts[-1] if len(parts) > 1 else None


def shingles(normalized: str, k: int = SHINGLE) -> set[str]:
    if len(normalized) <= k:
        return {normalized} if normalized else set()
    return {normalized[i : i + k] for i in range(len(normalized) - k + 1)}


def numbers(text: str) -> frozenset[str]:
    """The numbers a text states, each as Arabic digits (两人 → 2, 十二 → 12, 3万 → 30000). Pass the raw
    text: what normalising removes separates numbers (an already normalised text works, but a digit
    just before a removed repost marker is then read as part of the next number)."""
    found: set[str] = set()
    for part in _stripped(text).translate(_NUMBER_PARTS).split():
        found.update(_canonical(n) for n in _NUMBER.findall(part))
    return frozenset(found)


@lru_cache(maxsize=4096)
def _canonical(number: str) -> str:
    if number.isdigit():
        return str(int(number))
    try:
        value = cn2an.cn2an(number, "smart")
    except (ValueError, KeyError, TypeError, IndexError):
        return number
    return str(int(value)) if float(value).is_integer() else str(value)


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    return MinHash(num_perm=NUM_PERM, scheme=_SCHEME).permutations


_HASHES: dict[str, int] = {}  # shingle -> datasketch's default hash of it (sha1_hash32), cached
_HASHES_MAX = 1 << 18
_local = threading.local()


def _hashes(grams: set[str]) -> list[int]:
    cache = _HASHES
    out = []
    for gram in grams:
        value = cache.get(gram)
        if value is None:
            if len(cache) >= _HASHES_MAX:
                cache.clear()
            value = cache[gram] = sha1_hash32(gram.encode())
        out.append(value)
    return out


def _minhash(grams: set[str]) -> LeanMinHash:
    mh: MinHash | None = getattr(_local, "minhash", None)
    if mh is None:  # fed the hashes themselves: the same values as MinHash.update_batch of the shingles
        mh = _local.minhash = MinHash(
            num_perm=NUM_PERM, scheme=_SCHEME, permutations=_permutations(), hashfunc=int
        )
    mh.clear()
    mh.update_batch(_hashes(grams))
    return LeanMinHash(mh)


@dataclass(frozen=True, slots=True)
class Signature:
    """What a post contributes to near-duplicate search; ``hashvalues_bytes``/``stored_numbers`` and
    ``from_parts`` to store it. ``quoted`` is the signature of the post a repost reposts."""

    minhash: LeanMinHash
    numbers: frozenset[str]
    places: frozenset[str]
    empty: bool = False
    quoted: Signature | None = None

    def texts(self) -> Iterator[Signature]:
        """The texts a post can be matched on: itself, and the post it reposts (when it has words)."""
        if not self.empty:
            yield self
        if self.quoted is not None and not self.quoted.empty:
            yield self.quoted

    def match(self, other: Signature) -> float:
        """The best estimated similarity of two posts' texts that agree on the facts (0 when none do).
        Two reposts are compared on what they repost, and on their whole texts only when what they repost
        is alike too (or wordless in both): the same comment on two different posts is no duplicate."""
        mine, theirs = self.quoted, other.quoted
        if mine is not None and theirs is not None:
            if mine.empty and theirs.empty:
                pairs = [(self, other)]
            elif mine.empty or theirs.empty:
                return 0.0
            elif float(mine.minhash.jaccard(theirs.minhash)) >= ALIKE:
                pairs = [(mine, theirs), (self, other)]
            else:
                return 0.0
        else:
            pairs = [(a, b) for a in self.texts() for b in other.texts()]
        best = 0.0
        for a, b in pairs:
            score = float(a.minhash.jaccard(b.minhash))
            if score > best and a.agrees_with(b):
                best = score
        return best

    def similarity(self, other: Signature) -> float:
        """The best estimated similarity of the two posts' texts (whether or not the facts agree)."""
        return max(
            (float(a.minhash.jaccard(b.minhash)) for a in self.texts() for b in other.texts()), default=0.0
        )

    def agrees_with(self, other: Signature) -> bool:
        """Same facts: neither adds numbers the other contradicts, and the places are compatible."""
        nums = self.numbers <= other.numbers or other.numbers <= self.numbers
        return nums and places_agree(self.places, other.places)

    def hashvalues_bytes(self) -> bytes:
        """The MinHash values, uint32 little-endian; a repost's reposted text's values follow."""
        values = np.asarray(self.minhash.hashvalues, dtype="<u4").tobytes()
        if self.quoted is not None:
            values += np.asarray(self.quoted.minhash.hashvalues, dtype="<u4").tobytes()
        return values

    def stored_numbers(self) -> list[str]:
        """The numbers to store with ``hashvalues_bytes``: the reposted text's are marked ``q:``."""
        quoted_numbers = self.quoted.numbers if self.quoted is not None else ()
        return sorted(self.numbers) + sorted(f"q:{n}" for n in quoted_numbers)

    @classmethod
    def from_parts(cls, hashvalues: bytes, numbers: Iterable[str], places: Iterable[str]) -> Signature:
        values = np.frombuffer(hashvalues, dtype="<u4").astype(np.uint32)
        numbers = list(numbers)
        own = frozenset(n for n in numbers if not n.startswith("q:"))
        where = frozenset(places)
        inner = None
        if len(values) == 2 * NUM_PERM:
            values, rest = values[:NUM_PERM], values[NUM_PERM:]
            inner_numbers = frozenset(n[2:] for n in numbers if n.startswith("q:"))
            inner = cls(_lean(rest), inner_numbers, where, _all_empty(rest))
        return cls(_lean(values), own, where, _all_empty(values), inner)


def _all_empty(values: np.ndarray) -> bool:
    return bool(np.all(values == np.iinfo(np.uint32).max))


def _lean(values: np.ndarray) -> LeanMinHash:
    return LeanMinHash(seed=1, hashvalues=values, scheme=_SCHEME)


def places_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return True
    return any(x.startswith(y) or y.startswith(x) for x in a for y in b)


def signature(text: str, places: Iterable[str] = ()) -> Signature:
    """The signature of a post's text; ``places`` are its location codes (most specific)."""
    where = frozenset(places)
    grams = shingles(normalize(text))
    inner = None
    reposted = quoted(text)
    if reposted is not None:
        inner_grams = shingles(normalize(reposted))
        inner = Signature(_minhash(inner_grams), numbers(reposted), where, empty=not inner_grams)
    return Signature(_minhash(grams), numbers(text), where, empty=not grams, quoted=inner)


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64)[:ROWS]
_SALT = np.arange(BANDS, dtype=np.uint64) * np.uint64(0xD6E8FEB86659FD93)


def _bands(sig: Signature) -> set[int]:
    """The LSH keys of a post: each band of each of its texts, its ROWS values and its number mixed into
    64 bits (two different bands may share a key: one more candidate, which ``find`` checks)."""
    keys: set[int] = set()
    for text in sig.texts():
        rows = np.asarray(text.minhash.hashvalues[: BANDS * ROWS], dtype=np.uint64).reshape(BANDS, ROWS)
        keys.update(((rows * _MIX).sum(axis=1, dtype=np.uint64) + _SALT).tolist())
    return keys


class NearDuplicateIndex:
    """The signatures of recent posts; ``find`` returns the most similar earlier post that agrees."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self._sigs: dict[str, Signature] = {}
        self._keys: dict[str, set[int]] = {}
        self._buckets: dict[int, set[str]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._sigs

    def __len__(self) -> int:
        return len(self._sigs)

    def add(self, key: str, sig: Signature) -> None:
        if key in self._sigs or not any(sig.texts()):
            return
        bands = _bands(sig)
        for band in bands:
            self._buckets.setdefault(band, set()).add(key)
        self._keys[key] = bands
        self._sigs[key] = sig

    def remove(self, key: str) -> None:
        if self._sigs.pop(key, None) is None:
            return
        for band in self._keys.pop(key):
            bucket = self._buckets[band]
            bucket.discard(key)
            if not bucket:
                del self._buckets[band]

    def candidates(self, sig: Signature) -> set[str]:
        """The posts sharing an LSH band with one of this post's texts."""
        buckets = self._buckets
        return set().union(*(buckets[band] for band in _bands(sig) if band in buckets))

    def find(self, sig: Signature, exclude: str | None = None) -> str | None:
        if not any(sig.texts()):
            return None
        best: tuple[float, str] | None = None
        for key in self.candidates(sig):
            if key == exclude:
                continue
            score = sig.match(self._sigs[key])
            if score >= self.threshold and (best is None or (score, key) > best):
                best = (score, key)
        return best[1] if best else None
