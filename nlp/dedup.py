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

Hashing (scheme 2): a bigram of two code points is one 64-bit integer (``c1 | c2 << 32``: the UTF-32 text
read in place; a one-character text is its code point), mixed to 32 bits by the MurmurHash3 64-bit
finalizer (the high half), then put through datasketch's 128 ``affine32`` permutations ``a·h + b mod 2³²``
(its default seed), each value the minimum over the text's bigrams — all in numpy, one array operation
per step for the whole text. The LSH keys (each band's 12 bytes) are computed once per signature
(``Signature.keys``), for ``find``, ``add`` and ``remove`` alike.

An estimate is a share of 128 values: about ±0.044 around a true similarity of 0.5, so a pair near the
threshold falls on either side by chance (which hash functions are drawn decides it). ``find`` checks an
estimate within ``MARGIN`` of the threshold on the texts' shingles themselves when both texts' words are
known (``Signature.words``: kept for texts of up to ``WORDS_KEPT`` characters, and stored).

Stored signatures (``hashvalues_bytes``) start with ``_TAG`` (``MH2``) and the number of texts, then the
values, uint32 little-endian, then the words. Signatures stored before scheme 2 (bare values: sha1 of
each bigram, then ``affine32``) hash the same text to other values, so ``from_parts`` marks them
``stale``: a stale signature matches nothing and is not indexed (a post stored by an older version is no
near-duplicate target after an upgrade: a repost of it is clustered on its words like any post) and
stores back exactly as it was read.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import cn2an
import numpy as np
from datasketch import LeanMinHash, MinHash

NUM_PERM = 128
SHINGLE = 2
THRESHOLD = 0.5
BANDS, ROWS = 42, 3  # 126 of the 128 values
MARGIN = 0.15  # estimates this close to the threshold are checked on the texts' shingles when known
ALIKE = THRESHOLD / 2  # two reposts whose reposted texts are this alike may match on their whole texts
_SCHEME = "affine32"  # datasketch's permutations: a·h + b mod 2**32
_TAG = b"MH2"  # stored signatures of scheme 2 start with it (older ones have no tag)
_UNKEPT = "\x01"  # stored for words not kept (no text has it: words are letters and digits)
WORDS_KEPT = 1000  # the words of a text up to this long are kept, to check estimates near the threshold

_REPOST = re.compile(r"//\s*@[^:：\s]{1,30}[:：]?|(?:回复|转发)?@[^\s:：,，@]{1,30}[:：]?")
_MARKER = re.compile(r"//\s*@[^:：\s/]{1,30}[:：]")  # what follows is the reposted post
_HASHTAG = re.compile(r"#[^#\n]{1,60}#")
_URL = re.compile(r"(?:https?://|www\.)[^\s\u4e00-\u9fff]+", re.IGNORECASE)
_STOCK = re.compile(r"转发微博|轉發微博|repost|网页链接|展开全文|收起全文|\[[^\[\]]{1,8}\]", re.IGNORECASE)
_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
_MEASURE = "人名个起辆户岁天年月日时分栋层次例条家所只头吨元"
_NUMBER = re.compile(rf"\d+(?:\.\d+)?[十百千万亿]*|[{_CN_DIGITS}]+(?=[{_MEASURE}])")
_NUMERAL = re.compile(rf"[\d{_CN_DIGITS}]")  # a text without any states no number


def _stripped(text: str) -> str:
    """The text without links, hashtags, repost markers, mentions and stock phrases (each left a space)."""
    return _strip(unicodedata.normalize("NFKC", text or ""))


def _strip(text: str) -> str:
    """``_stripped`` of a text already in NFKC (a pattern is tried only where it can match: each needs its
    character: ``://`` or ``.`` for a link, ``#`` for a hashtag, ``@`` for a marker or mention)."""
    if "://" in text or "." in text:
        text = _URL.sub(" ", text)
    if "#" in text:
        text = _HASHTAG.sub(" ", text)
    if "@" in text:
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
    return _quoted(unicodedata.normalize("NFKC", text or ""))


def _quoted(text: str) -> str | None:
    """``quoted`` of a text already in NFKC."""
    parts = _MARKER.split(text)
    return parts[-1] if len(parts) > 1 else None


def shingles(normalized: str, k: int = SHINGLE) -> set[str]:
    if len(normalized) <= k:
        return {normalized} if normalized else set()
    return {normalized[i : i + k] for i in range(len(normalized) - k + 1)}


def numbers(text: str) -> frozenset[str]:
    """The numbers a text states, each as Arabic digits (两人 → 2, 十二 → 12, 3万 → 30000). Pass the raw
    text: what normalising removes separates numbers (an already normalised text works, but a digit
    just before a removed repost marker is then read as part of the next number)."""
    return _numbers(_stripped(text))


def _numbers(stripped: str) -> frozenset[str]:
    """``numbers`` of a text ``_stripped`` already."""
    if _NUMERAL.search(stripped) is None:
        return frozenset()
    found: set[str] = set()
    for part in stripped.translate(_NUMBER_PARTS).split():
        for n in _NUMBER.findall(part):
            found.add(_canonical(n))
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


_A, _B = (np.asarray(p, dtype=np.uint32) for p in MinHash(num_perm=NUM_PERM, scheme=_SCHEME).permutations)
_EMPTY = np.full(NUM_PERM, np.iinfo(np.uint32).max, dtype=np.uint32)
_EMPTY_BYTES = _EMPTY.tobytes()
_EMPTY.flags.writeable = False
_FMIX = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53), np.uint64(32))


