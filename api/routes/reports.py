"""Reports: the incident 专报 / 复盘 as PDF, Word or HTML, and the analyst's 复盘 (问题, 整改措施)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from api.deps import DB, Now, Principal, State, api_user
from api.incident_view import visible_incident
from api.problems import ProblemError
from api.schemas import NO_NUL
from reports.download import download, store_or_none
from reports.incident import IncidentNotFound
from reports.review import ReviewRefused, save_review
from reports.service import incident_report

router = APIRouter(prefix="/reports", tags=["reports"])

DocFormat = Literal["pdf", "docx", "html"]
FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/pdf": {}, "text/html": {}}, "description": "报告文件"}
}


@router.get("/incidents/{incident_id}", response_class=Response, responses=FILE_RESPONSES,
            summary="事件专报 / 复盘报告（PDF、Word 或 HTML）")
def get_incident_report(
    incident_id: str,
    state: State,
    session: DB,
    now: Now,
    fmt: Annotated[DocFormat, Query(alias="format", description="pdf | docx | html")] = "pdf",
    principal: Principal = api_user("alerts.view"),
) -> Response:
    visible_incident(session, incident_id, principal)
    data = incident_report(session, store_or_none(state), incident_id, fmt, now=now)  # type: ignore[arg-type]
    return download(data, f"舆情专报-{incident_id}.{fmt}", fmt)


class ReviewIn(BaseModel):
    problems: Annotated[str, Field(min_length=1, max_length=5000, pattern=NO_NUL, description="存在问题")]
    measures: Annotated[str, Field(min_length=1, max_length=5000, pattern=NO_NUL, description="整改措施")]


class ReviewOut(BaseModel):
    incident_id: str
    problems: str
    measures: str
    updated_by: str


@router.put("/incidents/{incident_id}/review", response_model=ReviewOut,
            summary="填写或修改事件复盘（问题、整改措施），记入审计日志")
def put_review(
    incident_id: str, body: ReviewIn, session: DB, now: Now, principal: Principal = api_user("reports.review")
) -> ReviewOut:
    visible_incident(session, incident_id, principal)
    try:
        row = save_review(session, incident_id, problems=body.problems, measures=body.measures,
                          actor=principal.name, channel=principal.channel, now=now)
    except ReviewRefused as exc:
        raise ProblemError(422, "invalid-review", str(exc)) from None
    except IncidentNotFound as exc:
        raise ProblemError(404, "not-found", str(exc)) from None
    return ReviewOut(incident_id=incident_id, problems=row.problems, measures=row.measures,
                     updated_by=row.updated_by)
