"""The 专报 through the API, the console and ``yuqing report incident``: who may download it, the 复盘 form
(stored and audited), and bad input (unknown incident, unknown format) refused with a clear reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import login
from fastapi.testclient import TestClient
from report_data import seed_case
from sqlalchemy import select, text
from typer.testing import CliRunner

from yuqing.cli.main import app as cli
from yuqing.clock import FakeClock
from yuqing.db.models import AuditLog
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage.sqlite_fts import SqliteFtsStore


@pytest.fixture
def seeded(settings: Settings, database: Database, clock: FakeClock, store: SqliteFtsStore):
    return seed_case(settings, database, clock, store)


def test_leader_downloads_the_report_from_the_console_and_the_api(client: TestClient, seeded) -> None:
    login(client, "leader")
    page = client.get(f"/alerts/{seeded.alert_id}")
    assert f'href="/reports/incidents/{seeded.incident_id}.pdf"' in page.text
    assert "建立化工园区巡查台账" in page.text  # the stored 复盘 is shown
    assert 'action="/reports/incidents/inc-fq/review"' not in page.text  # leaders read, analysts write
    pdf = client.get(f"/reports/incidents/{seeded.incident_id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    disposition = pdf.headers["content-disposition"]
    assert "filename*=UTF-8''%E8%88%86%E6%83%85%E4%B8%93%E6%8A%A5-inc-fq.pdf" in disposition
    docx = client.get(f"/api/reports/incidents/{seeded.incident_id}", params={"format": "docx"})
    assert docx.status_code == 200 and docx.content[:2] == b"PK"


def test_bad_requests_are_refused_in_chinese(client: TestClient, seeded) -> None:
    login(client, "leader")
    missing = client.get("/api/reports/incidents/nope")
    assert missing.status_code == 404 and "没有编号为 nope 的事件" in missing.json()["detail"]
    assert client.get("/api/reports/incidents/inc-fq", params={"format": "xls"}).status_code == 422
    page = client.get("/reports/incidents/inc-fq.xls")
    assert page.status_code == 404 and "不支持的报告格式" in page.text


def test_other_departments_do_not_see_the_report(client: TestClient, seeded) -> None:
    login(client, "dept_a")  # the alert was reassigned to DEPT_B
    assert client.get("/api/reports/incidents/inc-fq").status_code == 404


def test_analyst_writes_the_review_in_the_console_and_it_is_audited(
    client: TestClient, database: Database, seeded
) -> None:
    csrf = login(client, "analyst")
    page = client.get(f"/alerts/{seeded.alert_id}")
    assert 'action="/reports/incidents/inc-fq/review"' in page.text
    empty = client.post("/reports/incidents/inc-fq/review",
                        data={"problems": " ", "measures": "x", "csrf_token": csrf})
    assert empty.status_code == 422 and "请填写存在问题" in empty.text
    saved = client.post("/reports/incidents/inc-fq/review", follow_redirects=False,
                        data={"problems": "口径发布滞后", "measures": "口径预审", "csrf_token": csrf})
    assert saved.status_code == 303 and saved.headers["location"].startswith(f"/alerts/{seeded.alert_id}")
    html = client.get("/reports/incidents/inc-fq.html").text
    assert "口径发布滞后" in html and "口径预审" in html
    with database.transaction() as session:
        entries = session.scalars(select(AuditLog).where(AuditLog.object_type == "incident",
                                                         AuditLog.object_id == "inc-fq")
                                  .order_by(AuditLog.id)).all()
    assert [e.action for e in entries] == ["review_saved", "review_saved"]
    assert entries[-1].actor == "analyst" and entries[-1].details["previous"]["by"] == "analyst"
    assert entries[-1].details["problems"] == "口径发布滞后"


def test_review_through_the_api_needs_the_right_role(client: TestClient, seeded) -> None:
    csrf = login(client, "dept_b")
    body = {"problems": "问题", "measures": "措施"}
    refused = client.put("/api/reports/incidents/inc-fq/review", json=body, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "analyst")
    ok = client.put("/api/reports/incidents/inc-fq/review", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json()["updated_by"] == "analyst"


def _cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings, database: Database, tmp_path: Path) -> None:
    from yuqing.settings import get_settings

    monkeypatch.setenv("YUQING_DATA_DIR", str(settings.data_dir))
    url = database.engine.url
    if url.get_backend_name() == "postgresql":  # the fixture's own schema, as its search_path
        with database.engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        monkeypatch.setenv("PGOPTIONS", f"-csearch_path={schema}")  # libpq reads it
    monkeypatch.setenv("YUQING_DB_URL", url.render_as_string(hide_password=False))
    monkeypatch.setenv("YUQING_SEARCH_URL", f"sqlite:///{tmp_path / 'search.sqlite3'}")
    get_settings.cache_clear()


def test_cli_writes_the_report_and_refuses_bad_input(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, database: Database, seeded, tmp_path: Path
) -> None:
    from yuqing.settings import get_settings

    _cli_env(monkeypatch, settings, database, tmp_path)
    runner = CliRunner()
    try:
        out = tmp_path / "out" / "专报.docx"
        made = runner.invoke(cli, ["report", "incident", "inc-fq", "--format", "docx", "--out", str(out)])
        assert made.exit_code == 0, made.output
        assert out.read_bytes()[:2] == b"PK"
        missing = tmp_path / "missing.pdf"
        unknown = runner.invoke(cli, ["report", "incident", "nope", "--out", str(missing)])
        assert unknown.exit_code == 2 and "没有编号为 nope 的事件" in unknown.output
        bad = runner.invoke(cli, ["report", "incident", "inc-fq", "--format", "xls", "--out", str(missing)])
        assert bad.exit_code == 2 and "不支持的格式" in bad.output
        assert not missing.exists()
        assert [p.name for p in out.parent.iterdir()] == ["专报.docx"]  # no temporary file left behind
    finally:
        get_settings.cache_clear()


def test_an_incident_without_alert_or_posts_still_gets_a_report(
    database: Database, clock: FakeClock, alerts: dict[str, int], tmp_path: Path
) -> None:
    """inc-hf has no posts; an incident without an alert, and a search store that is down, say so."""
    from incidents.models import IncidentPost, IncidentRow
    from reports.incident import gather
    from reports.incident_doc import build
    from reports.render import to_html
    from yuqing.storage import StoreError

    class DownStore:
        def get(self, ids: list[str]) -> list[dict[str, object]]:
            raise StoreError("connection refused")

    with database.transaction() as session:
        quiet = to_html(build(gather(session, None, "inc-hf", now=clock.now()))).decode()
        now = clock.now()
        session.add(IncidentRow(id="inc-solo", title="孤立事件", first_seen=now, last_seen=now,
                                updated_at=now))
        session.flush()
        session.add(IncidentPost(incident_id="inc-solo", post_id="p-1", added_at=clock.now()))
        store = DownStore()
        report = gather(session, store, "inc-solo", now=clock.now())  # type: ignore[arg-type]
        solo = to_html(build(report)).decode()
    assert "帖文数据暂缺：未连接检索服务" in quiet and "权威信息发布" in quiet
    assert "该事件尚未生成预警，无处置记录。" in solo and "检索服务不可用：connection refused" in solo
    assert "分析员尚未填写复盘" in solo
