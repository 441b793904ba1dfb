"""RawPost → EnrichedPost: clean the text, segment it once, tag it, find its places, score its heat.

The tokens of the clean text are computed once and reused by the tagger and the location resolver.
A text over the size cap is cut (``truncated`` is set and ``content`` becomes the cut, clean text) so
one enormous page cannot slow down every later stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from nlp.heat import post_heat
from nlp.location import Gazetteer
from nlp.tokenize import DEFAULT_CAP, clean_text, segment_many
from yuqing.schemas import EnrichedPost, Location, RawPost, Tags


class TextTagger(Protocol):
    def tag_many(self, texts: list[str], tokens: list[list[str]]) -> list[Tags]: ...


class Enricher:
    """Loads the tagger and the gazetteer once; ``enrich`` one post or ``enrich_many`` a batch."""

    def __init__(self, tagger: TextTagger, gazetteer: Gazetteer, cap: int = DEFAULT_CAP) -> None:
        self.tagger = tagger
        self.gazetteer = gazetteer
        self.cap = cap

    @classmethod
    def load(cls, model_path: Path | None = None, cap: int = DEFAULT_CAP) -> Enricher:
        from nlp.classify import Tagger

        return cls(Tagger.load(model_path), Gazetteer.load(), cap)

    def enrich(self, post: RawPost) -> EnrichedPost:
        return self.enrich_many([post])[0]

    def enrich_many(self, posts: Sequence[RawPost]) -> list[EnrichedPost]:
        cleaned = self.clean(posts)
        texts = [text for text, _ in cleaned]
        tokens = self.segment(texts)
        tags = self.tagger.tag_many(texts, tokens)
        return self.build(posts, cleaned, tokens, tags, self.places(posts, texts, tokens))

    # --- the steps of enrich_many, in order ----------------------------------------------------
    def clean(self, posts: Sequence[RawPost]) -> list[tuple[str, bool]]:
        return [clean_text(p.text, self.cap) for p in posts]

    @staticmethod
    def segment(texts: list[str]) -> list[list[str]]:
        return segment_many(texts)

    def places(
        self, posts: Sequence[RawPost], texts: list[str], tokens: list[list[str]]
    ) -> list[list[Location]]:
        resolve = self.gazetteer.resolve
        return [resolve(t, k, p.region) for p, t, k in zip(posts, texts, tokens, strict=True)]

    def build(
        self,
        posts: Sequence[RawPost],
        cleaned: list[tuple[str, bool]],
        tokens: list[list[str]],
        tags: list[Tags],
        places: list[list[Location]],
    ) -> list[EnrichedPost]:
        """The EnrichedPosts, validated; the RawPost's fields are passed as they are (``__dict__``, not a
        ``model_dump`` copy), so its nested models are not serialised and validated again."""
        out = []
        for post, (_, truncated), toks, tag, where in zip(posts, cleaned, tokens, tags, places, strict=True):
            tag.locations = where
            fields = post.__dict__
            if truncated:
                fields = fields | {"content": clean_text(post.content, self.cap)[0]}
            heat = post_heat(post.counts, post.source_weight, tag.sentiment.label == "negative")
            out.append(EnrichedPost(**fields, tokens=toks, tags=tag, heat=heat, truncated=truncated))
        return out
