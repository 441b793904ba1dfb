"""舆情日报 / 周报: new incidents by level, region and category; alerts opened, answered on time and breached;
the hottest incidents; departments' on-time rates; trend charts.

A report covers one Beijing day (``2026-12-04``) or one ISO week (``2026-W49``, Monday to Sunday). It is
generated once per period and format: once the period has ended, the first generation is stored
(``generated_reports``, unique per kind, period and format) and every later request returns the stored
file, so a scheduled run and a leader's click never make two different 日报 of one day. A period still
running is rendered on the fly, says 截至 when, and is not stored."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from alerting.models import Alert
from alerting.performance import EARLIEST, LATEST, PerformanceReport, Period, department_performance
from incidents.models import IncidentRow
from nlp.location import place_name
from reports import charts
from reports.document import Document, Heading, Image, Para, Table
from reports.models import GeneratedReport
from reports.render import render
from reports.text import cn_datetime, pct
from yuqing.clock import CN_TZ
from yuqing.domain import DEADLINE_LABELS, REPORT_KINDS, STATUS_LABELS
from yuqing.schemas import SEVERITY_ORDER

PeriodKind = Literal["daily", "weekly"]
KIND_LABELS = REPORT_KINDS
HOTTEST = 10
WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class ReportPeriodError(ValueError):
    """A date or week in the wrong format or out of range; the message is Chinese."""


@dataclass(frozen=True)
class ReportPeriod:
    kind: PeriodKind
    key: str  # 2026-12-04 | 2026-W49
    period: Period

    @property
    def label(self) -> str:
        if self.kind == "daily":
            day = self.period.date_from
            return f"{day.year} 年 {day.month} 月 {day.day} 日"
        year, week = self.key.split("-W")
        return (f"{year} 年第 {int(week)} 周（{self.period.date_from:%m-%d} 至 "
                f"{self.period.last_day:%m-%d}）")

    @property
    def title(self) -> str:
        return f"{KIND_LABELS[self.kind]}（{self.label}）"


def _in_range(day: date, text: str) -> None:
    if not EARLIEST <= day < LATEST:
        raise ReportPeriodError(f"日期“{text}”超出范围（{EARLIEST.year}—{LATEST.year - 1} 年）")


def daily_period(text: str) -> ReportPeriod:
    text = (text or "").strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise ReportPeriodError(f"日期“{text}”无效，请用 YYYY-MM-DD 格式，如 2026-12-04") from None
    _in_range(day, text)
    return ReportPeriod("daily", day.isoformat(), Period(day, day + timedelta(days=1)))


def weekly_period(text: str) -> ReportPeriod:
    text = (text or "").strip()
    match = WEEK.match(text)
    try:
        if match is None:
            raise ValueError(text)
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ReportPeriodError(f"周次“{text}”无效，请用 ISO 周格式 YYYY-Www，如 2026-W49") from None
    _in_range(monday, text)
    return ReportPeriod("weekly", text, Period(monday, monday + timedelta(days=7)))


def period_of(kind: str, key: str) -> ReportPeriod:
    if kind == "daily":
        return daily_period(key)
    if kind == "weekly":
        return weekly_period(key)
    raise ReportPeriodError(f"报告类型“{kind}”无效（可选 daily、weekly）")


def last_complete(kind: PeriodKind, now: datetime) -> ReportPeriod:
    """Yesterday's day, or last week (Beijing time): what a scheduled run at 08:00 reports."""
    today = now.astimezone(CN_TZ).date()
    if kind == "daily":
        return daily_period((today - timedelta(days=1)).isoformat())
    year, week, _ = (today - timedelta(days=7)).isocalendar()
    return weekly_period(f"{year}-W{week:02d}")


@dataclass
class PeriodFigures:
    rp: ReportPeriod
    as_of: datetime
    incidents: list[IncidentRow]
    hottest: list[IncidentRow]
    alerts: list[Alert]
    performance: PerformanceReport

    @property
    def complete(self) -> bool:
        return self.as_of >= self.rp.period.end


def figures(session: Session, rp: ReportPeriod, *, now: datetime, names: dict[str, str] | None = None
            ) -> PeriodFigures:
    start, end = rp.period.start, rp.period.end
    incidents = list(session.scalars(
        select(IncidentRow).where(IncidentRow.first_seen >= start, IncidentRow.first_seen < end,
                                  IncidentRow.merged_into.is_(None)).order_by(IncidentRow.first_seen)
    ))
    hottest = list(session.scalars(
        select(IncidentRow).where(IncidentRow.first_seen < end, IncidentRow.last_seen >= start,
                                  IncidentRow.merged_into.is_(None))
        .order_by(IncidentRow.heat.desc(), IncidentRow.id).limit(HOTTEST)
    ))
    alerts = list(session.scalars(
        select(Alert).where(Alert.first_seen >= start, Alert.first_seen < end, Alert.merged_into_id.is_(None))
        .order_by(Alert.first_seen)
    ))
    performance = department_performance(session, rp.period, now=now, names=names)
    return PeriodFigures(rp, now, incidents, hottest, alerts, performance)


