"""考核: per department, how its alerts' deadlines were met over a period (JSON and CSV for Excel)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session
from starlette.responses import Response

from alerting.clocks import DEADLINE_KINDS
from alerting.directory import department_names
from alerting.performance import (
    EARLIEST,
    LATEST,
    MAX_SPAN_DAYS,
    DepartmentPerformance,
    KindPerformance,
    PerformanceReport,
    Period,
    PeriodError,
    department_performance,
    resolve_period,
)
from api.deps import DB, Now, Principal, State, api_user
from api.problems import ProblemError
from yuqing.domain import DEADLINE_LABELS
from yuqing.settings import Settings

router = APIRouter(tags=["performance"])

_DATES = f"{EARLIEST.isoformat()} 至 {LATEST.isoformat()} 之间"
FromDate = Annotated[
    date | None,
    Query(alias="from", description=f"开始日期（北京时间，含；{_DATES}），默认结束日期前 30 天"),
]
ToDate = Annotated[
    date | None,
    Query(
        alias="to",
        description=f"结束日期（北京时间，不含；{_DATES}），默认明天；"
        f"须晚于开始日期，区间不超过 {MAX_SPAN_DAYS} 天",
    ),
]
PERIOD_RULES = (
    f"统计区间 [from, to)：to 须晚于 from，区间不超过 {MAX_SPAN_DAYS} 天，日期在 {_DATES}；"
    "否则答复 422（invalid-period）。"
)


def period_or_422(date_from: date | None, date_to: date | None, now: datetime) -> Period:
    try:
        return resolve_period(date_from, date_to, now=now)
    except PeriodError as exc:
        raise ProblemError(422, "invalid-period", str(exc)) from None


NAMES_HEADER = "X-Department-Names"  # "unavailable" when the directory could not be read


def build_report(session: Session, settings: Settings, period: Period, now: datetime) -> PerformanceReport:
    """The report with the directory's department names; when the directory cannot be read, the names
    stored on the alerts (else the ids) and ``department_names_unavailable`` saying why."""
    names = department_names(session, settings)
    report = department_performance(session, period, now=now, names=names.names)
    return report.model_copy(update={"department_names_unavailable": names.unavailable})


def names_header(report: PerformanceReport) -> dict[str, str]:
    return {NAMES_HEADER: "unavailable"} if report.department_names_unavailable else {}


@router.get(
    "/performance",
    response_model=PerformanceReport,
    summary="考核统计：各部门按时回应率、超时、督办与转派（按首次发现时间统计）",
    description=PERIOD_RULES,
)
def performance(
    response: Response,
    session: DB,
    state: State,
    now: Now,
    date_from: FromDate = None,
    date_to: ToDate = None,
    principal: Principal = api_user("performance.view"),
) -> PerformanceReport:
    report = build_report(session, state.settings, period_or_422(date_from, date_to, now), now)
    response.headers.update(names_header(report))
    return report


def _pct(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f}%"


def _hours(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 3600:.2f}"


OUTCOME_HEADERS = (
    ("total", "时限数"),
    ("on_time", "按时完成"),
    ("late", "超时完成"),
    ("breached", "超时未完成"),
    ("stopped", "已停止（不计）"),
    ("pending", "计时中（未到期）"),
)


def _outcomes(k: KindPerformance) -> list[str]:
    return [str(getattr(k, field)) for field, _ in OUTCOME_HEADERS] + [_pct(k.on_time_rate)]


def csv_text(report: PerformanceReport) -> str:
    """One row per department (worst first) and a 合计 row; every deadline kind has its columns."""
    header = ["部门", "部门编码", "预警数"]
    header += [label for _, label in OUTCOME_HEADERS] + ["按时率"]
    for kind in DEADLINE_KINDS:
        name = DEADLINE_LABELS.get(kind, kind)
        header += [f"{name}{label}" for _, label in OUTCOME_HEADERS] + [f"{name}按时率"]
    header += [
        "签收用时中位数（小时）",
        "签收用时90分位（小时）",
        "发布用时中位数（小时）",
        "发布用时90分位（小时）",
        "督办次数",
        "转出次数",
    ]

    def row(d: DepartmentPerformance, name: str) -> list[str]:
        by_kind = {k.kind: k for k in d.deadlines}
        cells = [name, d.department_id or "", str(d.alerts), *_outcomes(d.total)]
        for kind in DEADLINE_KINDS:
            k = by_kind.get(kind)
            cells += _outcomes(k) if k else ["0"] * len(OUTCOME_HEADERS) + [""]
        return [
            *cells,
            _hours(d.to_acknowledge.median_seconds),
            _hours(d.to_acknowledge.p90_seconds),
            _hours(d.to_publish.median_seconds),
            _hours(d.to_publish.p90_seconds),
            str(d.supervisions),
            str(d.reassigned_away),
        ]

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for d in report.departments:
        writer.writerow(row(d, d.department_name or d.department_id or "未分派"))
    writer.writerow(row(report.overall, "合计"))
    return out.getvalue()


@router.get(
    "/performance.csv",
    summary="考核统计 CSV（UTF-8 带 BOM，Excel 可直接打开）",
    description=PERIOD_RULES,
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV，表头为中文"}},
)
def performance_csv(
    session: DB,
    state: State,
    now: Now,
    date_from: FromDate = None,
    date_to: ToDate = None,
    principal: Principal = api_user("performance.view"),
) -> Response:
    period = period_or_422(date_from, date_to, now)
    report = build_report(session, state.settings, period, now)
    filename = f"performance_{period.date_from.isoformat()}_{period.last_day.isoformat()}.csv"
    return Response(
        ("\ufeff" + csv_text(report)).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **names_header(report)},
    )
