"""Migrations undo and redo on a database in use: the notices an alert has sent (notifications referenced by
their delivery attempts) survive undoing the plan-notices migration and redoing it, on SQLite (where the
table is rebuilt: foreign keys are off while migrations run) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

from alembic import command
from sqlalchemy import func, select

from alerting.models import Notification, NotificationAttempt
from alerting.worker import AlertingWorker
from tests.alerting.conftest import incident
from yuqing.clock import FakeClock
from yuqing.db.migrate import alembic_config
from yuqing.db.session import Database

BEFORE_PLAN_NOTICES = "c1a0000000a1"  # the revision c1a0000000c3 (plan notices) follows


def _counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Notification)) or 0,
            s.scalar(select(func.count()).select_from(NotificationAttempt)) or 0,
        )


def test_notices_survive_undoing_and_redoing_the_plan_notices_migration(
    make_worker: Callable[[], AlertingWorker], db: Database, clock: FakeClock
) -> None:
    worker = make_worker()
    worker.ingest(incident())
    worker.run_timers(clock.now())  # the first notices go out: notifications and their attempts
    notices, attempts = _counts(db)
    assert notices > 0 and attempts > 0
    config = alembic_config(db.engine)
    command.downgrade(config, BEFORE_PLAN_NOTICES)
    assert _counts(db) == (notices, attempts)
    command.upgrade(config, "heads")
    assert _counts(db) == (notices, attempts)
