"""One member of a consumer group in its own OS process (used by the multi-process bus tests).

    python bus_member.py BUS_URL GROUP TOPIC TOTAL RESULTS_DB

Polls, commits after every batch and, only once a commit succeeded, records each message's ``id`` with
this process's pid in RESULTS_DB (table ``handled``). Stops when RESULTS_DB holds TOTAL distinct ids
(the whole group is done) or after a minute.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time

from yuqing.bus import CommitFailedError, open_bus
from yuqing.sqlite_wal import enable_wal

DEADLINE_S = 60.0


def main(url: str, group: str, topic: str, total: int, results_db: str) -> None:
    results = sqlite3.connect(results_db, timeout=30, isolation_level=None)
    enable_wal(results)
    results.execute("CREATE TABLE IF NOT EXISTS handled (msg_id INTEGER NOT NULL, pid INTEGER NOT NULL)")
    bus = open_bus(url)
    consumer = bus.consumer(group, [topic])
    deadline = time.monotonic() + DEADLINE_S
    try:
        while time.monotonic() < deadline:
            (done,) = results.execute("SELECT COUNT(DISTINCT msg_id) FROM handled").fetchone()
            if done >= total:
                break
            batch = consumer.poll(timeout=0.2, max_records=20)
            if not batch:
                continue
            time.sleep(0.001 * len(batch))  # some work, so that the other member joins mid-stream
            try:
                consumer.commit(batch)
            except CommitFailedError:
                continue  # lost the partition: the new holder handles these again
            results.executemany(
                "INSERT INTO handled (msg_id, pid) VALUES (?, ?)",
                [(m.json()["id"], os.getpid()) for m in batch],
            )
    finally:
        consumer.close()
        bus.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