def _buckets(rp: ReportPeriod) -> list[datetime]:
    step = timedelta(hours=1) if rp.kind == "daily" else timedelta(days=1)
    at, out = rp.period.start, []
    while at < rp.period.end:
        out.append(at)
        at += step
    return out


def _count_by_bucket(times: list[datetime], buckets: list[datetime]) -> list[int]:
    counts = [0] * len(buckets)
    for t in times:
        for i in range(len(buckets) - 1, -1, -1):
            if t >= buckets[i]:
                counts[i] += 1
                break
    return counts


def _alert_for(alerts: list[Alert], incident_id: str) -> Alert | None:
    return next((a for a in alerts if a.incident_id == incident_id), None)


def build(f: PeriodFigures, alert_status: dict[str, str] | None = None) -> Document:
    rp = f.rp
    subtitle = f"统计区间：{cn_datetime(rp.period.start)} 至 {cn_datetime(rp.period.end)}（北京时间）"
    if not f.complete:
        subtitle += f"；期间尚未结束，数据截至 {cn_datetime(f.as_of)}"
    else:
        subtitle += f"；时限执行情况截至 {cn_datetime(f.as_of)}"
    doc = Document(rp.title, subtitle)
    total = f.performance.overall.total
    doc.add(Heading("一、总体情况"))
    if not f.incidents and not f.alerts:
        doc.add(Para("本期无新增事件，无新增预警。", strong=True))
    doc.add(Para(
        f"本期新增事件 {len(f.incidents)} 起，新增预警 {len(f.alerts)} 条；时限 {total.total} 项，"
        f"按时完成 {total.on_time} 项、超时完成 {total.late} 项、超时未完成 {total.breached} 项、"
        f"计时中 {total.pending} 项，按时率 {pct(total.on_time_rate)}。"
    ))
    doc.add(Table(["指标", "数量"], [
        ["新增事件", str(len(f.incidents))],
        ["新增预警", str(len(f.alerts))],
        ["按时回应（时限按时完成）", str(total.on_time)],
        ["超时完成", str(total.late)],
        ["超时未完成", str(total.breached)],
        ["计时中", str(total.pending)],
    ]))

    buckets = _buckets(rp)
    if f.incidents or f.alerts:
        unit = "每小时" if rp.kind == "daily" else "每日"
        new = _count_by_bucket([i.first_seen for i in f.incidents], buckets)
        opened = _count_by_bucket([a.first_seen for a in f.alerts], buckets)
        doc.add(Image(charts.counts_trend(buckets, {"新增事件": new, "新增预警": opened},
                                          f"{unit}新增事件与预警", daily=rp.kind == "daily"),
                      f"图 1  {unit}新增事件与预警（北京时间）"))

    doc.add(Heading("二、新增事件分布"))
    levels = Counter(i.severity or "未定级" for i in f.incidents)
    order = [*reversed(SEVERITY_ORDER), "未定级"]
    by_level = [[lv, str(levels[lv])] for lv in order if levels[lv]]
    doc.add(Heading("按级别", 3), Table(["级别", "事件数"], by_level, empty="本期无新增事件。"))
    regions = Counter(i.location_code[:6] if i.location_code else "" for i in f.incidents)
    doc.add(Heading("按地区", 3), Table(
        ["地区", "区划代码", "事件数"],
        [[place_name(code) if code else "未识别", code or "—", str(n)]
         for code, n in regions.most_common(15)],
        empty="本期无新增事件。",
    ))
    categories = Counter(i.category or "未分类" for i in f.incidents)
    by_category = [[c, str(n)] for c, n in categories.most_common()]
    doc.add(Heading("按类别", 3), Table(["类别", "事件数"], by_category, empty="本期无新增事件。"))
    if len(categories) > 1:
        top = categories.most_common(10)
        doc.add(Image(charts.bars([c for c, _ in top], [n for _, n in top], "新增事件类别分布", unit="起"),
                      "图 2  新增事件类别分布"))

    doc.add(Heading("三、热点事件"))
    doc.add(Table(
        ["事件", "级别", "地区", "类别", "热度", "帖文", "预警状态"],
        [[i.title, i.severity or "未定级", place_name(i.location_code) if i.location_code else "—",
          i.category or "未分类", f"{i.heat:.1f}", str(i.post_count),
          (alert_status or {}).get(i.id, "未生成预警")] for i in f.hottest],
        empty="本期无活跃事件。",
    ))

    doc.add(Heading("四、时限执行"))
    doc.add(Table(
        ["时限", "总数", "按时", "超时完成", "超时未完成", "计时中", "按时率"],
        [[DEADLINE_LABELS.get(k.kind, k.kind), str(k.total), str(k.on_time), str(k.late), str(k.breached),
          str(k.pending), pct(k.on_time_rate)] for k in f.performance.overall.deadlines],
        empty="本期没有计时的时限。",
    ))
    doc.add(Heading("五、各部门按时率"))
    doc.add(Table(
        ["部门", "预警", "时限", "按时", "超时", "按时率", "督办"],
        [[d.department_name or d.department_id or "未分派", str(d.alerts), str(d.total.total),
          str(d.total.on_time), str(d.total.late + d.total.breached), pct(d.on_time_rate),
          str(d.supervisions)]
         for d in f.performance.departments],
        empty="本期没有分派到部门的预警。",
    ))
    return doc


