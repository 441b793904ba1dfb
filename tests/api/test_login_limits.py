"""Login rate limits beyond one name: password spraying from one address, a failure budget for all
addresses together, and which address counts — the peer's, or X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import socket
import threading
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from factories import PASSWORD, create_users
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.auth.ratelimit import MAX_FAILURES, MAX_FAILURES_OVERALL, MAX_FAILURES_PER_ADDRESS, WINDOW
from api.main import create_app
from api.models import LoginAttemptRow
from api.server import build_server, run
from tests.conftest import prepare_schema
from yuqing.clock import FakeClock
from yuqing.db.session import Database, make_engine
from yuqing.settings import Settings, SettingsError, load_settings
from yuqing.storage.sqlite_fts import SqliteFtsStore

SPRAYED = "Spring2026!"  # one common password tried against many names


def from_address(app: FastAPI, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 40000))


def attempt(client: TestClient, name: str, password: str, **headers: str) -> int:
    return client.post(
        "/api/auth/login", json={"name": name, "password": password}, headers=headers
    ).status_code


def test_spraying_one_password_across_names_locks_the_address(app: FastAPI, clock: FakeClock) -> None:
    sprayer = from_address(app, "203.0.113.7")
    names = [f"user{n}" for n in range(MAX_FAILURES_PER_ADDRESS - 2)] + ["duty", "leader"]
    assert all(attempt(sprayer, name, SPRAYED) == 401 for name in names)  # one try per name: no name limit
    refused = sprayer.post("/api/auth/login", json={"name": "analyst", "password": PASSWORD})
    assert refused.status_code == 429, "even a right password: the address is locked, whatever the name"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) > 0
    assert "本地址" in refused.json()["detail"]
    # people elsewhere are not locked out
    assert attempt(from_address(app, "198.51.100.20"), "analyst", PASSWORD) == 200
    clock.advance(WINDOW + timedelta(seconds=1))
    assert attempt(sprayer, "analyst", PASSWORD) == 200


def test_a_failure_budget_for_all_addresses_together(app: FastAPI, clock: FakeClock) -> None:
    per_address = MAX_FAILURES_PER_ADDRESS - 1  # each address stays under its own limit
    addresses = -(-MAX_FAILURES_OVERALL // per_address)
    failures = 0
    for n in range(addresses):
        client = from_address(app, f"198.18.{n}.1")
        for k in range(per_address):
            if failures == MAX_FAILURES_OVERALL:
                break
            assert attempt(client, f"n{n}-{k}", SPRAYED) == 401
            failures += 1
    fresh = from_address(app, "192.0.2.99")
    refused = fresh.post("/api/auth/login", json={"name": "duty", "password": PASSWORD})
    assert refused.status_code == 429 and "全系统" in refused.json()["detail"]
    clock.advance(WINDOW + timedelta(seconds=1))
    assert attempt(fresh, "duty", PASSWORD) == 200


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_reset_the_lock(app: FastAPI) -> None:
    client = from_address(app, "203.0.113.8")
    for n in range(MAX_FAILURES):
        assert attempt(client, "duty", "guess-1234", **{"X-Forwarded-For": f"10.66.0.{n}"}) == 401
    assert attempt(client, "duty", PASSWORD, **{"X-Forwarded-For": "10.66.1.1"}) == 429
    assert attempt(client, "duty", PASSWORD) == 429


@pytest.fixture
def proxied_app(settings: Settings, database: Database, clock: FakeClock, store: SqliteFtsStore) -> FastAPI:
    behind_proxy = settings.model_copy(update={"trusted_proxies": "10.0.0.2, 10.1.0.0/16"})
    return create_app(behind_proxy, db=database, clock=clock, store_factory=lambda: store)


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    proxied_app: FastAPI, database: Database
) -> None:
    proxy = from_address(proxied_app, "10.0.0.2")
    forwarded = {"X-Forwarded-For": "198.51.100.1"}
    for _ in range(MAX_FAILURES):
        assert attempt(proxy, "duty", "guess-1234", **forwarded) == 401
    assert attempt(proxy, "duty", PASSWORD, **forwarded) == 429
    # another client behind the same proxy is not locked out by the first one
    assert attempt(proxy, "duty", PASSWORD, **{"X-Forwarded-For": "198.51.100.2"}) == 200
    # a chain: the proxy in the trusted network appended the address it saw; the spoofed head is ignored
    chained = {"X-Forwarded-For": "1.2.3.4, 198.51.100.1, 10.1.4.4"}
    assert attempt(from_address(proxied_app, "10.1.9.9"), "duty", PASSWORD, **chained) == 429
    with database.transaction() as session:
        seen = set(session.scalars(select(LoginAttemptRow.ip)))
    assert seen == {"198.51.100.1", "198.51.100.2"}
    # a peer that is not a trusted proxy still counts as itself
    stranger = from_address(proxied_app, "203.0.113.9")
    assert attempt(stranger, "duty", PASSWORD, **forwarded) == 200


def test_https_behind_a_trusted_proxy_gets_a_secure_cookie(proxied_app: FastAPI) -> None:
    proto = {"X-Forwarded-Proto": "https"}
    assert (
        "Secure" in from_address(proxied_app, "10.0.0.2").get("/login", headers=proto).headers["set-cookie"]
    )
    assert (
        "Secure"
        not in from_address(proxied_app, "10.0.0.3").get("/login", headers=proto).headers["set-cookie"]
    )


def test_trusted_proxies_setting_is_checked(tmp_path: Path) -> None:
    assert load_settings(data_dir=tmp_path).trusted_proxy_list == []  # none by default
    assert load_settings(data_dir=tmp_path, trusted_proxies="10.1.2.3/16,::1").trusted_proxy_list == [
        "10.1.0.0/16",
        "::1",
    ]
    with pytest.raises(SettingsError, match=r"YUQING_TRUSTED_PROXIES.*'\*'"):
        load_settings(data_dir=tmp_path, trusted_proxies="10.0.0.1,*")


def test_the_server_does_not_believe_forwarded_for_from_this_host(
    settings: Settings, clock: FakeClock
) -> None:
    """uvicorn as the api stage runs it: a client on 127.0.0.1 cannot pick its address with the header.
    (The served app opens its own database from the settings, so this one runs on the embedded SQLite.)"""
    assert build_server(settings, "127.0.0.1", 8000).config.proxy_headers is False
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = make_engine(settings.db_url)
    prepare_schema(engine)
    create_users(Database(engine), clock.now())
    engine.dispose()
    served = settings
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(served, stop), kwargs={"host": "127.0.0.1", "port": port})
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/api/health", timeout=1)
                break
            except httpx.TransportError:
                stop.wait(0.05)
        for n in range(MAX_FAILURES):
            bad = {"name": "duty", "password": "guess-1234"}
            response = httpx.post(
                f"{base}/api/auth/login", json=bad, headers={"X-Forwarded-For": f"10.9.0.{n}"}
            )
            assert response.status_code == 401
        good = {"name": "duty", "password": PASSWORD}
        response = httpx.post(f"{base}/api/auth/login", json=good, headers={"X-Forwarded-For": "10.9.1.1"})
        assert response.status_code == 429
    finally:
        stop.set()
        thread.join(timeout=15)
