"""GET /api/search: every post, with filters, facets and a time histogram."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from api.deps import Principal, State, api_user
from api.problems import ProblemError
from api.schemas import FacetBucket, HistogramBucket, PostOut, SearchOut
from yuqing.clock import aware
from yuqing.storage import SearchQuery, StoreError
from yuqing.storage.base import FacetField
from yuqing.storage.query import QuerySyntaxError

router = APIRouter(tags=["search"])

FACETS: tuple[FacetField, ...] = ("source_id", "category", "location_code", "sentiment", "source_kind")
MAX_DEPTH = 10_000


@dataclass
class SearchParams:
    """Query-string parameters shared by the API and the console's search page."""

    q: Annotated[str, Query(max_length=2000, description=(
        "检索式（与监测方案同一写法）：词（空格分隔：任一）、a|b 或、a+b 且、a-b 排除、括号、\"短语\"、"
        "title:词、kind:gov、region:4107"))] = ""
    start: Annotated[datetime | None, Query(description="发布时间 ≥")] = None
    end: Annotated[datetime | None, Query(description="发布时间 <")] = None
    source: Annotated[list[str], Query(description="信源 id（可多选）")] = None  # type: ignore[assignment]
    category: Annotated[list[str], Query(description="分类（可多选）")] = None  # type: ignore[assignment]
    location: Annotated[list[str], Query(description="行政区划代码，含下级")] = None  # type: ignore[assignment]
    sentiment: Annotated[list[Literal["negative", "neutral", "positive"]], Query()] = None  # type: ignore[assignment]
    relevant_only: Annotated[bool, Query(description="只看相关")] = False
    plan: Annotated[list[Annotated[int, Field(ge=1, le=2**31 - 1)]],
                    Query(description="命中这些监测方案（编号，可多选）")] = None  # type: ignore[assignment]
    sort: Annotated[Literal["relevance", "time", "heat"], Query()] = "relevance"
    page: Annotated[int, Query(ge=1, le=500)] = 1
    size: Annotated[int, Query(ge=1, le=100)] = 20

    def query(self) -> SearchQuery:
        offset = (self.page - 1) * self.size
        if offset + self.size > MAX_DEPTH:
            raise ProblemError(
                400, "too-deep", f"最多翻到第 {MAX_DEPTH // self.size} 页，请加筛选条件缩小范围"
            )
        start = aware(self.start) if self.start else None  # a time without zone is Beijing time
        end = aware(self.end) if self.end else None
        if start and end and start >= end:
            raise ProblemError(400, "bad-range", "开始时间须早于结束时间")
        return SearchQuery(
            text=self.q,
            start=start,
            end=end,
            source_ids=self.source or [],
            categories=self.category or [],
            location_codes=self.location or [],
            sentiments=list(self.sentiment or []),
            relevant_only=self.relevant_only,
            plan_ids=self.plan or [],
            sort=self.sort,
            size=self.size,
            offset=offset,
            facets=list(FACETS),
            histogram="day",
        )


def run_search(state: State, params: SearchParams) -> SearchOut:
    query = params.query()
    try:
        result = state.store.search(query)
    except QuerySyntaxError as exc:
        raise ProblemError(422, "bad-query", f"检索式有误：{exc}") from None
    except StoreError as exc:
        raise ProblemError(503, "search-unavailable", f"检索服务不可用：{exc}") from None
    return SearchOut(
        total=result.total,
        page=params.page,
        size=params.size,
        hits=[PostOut.from_store(h.post, h.score) for h in result.hits],
        facets={
            k: [FacetBucket(value=str(v), count=c) for v, c in buckets]
            for k, buckets in result.facets.items()
        },
        histogram=[HistogramBucket(start=t, count=c) for t, c in result.histogram],
    )


@router.get("/search", response_model=SearchOut, summary="检索全部帖子（筛选、分面、按天分布）")
def search(
    state: State, params: Annotated[SearchParams, Depends()], principal: Principal = api_user("search")
) -> SearchOut:
    return run_search(state, params)