def _bigram_ids(normalized: str) -> np.ndarray:
    """Each character 2-shingle (bigram) of a normalised text as one integer, ``c1 | c2 << 32``: the text in
    UTF-32 read as overlapping 64-bit words, one every 4 bytes (a text of one character: its code point,
    below every bigram's); as ``shingles``, with repeats."""
    utf32 = normalized.encode("utf-32-le")
    if len(normalized) <= 1:
        return np.frombuffer(utf32, dtype="<u4").astype(np.uint64)
    return np.ndarray(shape=(len(normalized) - 1,), dtype="<u8", buffer=utf32, strides=(4,))


def _shingle_hashes(ids: np.ndarray) -> np.ndarray:
    """32-bit hashes of shingle ids: the high half of the MurmurHash3 64-bit finalizer."""
    shift, m1, m2, half = _FMIX
    h = ids ^ (ids >> shift)
    h *= m1
    h ^= h >> shift
    h *= m2  # (its last step, h ^= h >> 33, leaves the high half as it is)
    return (h >> half).astype(np.uint32)


def _values(normalized: str) -> np.ndarray:
    """The MinHash values (NUM_PERM uint32) of a normalised text; all 2**32 - 1 when it has no words."""
    ids = _bigram_ids(normalized)
    if not len(ids):
        return _EMPTY
    permuted = np.multiply.outer(_shingle_hashes(ids), _A)  # uint32, wrapping: mod 2**32
    permuted += _B
    values: np.ndarray = permuted.min(axis=0)
    return values


_SALT = np.zeros(BANDS * ROWS, dtype=np.uint32)  # on each band's first row: its number, mixed
_SALT[::ROWS] = (
    np.arange(1, BANDS + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) >> np.uint64(32)
).astype(np.uint32)


def _band_keys(values: np.ndarray) -> list[bytes]:
    """The LSH keys of one text's values: each band's ROWS values (its first one xor the band's salt), as
    bytes (two different bands may share a key: one more candidate, which ``find`` checks)."""
    keys: list[bytes] = (values[: BANDS * ROWS] ^ _SALT).view(f"V{4 * ROWS}").tolist()
    return keys


