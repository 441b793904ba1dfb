"""台账: every case (政务舆情 alerts, 留言, policies) of a period with every deadline, its outcome and the
evidence links — the ledger 督查 asks for — as XLSX (openpyxl) and CSV (UTF-8 with BOM, Chinese headers).

A case belongs to the period ``[date_from, date_to)`` (Beijing dates) when its incident was first detected
inside it, as in 考核 (alerting.performance). Merged alerts are left out (each duplicates one that is
listed). One row per deadline; a case without a deadline has one row with the deadline cells empty."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.models import Alert, AlertDeadline, AlertRelease
from alerting.performance import Period
from alerting.read_models import DeadlineRead
from reports.incident import clock_line
from reports.text import cn_datetime, cn_duration
from yuqing.domain import DEADLINES, INCIDENT_KIND_LABELS, STATUS_LABELS

LEDGER_FORMATS = ("xlsx", "csv")

HEADERS = [
    "预警编号", "事件编号", "案件类型", "标题", "级别", "责任部门", "状态", "首次发现",
    "时限", "起算", "截止", "完成时间", "执行结果", "是否按时", "超时时长",
    "依据链接", "依据说明", "控制台链接",
]


class LedgerError(ValueError):
    """A filter that cannot be used; the message is Chinese."""


@dataclass
class LedgerRow:
    alert_id: int
    incident_id: str
    kind: str
    title: str
    level: str
    department: str
    status: str
    first_seen: datetime
    deadline: str = ""
    start: datetime | None = None
    due_at: datetime | None = None
    met_at: datetime | None = None
    outcome: str = ""
    on_time: str = ""  # 是 | 否 | "" (not decided yet)
    late: str = ""
    evidence_link: str = ""
    evidence: str = ""
    console_link: str = ""

    def cells(self) -> list[str | int]:
        return [
            self.alert_id, self.incident_id, self.kind, self.title, self.level, self.department, self.status,
            cn_datetime(self.first_seen), self.deadline, cn_datetime(self.start) if self.start else "",
            cn_datetime(self.due_at) if self.due_at else "", cn_datetime(self.met_at) if self.met_at else "",
            self.outcome, self.on_time, self.late, self.evidence_link, self.evidence, self.console_link,
        ]


def check_kind(kind: str | None) -> str | None:
    if kind in (None, ""):
        return None
    if kind not in INCIDENT_KIND_LABELS:
        choices = "、".join(f"{k}（{v}）" for k, v in INCIDENT_KIND_LABELS.items())
        raise LedgerError(f"案件类型“{kind}”无效，可选：{choices}")
    return kind


def _evidence(alert: Alert, kind: str, releases: list[AlertRelease]) -> tuple[str, str]:
    for r in releases:
        if kind in (r.deadlines_met or []):
            return r.link, r.note
    if DEADLINES.get(kind) is not None and DEADLINES[kind].met_by == "press":
        return alert.press_link or "", alert.press_evidence or ""
    return alert.info_link or "", alert.info_evidence or ""


def ledger_rows(session: Session, period: Period, *, now: datetime, department: str | None = None,
                kind: str | None = None, console_url: str = "") -> list[LedgerRow]:
    kind = check_kind(kind)
    query = (
        select(Alert)
        .where(Alert.first_seen >= period.start, Alert.first_seen < period.end)
        .where(Alert.merged_into_id.is_(None))
        .order_by(Alert.first_seen, Alert.id)
    )
    if department:
        query = query.where(Alert.department_id == department)
    if kind:
        query = query.where(Alert.incident_kind == kind)
    alerts = list(session.scalars(query))
    ids = [a.id for a in alerts]
    deadlines: dict[int, list[AlertDeadline]] = defaultdict(list)
    releases: dict[int, list[AlertRelease]] = defaultdict(list)
    if ids:
        for d in session.scalars(select(AlertDeadline).where(AlertDeadline.alert_id.in_(ids))
                                 .order_by(AlertDeadline.due_at, AlertDeadline.id)):
            deadlines[d.alert_id].append(d)
        for r in session.scalars(select(AlertRelease).where(AlertRelease.alert_id.in_(ids))
                                 .order_by(AlertRelease.released_at, AlertRelease.id)):
            releases[r.alert_id].append(r)
    base_url = console_url.rstrip("/")
    rows: list[LedgerRow] = []
    for a in alerts:
        common = {
            "alert_id": a.id, "incident_id": a.incident_id,
            "kind": INCIDENT_KIND_LABELS.get(a.incident_kind, a.incident_kind), "title": a.title,
            "level": a.level, "department": a.department_name or a.department_id or "未分派",
            "status": STATUS_LABELS.get(a.status, a.status), "first_seen": a.first_seen,
            "console_link": f"{base_url}/alerts/{a.id}" if base_url else f"/alerts/{a.id}",
        }
        if not deadlines[a.id]:
            rows.append(LedgerRow(**common))  # type: ignore[arg-type]
            continue
        for d in deadlines[a.id]:
            line = clock_line(DeadlineRead.of(d, now), now)
            link, note = _evidence(a, d.kind, releases[a.id]) if line.state == "met" else ("", "")
            on_time = ""
            late = ""
            if line.late_seconds is not None:
                on_time = "否" if line.late_seconds > 0 else "是"
                late = cn_duration(line.late_seconds) if line.late_seconds > 0 else ""
            rows.append(LedgerRow(
                **common,  # type: ignore[arg-type]
                deadline=line.label, start=line.start, due_at=line.due_at, met_at=line.met_at,
                outcome=line.outcome, on_time=on_time, late=late, evidence_link=link, evidence=note,
            ))
    return rows


def to_csv(rows: list[LedgerRow]) -> bytes:
    """UTF-8 with a BOM so Excel opens the Chinese headers correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(row.cells())
    if not rows:
        writer.writerow(["本期无案件"] + [""] * (len(HEADERS) - 1))
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[LedgerRow], title: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "台账"
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(HEADERS)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEF1F6")
        cell.alignment = Alignment(vertical="center")
    for row in rows:
        sheet.append(row.cells())
        r = sheet.max_row
        for col, url in ((HEADERS.index("依据链接") + 1, row.evidence_link),
                         (HEADERS.index("控制台链接") + 1, row.console_link)):
            if url.startswith(("http://", "https://")):
                sheet.cell(row=r, column=col).hyperlink = url
                sheet.cell(row=r, column=col).style = "Hyperlink"
        if row.on_time == "否" or row.outcome.startswith("已超时"):
            sheet.cell(row=r, column=HEADERS.index("执行结果") + 1).font = Font(color="C00000")
    if not rows:
        sheet.append(["本期无案件"])
    widths = {"标题": 40, "执行结果": 28, "依据链接": 40, "依据说明": 30, "控制台链接": 36, "责任部门": 22}
    for i, h in enumerate(HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = widths.get(h, 16)
    sheet.freeze_panes = "A3"
    sheet.auto_filter.ref = f"A2:{get_column_letter(len(HEADERS))}{max(sheet.max_row, 2)}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def ledger_title(period: Period, department: str | None, kind: str | None) -> str:
    parts = [f"台账 {period.date_from.isoformat()} 至 {period.last_day.isoformat()}"]
    if department:
        parts.append(f"部门 {department}")
    if kind:
        parts.append(INCIDENT_KIND_LABELS[kind])
    return "（".join([parts[0], "，".join(parts[1:]) + "）"]) if len(parts) > 1 else parts[0]


def render_ledger(rows: list[LedgerRow], fmt: str, title: str) -> bytes:
    if fmt == "csv":
        return to_csv(rows)
    if fmt == "xlsx":
        return to_xlsx(rows, title)
    raise LedgerError(f"不支持的格式“{fmt}”（可选 xlsx、csv）")
