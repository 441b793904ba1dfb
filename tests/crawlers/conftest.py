"""Fixtures for the crawler tests: the sample site over HTTP on localhost, a database, the SQLite bus."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crawlers.config import Source, load_sources
from sample_site import serve_sample_site
from tests.crawlers.local_site import Pages, serve_pages
from yuqing.bus import Bus, open_bus
from yuqing.db.session import Database, open_database
from yuqing.schemas import RawPost
from yuqing.settings import PROJECT_ROOT
from yuqing.topology import Topics


@pytest.fixture
def site() -> Iterator[str]:
    base, stop = serve_sample_site(port=0)
    yield base
    stop()


@pytest.fixture
def pages() -> Iterator[Pages]:
    """An empty local site; a test adds the pages it needs with ``pages.add(path, body, ...)``."""
    served, server = serve_pages()
    yield served
    served.closing.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def default_sources(site: str) -> dict[str, Source]:
    sources, problems = load_sources(PROJECT_ROOT / "crawlers" / "sources", {"sample_site": site})
    assert problems == []
    return {s.id: s for s in sources}


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'yuqing.sqlite3'}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.close()


@pytest.fixture
def bus_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bus.sqlite3'}"


@pytest.fixture
def bus(bus_url: str) -> Iterator[Bus]:
    b = open_bus(bus_url, partitions=2)
    yield b
    b.close()


@pytest.fixture
def raw_posts(bus: Bus) -> Iterator[Callable[[], list[tuple[str | None, RawPost]]]]:
    """Reads raw posts as a consumer group would; each call returns the (key, post) pairs new since."""
    consumer = bus.consumer("crawler-tests", [Topics.RAW_POSTS])

    def new() -> list[tuple[str | None, RawPost]]:
        out: list[tuple[str | None, RawPost]] = []
        while batch := consumer.poll(timeout=0.2, max_records=500):
            out.extend((m.key, RawPost.model_validate_json(m.value)) for m in batch)
            consumer.commit(batch)
        return out

    yield new
    consumer.close()
