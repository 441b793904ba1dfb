"""Reports: the incident 专报 / 复盘 as PDF, Word or HTML, and the analyst's 复盘 (问题, 整改措施)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
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


LedgerFormat = Literal["xlsx", "csv"]
LEDGER_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}, "text/csv": {}},
        "description": "台账文件",
    }
}


@router.get("/ledger", response_class=Response, responses=LEDGER_RESPONSES,
            summary="台账：期间内每个案件的每项时限、执行结果与依据链接（XLSX 或 CSV）")
def get_ledger(
    state: State,
    session: DB,
    now: Now,
    date_from: Annotated[str | None, Query(alias="from", max_length=10, description="开始日期（含）")] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10, description="结束日期（不含）")] = None,
    department: Annotated[str | None, Query(max_length=60, pattern=NO_NUL, description="部门 id")] = None,
    kind: Annotated[str | None, Query(max_length=16, description="opinion | message | policy")] = None,
    fmt: Annotated[LedgerFormat, Query(alias="format", description="xlsx | csv")] = "xlsx",
    principal: Principal = api_user("alerts.view"),
) -> Response:
    """Department handlers get their own department's cases only."""
    from alerting.performance import PeriodError
    from reports.ledger import LedgerError
    from reports.service import ledger_report

    if principal.department_scope is not None:
        department = principal.department_scope
    try:
        data, name = ledger_report(session, date_from=date_from, date_to=date_to, department=department,
                                   kind=kind, fmt=fmt, now=now, console_url=state.settings.console_url)
    except (PeriodError, LedgerError) as exc:
        kind_of = "invalid-period" if isinstance(exc, PeriodError) else "invalid-filter"
        raise ProblemError(422, kind_of, str(exc)) from None
    return download(data, name, fmt)


class StoredReportOut(BaseModel):
    id: int
    kind: str = Field(description="daily | weekly")
    period: str = Field(description="2026-12-04 | 2026-W49 | 2026-12-04@1405 (today so far, 截至 14:05)")
    fmt: str
    title: str
    size: int
    created_at: datetime
    created_by: str


@router.get("/periodic", response_model=list[StoredReportOut], summary="已存档的舆情日报 / 周报（最新在前）")
def get_periodic(session: DB, principal: Principal = api_user("reports.view")) -> list[StoredReportOut]:
    from reports.periodic import list_stored

    return [StoredReportOut.model_validate(r, from_attributes=True) for r in list_stored(session)]


@router.get("/periodic/{kind}/{period}", response_class=Response, responses=FILE_RESPONSES,
            summary="舆情日报 / 周报：每期生成一次并存档（期间未结束时即时生成、不存档）")
def get_periodic_file(
    kind: Literal["daily", "weekly"],
    period: Annotated[str, Path(max_length=10, description="日报 2026-12-04；周报 2026-W49")],
    session: DB,
    now: Now,
    fmt: Annotated[DocFormat, Query(alias="format", description="pdf | docx | html")] = "pdf",
    principal: Principal = api_user("reports.view"),
) -> Response:
    from reports.periodic import ReportPeriodError, generate, period_of

    try:
        rp = period_of(kind, period)
    except ReportPeriodError as exc:
        raise ProblemError(422, "invalid-period", str(exc)) from None
    made = generate(session, rp, fmt, now=now, actor=principal.name)
    return download(made.data, f"{rp.title}.{fmt}", fmt)
