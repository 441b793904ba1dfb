"""What a spider extracts from a page, and the problems it meets on the way."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from yuqing.schemas import Counts, OfficialReply


class CrawledItem(BaseModel):
    """One post as extracted; printed by ``yuqing sources test`` and turned into a RawPost on emit."""

    source_id: str
    url: str
    title: str = ""
    content: str = ""
    published_at: AwareDatetime | None = None
    author: str | None = None
    counts: Counts = Field(default_factory=Counts)
    reply: OfficialReply | None = Field(default=None, description="a 留言's official reply, when shown")


class Problem(BaseModel):
    """Something that went wrong for one source: its kind (for health counts), the URL and the reason."""

    source_id: str
    kind: str = Field(description="timeout, http_404, robots, redirect_loop, too_large, missing_field, …")
    url: str | None = None
    reason: str


class PageFetched(BaseModel):
    source_id: str
    url: str
    status: int


class RoundEvent(BaseModel):
    """One line of the crawl subprocess's output."""

    item: CrawledItem | None = None
    problem: Problem | None = None
    page: PageFetched | None = None
