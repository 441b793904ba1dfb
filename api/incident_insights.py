"""What an incident page shows first, counted from the incident's own posts: the split by source type, the
top keywords (in how many posts each word appears) and the places the posts name, most posts first."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from api.schemas import PostOut
from nlp.location import place_name
from nlp.post_terms import STOPWORDS

MAX_KEYWORDS = 30
MAX_PLACES = 12
_CONTENT_WORD = re.compile(r"^(?:[\u4e00-\u9fff][\u4e00-\u9fffA-Za-z0-9]*|[A-Za-z]{2,20})$")


class SourceShare(BaseModel):
    kind: str
    posts: int
    share: float


class KeywordCount(BaseModel):
    word: str
    posts: int


class PlaceCount(BaseModel):
    code: str | None
    name: str
    posts: int


def source_split(posts: Sequence[PostOut]) -> list[SourceShare]:
    """Posts per source type (news, gov, forum, social), most first."""
    counts = Counter(p.source_kind for p in posts)
    total = sum(counts.values())
    return [
        SourceShare(kind=kind, posts=n, share=round(n / total, 4))
        for kind, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _is_keyword(token: str) -> bool:
    token = token.strip()
    return len(token) >= 2 and token not in STOPWORDS and bool(_CONTENT_WORD.match(token))


def top_keywords(docs: Sequence[dict[str, Any]], limit: int = MAX_KEYWORDS) -> list[KeywordCount]:
    """The content words in the most posts (each post counts a word once), from the nlp stage's tokens."""
    counts: Counter[str] = Counter()
    for doc in docs:
        counts.update({t.strip() for t in doc.get("tokens") or () if isinstance(t, str) and _is_keyword(t)})
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [KeywordCount(word=w, posts=n) for w, n in ranked]


def place_counts(
    posts: Sequence[PostOut], fallback: Sequence[dict[str, Any]] = (), limit: int = MAX_PLACES
) -> list[PlaceCount]:
    """Posts per place named in them (a post counts once per place); the incident's own places, with no
    count, when no post names one."""
    counts: Counter[tuple[str | None, str]] = Counter()
    for post in posts:
        counts.update({_place_key(loc) for loc in post.locations if loc.get("code") or loc.get("name")})
    if not counts:
        return [PlaceCount(code=k[0], name=k[1], posts=0) for k in dict.fromkeys(map(_place_key, fallback))]
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][1]))[:limit]
    return [PlaceCount(code=code, name=name, posts=n) for (code, name), n in ranked]


def _place_key(loc: dict[str, Any]) -> tuple[str | None, str]:
    code = str(loc["code"]) if loc.get("code") else None
    named = place_name(code) if code else ""
    return code, (named if named and named != code else str(loc.get("name") or code))
