"""``yuqing report …``: the incident 专报 / 复盘, the 台账 and the 日报 / 周报 as files.

Bad input (an unknown incident, a date in the wrong format, an unknown format) exits with status 2 and a
message; the file is written to a temporary name and renamed once complete, so a failure leaves none."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

report_app = typer.Typer(
    help="报告：事件专报/复盘、台账、舆情日报/周报 (reports as PDF, Word, HTML, XLSX, CSV).",
    no_args_is_help=True,
)

FORMAT_HELP = "pdf | docx | html"
FROM_HELP = "first day YYYY-MM-DD (Beijing time), inclusive; default 30 days before --to"
TO_HELP = "end day YYYY-MM-DD, exclusive; default tomorrow"


def _fail(message: str) -> None:
    typer.echo(f"yuqing report: {message}", err=True)
    raise typer.Exit(2)


def _check_format(fmt: str, allowed: tuple[str, ...]) -> str:
    fmt = fmt.lower()
    if fmt not in allowed:
        _fail(f"不支持的格式 {fmt!r}（可选：{' | '.join(allowed)}）")
    return fmt


def _out(out: Path | None, default_name: str) -> Path:
    return out if out is not None else Path(default_name)


@report_app.command("incident")
def incident(
    incident_id: Annotated[str, typer.Argument(help="incident id (as on the console's incident page)")],
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "pdf",
    out: Annotated[Path | None, typer.Option("--out", help="file (default: 专报-<id>.<format>)")] = None,
) -> None:
    """事件专报 / 复盘: overview, spread charts, typical posts, handling timeline, clocks, effect review,
    and the analyst's 复盘."""
    from reports.files import write_atomic
    from reports.incident import IncidentNotFound
    from reports.service import incident_report
    from reports.session import cli_context

    fmt = _check_format(fmt, ("pdf", "docx", "html"))
    path = _out(out, f"专报-{incident_id}.{fmt}")
    with cli_context() as (db, store, now):
        try:
            with db.transaction() as session:
                data = incident_report(session, store, incident_id, fmt, now=now)
        except IncidentNotFound as exc:
            _fail(str(exc))
    write_atomic(path, data)
    typer.echo(f"{path} ({len(data)} bytes)")


@report_app.command("ledger")
def ledger(
    date_from: Annotated[str | None, typer.Option("--from", help=FROM_HELP)] = None,
    date_to: Annotated[str | None, typer.Option("--to", help=TO_HELP)] = None,
    department: Annotated[str | None, typer.Option("--department", help="department id")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="opinion | message | policy")] = None,
    fmt: Annotated[str, typer.Option("--format", help="xlsx | csv")] = "xlsx",
    out: Annotated[Path | None, typer.Option("--out", help="file (default: 台账-<from>-<to>.<fmt>)")] = None,
) -> None:
    """台账: every case of the period with every deadline, its outcome and the evidence links (XLSX, or CSV
    in UTF-8 with BOM). A period without cases gives a ledger that says so."""
    from alerting.performance import PeriodError
    from reports.files import write_atomic
    from reports.ledger import LedgerError
    from reports.service import ledger_report
    from reports.session import cli_context
    from yuqing.settings import get_settings

    fmt = _check_format(fmt, ("xlsx", "csv"))
    with cli_context() as (db, _store, now):
        try:
            with db.transaction() as session:
                data, name = ledger_report(
                    session, date_from=date_from, date_to=date_to, department=department, kind=kind, fmt=fmt,
                    now=now, console_url=get_settings().console_url,
                )
        except (PeriodError, LedgerError) as exc:
            _fail(str(exc))
    path = _out(out, name)
    write_atomic(path, data)
    typer.echo(f"{path} ({len(data)} bytes)")


def _periodic(kind: str, key: str, fmt: str, out: Path | None) -> None:
    from reports.files import write_atomic
    from reports.periodic import ReportPeriodError, generate, period_of
    from reports.session import cli_context

    fmt = _check_format(fmt, ("pdf", "docx", "html"))
    try:
        rp = period_of(kind, key)
    except ReportPeriodError as exc:
        _fail(str(exc))
    with cli_context() as (db, _store, now), db.transaction() as session:
        made = generate(session, rp, fmt, now=now, actor="cli")
    path = _out(out, f"{rp.title}.{fmt}")
    write_atomic(path, made.data)
    note = "已存档" if made.stored is not None and made.created else (
        "返回已存档的报告" if made.stored is not None else "期间尚未结束，未存档")
    typer.echo(f"{path} ({len(made.data)} bytes; {note})")


