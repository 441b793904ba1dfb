"""Core commands: ``yuqing worker STAGE``, ``yuqing db upgrade`` (and the search and demo commands
from their own modules)."""

from __future__ import annotations

import importlib
import logging
import signal
import threading
from typing import Annotated

import typer

from yuqing.cli import deadletters, demo, search_cmd
from yuqing.topology import STAGES

db_app = typer.Typer(help="Relational database (SQLite by default, PostgreSQL by YUQING_DB_URL).",
                     no_args_is_help=True)


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM, so a stage finishes its batch and exits cleanly."""
    stop = threading.Event()

    def _handler(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    return stop


def run_stage(name: str, stop: threading.Event) -> None:
    from yuqing.settings import get_settings

    settings = get_settings()  # wrong settings stop here, before anything starts
    settings.ensure_data_dir()
    module_name, func_name = STAGES[name].target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    func(settings, stop)


def worker(
    stage: Annotated[str, typer.Argument(help=f"one of: {', '.join(STAGES)}")],
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING")] = "INFO",
) -> None:
    """Run one pipeline stage as its own process (for scale-out and docker-compose)."""
    if stage not in STAGES:
        typer.echo(f"yuqing worker: unknown stage {stage!r}; choose one of: {', '.join(STAGES)}", err=True)
        raise typer.Exit(2)
    logging.getLogger().setLevel(log_level.upper())
    run_stage(stage, stop_on_signals())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every database migration (safe to run again)."""
    from yuqing.db.migrate import upgrade
    from yuqing.db.session import make_engine
    from yuqing.settings import get_settings

    settings = get_settings()
    settings.ensure_data_dir()
    upgrade(make_engine(settings.db_url))
    typer.echo("database is up to date")


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.add_typer(db_app, name="db")
    search_cmd.register(app)
    demo.register(app)
    deadletters.register(app)
