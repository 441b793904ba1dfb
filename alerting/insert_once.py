"""INSERT … ON CONFLICT DO NOTHING for the rows whose unique key makes an action happen once
(escalation steps, notifications): one statement, no savepoint, safe under concurrent workers."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yuqing.db.base import Base


def insert_once(session: Session, row: Base, key: str) -> bool:
    """Insert ``row`` (a new, unsaved ORM object) unless one with the same unique ``key`` exists.
    Returns True when it was inserted. The object itself stays outside the session."""
    values: dict[str, Any] = {
        attr.key: getattr(row, attr.key)
        for attr in inspect(type(row)).column_attrs
        if getattr(row, attr.key) is not None
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Core, not the ORM bulk path: its result has no reliable rowcount on psycopg
    table = cast(Table, type(row).__table__)
    primary = next(iter(table.primary_key))
    statement = (
        insert(table).values(**values).on_conflict_do_nothing(index_elements=[key]).returning(primary)
    )
    return session.execute(statement).first() is not None
