"""A 监测方案's incidents reach its owners through the outbox: when an incident matching a plan opens an
alert or raises its level, the plan's owner departments (their contacts: the department workbench) and
owner users are added to the recipients; incidents of no plan, and the timers, go by the directory."""

from __future__ import annotations

from sqlalchemy import select

from alerting.models import Notification
from nlp.plans.models import PlanRow
from tests.alerting.conftest import T0, incident


def _plan(db, *, paused: bool = False) -> int:
    with db.transaction() as session:
        row = PlanRow(name="宿松医疗", expression="宿松+(医院|输液)", owner_users=["duty"],
                      owner_departments=["dg-sthj"], channels=["console"], paused=paused, created_by="t",
                      created_at=T0, updated_at=T0, backfill_hits=0)
        session.add(row)
        session.flush()
        return row.id


def _recipients(db, channel: str = "console") -> set[str]:
    with db.session() as session:
        return set(session.scalars(select(Notification.recipient).where(Notification.channel == channel)))


def test_a_plans_new_and_rising_incidents_reach_its_owners(db, make_worker) -> None:
    plan = _plan(db)
    worker = make_worker()
    worker.ingest(incident("inc-1", level="较大", plan_ids=[plan]))
    created = _recipients(db)
    assert "user:duty" in created
    assert any(r.startswith("department:dg-sthj:") for r in created)  # the owner department's workbench
    assert any(r.startswith("department:aq-wjw:") for r in created)  # the assigned department as before

    with db.session() as session:
        before = session.query(Notification).count()
    worker.ingest(incident("inc-1", level="重大", version=2, plan_ids=[plan]))  # rising
    with db.session() as session:
        raised = session.scalars(select(Notification).where(Notification.recipient == "user:duty")).all()
        assert session.query(Notification).count() > before
    assert {n.threshold for n in raised} == {"created", "level:重大"}


def test_incidents_of_no_plan_or_a_paused_plan_go_by_the_directory(db, make_worker) -> None:
    paused = _plan(db, paused=True)
    worker = make_worker()
    worker.ingest(incident("inc-2", plan_ids=[]))
    worker.ingest(incident("inc-3", plan_ids=[paused]))
    recipients = _recipients(db)
    assert "user:duty" not in recipients
    assert not any(r.startswith("department:dg-sthj:") for r in recipients)
