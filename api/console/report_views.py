"""Console pages for reports: the 专报 / 复盘 download of an incident and the 复盘 form (问题, 整改措施)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.console.render import render_error
from api.console.views import see_other
from api.deps import DB, Now, Principal, State, console_user
from api.incident_reads import current_alert_id
from api.incident_view import visible_incident
from reports.download import download, store_or_none
from reports.review import ReviewRefused, save_review
from reports.service import incident_report

router = APIRouter(include_in_schema=False)

DOC_FORMATS = ("pdf", "docx", "html")


def _incident_page(session: DB, incident_id: str) -> str:
    alert_id = current_alert_id(session, incident_id)
    return f"/alerts/{alert_id}" if alert_id is not None else f"/incidents/{incident_id}"


@router.get("/reports/incidents/{incident_id}.{fmt}")
def incident_report_file(
    request: Request, incident_id: str, fmt: str, state: State, session: DB, now: Now,
    principal: Principal = console_user("alerts.view"),
) -> Response:
    """专报 / 复盘 download (the button on the incident and alert pages)."""
    visible_incident(session, incident_id, principal)
    if fmt not in DOC_FORMATS:
        return render_error(request, 404, f"不支持的报告格式：{fmt}（可选 PDF、Word、HTML）")
    data = incident_report(session, store_or_none(state), incident_id, fmt, now=now)  # type: ignore[arg-type]
    return download(data, f"舆情专报-{incident_id}.{fmt}", fmt)


@router.post("/reports/incidents/{incident_id}/review")
async def review_form(
    request: Request, incident_id: str, session: DB, now: Now,
    principal: Principal = console_user("reports.review"),
) -> Response:
    """复盘 from the console: stored, and each save is in the audit log."""
    visible_incident(session, incident_id, principal)
    form = await request.form()
    try:
        save_review(session, incident_id, problems=str(form.get("problems", "")),
                    measures=str(form.get("measures", "")), actor=principal.name, channel=principal.channel,
                    now=now)
    except ReviewRefused as exc:
        session.rollback()
        return render_error(request, 422, f"复盘未保存：{exc}")
    return see_other(_incident_page(session, incident_id) + "?done=review_saved#report")


@router.get("/reports/ledger.{fmt}")
def ledger_file(
    request: Request, fmt: str, state: State, session: DB, now: Now,
    principal: Principal = console_user("alerts.view"),
) -> Response:
    """台账 download from the 报告 page (department handlers: their own department only)."""
    from alerting.performance import PeriodError
    from reports.ledger import LedgerError
    from reports.service import ledger_report

    q = request.query_params
    department = principal.department_scope or q.get("department") or None
    try:
        data, name = ledger_report(session, date_from=q.get("from"), date_to=q.get("to"),
                                   department=department, kind=q.get("kind") or None, fmt=fmt, now=now,
                                   console_url=state.settings.console_url)
    except (PeriodError, LedgerError) as exc:
        return render_error(request, 422, f"台账无法导出：{exc}")
    return download(data, name, fmt)


@router.get("/reports")
def reports_page(
    request: Request, session: DB, now: Now, principal: Principal = console_user("reports.view"),
) -> Response:
    """报告: the stored 日报 / 周报, a form to make one, and the 台账 download."""
    from api.console.render import render
    from reports.periodic import last_complete, list_stored
    from yuqing.clock import CN_TZ
    from yuqing.domain import INCIDENT_KIND_LABELS

    today = now.astimezone(CN_TZ).date()
    context = {
        "nav": "reports",
        "stored": list_stored(session),
        "today": today.isoformat(),
        "yesterday": last_complete("daily", now).key,
        "last_week": last_complete("weekly", now).key,
        "kinds": INCIDENT_KIND_LABELS,
        "flash": "报告已生成" if request.query_params.get("done") == "generated" else None,
    }
    return render(request, "reports.html", context)


@router.post("/reports/periodic")
async def periodic_form(
    request: Request, session: DB, now: Now, principal: Principal = console_user("reports.view"),
) -> Response:
    """Generate (or fetch the stored) 日报 / 周报: a period that has ended is stored once and listed; a
    running one (today) is sent straight back as a file."""
    from reports.periodic import ReportPeriodError, generate, period_of

    form = await request.form()
    fmt = str(form.get("format", "pdf"))
    if fmt not in DOC_FORMATS:
        return render_error(request, 422, f"不支持的报告格式：{fmt}")
    try:
        rp = period_of(str(form.get("kind", "")), str(form.get("period", "")))
    except ReportPeriodError as exc:
        return render_error(request, 422, f"报告未生成：{exc}")
    made = generate(session, rp, fmt, now=now, actor=principal.name)
    if made.stored is None:
        return download(made.data, f"{rp.title}（截至{now:%H%M}）.{fmt}", fmt)
    return see_other("/reports?done=generated")


@router.get("/reports/files/{report_id}")
def stored_file(
    request: Request, report_id: str, session: DB, principal: Principal = console_user("reports.view"),
) -> Response:
    from reports.models import GeneratedReport

    valid = report_id.isdigit() and len(report_id) < 12
    row = session.get(GeneratedReport, int(report_id)) if valid else None
    if row is None:
        return render_error(request, 404, f"没有编号为 {report_id} 的报告")
    return download(row.content, f"{row.title}.{row.fmt}", row.fmt)
