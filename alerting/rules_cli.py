"""``yuqing rules check`` and ``yuqing rules explain``: try alert rules before the worker reloads them.

Officers edit ``rules.yaml`` while the alerting worker runs; a bad edit is logged there and ignored. These
commands show the problem (or the effect) first: ``check`` validates the file and its channels,
``explain`` evaluates incidents (JSON lines, as on the incidents topic) and says which conditions failed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

rules_app = typer.Typer(help="Alert rules (rules.yaml): validate them, or see what they make of incidents.",
                        no_args_is_help=True)

FileArg = Annotated[Path | None, typer.Argument(help="rules YAML (default: the rules_file setting)")]


def _fail(command: str, message: str) -> typer.Exit:
    typer.echo(f"yuqing rules {command}: {message}", err=True)
    return typer.Exit(2)


def _path(file: Path | None) -> Path:
    if file is not None:
        return file
    from yuqing.settings import get_settings

    return get_settings().rules_file


@rules_app.command("check")
def check(file: FileArg = None) -> None:
    """Validate FILE; print the rules by level and the channels. Exit 2 naming the field on an error."""
    from alerting.notify.registry import channel_type
    from alerting.rules import RulesError, load_config, unset_environment

    path = _path(file)
    try:
        config = load_config(path)
        kinds = {c.name: channel_type(c.type) for c in config.notifications.channels}
    except RulesError as exc:
        raise _fail("check", str(exc)) from None
    if unset := unset_environment(config):
        raise _fail("check", "; ".join(f"{path}: {line}" for line in unset))
    typer.echo(f"{path}: {len(config.rules)} rules")
    for rule in config.rules:
        conditions = ", ".join(f"{k}={v}" for k, v in rule.when.model_dump(exclude_none=True).items())
        typer.echo(f"  {rule.level:<4} {rule.name}: {conditions}")
    ladder, breach, unacked = config.escalation, config.escalation.breach, config.escalation.unacknowledged
    steps = [f"{t.name}→{'/'.join(t.notify)}" for t in ladder.reminders]
    typer.echo(f"escalation: {', '.join(steps)}, breach→{'/'.join(breach.notify)} "
               f"(督办 {'yes' if breach.supervise else 'no'}, every {breach.repeat_every_minutes} "
               f"min × {breach.repeat_max}), unacknowledged {'/'.join(unacked.levels)} "
               f"after {unacked.after_minutes} min")
    for channel in config.notifications.channels:
        rate = channel.per_minute or kinds[channel.name].per_minute or "-"
        typer.echo(f"channel {channel.name}: {channel.type}, {rate}/min")


@rules_app.command("explain")
def explain(file: FileArg = None) -> None:
    """Read incidents as JSON lines on stdin; print, per incident, the level, the matching rules and, for
    every other rule, the conditions that failed. A line that is not an incident gets an ``error``."""
    from pydantic import ValidationError

    from alerting.rules import RulesError, evaluate, load_config
    from yuqing.clock import utcnow
    from yuqing.schemas import Incident

    try:
        config = load_config(_path(file))
    except RulesError as exc:
        raise _fail("explain", str(exc)) from None
    now = utcnow()
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            incident = Incident.model_validate_json(line)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(line)"
            out = {"line": number, "error": f"{where}: {first['msg']}"}
        else:
            decision = evaluate(config, incident, now)
            out = {
                "line": number,
                "incident_id": incident.id,
                "kind": incident.kind,
                "level": decision.level,
                "matched": list(decision.matched),
                "failed": {r.name: r.when.failed(incident, now) for r in config.rules
                           if r.name not in decision.matched},
            }
        typer.echo(json.dumps(out, ensure_ascii=False))
