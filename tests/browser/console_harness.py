"""What the browser tests share: the running console (URL, database, store, alerting intake) and
screenshots under test-artifacts/browser/."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from factories import seed_incident

from yuqing.clock import SystemClock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage.sqlite_fts import SqliteFtsStore

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """The app served by uvicorn in a thread on a free loopback port, until the block ends; its URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the console did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Console:
    url: str
    settings: Settings
    db: Database
    store: SqliteFtsStore
    worker: Any

    def seed_major_incident(
        self,
        incident_id: str,
        title: str,
        place: tuple[str, str],
        post_ids: list[str] | None = None,
        *,
        age: timedelta = timedelta(minutes=10),
    ) -> int:
        """A 重大 incident first seen ``age`` ago, through the real alerting intake."""
        first_seen = SystemClock().now() - age
        alert_id = seed_incident(
            self.worker,
            self.db,
            incident_id=incident_id,
            title=title,
            place=place,
            first_seen=first_seen,
            post_ids=post_ids or [],
        )
        assert alert_id is not None
        return alert_id


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
