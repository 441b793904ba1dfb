"""The incident 专报 / 复盘 as a ``Document``: 事件概述, 传播态势 (charts), 典型帖文, 处置经过, 时限执行,
效果评估 and 复盘, in that order."""

from __future__ import annotations

from reports import charts
from reports.document import Document, Heading, Image, Link, Para, Table
from reports.incident import IncidentReport, effect_window_text, summary_lines
from reports.text import cn_datetime, pct

SENTIMENT_LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面"}


def _spread(report: IncidentReport) -> list[Heading | Para | Table | Image]:
    blocks: list[Heading | Para | Table | Image] = [Heading("二、传播态势")]
    if report.posts_error:
        blocks.append(Para(f"帖文数据暂缺：{report.posts_error}。"))
        return blocks
    if not report.posts:
        blocks.append(Para("该事件暂无可用帖文数据。"))
        return blocks
    series = report.series
    negative = [p.negative / p.posts if p.posts else None for p in series]
    blocks.append(Image(
        charts.trend([p.start for p in series], [p.posts for p in series], [p.heat for p in series], negative,
                     "每小时发帖量、热度与负面占比"),
        "图 1  每小时发帖量、热度与负面占比（北京时间）",
    ))
    peak = max(series, key=lambda p: p.posts)
    total_negative = sum(p.negative for p in series)
    blocks.append(Para(
        f"共收集相关帖文 {len(report.posts)} 条，来自 {len(report.sources)} 个信源；"
        f"峰值出现在 {cn_datetime(peak.start)} 起的一小时（{peak.posts} 条）；"
        f"负面帖文 {total_negative} 条，占 {pct(total_negative / len(report.posts))}。"
    ))
    if report.sources:
        blocks.append(Image(
            charts.bars([s for s, _ in report.sources], [n for _, n in report.sources], "主要信源发帖量"),
            "图 2  主要信源发帖量",
        ))
        blocks.append(Table(["信源", "帖文数"], [[s, str(n)] for s, n in report.sources]))
    return blocks


def _typical(report: IncidentReport) -> list[Heading | Para | Table]:
    rows: list[list[str | Link]] = [
        [cn_datetime(p.posted_at), p.source_id, Link(p.title or p.url, p.url),
         SENTIMENT_LABELS.get(p.sentiment, p.sentiment), f"{p.heat:.1f}"]
        for p in report.typical
    ]
    return [Heading("三、典型帖文"), Para("按热度排序，标题链接到原文。"),
            Table(["发布时间", "信源", "标题（原文链接）", "情感", "热度"], rows, empty="暂无帖文。")]


def _handling(report: IncidentReport) -> list[Heading | Para | Table]:
    blocks: list[Heading | Para | Table] = [Heading("四、处置经过")]
    if report.alert is None:
        blocks.append(Para("该事件尚未生成预警，无处置记录。"))
        return blocks
    rows: list[list[str | Link]] = [
        [cn_datetime(e.at), e.label, e.actor, e.detail or "—", Link("查看", e.link) if e.link else "—"]
        for e in report.timeline
    ]
    blocks.append(Table(["时间", "环节", "操作人", "说明", "依据链接"], rows, empty="暂无处置记录。"))
    if report.alert.releases:
        blocks.append(Heading("持续发布", 3))
        blocks.append(Table(
            ["发布时间", "类型", "内容", "链接", "记录人"],
            [[cn_datetime(r.released_at), r.label, r.note, Link(r.link, r.link), r.recorded_by]
             for r in report.alert.releases],
        ))
    return blocks


def _clocks(report: IncidentReport) -> list[Heading | Para | Table]:
    rows: list[list[str | Link]] = [
        [c.label, cn_datetime(c.start), cn_datetime(c.due_at), cn_datetime(c.met_at), c.outcome]
        for c in report.clocks
    ]
    return [Heading("五、时限执行"),
            Table(["时限", "起算", "截止", "完成时间", "执行情况"], rows, empty="该事件没有计时的时限。")]


def _effect(report: IncidentReport) -> list[Heading | Para | Table]:
    blocks: list[Heading | Para | Table] = [Heading("六、效果评估")]
    effect = report.effect
    if effect is None:
        blocks.append(Para("暂无法评估：" + (report.posts_error or "该事件尚未生成预警") + "。"))
        return blocks
    blocks.append(Para(f"评估结论：{effect.verdict}" + ("（评估窗口尚未结束）" if effect.provisional else ""),
                       strong=True))
    blocks.append(Para(effect.summary))
    if effect.before is not None and effect.after is not None:
        b, a = effect.before, effect.after
        blocks.append(Para(f"回应时间：{cn_datetime(effect.responded_at)}；{effect_window_text(effect)}对比。"))
        blocks.append(Table(
            ["指标", "回应前", "回应后"],
            [["帖文数", str(b.posts), str(a.posts)],
             ["发帖（条/时）", f"{b.posts_per_hour:g}", f"{a.posts_per_hour:g}"],
             ["负面占比", pct(b.negative_share), pct(a.negative_share)],
             ["热度（每小时）", f"{b.heat_per_hour:g}", f"{a.heat_per_hour:g}"]],
        ))
    return blocks


def _review(report: IncidentReport) -> list[Heading | Para | Table]:
    blocks: list[Heading | Para | Table] = [Heading("七、复盘")]
    if report.review is None:
        blocks.append(Para("分析员尚未填写复盘（问题、整改措施）。"))
        return blocks
    r = report.review
    blocks += [Heading("存在问题", 3), Para(r.problems), Heading("整改措施", 3), Para(r.measures),
               Para(f"填写：{r.updated_by}，{cn_datetime(r.updated_at)}")]
    return blocks


def build(report: IncidentReport) -> Document:
    doc = Document(report.title, f"生成时间：{cn_datetime(report.generated_at)}（北京时间）")
    doc.add(Heading("一、事件概述"), Table(["项目", "内容"], [[k, v] for k, v in summary_lines(report)]))
    if report.incident.keywords:
        doc.add(Para("关键词：" + "、".join(report.incident.keywords)))
    doc.blocks += _spread(report)
    doc.blocks += _typical(report)
    doc.blocks += _handling(report)
    doc.blocks += _clocks(report)
    doc.blocks += _effect(report)
    doc.blocks += _review(report)
    return doc
