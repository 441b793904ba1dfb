"""The nlp stage: posts.raw → posts.enriched.

Each raw post is cleaned, segmented once, tagged (relevance, category, sentiment, emotion, severity),
given its places and its heat (``nlp.enrich``), and matched against every active 监测方案
(``nlp.plans.stage``: plan ids on the post; a match keeps it relevant); the posts the incidents stage
files carry their near-duplicate signature (``nlp.post_signature``) and their term weights and kinds of
emergency (``nlp.post_terms``), so that single process need not compute them. Output key = the post id, so
every version of one post (updates of its counts) stays in order on one partition and the indexer can
overwrite by id. A payload that is not a RawPost is dead-lettered by the worker base class with the
reason.

Enrichment runs on the whole polled batch at once (``Enricher.enrich_many`` is several times faster
than one post at a time), in the base class's ``handle_batch`` hook, which gives one outcome per message.
If the batch fails as a whole, each post is enriched on its own, so only the post at fault is
dead-lettered (by the base class, with the reason).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from pydantic import ValidationError

from nlp.enrich import Enricher
from nlp.plans.stage import PlanSource, apply_plans
from nlp.post_signature import sign
from nlp.post_terms import attach as attach_terms
from yuqing.bus import Bus, Message
from yuqing.clock import Clock
from yuqing.schemas import EnrichedPost, RawPost
from yuqing.settings import Settings
from yuqing.stage_engines import open_engines
from yuqing.topology import Topics
from yuqing.worker import POST_BATCH, Outcome, Output, Worker

log = logging.getLogger(__name__)


class EnrichWorker(Worker):
    name = "nlp"
    topics = (Topics.RAW_POSTS,)
    batch_size = POST_BATCH

    def __init__(self, bus: Bus, enricher: Enricher, clock: Clock | None = None,
                 plans: PlanSource | None = None) -> None:
        super().__init__(bus, clock)
        self.enricher = enricher
        self.plans = plans

    def handle_batch(self, messages: Sequence[Message]) -> list[Outcome]:
        """Enrich every well-formed post of a polled batch in one go; one outcome per message."""
        outcomes: list[Outcome] = []
        parsed: dict[int, RawPost] = {}  # position in the batch -> its post
        for i, message in enumerate(messages):
            try:
                parsed[i] = RawPost.model_validate_json(message.value)
                outcomes.append(Outcome.ok())
            except ValidationError as exc:
                outcomes.append(Outcome.dead_letter(exc))
        try:
            enriched = self._enrich(list(parsed.values()))
        except Exception as exc:  # noqa: BLE001 - one post at a time then, so only the faulty one fails
            log.warning("nlp: batch enrichment failed, enriching one by one: %s", exc)
            for i, post in parsed.items():
                outcomes[i] = self._enrich_one(post)
            return outcomes
        for i, post in zip(parsed, enriched, strict=True):
            outcomes[i] = Outcome.ok([Output(Topics.ENRICHED_POSTS, post, key=post.id)])
        return outcomes

    def _enrich(self, posts: list[RawPost]) -> list[EnrichedPost]:
        enriched = self.enricher.enrich_many(posts) if posts else []
        if self.plans is not None and enriched:
            apply_plans(self.plans.matcher(), enriched)
        sign(enriched)  # after the plans: a post a plan matches is relevant
        attach_terms(enriched)
        return enriched

    def _enrich_one(self, post: RawPost) -> Outcome:
        try:
            (enriched,) = self._enrich([post])
        except Exception as exc:  # noqa: BLE001 - this post's fault: dead-letter (or retry) it
            return Outcome.failed(exc)
        return Outcome.ok([Output(Topics.ENRICHED_POSTS, enriched, key=enriched.id)])


def run(settings: Settings, stop: threading.Event) -> None:
    enricher = Enricher.load(settings.model_path)
    with open_engines(settings) as engines:
        EnrichWorker(engines.bus, enricher, plans=PlanSource(database=engines.db)).run(stop)
