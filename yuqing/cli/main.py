"""``yuqing``: one command line for every stage. Each domain owns its sub-commands (nlp/cli.py,
crawlers/cli.py, alerting/cli.py, api/cli.py); heavy imports happen inside the commands so
``yuqing --help`` and small scriptable commands start fast."""

from __future__ import annotations

import logging
import sys

import typer

from alerting.cli import register as register_alerting
from api.cli import register as register_api
from crawlers.cli import register as register_crawlers
from nlp.cli import register as register_nlp
from nlp.plans.cli import register as register_plans
from reports.cli import register as register_reports
from yuqing.cli.core_cmds import register as register_core

app = typer.Typer(
    name="yuqing",
    help="政务舆情监测与回应系统: crawl, tag, rank and answer government-related public opinion in time.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for register in (register_core, register_crawlers, register_nlp, register_alerting, register_api):
    register(app)
register_reports(app)
register_plans(app)


def main() -> None:
    from yuqing.bus import BusError
    from yuqing.settings import SettingsError
    from yuqing.storage import StoreError

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app()
    except (SettingsError, BusError, StoreError) as exc:
        typer.echo(f"yuqing: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