def _exact(a: frozenset[str], b: frozenset[str]) -> float:
    """The Jaccard similarity of two sets of shingles."""
    return len(a & b) / max(1, len(a | b))


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The estimated Jaccard similarity of two texts: the share of equal MinHash values."""
    return int(np.count_nonzero(a == b)) / NUM_PERM


@dataclass(frozen=True, slots=True, eq=False)
class Signature:
    """What a post contributes to near-duplicate search; ``hashvalues_bytes``/``stored_numbers`` and
    ``from_parts`` to store it. ``values`` are the MinHash values (NUM_PERM uint32), ``quoted`` is the
    signature of the post a repost reposts, ``words`` the normalised text (kept up to ``WORDS_KEPT``
    characters: estimates near the threshold are checked on it), ``stale`` one stored by an older hashing
    scheme (it matches nothing; ``stored`` keeps what was read, to store it back unchanged)."""

    values: np.ndarray
    numbers: frozenset[str]
    places: frozenset[str]
    empty: bool = False
    quoted: Signature | None = None
    stale: bool = False
    stored: tuple[bytes, tuple[str, ...]] | None = None
    words: str | None = None
    _keys: list[bytes] | None = field(default=None, repr=False)
    _grams: frozenset[str] | None = field(default=None, repr=False)
    _read_from: bytes | None = field(default=None, repr=False)  # the stored bytes it was read from

    @property
    def minhash(self) -> LeanMinHash:
        """The values as a datasketch ``LeanMinHash`` (of scheme ``affine32``)."""
        return LeanMinHash(seed=1, hashvalues=self.values, scheme=_SCHEME)

    @property
    def keys(self) -> list[bytes]:
        """The LSH keys of the texts it can be matched on (``texts``), computed once."""
        keys = self._keys
        if keys is None:
            keys = [key for text in self.texts() for key in _band_keys(text.values)]
            object.__setattr__(self, "_keys", keys)
        return keys

    def grams(self) -> frozenset[str]:
        """The shingles of its words (none when they are not kept), computed once."""
        grams = self._grams
        if grams is None:
            grams = frozenset(shingles(self.words or ""))
            object.__setattr__(self, "_grams", grams)
        return grams

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Signature):
            return NotImplemented
        return self._parts() == other._parts()

    def __hash__(self) -> int:
        return hash(self._parts())

    def _parts(self) -> tuple[object, ...]:
        quoted = self.quoted._parts() if self.quoted is not None else None
        return (self.values.tobytes(), self.numbers, self.places, self.empty, quoted, self.stale, self.stored)

    def texts(self) -> Iterator[Signature]:
        """The texts a post can be matched on: itself, and the post it reposts (when it has words); none
        when it is stale."""
        if self.stale:
            return
        if not self.empty:
            yield self
        if self.quoted is not None and not self.quoted.empty:
            yield self.quoted

    def match(self, other: Signature, threshold: float | None = None) -> float:
        """The best estimated similarity of two posts' texts that agree on the facts (0 when none do).
        Two reposts are compared on what they repost, and on their whole texts only when what they repost
        is alike too (or wordless in both): the same comment on two different posts is no duplicate.
        An estimate within ``MARGIN`` of ``threshold`` is replaced by the exact similarity when both
        texts' words are known."""
        mine, theirs = self.quoted, other.quoted
        if mine is not None and theirs is not None:
            if mine.empty and theirs.empty:
                pairs = [(self, other)]
            elif mine.empty or theirs.empty:
                return 0.0
            elif _jaccard(mine.values, theirs.values) >= ALIKE:
                pairs = [(mine, theirs), (self, other)]
            else:
                return 0.0
        else:
            pairs = [(a, b) for a in self.texts() for b in other.texts()]
        best = 0.0
        for a, b in pairs:
            if a.stale or b.stale or a.empty or b.empty:
                continue
            score = _jaccard(a.values, b.values)
            near = threshold is not None and abs(score - threshold) < MARGIN
            if (near or score > best) and a.agrees_with(b):
                if near and a.words is not None and b.words is not None:
                    score = _exact(a.grams(), b.grams())
                best = max(best, score)
        return best

    def similarity(self, other: Signature) -> float:
        """The best estimated similarity of the two posts' texts (whether or not the facts agree)."""
        return max((_jaccard(a.values, b.values) for a in self.texts() for b in other.texts()), default=0.0)

    def agrees_with(self, other: Signature) -> bool:
        """Same facts: neither adds numbers the other contradicts, and the places are compatible."""
        nums = self.numbers <= other.numbers or other.numbers <= self.numbers
        return nums and places_agree(self.places, other.places)

    def hashvalues_bytes(self) -> bytes:
        """What to store of the texts (scheme 2): ``_TAG``, the number of texts (one byte: 2 for a repost,
        whose reposted text follows), each text's MinHash values (uint32 little-endian), then their words
        (UTF-8, ``\\0`` between them; ``_UNKEPT`` for words not kept). A stale signature's: the bytes it was
        read from."""
        if self.stored is not None:
            return self.stored[0]
        if self._read_from is not None:  # what these bytes would be again (``from_parts`` reads them whole)
            return self._read_from
        texts = [self] if self.quoted is None else [self, self.quoted]
        values = b"".join(t.values.astype("<u4").tobytes() for t in texts)
        words = "\0".join(_UNKEPT if t.words is None else t.words for t in texts)
        return _TAG + bytes([len(texts)]) + values + words.encode()

    def stored_numbers(self) -> list[str]:
        """The numbers to store with ``hashvalues_bytes``: the reposted text's are marked ``q:``."""
        if self.stored is not None:
            return list(self.stored[1])
        quoted_numbers = self.quoted.numbers if self.quoted is not None else ()
        return sorted(self.numbers) + sorted(f"q:{n}" for n in quoted_numbers)

    @classmethod
    def from_parts(cls, hashvalues: bytes, numbers: Iterable[str], places: Iterable[str]) -> Signature:
        """A stored signature (``hashvalues_bytes``, ``stored_numbers``, places); one stored by an older
        hashing scheme, or unreadable, comes back ``stale``."""
        hashvalues, numbers = bytes(hashvalues or b""), list(numbers or ())
        own = frozenset(n for n in numbers if not n.startswith("q:"))
        where = frozenset(places)
        texts = _stored_texts(hashvalues)
        if texts is None:
            return cls(_EMPTY, own, where, True, stale=True, stored=(hashvalues, tuple(numbers)))
        inner = None
        if len(texts) == 2:
            values, words = texts[1]
            inner_numbers = frozenset(n[2:] for n in numbers if n.startswith("q:"))
            inner = cls(values, inner_numbers, where, _all_empty(values), words=words)
        values, words = texts[0]
        return cls(values, own, where, _all_empty(values), inner, words=words, _read_from=hashvalues)