@report_app.command("daily")
def daily(
    day: Annotated[str, typer.Option("--date", help="the day, YYYY-MM-DD (Beijing time)")],
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "pdf",
    out: Annotated[Path | None, typer.Option("--out", help="file (default: 舆情日报（…）.<format>)")] = None,
) -> None:
    """舆情日报: new incidents by level, region and category; alerts opened, on time, breached; the hottest
    incidents; departments' on-time rates; trend charts. Stored once the day has ended (idempotent)."""
    _periodic("daily", day, fmt, out)


@report_app.command("weekly")
def weekly(
    week: Annotated[str, typer.Option("--week", help="ISO week, e.g. 2026-W49 (Monday to Sunday)")],
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "pdf",
    out: Annotated[Path | None, typer.Option("--out", help="file (default: 舆情周报（…）.<format>)")] = None,
) -> None:
    """舆情周报: the 日报's contents over one ISO week, with a chart per day. Stored once the week ended."""
    _periodic("weekly", week, fmt, out)


SEND_HELP = ("channel of the rules file to send to, or CHANNEL:ADDRESS for e-mail (repeatable); each report "
             "is sent once, failures retried next run")


def _targets(send: list[str] | None) -> tuple[list[object], dict[str, object]]:
    from alerting.notify import build_channels
    from alerting.rules import RulesError, load_config
    from reports.delivery import DeliveryError, Target, check_targets
    from yuqing.settings import get_settings

    try:
        targets = [Target.parse(t) for t in send or []]
        configs = load_config(get_settings().rules_file).notifications.channels if targets else []
        channels = build_channels(configs)
        check_targets(targets, channels)
    except (DeliveryError, RulesError) as exc:
        _fail(str(exc))
    return targets, channels  # type: ignore[return-value]


@report_app.command("due")
def due(
    fmt: Annotated[list[str] | None, typer.Option("--format", help="formats to store (repeatable)")] = None,
    send: Annotated[list[str] | None, typer.Option("--send", help=SEND_HELP)] = None,
) -> None:
    """Store yesterday's 日报 and last week's 周报 if not stored yet (idempotent) and send them to the
    leaders' channels: run it daily at 08:00 Asia/Shanghai from cron or a systemd timer (or use
    ``yuqing report schedule``). Exit 1 while a send is pending."""
    from reports.delivery import DeliveryError
    from reports.schedule import run_due
    from reports.session import cli_context
    from yuqing.settings import get_settings

    formats = [_check_format(f, ("pdf", "docx", "html")) for f in (fmt or ["pdf", "docx"])]
    targets, channels = _targets(send)
    with cli_context() as (db, _store, now):
        try:
            pending = run_due(db, now, formats=formats, targets=targets, channels=channels,  # type: ignore[arg-type]
                              console_url=get_settings().console_url, echo=typer.echo)
        except DeliveryError as exc:
            _fail(str(exc))
    if pending:
        raise typer.Exit(1)


@report_app.command("schedule")
def schedule(
    at: Annotated[str, typer.Option("--at", help="time of day, HH:MM Asia/Shanghai")] = "08:00",
    fmt: Annotated[list[str] | None, typer.Option("--format", help="formats to store (repeatable)")] = None,
    send: Annotated[list[str] | None, typer.Option("--send", help=SEND_HELP)] = None,
) -> None:
    """Run ``yuqing report due`` now and then every day at --at (Beijing time) until stopped (Ctrl-C or
    SIGTERM). A failed send is retried at the next run."""
    import contextlib
    import signal
    import threading

    from reports.schedule import ScheduleError, parse_at, run_due, serve
    from reports.session import cli_context
    from yuqing.clock import SystemClock
    from yuqing.settings import get_settings

    try:
        when = parse_at(at)
    except ScheduleError as exc:
        _fail(str(exc))
    formats = [_check_format(f, ("pdf", "docx", "html")) for f in (fmt or ["pdf", "docx"])]
    targets, channels = _targets(send)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with cli_context() as (db, _store, _now):
        def job(now: object) -> None:
            run_due(db, now, formats=formats, targets=targets, channels=channels,  # type: ignore[arg-type]
                    console_url=get_settings().console_url, echo=typer.echo)

        typer.echo(f"yuqing report schedule: 每天 {when:%H:%M}（北京时间）生成日报/周报")
        with contextlib.suppress(KeyboardInterrupt):
            serve(SystemClock(), when, job, stop)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
