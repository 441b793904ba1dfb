"""The ``policies`` stage: policy documents from the sources of kind ``policy`` into the policy register.

It reads the enriched posts (its own consumer group, beside the indexer and the incidents stage) and takes
only those whose source is of kind ``policy`` (a government 政策文件 page): each one is registered
(alerting.policies_register, one transaction per post) and opens its 政策解读 or 转载 case. The issuing
body is the page's author field (发文机关), the region the source's; the NLP's department type routes a
local policy whose issuer the directory does not list. A page seen again changes nothing.

Nothing is lost: a page without a date or with a date in the future opens its case from the time it
is handled, with the problem kept in the register; a post that cannot be registered at all (no usable
address) goes to the dead-letter topic with the reason.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError

from alerting.calendar import CalendarError
from alerting.clocks import PolicyError
from alerting.directory import DirectoryError
from alerting.manual import intake_context
from alerting.policies_register import PolicyEntry, PolicyRefused, RegisterResult, register_policy
from alerting.rules import RulesError
from yuqing.bus import Bus, Message
from yuqing.clock import Clock
from yuqing.db.session import Database
from yuqing.schemas import EnrichedPost
from yuqing.settings import Settings
from yuqing.stage_engines import open_engines
from yuqing.topology import Topics
from yuqing.worker import Output, PermanentError, RetryableError, Worker

log = logging.getLogger(__name__)
ACTOR = "system:policies"
POLICY_SOURCE_KIND = "policy"


def entry_of(post: EnrichedPost) -> PolicyEntry:
    """What a crawled policy page says: title, address, publication time, issuer and the source's region."""
    return PolicyEntry(
        title=post.title,
        url=post.url,
        published_at=post.published_at,
        issuer=(post.author or "").strip() or None,
        region=post.region,
        category=post.tags.category,
        department_type=post.tags.department_type,
        source_id=post.source_id,
    )


class PolicyWorker(Worker):
    name = "policies"
    topics = (Topics.ENRICHED_POSTS,)

    def __init__(self, bus: Bus, db: Database, settings: Settings, *, clock: Clock | None = None) -> None:
        super().__init__(bus, clock)
        self.db = db
        self.settings = settings

    def handle(self, message: Message) -> list[Output]:
        try:
            post = EnrichedPost.model_validate_json(message.value)
        except ValidationError as exc:
            raise PermanentError(f"not an EnrichedPost: {exc.errors()[:3]}") from None
        if post.source_kind == POLICY_SOURCE_KIND:
            result = self.ingest(post, self.clock.now())
            log.info("policy %s from %s: %s (alert %s)", result.policy.id, post.source_id, result.outcome,
                     result.policy.alert_id)
        return []

    def ingest(self, post: EnrichedPost, now: datetime) -> RegisterResult:
        """One policy page, one transaction."""
        try:
            with self.db.transaction() as session:
                ctx = intake_context(session, self.settings)
                return register_policy(session, entry_of(post), ctx, now=now, actor=ACTOR, channel="system",
                                       strict=False)
        except PolicyRefused as exc:
            raise PermanentError(f"policy page {post.url!r} not registered: {exc}") from None
        except (RulesError, DirectoryError, CalendarError, PolicyError) as exc:  # fixed in a file: retry
            raise RetryableError(f"configuration unreadable: {exc}") from exc
        except (OperationalError, IntegrityError) as exc:  # a re-delivery raced us, or the DB blinked
            raise RetryableError(f"{exc.__class__.__name__}: {exc.orig}") from exc


def run(settings: Settings, stop: threading.Event) -> None:
    with open_engines(settings) as engines:
        PolicyWorker(engines.bus, engines.db, settings).run(stop)