def _stored_texts(stored: bytes) -> list[tuple[np.ndarray, str | None]] | None:
    """The (values, words) of each text ``hashvalues_bytes`` stored; None when it is no scheme 2 signature
    (an older one: its bare values, 128 or 256 uint32) or cannot be read."""
    head = len(_TAG) + 1
    if not stored.startswith(_TAG) or len(stored) < head or stored[len(_TAG)] not in (1, 2):
        return None
    count, size = stored[len(_TAG)], 4 * NUM_PERM
    if len(stored) < head + count * size:
        return None
    values = np.frombuffer(stored, dtype="<u4", count=count * NUM_PERM, offset=head).astype(np.uint32)
    try:
        words: list[str | None] = [
            None if w == _UNKEPT else w for w in stored[head + count * size :].decode().split("\0")
        ]
    except UnicodeDecodeError:
        return None
    if len(words) != count:
        return None
    return [(values[i * NUM_PERM : (i + 1) * NUM_PERM], words[i]) for i in range(count)]


def _all_empty(values: np.ndarray) -> bool:
    return values.tobytes() == _EMPTY_BYTES


def places_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return True
    return any(x.startswith(y) or y.startswith(x) for x in a for y in b)


def _text_signature(stripped: str, where: frozenset[str], quoted: Signature | None = None) -> Signature:
    """The signature of a text ``_stripped`` already."""
    words = stripped.translate(_WORDS)
    kept = words if len(words) <= WORDS_KEPT else None
    return Signature(_values(words), _numbers(stripped), where, empty=not words, quoted=quoted, words=kept)


def signature(text: str, places: Iterable[str] = ()) -> Signature:
    """The signature of a post's text; ``places`` are its location codes (most specific)."""
    where = frozenset(places)
    text = unicodedata.normalize("NFKC", text or "")
    reposted = _quoted(text)
    inner = None if reposted is None else _text_signature(_stripped(reposted), where)
    return _text_signature(_strip(text), where, inner)


class NearDuplicateIndex:
    """The signatures of recent posts; ``find`` returns the most similar earlier post that agrees. Each LSH
    key holds the post that has it, or the set of them when there are several (most keys have one)."""

    def __init__(self, threshold: float = THRESHOLD) -> None:
        self.threshold = threshold
        self._sigs: dict[str, Signature] = {}
        self._buckets: dict[bytes, str | set[str]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._sigs

    def __len__(self) -> int:
        return len(self._sigs)

    def add(self, key: str, sig: Signature) -> None:
        if key in self._sigs:
            return
        keys = sig.keys
        if not keys:  # no words (or stale): nothing to match on
            return
        buckets = self._buckets
        for band in keys:
            held = buckets.setdefault(band, key)
            if held is key:
                continue
            if isinstance(held, str):
                if held != key:
                    buckets[band] = {held, key}
            else:
                held.add(key)
        self._sigs[key] = sig

    def remove(self, key: str) -> None:
        sig = self._sigs.pop(key, None)
        if sig is None:
            return
        buckets = self._buckets
        for band in sig.keys:
            held = buckets.get(band)
            if held is None:
                continue
            if isinstance(held, str):
                if held == key:
                    del buckets[band]
                continue
            held.discard(key)
            if len(held) == 1:
                buckets[band] = next(iter(held))
            elif not held:
                del buckets[band]

    def candidates(self, sig: Signature) -> set[str]:
        """The posts sharing an LSH band with one of this post's texts."""
        found: set[str] = set()
        buckets = self._buckets
        for band in sig.keys:
            held = buckets.get(band)
            if held is None:
                continue
            if isinstance(held, str):
                found.add(held)
            else:
                found |= held
        return found

    def find(self, sig: Signature, exclude: str | None = None) -> str | None:
        best: tuple[float, str] | None = None
        sigs = self._sigs
        for key in self.candidates(sig):
            if key == exclude:
                continue
            score = sig.match(sigs[key], self.threshold)
            if score >= self.threshold and (best is None or (score, key) > best):
                best = (score, key)
        return best[1] if best else None
