"""Developer tool: ``python -m yuqing.db.make_migration "message"`` autogenerates the next migration
by comparing the models with a scratch SQLite database upgraded to the newest revision."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from yuqing.db.migrate import alembic_config, upgrade
from yuqing.db.session import make_engine


def main() -> None:
    message = sys.argv[1] if len(sys.argv) > 1 else "schema change"
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'scratch.sqlite3'}")
        upgrade(engine)
        command.revision(alembic_config(engine), message=message, autogenerate=True)


if __name__ == "__main__":
    main()
