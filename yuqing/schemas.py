"""Messages that travel on the bus. Every stage speaks these and nothing else.

RawPost      crawlers  -> posts.raw
EnrichedPost nlp       -> posts.enriched   (RawPost + tokens + tags + near-duplicate signature + terms)
Incident     incidents -> incidents        (a cluster of related posts, re-sent as it grows)
DeadLetter   any stage -> deadletter       (the failed message, the stage and the reason)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from yuqing.domain import IncidentKind

SourceKind = Literal["news", "gov", "forum", "social", "policy"]
SentimentLabel = Literal["negative", "neutral", "positive"]
SeverityLevel = Literal["一般", "较大", "重大", "特别重大"]
SEVERITY_ORDER: tuple[SeverityLevel, ...] = ("一般", "较大", "重大", "特别重大")


def severity_rank(level: str | None) -> int:
    """0 for none, 1..4 for 一般..特别重大."""
    return SEVERITY_ORDER.index(level) + 1 if level in SEVERITY_ORDER else 0


def post_id_for(source_id: str, canonical_url: str) -> str:
    """Stable id of a post: the same page from the same source always gets the same id."""
    return hashlib.sha1(f"{source_id}\x00{canonical_url}".encode()).hexdigest()[:20]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Counts(_Model):
    reply: int = 0
    repost: int = 0
    comment: int = 0
    like: int = 0


def posted_at(published_at: datetime | None, fetched_at: datetime) -> datetime:
    """The one time a post is filed under everywhere (clustering, the search stores, the console): when
    it was published, unless the source gave none or a time after the fetch (a wrong clock or zone),
    then when it was fetched."""
    if published_at is not None and published_at <= fetched_at:
        return published_at
    return fetched_at


def stored_posted_at(doc: Mapping[str, Any]) -> datetime:
    """``posted_at`` of a post as the search stores hand it back (a dict with ISO times)."""

    def parse(value: Any) -> datetime | None:
        return datetime.fromisoformat(value) if isinstance(value, str) else value

    fetched = parse(doc["fetched_at"])
    if fetched is None:
        raise ValueError("a stored post without fetched_at")
    return posted_at(parse(doc.get("published_at")), fetched)


class OfficialReply(_Model):
    """The official answer a message board shows under a 留言 (已回复 / 回复内容 block)."""

    text: str = Field(description="回复内容")
    department: str | None = Field(default=None, description="回复单位, as the board names it")
    replied_at: AwareDatetime | None = Field(
        default=None, description="回复时间; None when the board shows none"
    )


class RawPost(_Model):
    id: str = Field(description="post_id_for(source_id, canonical url)")
    source_id: str
    source_kind: SourceKind = "news"
    source_weight: float = 1.0
    region: str | None = Field(default=None, description="administrative code the source covers")
    url: str
    title: str = ""
    content: str = ""
    author: str | None = None
    published_at: AwareDatetime | None = None
    fetched_at: AwareDatetime
    counts: Counts = Field(default_factory=Counts)
    is_update: bool = Field(default=False, description="seen before; counts changed")
    fingerprint: str | None = Field(default=None, description="content fingerprint from the crawler")
    item_kind: IncidentKind = Field(
        default="opinion", description="what the source declares its items are (message = 留言)"
    )
    reply: OfficialReply | None = Field(default=None, description="the board's official reply, once shown")

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.content}".strip()

    @property
    def posted_at(self) -> datetime:
        return posted_at(self.published_at, self.fetched_at)


class Sentiment(_Model):
    label: SentimentLabel = "neutral"
    score: float = 0.0


class Severity(_Model):
    level: SeverityLevel | None = None
    triggers: list[str] = Field(default_factory=list, description="the words and numbers behind the level")


class Location(_Model):
    name: str
    code: str
    level: Literal["province", "city", "county"] | None = None


class Tags(_Model):
    """What the NLP says about one text; the shape `yuqing nlp classify` prints (plus id)."""

    relevant: bool = True
    relevance_score: float = 1.0
    category: str | None = None
    subcategory: str | None = None
    department_type: str | None = None
    sentiment: Sentiment = Field(default_factory=Sentiment)
    emotion: str | None = None
    severity: Severity = Field(default_factory=Severity)
    locations: list[Location] = Field(default_factory=list)
    model_version: str | None = None


class NearDup(_Model):
    """A post's near-duplicate signature as nlp computed it (``nlp.dedup.Signature`` in its stored form),
    so the incidents stage, which runs as one process, does not compute it again."""

    minhash: str = Field(description="base64 of Signature.hashvalues_bytes(): MinHash values and words")
    numbers: list[str] = Field(default_factory=list, description="Signature.stored_numbers()")


class ClusterTerms(_Model):
    """What the incidents stage matches a post on, as nlp computed it (``nlp.post_terms``), so the incidents
    stage, which runs as one process, does not compute it again."""

    weights: dict[str, float] = Field(default_factory=dict, description="content word -> 1 + log(count)")
    events: list[str] = Field(default_factory=list, description="kinds of emergency named, sorted")
    scheme: str = Field(default="", description="nlp.post_terms.SCHEME: the word lists they were made with")


class EnrichedPost(RawPost):
    tokens: list[str] = Field(default_factory=list, description="jieba tokens, segmented once by nlp")
    tags: Tags = Field(default_factory=Tags)
    heat: float = 0.0
    truncated: bool = Field(default=False, description="text was over the size cap and was cut")
    plan_ids: list[int] = Field(default_factory=list, description="ids of the 监测方案 the post matches")
    near_dup: NearDup | None = Field(
        default=None, description="set by nlp on the posts the incidents stage files (relevant, or 留言)"
    )
    cluster_terms: ClusterTerms | None = Field(
        default=None, description="set by nlp on the posts the incidents stage files (relevant, or 留言)"
    )


class MessageReply(OfficialReply):
    """An official reply as the incident carries it: which post (留言) it answers and when it was seen."""

    post_id: str
    url: str
    seen_at: AwareDatetime = Field(description="when the crawler first fetched the page showing it")


class Incident(_Model):
    id: str
    title: str
    keywords: list[str] = Field(default_factory=list)
    first_seen: AwareDatetime
    last_seen: AwareDatetime
    locations: list[Location] = Field(default_factory=list)
    category: str | None = None
    department_type: str | None = None
    severity: Severity = Field(default_factory=Severity)
    post_count: int = 0
    source_count: int = 0
    heat: float = 0.0
    burst: float = Field(default=0.0, description="growth ratio of the latest window over the baseline")
    negative_share: float = 0.0
    anger_share: float = 0.0
    fear_share: float = 0.0
    post_ids: list[str] = Field(default_factory=list, description="latest posts (bounded)")
    source_ids: list[str] = Field(default_factory=list)
    kind: IncidentKind = Field(
        default="opinion", description="message = 留言咨询, policy = 政策解读; decides deadline kinds"
    )
    version: int = Field(default=1, description="increases each time the incident is re-sent")
    reply: MessageReply | None = Field(
        default=None, description="a 留言 incident: the official reply its board shows, once it does"
    )
    notes: list[str] = Field(
        default_factory=list, description="problems of its input kept on the case (a 留言 without a date …)"
    )
    plan_ids: list[int] = Field(default_factory=list, description="监测方案 any of its posts matches")


class DeadLetter(_Model):
    stage: str
    reason: str
    error_type: str
    topic: str
    partition: int | None = None
    offset: int | None = None
    key: str | None = None
    payload: str = Field(description="the original message, as text (base64 if not UTF-8)")
    failed_at: datetime
