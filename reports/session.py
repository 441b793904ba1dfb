"""What a ``yuqing report`` command works on: the configured database and search store, and the time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from yuqing.db.session import Database
from yuqing.storage import SearchStore


@contextmanager
def cli_context() -> Iterator[tuple[Database, SearchStore | None, datetime]]:
    """The database (migrated) and the search store; a store that cannot be opened is ``None`` (the
    report then says its post data is missing)."""
    from yuqing.clock import SystemClock
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings
    from yuqing.storage import StoreError, open_store

    settings = get_settings()
    settings.ensure_data_dir()
    db = open_database(settings.db_url)
    store: SearchStore | None
    try:
        store = open_store(settings.search_url, index_prefix=settings.es_index_prefix)
    except StoreError:
        store = None
    try:
        yield db, store, SystemClock().now()
    finally:
        if store is not None:
            store.close()
        db.engine.dispose()
