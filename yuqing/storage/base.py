"""The search store interface. Two implementations: SQLite FTS5 over jieba(-rs) tokens (default) and
Elasticsearch with a pre-tokenized Chinese field under a whitespace analyzer (no plugin needed).

tests/contracts/test_store.py runs one behavioural suite against both.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, field_validator

from yuqing.clock import CN_TZ, aware
from yuqing.schemas import EnrichedPost
from yuqing.text import segment

FacetField = Literal["source_id", "category", "location_code", "sentiment", "source_kind", "severity"]


class StoreError(RuntimeError):
    """The store cannot be reached or refused a request."""


class PostsRejected(StoreError):
    """The store refused some posts for what they hold (not because it is away); the rest were written.

    ``reasons`` maps each refused post id to why."""

    def __init__(self, reasons: dict[str, str]) -> None:
        first = next(iter(reasons.items()))
        super().__init__(f"{len(reasons)} posts refused by the search store; first: {first[0]}: {first[1]}")
        self.reasons = reasons


class SearchQuery(BaseModel):
    text: str = ""
    start: datetime | None = Field(default=None, description="published_at >= start")
    end: datetime | None = Field(default=None, description="published_at < end")
    source_ids: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    location_codes: list[str] = Field(
        default_factory=list, description="a code matches itself and every place below it (prefix)"
    )
    sentiments: list[str] = Field(default_factory=list)
    relevant_only: bool = False
    post_ids: list[str] = Field(default_factory=list)
    sort: Literal["relevance", "time", "heat"] = "relevance"
    size: int = Field(default=20, ge=0, le=500)
    offset: int = Field(default=0, ge=0, le=10_000)
    facets: list[FacetField] = Field(default_factory=list)
    facet_size: int = Field(default=20, ge=1, le=1000, description="buckets per facet, most frequent first")
    histogram: Literal["hour", "day"] | None = None
    plan_ids: list[int] = Field(default_factory=list, description="posts matching any of these 监测方案")
    operator: Literal["or", "and"] = Field(
        default="or", description="or: any query word matches (ranked by BM25); and: every word must match"
    )

    @field_validator("start", "end")
    @classmethod
    def _china_time_if_naive(cls, value: datetime | None) -> datetime | None:
        """A time without a zone is China time (what a user in the console means)."""
        return aware(value, CN_TZ) if value else value


class SearchHit(BaseModel):
    post: dict[str, Any]
    score: float = 0.0


class SearchResult(BaseModel):
    total: int
    hits: list[SearchHit]
    facets: dict[str, list[tuple[str, int]]] = Field(default_factory=dict)
    histogram: list[tuple[datetime, int]] = Field(default_factory=list)


class SearchStore(Protocol):
    def ensure_schema(self) -> None: ...

    def index(self, posts: Sequence[EnrichedPost]) -> None:
        """Upsert by post id: indexing the same post twice leaves one document (the newer by
        ``fetched_at``; a late older version does not replace it). Raises PostsRejected naming the
        posts the store refused (the others are written), StoreError when the store is away."""
        ...

    def get(self, ids: Sequence[str]) -> list[dict[str, Any]]: ...

    def search(self, query: SearchQuery) -> SearchResult: ...

    def close(self) -> None: ...


# --- what both stores index: derived from a post the same way, so both answer alike ---------------

_LEVEL_LENGTHS = (2, 4, 6, 9, 12)  # province, city, county, township, village digits of a GB/T 2260 code
_TITLE_GAP = 3  # characters of the title a token may skip (stop words the nlp stage dropped)


def canonical_location_code(code: str) -> str:
    """The significant digits of an administrative code: 110000 -> 11, 110100 -> 1101, 110101 -> 110101.

    Codes that are not digits are kept as they are."""
    code = code.strip()
    if not code.isdigit() or len(code) not in _LEVEL_LENGTHS:
        return code
    significant = len(code.rstrip("0"))
    return code[: next(n for n in _LEVEL_LENGTHS if n >= significant)]


def location_ancestors(code: str) -> list[str]:
    """The canonical code of a place and of every place above it: 110101 -> [11, 1101, 110101]."""
    canonical = canonical_location_code(code)
    if not canonical.isdigit() or len(canonical) not in _LEVEL_LENGTHS:
        return [canonical] if canonical else []
    return [canonical[:n] for n in _LEVEL_LENGTHS if n <= len(canonical)]


# fields the bus carries for the incidents stage, not kept by search
NOT_STORED = {"near_dup", "cluster_terms"}


def post_location_ancestors(post: EnrichedPost) -> list[str]:
    seen: dict[str, None] = {}
    for loc in post.tags.locations:
        seen.update(dict.fromkeys(location_ancestors(loc.code)))
    return list(seen)


_ALNUM = re.compile(r"[^\W_]")  # a character ``str.isalnum`` accepts (``\w`` is those and ``_``)


def is_word(token: str) -> bool:
    """A token worth indexing or searching: it holds a letter or a digit (not punctuation or space)."""
    return _ALNUM.search(token) is not None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def split_title_tokens(title: str, tokens: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split the nlp stage's tokens of ``title + content`` into the title's and the content's.

    The title's tokens are the leading ones found in order in the title (a few characters may be
    skipped between them, where the nlp stage dropped stop words); the rest belong to the content."""
    folded = _fold(title)
    pos, count = 0, 0
    for token in tokens:
        if pos >= len(folded):
            break
        at = folded.find(_fold(token), pos)
        if at < 0 or len(folded[pos:at].strip()) > _TITLE_GAP:
            break
        pos, count = at + len(_fold(token)), count + 1
    return list(tokens[:count]), list(tokens[count:])


def index_text(tokens: Sequence[str]) -> str:
    """Tokens joined by single spaces, punctuation and blanks left out: what full-text indexes hold."""
    word = _ALNUM.search
    return " ".join(t.strip() for t in tokens if word(t))


def _segmenter() -> Callable[[str], list[str]]:
    """The project's one segmenter (``yuqing.text.segment``: jieba-rs with the user dictionary), the one the
    nlp stage cut the posts with, so a query is cut into the same words. No fallback: without jieba-rs it
    raises ``yuqing.text.SegmenterUnavailable``."""
    return segment


def query_terms(text: str) -> list[str]:
    """The query segmented (the only text a store segments itself), words only, no repeats."""
    return list(dict.fromkeys(t.strip() for t in _segmenter()(text) if is_word(t)))
