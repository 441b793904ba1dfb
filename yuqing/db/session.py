"""Engines and sessions for the relational state (SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from yuqing.settings import SettingsError
from yuqing.sqlite_wal import enable_wal


def json_text(value: Any) -> str:
    """JSON columns, written by orjson: several times faster than ``json.dumps`` (the incidents stage
    writes each post's record and each incident's lists as JSON), as UTF-8 text without spaces."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def make_engine(url: str, **kwargs: Any) -> Engine:
    kwargs.setdefault("json_serializer", json_text)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            enable_wal(dbapi_conn)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_pre_ping=True, **kwargs)
    raise SettingsError(f"YUQING_DB_URL={url!r}: use sqlite:///path or postgresql+psycopg://user@host/db")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class Database:
    """The engine and session factory a stage uses; ``open_database`` migrates first."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)

    def session(self) -> Session:
        return self.sessions()

    def transaction(self) -> Any:
        """``with db.transaction() as s:`` commits on success, rolls back on error."""
        return session_scope(self.sessions)

    def close(self) -> None:
        self.engine.dispose()


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Connect, and bring the schema to the newest migration (serialised across processes)."""
    engine = make_engine(url)
    if migrate:
        from yuqing.db.migrate import create_schema

        if url.startswith("sqlite") and "///" in url:
            import fcntl

            lock_path = Path(url.split("///", 1)[1] + ".migrate.lock")
            with lock_path.open("w") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                create_schema(engine)
        else:
            create_schema(engine)
    return Database(engine)
