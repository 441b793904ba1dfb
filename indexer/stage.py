"""The ``indexer`` stage: enriched posts from the bus into the search store.

``handle_batch`` writes the posts of one polled batch with one ``index`` call and gives the worker base
class one outcome per message, which commits the batch's offsets only after that write. Indexing is
idempotent by post id, so a batch re-delivered after a crash is simply written again.

A message that is not an EnrichedPost, a post holding NaN or Infinity, and a post the store refuses for
what it holds (PostsRejected) are dead-lettered with the reason; the rest of the batch goes on. A store
that cannot be reached raises RetryableError: the base class tries the batch again ``max_retries`` times
with backoff, then leaves it uncommitted and resumes from the committed offsets after a backoff, so the
batch is written once the store is back.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence

from pydantic import ValidationError

from yuqing.bus import Bus, Message
from yuqing.schemas import EnrichedPost
from yuqing.settings import Settings
from yuqing.stage_engines import open_engines
from yuqing.storage import SearchStore, StoreError
from yuqing.storage.base import PostsRejected
from yuqing.topology import Topics
from yuqing.worker import POST_BATCH, Outcome, PermanentError, RetryableError, Worker

log = logging.getLogger(__name__)


class IndexerWorker(Worker):
    name = "indexer"
    topics = (Topics.ENRICHED_POSTS,)
    batch_size = POST_BATCH

    def __init__(self, bus: Bus, store: SearchStore) -> None:
        super().__init__(bus)
        self.store = store
        self.indexed = 0

    def handle_batch(self, messages: Sequence[Message]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        posts: dict[int, EnrichedPost] = {}  # position in the batch -> its well-formed post
        for i, message in enumerate(messages):
            try:
                posts[i] = _parse(message)
                outcomes.append(Outcome.ok())
            except (ValidationError, PermanentError) as exc:
                outcomes.append(Outcome.dead_letter(exc))
        if not posts:
            return outcomes
        refused: dict[str, str] = {}
        try:
            self.store.index(list(posts.values()))
        except PostsRejected as exc:  # the others were written; the refused go to the dead letters
            refused = exc.reasons
        except StoreError as exc:
            raise RetryableError(f"search store unavailable: {exc}") from exc
        for i, post in posts.items():
            if post.id in refused:
                outcomes[i] = Outcome.dead_letter(f"search store refused post {post.id}: {refused[post.id]}")
            else:
                self.indexed += 1
        return outcomes


# what a JSON number that is NaN or infinite after parsing is written as: the tokens, or an exponent of three
# digits or more (1e999); a message without any of these holds none (most: they are not checked further)
_NOT_FINITE = re.compile(rb"NaN|Infinity|\d[eE][+-]?\d{3}")


def _parse(message: Message) -> EnrichedPost:
    """The message's post; PermanentError for one the store could not take as JSON."""
    post = EnrichedPost.model_validate_json(message.value)
    if _NOT_FINITE.search(message.value) is None:
        return post
    try:  # NaN or Infinity would make the store's request invalid JSON and fail the whole batch
        json.dumps(post.model_dump(mode="json"), allow_nan=False)
    except ValueError:
        raise PermanentError(f"post {post.id} holds a number that is NaN or Infinity") from None
    return post


def run(settings: Settings, stop: threading.Event) -> None:
    with open_engines(settings, db=False, store=True) as engines:
        engines.store.ensure_schema()
        engines.bus.ensure_topics([Topics.ENRICHED_POSTS, Topics.DEAD_LETTER])
        IndexerWorker(engines.bus, engines.store).run(stop)
