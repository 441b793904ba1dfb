"""Bus fixtures: the same tests run on the SQLite log, on the real Apache Kafka broker and on Tansu."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.contracts.bus_helpers import BusUnderTest
from tests.kafka_broker import BUS_KINDS, broker_url

SQLITE_SESSION_TIMEOUT_MS = 3000


@pytest.fixture(params=BUS_KINDS)
def bus_under_test(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BusUnderTest]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bus.sqlite3'}?session_timeout_ms={SQLITE_SESSION_TIMEOUT_MS}"
    else:
        url = broker_url(request.param)
    under_test = BusUnderTest(request.param, url)
    yield under_test
    under_test.close_all()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique topic and group names, so tests sharing one broker never see each other's messages."""
    suffix = uuid.uuid4().hex[:8]
    return lambda base: f"{base}-{suffix}"
