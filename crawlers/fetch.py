"""Run one crawl round of Scrapy sources in a subprocess and stream its events back.

Why a subprocess: Twisted's reactor cannot be restarted, and a long-lived worker crawls again and again.
A fresh process per round is robust (a leak or a crash stays in that round) and ``stop`` ends it cleanly:
SIGTERM lets Scrapy close its spiders, and a process that has not exited after ``grace`` seconds is killed.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from crawlers.config import Source
from crawlers.items import Problem, RoundEvent

log = logging.getLogger(__name__)


def fetch_round(
    sources: Sequence[Source],
    now: datetime,
    *,
    settings: dict[str, Any] | None = None,
    stop: threading.Event | None = None,
    deadline: float | None = None,
    grace: float = 10.0,
) -> Iterator[RoundEvent]:
    """Events (items, problems, pages) of one round over ``sources``; ends when the round ends or is stopped.

    ``deadline`` (seconds) bounds the whole round: a round still running then is stopped like ``stop``.
    """
    if not sources:
        return
    request = {
        "sources": [s.model_dump(mode="json") for s in sources],
        "now": now.isoformat(),
        "settings": settings or {},
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawlers.round_process"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",  # a stray byte on the pipe must not end the round
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(request, ensure_ascii=False))
    proc.stdin.close()
    finished = threading.Event()
    stopped = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(proc, stop, finished, stopped, deadline, grace), daemon=True
    )
    watcher.start()
    try:
        for line in proc.stdout:
            try:
                yield RoundEvent.model_validate_json(line)
            except ValidationError:
                log.warning("crawl subprocess printed a line that is not an event: %.200s", line)
        proc.wait()
    finally:
        finished.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        watcher.join()
    if proc.returncode not in (0, None) and not stopped.is_set():
        for source in sources:
            yield RoundEvent(
                problem=Problem(
                    source_id=source.id,
                    kind="crawler_crashed",
                    reason=f"crawl process exited with status {proc.returncode}",
                )
            )


def _watch(
    proc: subprocess.Popen[str],
    stop: threading.Event | None,
    finished: threading.Event,
    stopped: threading.Event,
    deadline: float | None,
    grace: float,
) -> None:
    """Terminate the round when ``stop`` is set or the deadline passes; kill it after ``grace``."""
    waited = 0.0
    while not finished.wait(0.2):
        waited += 0.2
        if (stop is not None and stop.is_set()) or (deadline is not None and waited >= deadline):
            stopped.set()
            proc.terminate()
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
            return
