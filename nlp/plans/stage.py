"""Plans in the nlp stage: every enriched post is matched against every active plan (one automaton
pass, ``PlanMatcher``); a post that matches carries the plans' ids (``EnrichedPost.plan_ids``) and is kept
as 政务舆情 (``tags.relevant``) whatever the classifier said, so plans feed incidents, rules and search.

``PlanSource`` holds the matcher of the active plans and rebuilds it when a plan is added, edited, paused
or resumed (it looks at most every ``refresh_seconds``); if the database cannot be read it keeps the last
matcher and says so in the log, so a database hiccup never stops the stage."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from nlp.plans.matcher import PlanMatcher
from yuqing.schemas import EnrichedPost

log = logging.getLogger(__name__)


def apply_plans(matcher: PlanMatcher, posts: Sequence[EnrichedPost]) -> int:
    """Set each post's plan ids (and relevance where a plan matches); returns the posts matched."""
    if not len(matcher):
        return 0
    matched = 0
    for post in posts:
        ids = matcher.match(post.title, post.content, post.source_kind,
                            [loc.code for loc in post.tags.locations])
        post.plan_ids = ids
        if ids:
            post.tags.relevant = True
            matched += 1
    return matched


class PlanSource:
    """The current matcher, read from the database (``yuqing.db``) and rebuilt when the plans change."""

    def __init__(self, db_url: str | None = None, *, refresh_seconds: float = 10.0,
                 monotonic: Callable[[], float] = time.monotonic, database: Any = None) -> None:
        self._db_url = db_url
        self._database = database
        self.refresh_seconds = refresh_seconds
        self._monotonic = monotonic
        self._matcher = PlanMatcher([])
        self._version: object = None
        self._checked_at: float | None = None

    def _db(self) -> Any:
        if self._database is None:
            from yuqing.db.session import open_database

            self._database = open_database(self._db_url or "")
        return self._database

    def matcher(self) -> PlanMatcher:
        now = self._monotonic()
        if self._checked_at is not None and now - self._checked_at < self.refresh_seconds:
            return self._matcher
        self._checked_at = now
        try:
            from nlp.plans.service import active_matcher, plans_version

            with self._db().transaction() as session:
                version = plans_version(session)
                if version != self._version:
                    self._matcher = active_matcher(session)
                    self._version = version
                    log.info("nlp: %d active plans", len(self._matcher))
        except Exception as exc:  # noqa: BLE001 - keep matching with the plans we have
            log.warning("nlp: plans not reloaded (keeping %d): %s", len(self._matcher), exc)
        return self._matcher

    def close(self) -> None:
        if self._database is not None and self._db_url is not None:
            self._database.close()
