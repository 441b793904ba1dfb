"""Scheduled 日报 / 周报: store yesterday's 日报 and last week's 周报 (idempotent) and send them to the
leaders' channels, at a time of day in Asia/Shanghai (``yuqing report schedule --at 08:00``), or once per
call (``yuqing report due``, for cron or a systemd timer)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta

from alerting.notify.registry import ConfiguredChannel
from reports.delivery import Target, deliver
from reports.periodic import generate, last_complete, summary_text
from yuqing.clock import CN_TZ, Clock
from yuqing.db.session import Database

log = logging.getLogger(__name__)


class ScheduleError(ValueError):
    """A time of day in the wrong format; Chinese message."""


def parse_at(text: str) -> time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", (text or "").strip())
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ScheduleError(f"时间“{text}”无效，请用 HH:MM（北京时间），如 08:00")
    return time(int(match[1]), int(match[2]))


def next_run(now: datetime, at: time) -> datetime:
    """The next ``at`` (Beijing time) strictly after ``now``."""
    local = now.astimezone(CN_TZ)
    candidate = datetime.combine(local.date(), at, CN_TZ)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, CN_TZ)
    return candidate


def run_due(db: Database, now: datetime, *, formats: list[str], targets: list[Target],
            channels: dict[str, ConfiguredChannel], console_url: str, echo: Callable[[str], None]) -> bool:
    """Generate what is due and send it; True when a send is still pending or failed."""
    pending = False
    for kind in ("daily", "weekly"):
        rp = last_complete(kind, now)
        for n, fmt in enumerate(formats):
            with db.transaction() as session:
                made = generate(session, rp, fmt, now=now, actor="schedule")
                echo(f"{rp.title}.{fmt}: {'已生成' if made.created else '已存在'}")
                if n or not targets or made.stored is None:
                    continue  # one message per report (it links the first format's file)
                results = deliver(session, made.stored, targets, channels, now=now,
                                  summary=summary_text(session, rp, now=now), console_url=console_url)
            for r in results:
                where = r.target.channel + (f":{r.target.address}" if r.target.address else "")
                echo(f"  → {where}: {r.status} {r.detail}")
                pending |= r.status in ("retry", "failed")
    return pending


def serve(clock: Clock, at: time, job: Callable[[datetime], object], stop: threading.Event) -> int:
    """Run ``job`` now (catching up after a restart; it is idempotent) and then every day at ``at``
    until ``stop`` is set; returns how many runs there were."""
    runs = 0
    while not stop.is_set():
        try:
            job(clock.now())
        except Exception:
            log.exception("scheduled reports failed; next try at the next run")
        runs += 1
        wait = (next_run(clock.now(), at) - clock.now()).total_seconds()
        if stop.wait(max(0.0, wait)):
            break
    return runs