def alert_statuses(session: Session, incident_ids: list[str]) -> dict[str, str]:
    if not incident_ids:
        return {}
    rows = session.execute(
        select(Alert.incident_id, Alert.status, Alert.level)
        .where(Alert.incident_id.in_(incident_ids), Alert.merged_into_id.is_(None))
    )
    return {i: f"{lv} · {STATUS_LABELS.get(s, s)}" for i, s, lv in rows}


def render_period(session: Session, rp: ReportPeriod, fmt: str, *, now: datetime,
                  names: dict[str, str] | None = None) -> tuple[bytes, bool]:
    """The report's bytes, and whether its period has ended."""
    f = figures(session, rp, now=now, names=names)
    return render(build(f, alert_statuses(session, [i.id for i in f.hottest])), fmt), f.complete


@dataclass
class Generated:
    data: bytes
    stored: GeneratedReport | None  # None: the period is still running
    created: bool  # False: the stored report was returned


def generate(session: Session, rp: ReportPeriod, fmt: str, *, now: datetime, actor: str,
             names: dict[str, str] | None = None) -> Generated:
    """Once per period and format: the stored report when there is one, else a new one (stored once the
    period has ended; two concurrent runs store one, the other returns it)."""
    existing = stored_report(session, rp.kind, rp.key, fmt)
    if existing is not None:
        return Generated(existing.content, existing, False)
    data, complete = render_period(session, rp, fmt, now=now, names=names)
    if not complete:
        return Generated(data, None, True)
    row = GeneratedReport(kind=rp.kind, period=rp.key, fmt=fmt, title=rp.title, content=data, size=len(data),
                          created_at=now, created_by=actor)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = stored_report(session, rp.kind, rp.key, fmt)
        assert existing is not None
        return Generated(existing.content, existing, False)
    return Generated(data, row, True)


def stored_report(session: Session, kind: str, key: str, fmt: str) -> GeneratedReport | None:
    return session.scalar(select(GeneratedReport).where(
        GeneratedReport.kind == kind, GeneratedReport.period == key, GeneratedReport.fmt == fmt))


@dataclass
class StoredSummary:
    id: int
    kind: str
    period: str
    fmt: str
    title: str
    size: int
    created_at: datetime
    created_by: str


def list_stored(session: Session, limit: int = 100) -> list[StoredSummary]:
    """The stored reports, newest period first (the content is not read)."""
    rows = session.execute(
        select(GeneratedReport.id, GeneratedReport.kind, GeneratedReport.period, GeneratedReport.fmt,
               GeneratedReport.title, GeneratedReport.size, GeneratedReport.created_at,
               GeneratedReport.created_by)
        .order_by(GeneratedReport.period.desc(), GeneratedReport.kind, GeneratedReport.fmt)
        .limit(limit)
    )
    return [StoredSummary(*r) for r in rows]


def count_stored(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(GeneratedReport)) or 0)


def summary_text(session: Session, rp: ReportPeriod, *, now: datetime) -> str:
    """The key figures in a few lines, for the robots' message."""
    f = figures(session, rp, now=now)
    total = f.performance.overall.total
    lines = [
        f"新增事件 {len(f.incidents)} 起，新增预警 {len(f.alerts)} 条。",
        f"时限按时完成 {total.on_time} 项、超时完成 {total.late} 项、超时未完成 {total.breached} 项，"
        f"按时率 {pct(total.on_time_rate)}。",
    ]
    if f.hottest:
        top = "；".join(f"{i.title}（{i.severity or '未定级'}）" for i in f.hottest[:3])
        lines.append(f"最热事件：{top}。")
    return "\n".join(lines)
