"""A 监测方案's incidents reach its owners through the outbox: when an incident matching a plan opens an
alert or raises its level, the plan's owner departments (their contacts: the department workbench) and
owner users are added to the recipients; incidents of no plan, and the timers, go by the directory."""

from __future__ import annotations

from sqlalchemy import select

from alerting.models import Notification
from nlp.plans.models import PlanRow
from tests.alerting.conftest import T0, incident


def _plan(db, *, paused: bool = False, channels: tuple[str, ...] = ("console",),
          name: str = "宿松医疗") -> int:
    with db.transaction() as session:
        row = PlanRow(name=name, expression="宿松+(医院|输液)", owner_users=["duty"],
                      owner_departments=["dg-sthj"], channels=list(channels), paused=paused, created_by="t",
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
        raised = session.scalars(select(Notification).where(Notification.recipient == "user:duty",
                                                            Notification.alert_id.is_not(None))).all()
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


def _plan_notices(db, incident_id: str) -> list[Notification]:
    with db.session() as session:
        return list(session.scalars(select(Notification).where(Notification.incident_id == incident_id)
                                    .order_by(Notification.id)))


def test_a_plans_new_incident_without_an_alert_reaches_its_owners_once(db, make_worker) -> None:
    """An incident below every rule opens no alert, but the plan's owners hear of it — once."""
    plan = _plan(db)
    worker = make_worker()
    result = worker.ingest(incident("inc-q", level=None, plan_ids=[plan]))
    assert result.outcome == "no_alert"
    notices = _plan_notices(db, "inc-q")
    assert {n.recipient for n in notices} == {"user:duty", "department:dg-sthj:大观区生态环境分局办公室"}
    assert {n.channel for n in notices} == {"console"}  # the plan names only the console
    assert all(n.alert_id is None and n.threshold == f"p{plan}:new:12:0" for n in notices)
    assert "监测方案「宿松医疗」命中新事件" in notices[0].body
    assert notices[0].link == "https://yq.example/incidents/inc-q"

    worker.ingest(incident("inc-q", level=None, version=2, plan_ids=[plan]))  # re-sent, not rising
    make_worker().ingest(incident("inc-q", level=None, version=2, plan_ids=[plan]))  # a restart
    assert len(_plan_notices(db, "inc-q")) == len(notices)


def _posts(inc, post_count: int):
    return inc.model_copy(update={"post_count": post_count})


def test_rising_means_posts_doubled_or_level_rose(db, make_worker) -> None:
    plan = _plan(db)
    worker = make_worker()
    worker.ingest(incident("inc-r", level=None, plan_ids=[plan]))  # 12 posts
    worker.ingest(_posts(incident("inc-r", level=None, version=2, plan_ids=[plan]), 20))  # < double
    assert {n.threshold for n in _plan_notices(db, "inc-r")} == {f"p{plan}:new:12:0"}
    worker.ingest(_posts(incident("inc-r", level=None, version=3, plan_ids=[plan]), 24))  # doubled
    worker.ingest(_posts(incident("inc-r", level=None, version=4, plan_ids=[plan]), 30))  # not again
    rising = [n for n in _plan_notices(db, "inc-r") if n.threshold == f"p{plan}:posts:24"]
    assert {n.recipient for n in rising} == {"user:duty", "department:dg-sthj:大观区生态环境分局办公室"}
    assert "帖文由 12 条增至 24 条" in rising[0].body and rising[0].subject.endswith("升温")
    worker.ingest(_posts(incident("inc-r", level="一般", version=5, plan_ids=[plan]), 30))  # level rose
    assert f"p{plan}:level:1" in {n.threshold for n in _plan_notices(db, "inc-r")}
    worker.ingest(_posts(incident("inc-r", level="一般", version=6, plan_ids=[plan]), 47))  # 24 → 47
    assert len({n.threshold for n in _plan_notices(db, "inc-r")}) == 3


def test_a_plans_channels_choose_where_its_notices_go(db, make_worker, channels, clock) -> None:
    """A plan naming a group robot extends to it (no directory entry names that robot); a plan naming no
    channel goes the usual way (console for all, e-mail for contacts with an address); unknown names are
    skipped."""
    robot = _plan(db, channels=("aq-robot", "nonexistent"), name="机器人方案")
    default = _plan(db, channels=(), name="默认方案")
    worker = make_worker()
    worker.ingest(incident("inc-c", level=None, plan_ids=[robot, default]))
    by_plan: dict[str, set[tuple[str, str]]] = {}
    for n in _plan_notices(db, "inc-c"):
        by_plan.setdefault(n.threshold.split(":")[0], set()).add((n.channel, n.recipient))
    assert by_plan[f"p{robot}"] == {("aq-robot", "channel:aq-robot")}
    assert by_plan[f"p{default}"] == {
        ("console", "user:duty"),
        ("console", "department:dg-sthj:大观区生态环境分局办公室"),
        ("mail", "department:dg-sthj:大观区生态环境分局办公室"),
    }
    report = worker.run_timers(clock.now())  # dispatched like any notice
    assert report.failed == 0
    subjects = [m.subject for m in channels["aq-robot"].sent]
    assert subjects == ["[监测方案 机器人方案] 某县医院输液事故引发关注 — 新事件"]
    assert channels["aq-robot"].sent[0].alert_ids == ()
    assert len(channels["mail"].sent) == 1


def test_plan_notices_share_the_robots_rate_limit_and_digest(db, make_worker, channels, clock) -> None:
    plan = _plan(db, channels=("aq-robot",))
    worker = make_worker()
    for i in range(25):
        worker.ingest(incident(f"inc-d{i}", level=None, plan_ids=[plan]))
    worker.run_timers(clock.now())
    sent = channels["aq-robot"].sent
    assert len(sent) == 20  # the robot's 20 a minute: 19 alone, the other 6 in one digest
    assert sent[-1].digest_size == 6 and sent[-1].alert_ids == ()


def test_a_plans_channels_also_carry_its_owners_alert_notices(db, make_worker) -> None:
    """An alert opened on a plan's incident: its owners hear on the plan's channels only (here its robot,
    which no directory entry names), while the directory's recipients go the usual way."""
    plan = _plan(db, channels=("aq-robot",), name="机器人方案")
    make_worker().ingest(incident("inc-a", level="较大", plan_ids=[plan]))
    with db.session() as session:
        alert_rows = session.scalars(select(Notification).where(Notification.alert_id.is_not(None))).all()
    owners = {"user:duty", "department:dg-sthj:大观区生态环境分局办公室"}
    assert not owners & {n.recipient for n in alert_rows}  # not on console or mail
    robot = [n for n in alert_rows if n.channel == "aq-robot"]
    assert len(robot) == 1 and "大观区生态环境分局办公室" in robot[0].body and "duty" in robot[0].body
    assert any(n.recipient.startswith("department:aq-wjw:") for n in alert_rows if n.channel == "mail")
