"""Which stage reads and writes which topic: the one place both bus implementations take it from."""

from __future__ import annotations

from dataclasses import dataclass


class Topics:
    RAW_POSTS = "posts.raw"
    ENRICHED_POSTS = "posts.enriched"
    INCIDENTS = "incidents"
    DEAD_LETTER = "deadletter"

    ALL: tuple[str, ...] = (RAW_POSTS, ENRICHED_POSTS, INCIDENTS, DEAD_LETTER)


@dataclass(frozen=True)
class Stage:
    name: str  # the process name, the consumer group and the metrics prefix
    target: str  # "module:callable" that builds and runs the stage: callable(settings, stop_event)
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    description: str


STAGES: dict[str, Stage] = {
    s.name: s
    for s in (
        Stage("crawler", "crawlers.worker:run", (), (Topics.RAW_POSTS,),
              "runs every source on its interval; emits new and updated posts"),
        Stage("nlp", "nlp.worker:run", (Topics.RAW_POSTS,), (Topics.ENRICHED_POSTS,),
              "segments once; tags relevance, category, sentiment, emotion, severity, location, heat"),
        Stage("indexer", "indexer.stage:run", (Topics.ENRICHED_POSTS,), (),
              "writes enriched posts into the search store (idempotent by post id)"),
        Stage("incidents", "incidents.stage:run", (Topics.ENRICHED_POSTS,), (Topics.INCIDENTS,),
              "near-duplicate detection and online clustering of posts into ranked incidents"),
        Stage("alerting", "alerting.worker:run", (Topics.INCIDENTS,), (),
              "alert rules, deadlines, departments, escalations and notifications"),
        Stage("policies", "alerting.policy_worker:run", (Topics.ENRICHED_POSTS,), (),
              "the policy register: pages of policy sources open 政策解读 / 转载 cases"),
        Stage("api", "api.server:run", (), (), "REST API and the console"),
    )
}
STAGES["reports"] = Stage("reports", "reports.worker:run", (), (),
                          "日报 / 周报 on the reports config's schedule, stored once and sent to the leaders")
