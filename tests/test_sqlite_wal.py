"""Several processes opening one fresh SQLite file at the same instant (as the demo's stages do) all get WAL.

A bare ``PRAGMA journal_mode=WAL`` fails with ``database is locked`` in some of them (about one in seven
here); :func:`yuqing.sqlite_wal.enable_wal` must not.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

OPENER = """
import sqlite3, sys, time
from yuqing.sqlite_wal import enable_wal
path, start = sys.argv[1], float(sys.argv[2])
while time.time() < start:
    pass
conn = sqlite3.connect(path, timeout=30, isolation_level=None)
enable_wal(conn)
conn.execute("CREATE TABLE IF NOT EXISTS opened (pid INTEGER)")
conn.execute("INSERT INTO opened VALUES (1)")
"""


def test_processes_opening_a_fresh_file_together_all_switch_it_to_wal(tmp_path: Path) -> None:
    for round_ in range(5):
        path = tmp_path / f"fresh{round_}.sqlite3"
        start = time.time() + 0.8  # every process is spinning before the first one opens the file
        procs = [
            subprocess.Popen([sys.executable, "-c", OPENER, str(path), str(start)], stderr=subprocess.PIPE)
            for _ in range(6)
        ]
        errors = [p.communicate(timeout=60)[1].decode() for p in procs]
        assert [p.returncode for p in procs] == [0] * 6, errors
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("SELECT COUNT(*) FROM opened").fetchone()[0] == 6
