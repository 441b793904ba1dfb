"""The ``indexer`` stage: enriched posts from the bus into the search store.

``handle`` only parses (a message that is not an EnrichedPost raises, so the base class dead-letters
it); the posts of one polled batch are written with one ``index`` call in ``on_batch_done``, which the
base class calls before it commits the batch's offsets. Indexing is idempotent by post id, so a batch
re-delivered after a crash is simply written again.

A post the store refuses for what it holds (PostsRejected) is dead-lettered with the reason and
the rest of the batch goes on. A store that cannot be reached is retried ``max_retries`` times with
backoff; after that the hook raises RetryableError, nothing of the batch is committed, and the base
class resumes from the committed offsets after a backoff, so the batch is written once the store is back.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from yuqing.bus import Bus, Message, open_bus
from yuqing.schemas import EnrichedPost
from yuqing.settings import Settings
from yuqing.storage import SearchStore, StoreError, open_store
from yuqing.storage.base import PostsRejected
from yuqing.topology import Topics
from yuqing.worker import PermanentError, RetryableError, Worker, dead_letter_for

log = logging.getLogger(__name__)


class IndexerWorker(Worker):
    name = "indexer"
    topics = (Topics.ENRICHED_POSTS,)

    def __init__(self, bus: Bus, store: SearchStore) -> None:
        super().__init__(bus)
        self.store = store
        self.pending: list[tuple[Message, EnrichedPost]] = []
        self.indexed = 0

    def handle(self, message: Message) -> None:
        post = EnrichedPost.model_validate_json(message.value)
        try:  # NaN or Infinity would make the store's request invalid JSON and fail the whole batch
            json.dumps(post.model_dump(mode="json"), allow_nan=False)
        except ValueError:
            raise PermanentError(f"post {post.id} holds a number that is NaN or Infinity") from None
        self.pending.append((message, post))

    def on_batch_done(self) -> None:
        pending, self.pending = self.pending, []  # if this raises, the whole batch is delivered again
        if not pending:
            return
        refused: dict[str, str] = {}
        try:
            self._index([post for _, post in pending])
        except PostsRejected as exc:  # the others were written; the refused go to the dead letters
            refused = exc.reasons
        for message, post in pending:
            if post.id in refused:
                reason = PermanentError(f"search store refused post {post.id}: {refused[post.id]}")
                self.producer.send(Topics.DEAD_LETTER, dead_letter_for(self.name, message, reason),
                                   key=message.key)
                self.dead_lettered += 1
            else:
                self.indexed += 1
        if refused:
            self.producer.flush()  # the base class commits right after this hook

    def _index(self, posts: list[EnrichedPost]) -> None:
        """Index, retrying while the store is away; RetryableError when it stays away."""
        attempt = 0
        while True:
            try:
                self.store.index(posts)
                return
            except PostsRejected:
                raise
            except StoreError as exc:
                attempt += 1
                if attempt > self.max_retries:
                    raise RetryableError(f"search store unavailable, batch not committed: {exc}") from exc
                log.warning("%s: retry %d of %d posts: %s", self.name, attempt, len(posts), exc)
                time.sleep(self.retry_backoff * 2 ** (attempt - 1))


def run(settings: Settings, stop: threading.Event) -> None:
    settings.ensure_data_dir()
    store = open_store(settings.search_url, index_prefix=settings.es_index_prefix)
    bus = open_bus(settings.bus_url, partitions=settings.bus_partitions)
    try:
        store.ensure_schema()
        bus.ensure_topics([Topics.ENRICHED_POSTS, Topics.DEAD_LETTER])
        IndexerWorker(bus, store).run(stop)
    finally:
        bus.close()
        store.close()
