"""Fixtures for the API tests: the app on a SQLite/PostgreSQL database, a fake clock, a real SQLite FTS
search store with a few posts, and one user per role (two department handlers)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from factories import DIRECTORY, alerting_worker, create_users, make_post, seed_incident
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.auth import passwords, users
from api.main import create_app
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings, load_settings
from yuqing.storage import SearchQuery
from yuqing.storage.sqlite_fts import SqliteFtsStore

T0 = datetime(2026, 5, 11, 2, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings in a temporary data dir with the tests' own small department directory."""
    return load_settings(data_dir=tmp_path / "var", departments_file=DIRECTORY)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2's test profile: the same code path, milliseconds instead of a second per hash (also for the
    dummy hash an unknown user name is checked against)."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
    monkeypatch.setattr(users, "_DUMMY_HASH", passwords.hash_password("not-a-real-password"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def database(db_engine: Engine, clock: FakeClock) -> Database:
    db = Database(db_engine)
    create_users(db, clock.now())
    return db


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteFtsStore]:
    store = SqliteFtsStore(f"sqlite:///{tmp_path / 'search.sqlite3'}")
    store.ensure_schema()
    store.index(
        [
            make_post(
                1,
                title="化工厂 排污 河水 发黑",
                content="居民 反映 河水 发黑 有 异味",
                at=T0 - timedelta(hours=3),
                location=("安庆市", "3408"),
            ),
            make_post(
                2,
                title="学校 食堂 卫生 问题",
                content="家长 投诉 食堂",
                at=T0 - timedelta(days=1),
                category="教育文体",
                sentiment="neutral",
                source_id="forum-b",
            ),
            make_post(
                3,
                title="<script>alert(1)</script> 排污 标题",
                content="<img src=x onerror=alert(2)> 正文",
                at=T0 - timedelta(hours=1),
            ),
        ]
    )
    yield store
    store.close()


@pytest.fixture
def app(settings: Settings, database: Database, clock: FakeClock, store: SqliteFtsStore) -> FastAPI:
    return create_app(settings, db=database, clock=clock, store_factory=lambda: store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def alerts(settings: Settings, database: Database, clock: FakeClock, store: SqliteFtsStore) -> dict[str, int]:
    """Two 重大 incidents one hour old: a polluted river in 安庆 (DEPT_A) and one in 合肥 (DEPT_B)."""
    worker = alerting_worker(settings, database, clock)
    posts = store.search(SearchQuery(text="排污", size=10)).hits
    first = clock.now() - timedelta(hours=1)
    a = seed_incident(
        worker,
        database,
        incident_id="inc-aq",
        title="安庆 化工厂 排污 河水 发黑",
        place=("安庆市", "3408"),
        first_seen=first,
        post_ids=[h.post["id"] for h in posts],
    )
    b = seed_incident(
        worker,
        database,
        incident_id="inc-hf",
        title="合肥 工业园 排污",
        place=("合肥市", "3401"),
        first_seen=first,
    )
    assert a and b
    return {"a": a, "b": b}
