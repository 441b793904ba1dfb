"""Migrations and models agree, on SQLite and PostgreSQL: a fresh database upgraded to the newest
revision has exactly the tables and columns the models declare."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from yuqing.db.migrate import create_schema
from yuqing.db.registry import load_all_models
from yuqing.db.session import make_engine


def _diff(engine) -> list:
    metadata = load_all_models().metadata
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, metadata)


def test_sqlite_migrations_match_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    create_schema(engine)
    assert _diff(engine) == [], "models changed without a migration: python -m yuqing.db.make_migration"


@pytest.mark.postgres
def test_postgres_migrations_match_models(pg_url: str) -> None:
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    create_schema(engine)
    create_schema(engine)  # running again is harmless
    assert _diff(engine) == []
    engine.dispose()
