"""Sub-commands of the crawlers: ``yuqing sources check|test|health`` and ``yuqing crawl SOURCE_ID``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

sources_app = typer.Typer(help="Crawl sources (one YAML file per source).", no_args_is_help=True)


@sources_app.command("check")
def check(
    path: Annotated[
        Path | None, typer.Argument(help="a folder or a file; default: YUQING_SOURCES_DIR")
    ] = None,
) -> None:
    """Validate source files; print each problem as FILE: FIELD: PROBLEM."""
    from crawlers.config import check_sources, source_files
    from yuqing.settings import get_settings

    target = path or get_settings().sources_dir
    problems = check_sources(target)
    for problem in problems:
        typer.echo(str(problem), err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"ok: {len(source_files(target))} source file(s) in {target}")


@sources_app.command("test")
def test(file: Annotated[Path, typer.Argument(help="one source YAML file")]) -> None:
    """Fetch the source once and print the extracted items as JSON lines; nothing is emitted or stored.

    Problems go to stderr; the exit status is 1 when no item could be extracted."""
    from crawlers.config import ReplaySource, SourceFileError, load_source_file
    from crawlers.fetch import fetch_round
    from crawlers.replay import load_replay, to_item
    from yuqing.clock import SystemClock

    try:
        source = load_source_file(file)
    except SourceFileError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    now = SystemClock().now()
    found = 0
    if isinstance(source, ReplaySource):
        replay = load_replay(source)
        for problem in replay.problems:
            typer.echo(f"{problem.kind}: {problem.url}: {problem.reason}", err=True)
        for line in replay.lines:
            found += 1
            typer.echo(to_item(source, line, replay.start or now, now).model_dump_json())
    else:
        for event in fetch_round([source], now):
            if event.item is not None:
                found += 1
                typer.echo(event.item.model_dump_json())
            elif event.problem is not None:
                p = event.problem
                typer.echo(f"{p.kind}: {p.url or '-'}: {p.reason}", err=True)
    typer.echo(f"{found} item(s) from {source.id}", err=True)
    if not found:
        raise typer.Exit(1)


@sources_app.command("health")
def health(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per source")] = False,
) -> None:
    """Last success, items in the last hour/day, errors by kind and the silent signal per source."""
    from crawlers.config import load_sources
    from crawlers.health import source_health
    from yuqing.clock import SystemClock
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings

    settings = get_settings()
    settings.ensure_data_dir()
    db = open_database(settings.db_url)
    with db.transaction() as session:
        rows = source_health(session, SystemClock().now(), sources=load_sources(settings.sources_dir)[0])
    db.close()
    for row in rows:
        if as_json:
            typer.echo(row.model_dump_json())
        else:
            errors = ", ".join(f"{k}={v}" for k, v in row.errors_last_day.items()) or "-"
            last = row.last_success_at.isoformat(timespec="seconds") if row.last_success_at else "never"
            why = f"  — {row.reason}" if row.reason else ""
            typer.echo(
                f"{row.source_id:<24} {row.status:<9} last ok {last}  items 1h={row.items_last_hour} "
                f"24h={row.items_last_day}  errors 24h: {errors}{why}"
            )


def crawl(
    source_id: Annotated[str, typer.Argument(help="the id of a source in YUQING_SOURCES_DIR")],
    once: Annotated[bool, typer.Option("--once", help="crawl one round and exit")] = False,
) -> None:
    """Crawl one source and emit new and updated posts to the raw-posts topic (repeatedly unless --once)."""
    from crawlers.config import load_sources
    from crawlers.crawl import crawl_round
    from yuqing.bus import open_bus
    from yuqing.cli.core_cmds import stop_on_signals
    from yuqing.clock import SystemClock
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings

    settings = get_settings()
    sources, problems = load_sources(settings.sources_dir)
    chosen = [s for s in sources if s.id == source_id]
    if not chosen:
        for problem in problems:
            typer.echo(str(problem), err=True)
        known = ", ".join(s.id for s in sources) or "none"
        typer.echo(
            f"yuqing crawl: no enabled source {source_id!r} in {settings.sources_dir} (known: {known})",
            err=True,
        )
        raise typer.Exit(2)
    settings.ensure_data_dir()
    db = open_database(settings.db_url)
    bus = open_bus(settings.bus_url, partitions=settings.bus_partitions)
    producer = bus.producer()
    stop = stop_on_signals()
    try:
        while not stop.is_set():
            summary = crawl_round(chosen, db=db, producer=producer, clock=SystemClock(), stop=stop)[source_id]
            errors = ", ".join(f"{k}={v}" for k, v in summary.errors.items()) or "none"
            typer.echo(
                f"{source_id}: pages={summary.pages} found={summary.items_found} new={summary.new} "
                f"updated={summary.updated} errors: {errors}",
                err=True,
            )
            if once:
                break
            stop.wait(chosen[0].interval)
    finally:
        producer.close()
        bus.close()
        db.close()
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the main app."""
    app.add_typer(sources_app, name="sources")
    app.command("crawl")(crawl)
