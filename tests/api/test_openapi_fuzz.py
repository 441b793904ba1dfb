"""Schemathesis over the OpenAPI spec (bounded examples per operation): no input makes the API answer 5xx."""

from __future__ import annotations

import pytest
import schemathesis
from factories import alerting_worker, seed_incident
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from sqlalchemy.orm import Session

from api.auth.tokens import issue_token
from api.auth.users import user_by_name
from api.main import create_app
from yuqing.clock import FakeClock
from yuqing.db.session import Database
from yuqing.settings import Settings
from yuqing.storage.sqlite_fts import SqliteFtsStore


@pytest.fixture
def fuzz_app(
    settings: Settings, database: Database, clock: FakeClock, store: SqliteFtsStore
) -> tuple[FastAPI, str]:
    """The app (on SQLite and on PostgreSQL) with two alerts, and an admin's API token (admin may call
    every operation)."""
    worker = alerting_worker(settings, database, clock)
    for n, place in enumerate((("安庆市", "3408"), ("合肥市", "3401"))):
        seed_incident(
            worker,
            database,
            incident_id=f"inc-{n}",
            title=f"{place[0]} 排污",
            place=place,
            first_seen=clock.now(),
        )
    with database.transaction() as session:
        token = _token(session, clock)
    return create_app(settings, db=database, clock=clock, store_factory=lambda: store), token


def _token(session: Session, clock: FakeClock) -> str:
    admin = user_by_name(session, "admin")
    assert admin is not None
    return issue_token(session, admin, "fuzz", now=clock.now())[1]


MAX_EXAMPLES = 8  # per operation: about 30 operations, a few seconds each


def test_no_input_makes_a_server_error(fuzz_app: tuple[FastAPI, str]) -> None:
    app, token = fuzz_app
    auth = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=auth)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()  # every operation's schema is usable

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=auth)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
            if response.status_code >= 400:
                assert response.headers["content-type"][0].startswith("application/problem+json"), (
                    response.text
                )

        no_server_error()
        checked.append(operation.label)
    spec = app.openapi()
    every = {f"{method.upper()} {path}" for path, ops in spec["paths"].items() for method in ops}
    assert set(checked) == every
