"""Which posts the incidents stage files into incidents: the relevant ones, and every declared 留言
(a citizen's message is a case whatever the relevance model says). The nlp stage prepares what filing
needs (``nlp.post_signature``, ``nlp.post_terms``) on these posts only."""

from __future__ import annotations

from typing import Protocol


class _Tags(Protocol):
    @property
    def relevant(self) -> bool: ...


class _Post(Protocol):
    @property
    def tags(self) -> _Tags: ...

    @property
    def item_kind(self) -> str: ...


def is_filed(post: _Post) -> bool:
    """A post the incidents stage files: a relevant one, or a declared 留言."""
    return post.tags.relevant or post.item_kind == "message"
