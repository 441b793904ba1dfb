"""Switching a SQLite file to WAL safely when several processes open it at the same moment.

``PRAGMA journal_mode=WAL`` needs an exclusive lock for an instant. SQLite does not always call the busy
handler for it: when another process is upgrading its own lock, it returns ``database is locked`` at once.
The embedded bus, search store and database are all opened by several stage processes at start-up, so
each goes through :func:`enable_wal`, which checks the mode first (WAL persists in the file) and retries.
"""

from __future__ import annotations

import random
import sqlite3
import time
from typing import Any

ATTEMPTS = 50


def enable_wal(conn: Any, attempts: int = ATTEMPTS) -> None:
    """Put the database behind ``conn`` (a DB-API SQLite connection) into WAL mode, retrying on a lock."""
    for attempt in range(attempts):
        try:
            cur = conn.cursor()
            try:
                (mode,) = cur.execute("PRAGMA journal_mode").fetchone()
                if str(mode).lower() == "wal":
                    return
                cur.execute("PRAGMA journal_mode=WAL")
            finally:
                cur.close()
            return
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == attempts - 1:
                raise
            time.sleep(0.02 + random.random() * 0.05 * (1 + attempt % 5))
