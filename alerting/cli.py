"""Sub-commands of the alerting domain: ``yuqing deadline``, ``yuqing departments import|list`` and
``yuqing alerts reassign|consult`` (``alerting.assign_cli``)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from yuqing.domain import DEADLINE_KINDS

departments_app = typer.Typer(
    help="The department directory (属地管理、分级负责、谁主管谁负责).", no_args_is_help=True
)


def _fail(command: str, message: str) -> typer.Exit:
    typer.echo(f"yuqing {command}: {message}", err=True)
    return typer.Exit(2)


def deadline(
    kind: Annotated[str, typer.Argument(help="a deadline kind: " + ", ".join(DEADLINE_KINDS))],
    start: Annotated[str, typer.Argument(help="ISO-8601 time, e.g. 2026-09-30T10:00:00+08:00 "
                                              "(without an offset: Asia/Shanghai)")],
    overrides: Annotated[Path | None, typer.Option(help="holiday override YAML (a file or a folder)")] = None,
    policies: Annotated[Path | None, typer.Option(help="policies YAML (default: the policies_file setting)")]
    = None,
) -> None:
    """Print when a deadline of KIND that starts at START falls due, as one JSON object."""
    from alerting.calendar import CalendarError, WorkCalendar
    from alerting.clocks import Policies, PolicyError, UnknownDeadlineKind, due_for
    from yuqing.clock import CN_TZ, aware

    try:
        begin = aware(datetime.fromisoformat(start), CN_TZ)
    except ValueError:
        raise _fail("deadline", f"START {start!r} is not an ISO-8601 time "
                                "(e.g. 2026-09-30T10:00:00+08:00)") from None
    try:
        due = due_for(kind, begin, policies=Policies.load(policies),
                      calendar=WorkCalendar.load(overrides))
    except (UnknownDeadlineKind, PolicyError, CalendarError) as exc:
        raise _fail("deadline", str(exc)) from None
    typer.echo(json.dumps({
        "kind": due.kind,
        "start": due.start.isoformat(),
        "due_at": due.due_at.isoformat(),
        "provisional": due.provisional,
    }, ensure_ascii=False))


@departments_app.command("import")
def departments_import(
    file: Annotated[Path, typer.Argument(help="directory YAML, e.g. alerting/config/departments.yaml")],
) -> None:
    """Validate FILE and replace the stored department directory with it (one transaction, audited)."""
    from alerting.directory import Directory, DirectoryError
    from yuqing.audit import record
    from yuqing.clock import utcnow
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings

    try:
        directory = Directory.load_yaml(file)
    except DirectoryError as exc:
        raise _fail("departments import", str(exc)) from None
    db = open_database(get_settings().db_url)
    try:
        with db.transaction() as session:
            now = utcnow()
            directory.save(session, now=now)
            record(session, at=now, actor="cli", channel="cli", action="directory.import",
                   object_type="directory", object_id="departments", reason=f"imported {file}",
                   details={"departments": len(directory.departments),
                            "duty_rosters": len(directory.config.duty_rosters)})
    finally:
        db.close()
    typer.echo(f"imported {len(directory.departments)} departments and "
               f"{len(directory.config.duty_rosters)} duty rosters from {file}")


@departments_app.command("list")
def departments_list(
    region: Annotated[str | None, typer.Option(help="only this region and the regions under it")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Show the stored department directory."""
    from alerting.directory import Directory, DirectoryError, normalize_region
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings

    try:
        prefix = normalize_region(region) if region else ""
    except ValueError as exc:
        raise _fail("departments list", str(exc)) from None
    db = open_database(get_settings().db_url)
    try:
        with db.transaction() as session:
            directory = Directory.from_db(session)
    except DirectoryError as exc:
        raise _fail("departments list", str(exc)) from None
    finally:
        db.close()
    for dept in directory.departments:
        if not dept.region.startswith(prefix):
            continue
        if as_json:
            typer.echo(dept.model_dump_json(exclude_none=True))
        else:
            head = dept.head.name if dept.head else "-"
            leader = dept.leader_in_charge.name if dept.leader_in_charge else "-"
            typer.echo(f"{dept.region:<7} {dept.level:<8} {dept.id:<14} {dept.type:<12} {dept.name}  "
                       f"负责人 {head}  分管领导 {leader}")


def register(app: typer.Typer) -> None:
    """Add this domain's commands to the main app."""
    from alerting.policies_cli import policies_app
    from alerting.rules_cli import rules_app

    app.command("deadline")(deadline)
    app.add_typer(departments_app, name="departments")
    app.add_typer(rules_app, name="rules")
    app.add_typer(policies_app, name="policies")
    from alerting.assign_cli import alerts_app

    app.add_typer(alerts_app, name="alerts")
