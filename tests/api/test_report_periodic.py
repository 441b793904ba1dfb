"""舆情日报 / 周报 from demo-like data: the figures in the PDF (pdftotext) and the Word file, generated once
per period (a second request returns the stored file), an empty period that says so, bad dates refused."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from docx import Document as Word
from factories import login
from fastapi.testclient import TestClient
from report_data import seed_case
from test_report_access import _cli_env
from test_report_incident import ARTIFACTS, pdf_text
from typer.testing import CliRunner

from reports.periodic import ReportPeriodError, count_stored, daily_period, generate, weekly_period
from yuqing.cli.main import app as cli
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage.sqlite_fts import SqliteFtsStore


@pytest.fixture
def seeded(settings: Settings, database: Database, clock: FakeClock, store: SqliteFtsStore):
    return seed_case(settings, database, clock, store)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_daily_report_pdf_says_what_happened(database: Database, clock: FakeClock, seeded,
                                             tmp_path: Path) -> None:
    with database.transaction() as session:
        running = generate(session, daily_period("2026-05-11"), "pdf", now=clock.now(), actor="t")
    assert running.stored is None  # the day is not over: rendered, not stored
    assert "期间尚未结束" in "".join(pdf_text(running.data, tmp_path).split())
    later = clock.advance(timedelta(days=1))
    with database.transaction() as session:
        made = generate(session, daily_period("2026-05-11"), "pdf", now=later, actor="t")
    assert made.created and made.stored is not None
    flat = "".join(pdf_text(made.data, tmp_path).split())
    assert "舆情日报（2026年5月11日）" in flat
    assert "本期新增事件1起，新增预警1条" in flat
    assert "封丘县" in flat and "410727" in flat and "环境保护" in flat
    assert "合肥市生态环境局" in flat and "权威信息发布" in flat and "按时率" in flat
    assert "第1页/共" in flat
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-daily.pdf").write_bytes(made.data)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(tmp_path / "r.pdf"),
                    str(ARTIFACTS / "report-daily-page")], check=True)
    with database.transaction() as session:  # once per period: the stored file comes back
        rp = daily_period("2026-05-11")
        again = generate(session, rp, "pdf", now=later + timedelta(hours=3), actor="t")
        assert not again.created and again.data == made.data and count_stored(session) == 1


def test_weekly_docx_and_an_empty_week(database: Database, clock: FakeClock, seeded, tmp_path: Path) -> None:
    now = clock.advance(timedelta(days=8))
    with database.transaction() as session:
        made = generate(session, weekly_period("2026-W20"), "docx", now=now, actor="t")
        empty = generate(session, weekly_period("2026-W10"), "docx", now=now, actor="t")
    word = Word(__import__("io").BytesIO(made.data))
    text = "\n".join(p.text for p in word.paragraphs)
    cells = "\n".join(c.text for t in word.tables for r in t.rows for c in r.cells)
    assert "舆情周报（2026 年第 20 周（05-11 至 05-17））" in text
    assert "新增事件 1 起" in text and "合肥市生态环境局" in cells and "封丘县" in cells
    empty_text = "\n".join(p.text for p in Word(__import__("io").BytesIO(empty.data)).paragraphs)
    assert "本期无新增事件，无新增预警。" in empty_text


@pytest.mark.parametrize("bad", ["2026-12-4", "2026/12/04", "2026-02-30", "", "1999-01-01"])
def test_bad_dates(bad: str) -> None:
    with pytest.raises(ReportPeriodError, match=r"YYYY-MM-DD|超出范围"):
        daily_period(bad)


@pytest.mark.parametrize("bad", ["2026-W60", "2026W49", "2026-49"])
def test_bad_weeks(bad: str) -> None:
    with pytest.raises(ReportPeriodError, match="YYYY-Www"):
        weekly_period(bad)


def test_cli_daily_and_weekly(monkeypatch: pytest.MonkeyPatch, settings: Settings, database: Database, seeded,
                              tmp_path: Path) -> None:
    from yuqing.settings import get_settings

    _cli_env(monkeypatch, settings, database, tmp_path)
    runner = CliRunner()
    try:
        out = tmp_path / "d.html"
        made = runner.invoke(cli, ["report", "daily", "--date", "2026-05-11", "--format", "html", "--out",
                                   str(out)])
        assert made.exit_code == 0, made.output
        assert "舆情日报" in out.read_text(encoding="utf-8")
        target = str(tmp_path / "x.pdf")
        bad = runner.invoke(cli, ["report", "daily", "--date", "12/04/2026", "--out", target])
        assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output and not (tmp_path / "x.pdf").exists()
        week = runner.invoke(cli, ["report", "weekly", "--week", "2026-W99"])
        assert week.exit_code == 2 and "2026-W49" in week.output
    finally:
        get_settings.cache_clear()


def test_console_lists_and_generates_reports(client: TestClient, clock: FakeClock, seeded) -> None:
    clock.advance(timedelta(days=1))
    csrf = login(client, "leader")
    made = client.post("/reports/periodic", data={"kind": "daily", "period": "2026-05-11", "format": "pdf",
                                                  "csrf_token": csrf}, follow_redirects=False)
    assert made.status_code == 303
    page = client.get("/reports")
    assert page.status_code == 200 and "舆情日报（2026 年 5 月 11 日）" in page.text
    link = page.text.split('href="/reports/files/')[1].split('"')[0]
    file = client.get(f"/reports/files/{link}")
    assert file.status_code == 200 and file.content.startswith(b"%PDF")
    bad = client.post("/reports/periodic", data={"kind": "daily", "period": "5月11日", "format": "pdf",
                                                 "csrf_token": csrf})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    listed = client.get("/api/reports/periodic")
    assert listed.status_code == 200 and listed.json()[0]["period"] == "2026-05-11"
    again = client.get("/api/reports/periodic/daily/2026-05-11")  # the stored file, not a second one
    assert again.status_code == 200 and again.content == file.content
    assert client.get("/api/reports/periodic/weekly/2026-W60").status_code == 422
    assert len(client.get("/api/reports/periodic").json()) == 1


def test_console_lists_todays_report_so_far_as_a_snapshot(client: TestClient, database: Database,
                                                          clock: FakeClock, seeded) -> None:
    from reports.snapshot import store_today_snapshot

    with database.transaction() as session:
        store_today_snapshot(session, "pdf", now=clock.now(), actor="schedule")
    login(client, "leader")
    page = client.get("/reports")
    assert "舆情日报（2026 年 5 月 11 日，截至 15:00）" in page.text and "当日截至，非定稿" in page.text
    link = page.text.split('href="/reports/files/')[1].split('"')[0]
    file = client.get(f"/reports/files/{link}")
    assert file.status_code == 200 and file.content.startswith(b"%PDF")
    # the day's real 日报 is still made once the day has ended (the snapshot does not take its place)
    clock.advance(timedelta(days=1))
    login(client, "leader")  # the session of yesterday has expired
    real = client.get("/api/reports/periodic/daily/2026-05-11", params={"format": "pdf"})
    assert real.status_code == 200 and real.content != file.content
    periods = sorted(r["period"] for r in client.get("/api/reports/periodic").json())
    assert periods == ["2026-05-11", "2026-05-11@1500"]
