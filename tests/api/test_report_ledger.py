"""台账: every case of the period with every deadline, its outcome and the evidence links, as XLSX (read
back with openpyxl) and CSV (UTF-8 with BOM, Chinese headers); filters; empty periods and bad dates."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from factories import NOTICE_LINK, login
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from report_data import TITLE, seed_case
from test_report_access import _cli_env
from typer.testing import CliRunner

from reports.ledger import HEADERS
from reports.service import ledger_report
from yuqing.cli.main import app as cli
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage.sqlite_fts import SqliteFtsStore

DAY = {"date_from": "2026-05-11", "date_to": "2026-05-12"}


@pytest.fixture
def seeded(settings: Settings, database: Database, clock: FakeClock, store: SqliteFtsStore):
    return seed_case(settings, database, clock, store)


def _xlsx_rows(data: bytes) -> list[dict[str, object]]:
    sheet = load_workbook(io.BytesIO(data)).active
    values = list(sheet.iter_rows(values_only=True))
    header = list(values[1])
    return [dict(zip(header, row, strict=True)) for row in values[2:]]


def test_xlsx_lists_every_deadline_with_outcome_and_evidence(database: Database, seeded) -> None:
    with database.transaction() as session:
        data, name = ledger_report(session, **DAY, department=None, kind=None, fmt="xlsx", now=seeded.now,
                                   console_url="http://console.example")
    assert name == "台账-2026-05-11-2026-05-11.xlsx"
    rows = _xlsx_rows(data)
    mine = {r["时限"]: r for r in rows if r["事件编号"] == "inc-fq"}
    info = mine["权威信息发布"]
    assert info["标题"] == TITLE and info["责任部门"] == "合肥市生态环境局" and info["案件类型"] == "政务舆情"
    assert info["是否按时"] == "是" and str(info["执行结果"]).startswith("按时完成")
    assert info["依据链接"] == NOTICE_LINK and info["依据说明"] == "官网发布通报"
    assert info["控制台链接"] == f"http://console.example/alerts/{seeded.alert_id}"
    press = mine["新闻发布会"]
    assert press["是否按时"] is None and str(press["执行结果"]).startswith("计时中")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.cell(row=2, column=1).value == HEADERS[0]
    assert any(c.hyperlink and c.hyperlink.target == NOTICE_LINK for row in sheet.iter_rows() for c in row)


def test_csv_has_a_bom_and_chinese_headers(database: Database, seeded) -> None:
    with database.transaction() as session:
        data, _ = ledger_report(session, **DAY, department=None, kind=None, fmt="csv", now=seeded.now)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == HEADERS
    assert {r["时限"] for r in rows if r["事件编号"] == "inc-fq"} >= {"权威信息发布", "新闻发布会"}


def test_filters_and_an_empty_period(database: Database, seeded) -> None:
    with database.transaction() as session:
        def rows(**kw: object) -> list[dict[str, object]]:
            args = {**DAY, "department": None, "kind": None, **kw}
            return _xlsx_rows(ledger_report(session, fmt="xlsx", now=seeded.now, **args)[0])  # type: ignore[arg-type]

        assert {r["事件编号"] for r in rows(department="hf-sthj")} == {"inc-fq"}
        assert rows(department="aq-sthj") == [{**dict.fromkeys(HEADERS), "预警编号": "本期无案件"}]
        assert rows(kind="message")[0]["预警编号"] == "本期无案件"
        assert rows(date_from="2026-01-01", date_to="2026-01-02")[0]["预警编号"] == "本期无案件"


def test_api_and_console_downloads_and_bad_input(client: TestClient, seeded) -> None:
    csrf = login(client, "dept_a")  # a department sees its own cases only, whatever it asks for
    own = client.get("/api/reports/ledger", params={"from": "2026-05-11", "to": "2026-05-12", "format": "csv",
                                                     "department": "hf-sthj"})
    assert own.status_code == 200 and "inc-fq" not in own.content.decode("utf-8-sig")
    client.post("/logout", data={"csrf_token": csrf})
    login(client, "leader")
    ok = client.get("/reports/ledger.xlsx", params={"from": "2026-05-11", "to": "2026-05-12"})
    assert ok.status_code == 200 and any(r["事件编号"] == "inc-fq" for r in _xlsx_rows(ok.content))
    bad = client.get("/api/reports/ledger", params={"from": "2026/05/11"})
    assert bad.status_code == 422 and "不是有效日期" in bad.json()["detail"]
    kind = client.get("/api/reports/ledger", params={"kind": "letters"})
    assert kind.status_code == 422 and "案件类型" in kind.json()["detail"]
    page = client.get("/reports/ledger.xlsx", params={"to": "tomorrow"})
    assert page.status_code == 422 and "不是有效日期" in page.text


def test_cli_ledger(monkeypatch: pytest.MonkeyPatch, settings: Settings, database: Database, seeded,
                    tmp_path: Path) -> None:
    from yuqing.settings import get_settings

    _cli_env(monkeypatch, settings, database, tmp_path)
    runner = CliRunner()
    try:
        out = tmp_path / "l.csv"
        made = runner.invoke(cli, ["report", "ledger", "--from", "2026-05-11", "--to", "2026-05-12",
                                   "--format", "csv", "--out", str(out)])
        assert made.exit_code == 0, made.output
        assert "inc-fq" in out.read_bytes().decode("utf-8-sig")
        target = str(tmp_path / "x.xlsx")
        bad = runner.invoke(cli, ["report", "ledger", "--from", "2026-13-01", "--out", target])
        assert bad.exit_code == 2 and "不是有效日期" in bad.output
        assert not (tmp_path / "x.xlsx").exists()
    finally:
        get_settings.cache_clear()
