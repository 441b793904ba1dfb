"""The nlp stage: posts.raw → posts.enriched.

Each raw post is cleaned, segmented once, tagged (relevance, category, sentiment, emotion, severity),
given its places and its heat (``nlp.enrich``), and matched against every active 监测方案
(``nlp.plans.stage``: plan ids on the post; a match keeps it relevant). Output key = the post id, so
every version of one post (updates of its counts) stays in order on one partition and the indexer can
overwrite by id. A payload that is not a RawPost raises, and the worker base class dead-letters it with
the reason.

Enrichment runs on the whole polled batch at once (``Enricher.enrich_many`` is several times faster
than one post at a time), in the base class's ``prepare_batch`` hook, before it hands the messages to
``handle`` one by one. If the batch fails as a whole, each post is enriched on its own, so only the post
at fault is dead-lettered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence

from pydantic import ValidationError

from nlp.enrich import Enricher
from nlp.plans.stage import PlanSource, apply_plans
from yuqing.bus import Bus, Message, open_bus
from yuqing.clock import Clock
from yuqing.schemas import EnrichedPost, RawPost
from yuqing.settings import Settings
from yuqing.topology import Topics
from yuqing.worker import Output, Worker

log = logging.getLogger(__name__)


class EnrichWorker(Worker):
    name = "nlp"
    topics = (Topics.RAW_POSTS,)

    def __init__(self, bus: Bus, enricher: Enricher, clock: Clock | None = None,
                 plans: PlanSource | None = None) -> None:
        super().__init__(bus, clock)
        self.enricher = enricher
        self.plans = plans
        self._ready: dict[tuple[str, int, int], EnrichedPost] = {}

    def prepare_batch(self, batch: Sequence[Message]) -> None:
        """Enrich every well-formed post of a polled batch in one go, for ``handle`` to pick up."""
        self._ready = {}
        parsed: list[tuple[Message, RawPost]] = []
        for message in batch:
            try:
                parsed.append((message, RawPost.model_validate_json(message.value)))
            except ValidationError:
                continue  # handle() raises on it, and the base class dead-letters it
        try:
            enriched = self.enricher.enrich_many([post for _, post in parsed])
        except Exception as exc:  # noqa: BLE001 - one post at a time then, so only the faulty one fails
            log.warning("nlp: batch enrichment failed, enriching one by one: %s", exc)
            return
        if self.plans is not None:
            apply_plans(self.plans.matcher(), enriched)
        self._ready = {
            (m.topic, m.partition, m.offset): e for (m, _), e in zip(parsed, enriched, strict=True)
        }

    def handle(self, message: Message) -> Iterable[Output]:
        post = RawPost.model_validate_json(message.value)
        enriched = self._ready.pop((message.topic, message.partition, message.offset), None)
        if enriched is None or enriched.id != post.id:
            enriched = self.enricher.enrich(post)
            if self.plans is not None:
                apply_plans(self.plans.matcher(), [enriched])
        return [Output(Topics.ENRICHED_POSTS, enriched, key=enriched.id)]


def run(settings: Settings, stop: threading.Event) -> None:
    enricher = Enricher.load(settings.model_path)
    bus = open_bus(settings.bus_url, partitions=settings.bus_partitions)
    plans = PlanSource(settings.db_url)
    try:
        EnrichWorker(bus, enricher, plans=plans).run(stop)
    finally:
        plans.close()
        bus.close()
