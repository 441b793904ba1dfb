"""``/api/alerts/stream``: Server-Sent Events that tell a console its alerts changed, over a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
import uvicorn
from factories import alerting_worker, login, seed_incident
from fastapi import FastAPI

from api import live
from api.auth.tokens import issue_token
from api.auth.users import user_by_name
from api.models import UserRow
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings


@pytest.fixture
def server(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setattr(live, "CHECK_SECONDS", 0.2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


class Stream:
    """An SSE client on a plain socket, read and closed from the test's own thread (closing an httpx
    stream that another thread is reading leaves the connection open until the server next writes)."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=0.1)
        lines = ["GET /api/alerts/stream HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream",
                 *(f"{k}: {v}" for k, v in headers.items())]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        self.names: list[str] = []

    def wait_for(self, count: int, timeout: float = 10.0) -> list[str]:
        """The event names received so far, waiting up to ``timeout`` for ``count`` of them."""
        deadline = time.monotonic() + timeout
        while len(self.names) < count and time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            self.buffer += chunk
            *complete, self.buffer = self.buffer.split(b"\n")
            self.names += [line.decode().split(":", 1)[1].strip() for line in complete
                           if line.startswith(b"event:")]
        return list(self.names)

    def close(self) -> None:
        self.sock.close()


@contextmanager
def stream(base_url: str, headers: dict[str, str]) -> Iterator[Stream]:
    s = Stream(base_url, headers)
    try:
        yield s
    finally:
        s.close()


def _cookie(client: httpx.Client) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in client.cookies.items())}


def _seed(
    settings: Settings, database: Database, clock: FakeClock, incident_id: str, place: tuple[str, str]
) -> None:
    worker = alerting_worker(settings, database, clock)
    seed_incident(worker, database, incident_id=incident_id, title=f"{incident_id} 排污",
                  place=place, first_seen=clock.now() - timedelta(minutes=5))


def test_stream_needs_a_login(server: str) -> None:
    response = httpx.get(f"{server}/api/alerts/stream", timeout=10)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_new_alert_is_pushed_to_a_logged_in_console(
    server: str, settings: Settings, database: Database, clock: FakeClock
) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        login(client, "duty")  # type: ignore[arg-type]
        with stream(server, _cookie(client)) as events:
            assert events.wait_for(1) == ["alerts"]  # at once on connect
            assert events.wait_for(2, timeout=0.8) == ["alerts"]  # nothing changed: nothing more
            _seed(settings, database, clock, "inc-new", ("安庆市", "3408"))
            assert events.wait_for(2) == ["alerts", "alerts"]


def test_a_department_handler_hears_only_of_its_own_department(
    server: str, settings: Settings, database: Database, clock: FakeClock
) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        login(client, "dept_a")  # type: ignore[arg-type]
        with stream(server, _cookie(client)) as events:
            assert events.wait_for(1) == ["alerts"]
            _seed(settings, database, clock, "inc-hefei", ("合肥市", "3401"))  # department B's
            assert events.wait_for(2, timeout=1.0) == ["alerts"]
            _seed(settings, database, clock, "inc-anqing", ("安庆市", "3408"))  # its own
            assert events.wait_for(2) == ["alerts", "alerts"]


def test_deactivating_the_user_ends_a_token_stream(server: str, database: Database, clock: FakeClock) -> None:
    with database.transaction() as session:
        user = user_by_name(session, "leader")
        assert user is not None
        _, token = issue_token(session, user, "wall screen", now=clock.now())
    with stream(server, {"Authorization": f"Bearer {token}"}) as events:
        assert events.wait_for(1) == ["alerts"]
        with database.transaction() as session:
            row = session.get(UserRow, user.id)
            assert row is not None
            row.active = False
        assert events.wait_for(2) == ["alerts", "logout"]
