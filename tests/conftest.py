"""Shared fixtures: settings in a temporary data dir, and databases on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from yuqing.db.migrate import create_schema
from yuqing.db.session import make_engine
from yuqing.settings import Settings, load_settings

# The live engines' session fixtures (kafka_broker_url, tansu_broker_url, es_url), for every test module.
pytest_plugins = ["tests.kafka_broker", "tests.engines.elastic_node"]

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"
# .ci/start-postgres installs and starts PostgreSQL and sets this password for TCP logins.
PG_ADMIN_URL = os.environ.get(
    "YUQING_TEST_PG_URL", "postgresql+psycopg://postgres:yuqing-ci@127.0.0.1:5432/postgres"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "var")


def _pg_available() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL)
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    name = f"yuqing_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def prepare_schema(engine: Engine) -> None:
    """The migrations only, as the product runs them: a table without its migration fails every test
    that needs it (and tests/test_migrations.py names it)."""
    create_schema(engine)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine with the full schema, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}")
        prepare_schema(engine)
        yield engine
        engine.dispose()
    else:
        base = request.getfixturevalue("pg_url")
        name = f"t_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        engine = make_engine(base, connect_args={"options": f"-csearch_path={name}"})
        prepare_schema(engine)
        yield engine
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
