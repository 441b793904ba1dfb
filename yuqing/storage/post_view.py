"""A post as the search stores hold it and every reader shows it (the API, the console, the reports): the
post's fields and what the nlp stage said about it, the content cut for a list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from yuqing.schemas import EnrichedPost, posted_at


class PostOut(BaseModel):
    """A post as the search store holds it (what the NLP said about it included)."""

    id: str
    source_id: str
    source_kind: str
    url: str
    title: str
    content: str
    author: str | None = None
    published_at: datetime | None = None
    fetched_at: datetime
    heat: float = 0.0
    relevant: bool
    category: str | None
    sentiment: str
    sentiment_score: float
    emotion: str | None
    severity: str | None
    locations: list[dict[str, Any]]
    score: float = 0.0

    @property
    def posted_at(self) -> datetime:
        """When the post appeared (yuqing.schemas.posted_at, as clustering and the stores file it)."""
        return posted_at(self.published_at, self.fetched_at)

    @classmethod
    def from_store(cls, doc: dict[str, Any], score: float = 0.0, *, content_chars: int = 400) -> PostOut:
        post = EnrichedPost.model_validate(doc)
        content = post.content if len(post.content) <= content_chars else post.content[:content_chars] + "…"
        return cls(
            id=post.id,
            source_id=post.source_id,
            source_kind=post.source_kind,
            url=post.url,
            title=post.title,
            content=content,
            author=post.author,
            published_at=post.published_at,
            fetched_at=post.fetched_at,
            heat=post.heat,
            relevant=post.tags.relevant,
            category=post.tags.category,
            sentiment=post.tags.sentiment.label,
            sentiment_score=post.tags.sentiment.score,
            emotion=post.tags.emotion,
            severity=post.tags.severity.level,
            locations=[loc.model_dump() for loc in post.tags.locations],
            score=score,
        )
