"""One helper that opens what a stage's ``run()`` needs — the bus, the database, the search store — from
the settings, and closes them again (in reverse order) when the stage ends or fails to start.

    with open_engines(settings, store=True) as engines:
        IndexerWorker(engines.bus, engines.store).run(stop)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TypeVar

from yuqing.bus import Bus, open_bus
from yuqing.db.session import Database, open_database
from yuqing.settings import Settings
from yuqing.storage import SearchStore, open_store


@dataclass(slots=True)
class StageEngines:
    """The engines one stage opened; asking for one it did not open is a programming error."""

    _bus: Bus | None = None
    _db: Database | None = None
    _store: SearchStore | None = None

    @property
    def bus(self) -> Bus:
        return _opened(self._bus, "bus")

    @property
    def db(self) -> Database:
        return _opened(self._db, "db")

    @property
    def store(self) -> SearchStore:
        return _opened(self._store, "store")


T = TypeVar("T")


def _opened(engine: T | None, name: str) -> T:
    if engine is None:
        raise RuntimeError(f"open_engines(..., {name}=True) was not asked for the {name}")
    return engine


@contextmanager
def open_engines(
    settings: Settings, *, bus: bool = True, db: bool = True, store: bool = False
) -> Iterator[StageEngines]:
    """The stage's engines, open for the ``with`` block: the database first (migrated to the newest
    schema), then the bus, then the search store; closed in the reverse order."""
    settings.ensure_data_dir()
    engines = StageEngines()
    with ExitStack() as opened:
        if db:
            engines._db = open_database(settings.db_url)
            opened.callback(engines._db.close)
        if bus:
            engines._bus = open_bus(settings.bus_url, partitions=settings.bus_partitions)
            opened.callback(engines._bus.close)
        if store:
            engines._store = open_store(settings.search_url, index_prefix=settings.es_index_prefix)
            opened.callback(engines._store.close)
        yield engines
