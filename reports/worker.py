"""The ``reports`` stage (``yuqing worker reports``): the 日报 / 周报 on the schedule of the reports config.

Every ``check_every_seconds`` it looks at what is due — the latest day whose 日报 time has come, the
latest week whose 周报 time has come — stores it once per format (a stored period is not made again, so
restarts and repeated checks change nothing) and sends it to the configured targets: robots get the key
figures and the console link, e-mail gets the file attached. A send that failed or was held back by a
channel's per-minute limit is tried again at the next check (up to ``MAX_ATTEMPTS``). With
``today_snapshot_minutes`` it also keeps today's 日报 so far (截至 HH:MM) in the list."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerting.notify.registry import ConfiguredChannel
from reports.delivery import MAX_ATTEMPTS, DeliveryError, Target, check_targets, deliver
from reports.models import GeneratedReport, ReportDelivery
from reports.periodic import ReportPeriod, generate, summary_text
from reports.schedule_config import ReportsConfig, ReportsConfigError, due_daily, due_weekly
from reports.snapshot import store_today_snapshot
from yuqing.clock import Clock, SystemClock
from yuqing.db.session import Database
from yuqing.settings import Settings

log = logging.getLogger(__name__)
ACTOR = "schedule"


def resolve_targets(session: Session, config: ReportsConfig,
                    channels: dict[str, ConfiguredChannel]) -> list[Target]:
    """The config's ``send`` entries as targets: a robot as it is, e-mail once per address (given, or the
    duty office's people holding the roles). ``DeliveryError`` for a channel the rules file lacks."""
    from alerting.directory import Contact, Directory, DirectoryError

    targets: list[Target] = []
    office = None
    for entry in config.send:
        if entry.channel not in channels:
            check_targets([Target(entry.channel)], channels)  # raises with the list of known channels
        if not entry.to and not entry.roles:
            targets.append(Target(entry.channel))
            continue
        addresses = list(entry.to)
        if entry.roles:
            try:
                office = office or Directory.from_db(session).duty_office()
            except DirectoryError as exc:  # no directory yet: the given addresses still get the report
                log.warning("reports: e-mail by role needs the department directory: %s", exc)
                office = None
        if entry.roles and office is not None:
            people: dict[str, list[Contact | None]] = {
                "department_head": [office.head], "deputy_leader": [office.leader_in_charge],
                "duty_office": list(office.contacts)}
            addresses += [p.email for role in entry.roles for p in people[role] if p is not None and p.email]
        targets += [Target(entry.channel, a) for a in dict.fromkeys(addresses)]
    check_targets(targets, channels)
    return list(dict.fromkeys(targets))


def _needs_send(session: Session, report: GeneratedReport, targets: list[Target]) -> bool:
    done = {
        (r.channel, r.address)
        for r in session.scalars(select(ReportDelivery).where(ReportDelivery.report_id == report.id))
        if r.status == "sent" or r.attempts >= MAX_ATTEMPTS
    }
    return any((t.channel, t.address) not in done for t in targets)


class ReportScheduler:
    def __init__(self, db: Database, config: ReportsConfig, channels: dict[str, ConfiguredChannel], *,
                 console_url: str, echo: Callable[[str], None] = log.info) -> None:
        self.db, self.config, self.channels, self.console_url = db, config, channels, console_url
        self.echo = echo
        self.last_snapshot: datetime | None = None

    def tick(self, now: datetime) -> bool:
        """Make and send what is due; True when a send is still pending (it is retried next tick)."""
        with self.db.transaction() as session:
            targets = resolve_targets(session, self.config, self.channels)
        pending = False
        for rp in (due_daily(self.config, now), due_weekly(self.config, now)):
            if rp is not None:
                pending |= self._period(rp, targets, now)
        minutes = self.config.today_snapshot_minutes
        if minutes and (self.last_snapshot is None or now - self.last_snapshot >= timedelta(minutes=minutes)):
            with self.db.transaction() as session:
                row = store_today_snapshot(session, self.config.formats[0], now=now, actor=ACTOR)
                self.echo(f"{row.title}.{row.fmt}: 已存档（当日截至当前）")
            self.last_snapshot = now
        return pending

    def _period(self, rp: ReportPeriod, targets: list[Target], now: datetime) -> bool:
        pending = False
        for n, fmt in enumerate(self.config.formats):
            with self.db.transaction() as session:
                made = generate(session, rp, fmt, now=now, actor=ACTOR)
                if made.created:
                    self.echo(f"{rp.title}.{fmt}: 已生成")
                if n or made.stored is None or not _needs_send(session, made.stored, targets):
                    continue  # one message per report: the first format (attached to e-mail)
                results = deliver(session, made.stored, targets, self.channels, now=now,
                                  summary=summary_text(session, rp, now=now), console_url=self.console_url)
            for r in results:
                where = r.target.channel + (f":{r.target.address}" if r.target.address else "")
                self.echo(f"{rp.title} → {where}: {r.status} {r.detail}")
                pending |= r.status == "retry"
        return pending


def scheduler_for(settings: Settings, db: Database) -> ReportScheduler:
    """The scheduler of the configured reports file and the rules file's channels; ``ReportsConfigError``
    or ``DeliveryError`` (Chinese) for a config that cannot be used."""
    from alerting.notify import build_channels
    from alerting.rules import RulesError, load_config
    from reports.schedule_config import load_reports_config

    config = load_reports_config(settings.reports_file)
    try:
        configs = load_config(settings.rules_file).notifications.channels if config.send else []
        channels = build_channels(configs)
    except RulesError as exc:
        raise ReportsConfigError(str(exc)) from None
    scheduler = ReportScheduler(db, config, channels, console_url=settings.console_url)
    with db.transaction() as session:
        resolve_targets(session, config, channels)  # an unknown channel stops the stage at start
    return scheduler


def run(settings: Settings, stop: threading.Event, *, clock: Clock | None = None) -> None:
    from yuqing.db.session import open_database

    clock = clock or SystemClock()
    for noisy in ("weasyprint", "fontTools"):  # a line per layout step and font subset: keep warnings only
        logging.getLogger(noisy).setLevel(logging.WARNING)
    db = open_database(settings.db_url)
    try:
        scheduler = scheduler_for(settings, db)
    except (ReportsConfigError, DeliveryError) as exc:
        db.engine.dispose()
        print(f"yuqing worker reports: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    log.info("reports stage: checking every %.0f s", scheduler.config.check_every_seconds)
    while not stop.is_set():
        try:
            scheduler.tick(clock.now())
        except DeliveryError as exc:  # the directory changed under a role target: say so, keep running
            log.error("reports: %s", exc)
        except Exception:  # a database hiccup: the next check tries again (everything is idempotent)
            log.exception("reports: check failed; trying again at the next check")
        stop.wait(scheduler.config.check_every_seconds)
    db.engine.dispose()
