"""The 考核统计 page: per department, on-time rates against the statutory deadlines over a date range,
worst first, with a bar chart and the CSV download."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from alerting.performance import (
    MAX_SPAN_DAYS,
    RATE_BAD,
    RATE_WARN,
    PeriodError,
    parse_day,
    rate_class,
    resolve_period,
)
from api.console.render import render
from api.deps import DB, Now, Principal, State, console_user
from api.routes.performance import build_report

router = APIRouter(include_in_schema=False)


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def span(seconds: float | None) -> str:
    """A duration for people: minutes under an hour, then hours, then days."""
    if seconds is None:
        return "—"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.0f} 分钟"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} 小时"
    return f"{minutes / 1440:.1f} 天"


@router.get("/performance")
def performance_page(
    request: Request,
    state: State,
    session: DB,
    now: Now,
    date_from: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    principal: Principal = console_user("performance.view"),
) -> Response:
    context: dict[str, object] = {
        "nav": "performance",
        "form": {"from": date_from or "", "to": date_to or ""},
        "max_span": MAX_SPAN_DAYS,
        "percent": percent,
        "span": span,
        "rate_class": rate_class,
        "rate_warn": round(RATE_WARN * 100),
        "rate_bad": round(RATE_BAD * 100),
    }
    try:
        period = resolve_period(parse_day(date_from, "开始日期"), parse_day(date_to, "结束日期"), now=now)
    except PeriodError as exc:
        return render(request, "performance.html", {**context, "error": str(exc)}, status_code=422)
    report = build_report(session, state.settings, period, now)
    rated = [d for d in report.departments if d.on_time_rate is not None]
    chart = {
        "labels": [d.department_name or d.department_id or "未分派" for d in rated],
        "values": [round(d.on_time_rate * 100, 1) for d in rated if d.on_time_rate is not None],
        "warn": round(RATE_WARN * 100),
        "bad": round(RATE_BAD * 100),
    }
    query = urlencode({"from": period.date_from.isoformat(), "to": period.date_to.isoformat()})
    return render(
        request,
        "performance.html",
        {
            **context,
            "form": {"from": period.date_from.isoformat(), "to": period.date_to.isoformat()},
            "period": period,
            "report": report,
            "chart": chart,
            "csv_url": f"/api/performance.csv?{query}",
        },
    )
