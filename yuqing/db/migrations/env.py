from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from yuqing.db.registry import load_all_models

target_metadata = load_all_models().metadata
config = context.config


def run_migrations_online() -> None:
    """On SQLite, foreign keys are off while migrations run: a batch migration rebuilds a table (copy, drop,
    rename), and dropping a table other rows reference fails with them on. They are checked once the
    migrations are done, and back on for the connection."""
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # outside a transaction: the pragma is a no-op inside one
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    render_as_batch=sqlite,
                    compare_type=True,
                )
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migrations left rows with dangling foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.rollback()  # whatever a failure left open
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
