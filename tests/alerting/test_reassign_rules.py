"""Reassignment by the rules (属地管理、分级负责、谁主管谁负责): the 封丘 chemical-plant explosion first seen
as a 较大 housing-safety case rises to 重大 and moves to the emergency-management bureau of the city, with
the reason recorded, both departments told, and its clocks keeping their start times; a person's 转派 is
kept on a category change; an unknown department is refused and the case stays where it was."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from alerting import service
from alerting.directory import Directory
from alerting.models import Alert, AlertAssignment, AlertDeadline, Notification
from tests.alerting.conftest import FIXTURES, T0, incident
from yuqing.schemas import Severity

DIRECTORY = FIXTURES / "departments_fengqiu.yaml"


def plant(version: int, level: str, triggers: list[str], **extra: object):
    made = incident(
        "inc-fq",
        level=level,
        version=version,
        category=extra.pop("category", "城乡建设"),  # type: ignore[arg-type]
        department_type=extra.pop("department_type", "住房和城乡建设局"),
        code="410727",
        title="封丘县产业集聚区一化工厂车间爆炸",
    )
    return made.model_copy(update={"severity": Severity(level=level, triggers=triggers), **extra})


@pytest.fixture
def fengqiu(alert_settings):
    alert_settings.departments_file = DIRECTORY
    return alert_settings


def _recipients(session, alert_id: int, threshold: str) -> set[str]:
    rows = session.scalars(
        select(Notification).where(Notification.alert_id == alert_id, Notification.threshold == threshold)
    )
    return {r.recipient.split(":")[1] for r in rows if r.recipient.startswith("department:")}


def test_a_level_rise_moves_the_explosion_to_the_city_emergency_bureau(fengqiu, make_worker, db, clock):
    worker = make_worker()
    first = worker.ingest(plant(1, "较大", []))
    with db.session() as s:
        alert = s.get_one(Alert, first.alert_id)
        assert alert.department_id == "fq-zjj"  # 属地 county, the category's department
        starts = {d.kind: (d.start, d.due_at) for d in s.scalars(select(AlertDeadline))}
    clock.advance(timedelta(minutes=40))
    raised = worker.ingest(plant(2, "重大", ["11人死亡", "爆炸"]))
    assert raised.outcome == "raised"
    with db.session() as s:
        alert = s.get_one(Alert, first.alert_id)
        assert (alert.department_id, alert.department_name) == ("xx-yjj", "新乡市应急管理局")
        reason = alert.assignment_reason or ""
        assert "级别由较大升至重大" in reason and "新乡市(4107)" in reason and "应急管理局" in reason
        assert "突发事件（爆炸）由应急管理局负责" in reason  # the emergency's words, not its casualties
        history = service.alert_history(s, alert_id=alert.id)
        moved = [h for h in history if h.action == "reassigned_by_rules"]
        assert len(moved) == 1 and moved[0].details["from"]["department_id"] == "fq-zjj"
        assert moved[0].details["to"]["department_id"] == "xx-yjj"
        recorded = s.scalars(select(AlertAssignment).where(AlertAssignment.alert_id == alert.id)).all()
        assert [(r.from_department_id, r.to_department_id, r.kind, r.actor) for r in recorded] == [
            ("fq-zjj", "xx-yjj", "rules", moved[0].actor)
        ]
        # clocks: the ones it had keep start and due; the new ones count from the first detection too
        for row in s.scalars(select(AlertDeadline)):
            assert row.start == T0
            if row.kind in starts:
                assert (row.start, row.due_at) == starts[row.kind]
    worker.run_timers(clock.now())
    with db.session() as s:
        assert "xx-yjj" in _recipients(s, first.alert_id, "reassigned")
        assert _recipients(s, first.alert_id, "handed_over") == {"fq-zjj"}
        told = s.scalars(select(Notification).where(Notification.threshold == "handed_over")).first()
        assert told is not None and "新乡市应急管理局" in told.body
    # the same version again changes nothing; a later update that agrees keeps it there
    assert worker.ingest(plant(2, "重大", ["11人死亡", "爆炸"])).outcome == "seen"
    worker.ingest(plant(3, "重大", ["11人死亡", "爆炸"], post_count=30))
    with db.session() as s:
        assert s.get_one(Alert, first.alert_id).department_id == "xx-yjj"
        assert len([h for h in service.alert_history(s, alert_id=first.alert_id)
                    if h.action == "reassigned_by_rules"]) == 1


def test_an_emergency_goes_to_its_own_department_type_from_the_start(fengqiu, make_worker, db):
    res = make_worker().ingest(plant(1, "较大", ["爆炸"], category="环境保护", department_type="生态环境局"))
    with db.session() as s:
        alert = s.get_one(Alert, res.alert_id)
        assert alert.department_id == "fq-yjj"  # county level: 较大 stays with the county
        assert "突发事件（爆炸）由应急管理局负责" in (alert.assignment_reason or "")


def test_a_category_change_follows_the_rules_unless_a_person_chose(fengqiu, make_worker, db, clock):
    worker = make_worker()
    res = worker.ingest(plant(1, "较大", []))
    clock.advance(timedelta(minutes=5))
    worker.ingest(plant(2, "较大", [], category="环境保护", department_type="生态环境局"))
    with db.session() as s:
        alert = s.get_one(Alert, res.alert_id)
        assert alert.department_id == "fq-sthj"
        assert "事件类别由城乡建设变为环境保护" in (alert.assignment_reason or "")
    directory = Directory.load_yaml(DIRECTORY)
    unknown = pytest.raises(service.InvalidRequest, match="部门目录中没有编号为 'nowhere' 的部门")
    with db.transaction() as s, unknown:
        service.reassign(s, alert_id=res.alert_id, department_id="nowhere", reason="试试",
                         directory=directory, actor="值班员", channel="api", now=clock.now())
    with db.session() as s:
        assert s.get_one(Alert, res.alert_id).department_id == "fq-sthj"  # never a lost case
    with db.transaction() as s:
        service.reassign(s, alert_id=res.alert_id, department_id="fq-zjj", reason="厂房违建，住建牵头",
                         directory=directory, actor="值班员", channel="api", now=clock.now())
    clock.advance(timedelta(minutes=5))
    worker.ingest(plant(3, "较大", [], category="环境保护", department_type="生态环境局", post_count=40))
    with db.session() as s:
        assert s.get_one(Alert, res.alert_id).department_id == "fq-zjj"  # the person's choice stays
    worker.run_timers(clock.now())
    with db.session() as s:
        assert _recipients(s, res.alert_id, "handed_over") == {"fq-zjj", "fq-sthj"}


# The CLI opens its database by URL; the PostgreSQL fixture is a schema inside a shared database, which a
# URL does not name, so the CLI runs on SQLite here (the same service calls run on PostgreSQL above).
@pytest.mark.parametrize("db_engine", ["sqlite"], indirect=True)
def test_the_cli_reassigns_and_consults_and_refuses_an_unknown_department(
    fengqiu, make_worker, db, db_engine, monkeypatch
):
    from typer.testing import CliRunner

    from yuqing.cli.main import app
    from yuqing.settings import get_settings

    res = make_worker().ingest(plant(1, "较大", []))
    url = db_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("YUQING_DB_URL", url)
    monkeypatch.setenv("YUQING_DEPARTMENTS_FILE", str(DIRECTORY))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        bad = runner.invoke(app, ["alerts", "reassign", str(res.alert_id), "nowhere", "--reason", "试试"])
        assert bad.exit_code == 2 and "部门目录中没有编号为 'nowhere' 的部门" in bad.stderr
        missing = runner.invoke(app, ["alerts", "reassign", "999999", "fq-yjj", "--reason", "试试"])
        assert missing.exit_code == 2 and "没有编号为 999999 的预警" in missing.stderr
        moved = runner.invoke(app, ["alerts", "reassign", str(res.alert_id), "fq-yjj", "--reason", "爆炸"])
        assert moved.exit_code == 0, moved.stderr
        assert json.loads(moved.stdout)["department_id"] == "fq-yjj"
        joint = runner.invoke(app, ["alerts", "consult", str(res.alert_id), "--assist", "fq-sthj",
                                    "--assist", "fq-zjj", "--reason", "联合处置"])
        assert joint.exit_code == 0, joint.stderr
        assert json.loads(joint.stdout)["assisting"] == ["fq-sthj", "fq-zjj"]
    finally:
        get_settings.cache_clear()
    with db.session() as s:
        assert s.get_one(Alert, res.alert_id).department_id == "fq-yjj"
