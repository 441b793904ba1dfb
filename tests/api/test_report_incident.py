"""The incident 专报 / 复盘 from demo-like data, as PDF (read back with pdftotext), Word (python-docx) and
HTML: the title, the clocks, the 效果评估 verdict and the 复盘 are there, in Chinese."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document as Word
from factories import NOTICE_LINK
from report_data import TITLE, seed_case

from reports.incident import IncidentNotFound, gather
from reports.service import incident_report
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage.sqlite_fts import SqliteFtsStore

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture
def seeded(settings: Settings, database: Database, clock: FakeClock, store: SqliteFtsStore):
    return seed_case(settings, database, clock, store)


def test_the_report_says_what_happened_and_how_it_was_handled(database: Database, store: SqliteFtsStore,
                                                                seeded) -> None:
    with database.transaction() as session:
        report = gather(session, store, seeded.incident_id, now=seeded.now)
    assert report.effect is not None and report.effect.verdict == "舆情回落"
    assert len(report.posts) == 15
    assert dict(report.sources) == {"weibo": 6, "tieba": 6, "news-a": 3}
    labels = [e.label for e in report.timeline]
    assert "签收" in labels and "转派" in labels and "记录权威信息发布" in labels and "记录持续发布" in labels
    info_step = next(e for e in report.timeline if e.label == "记录权威信息发布")
    assert info_step.detail == "官网发布通报；完成时限：权威信息发布" and info_step.link == NOTICE_LINK
    reassign = next(e for e in report.timeline if e.label == "转派")
    assert "涉事企业属合肥市监管" in reassign.detail and "合肥市生态环境局" in reassign.detail
    info = next(c for c in report.clocks if c.kind == "authoritative_info")
    assert info.state == "met" and info.outcome.startswith("按时完成（提前 ")
    press = next(c for c in report.clocks if c.kind == "press_conference")
    assert press.state == "open" and press.outcome.startswith("计时中")
    rule_grounds = [g for g in report.grounds if g.startswith("预警规则：")]
    assert "预警规则：重大事件（severity-major）" in rule_grounds, report.grounds  # the title, then the id


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_pdf_has_the_title_clocks_verdict_and_review_in_chinese(database: Database, store: SqliteFtsStore,
                                                               seeded, tmp_path: Path) -> None:
    with database.transaction() as session:
        data = incident_report(session, store, seeded.incident_id, "pdf", now=seeded.now)
    assert data.startswith(b"%PDF")
    text = pdf_text(data, tmp_path)
    flat = "".join(text.split())
    assert "".join(TITLE.split()) in flat
    for section in ("事件概述", "传播态势", "典型帖文", "处置经过", "时限执行", "效果评估", "复盘"):
        assert section in flat, section
    assert "权威信息发布" in flat and "按时完成" in flat and "新闻发布会" in flat
    assert "评估结论：舆情回落" in flat
    assert "建立化工园区巡查台账" in flat and "转派至合肥市生态环境局；原因：" in flat
    assert "封丘县（410727）" in flat
    assert "第1页/共" in flat  # page numbers
    fonts = subprocess.run(["pdffonts", str(tmp_path / "r.pdf")], capture_output=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes yes yes " in line for line in cjk), fonts  # embedded, subset, unicode
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-incident.pdf").write_bytes(data)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(tmp_path / "r.pdf"),
                        str(ARTIFACTS / "report-incident-page")], check=True)


def test_docx_has_the_same_fields(database: Database, store: SqliteFtsStore, seeded, tmp_path: Path) -> None:
    with database.transaction() as session:
        data = incident_report(session, store, seeded.incident_id, "docx", now=seeded.now)
    path = tmp_path / "r.docx"
    path.write_bytes(data)
    word = Word(str(path))
    paragraphs = "\n".join(p.text for p in word.paragraphs)
    cells = "\n".join(c.text for t in word.tables for row in t.rows for c in row.cells)
    assert TITLE in paragraphs
    assert "评估结论：舆情回落" in paragraphs and "整改措施" in paragraphs
    assert "权威信息发布" in cells and "按时完成（提前" in cells and "涉事企业属合肥市监管" in cells
    assert "https://news.example.cn/a/" in word.part.rels[next(
        r for r in word.part.rels if word.part.rels[r].is_external)].target_ref
    assert word.sections[0].page_width.cm == pytest.approx(21.0, abs=0.01)
    assert len(word.inline_shapes) >= 2  # the charts
    (ARTIFACTS / "report-incident.docx").write_bytes(data) if ARTIFACTS.exists() else None


def test_html_escapes_post_titles_and_links_to_the_originals(database: Database, store: SqliteFtsStore,
                                                            seeded) -> None:
    with database.transaction() as session:
        html = incident_report(session, store, seeded.incident_id, "html", now=seeded.now).decode()
    assert '<a href="https://news.example.cn/a/' in html
    assert "评估结论：舆情回落" in html and "data:image/png;base64," in html


def test_unknown_incident_is_refused(database: Database, store: SqliteFtsStore, clock: FakeClock) -> None:
    with database.transaction() as session, pytest.raises(IncidentNotFound, match="没有编号为 nope 的事件"):
        gather(session, store, "nope", now=clock.now())
