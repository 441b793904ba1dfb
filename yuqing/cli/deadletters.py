"""``yuqing deadletters``: what the stages could not process, with the stage and the reason."""

from __future__ import annotations

import json
import uuid
from typing import Annotated

import typer


def read_dead_letters(bus_url: str, partitions: int, limit: int, idle_polls: int = 3) -> list[dict]:
    """Read the dead-letter topic from the start without committing (an ephemeral consumer group)."""
    from yuqing.bus import open_bus
    from yuqing.topology import Topics

    bus = open_bus(bus_url, partitions=partitions)
    consumer = bus.consumer(f"deadletters-cli-{uuid.uuid4().hex[:8]}", [Topics.DEAD_LETTER])
    letters: list[dict] = []
    idle = 0
    try:
        while len(letters) < limit and idle < idle_polls:
            batch = consumer.poll(timeout=1.0, max_records=limit - len(letters))
            idle = 0 if batch else idle + 1
            for message in batch:
                try:
                    letters.append(message.json())
                except ValueError:
                    letters.append(
                        {"stage": "?", "reason": "unreadable dead letter", "payload": repr(message.value)}
                    )
    finally:
        consumer.close()
        bus.close()
    return letters


def deadletters(
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="At most this many")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """List dead letters: messages a stage could not process, with the stage and the reason."""
    from yuqing.settings import get_settings

    settings = get_settings()
    letters = read_dead_letters(settings.bus_url, settings.bus_partitions, limit)
    if as_json:
        for letter in letters:
            typer.echo(json.dumps(letter, ensure_ascii=False))
        return
    if not letters:
        typer.echo("no dead letters")
        return
    for letter in letters:
        where = f"{letter.get('topic')}/{letter.get('partition')}@{letter.get('offset')}"
        typer.echo(f"{letter.get('failed_at', '')[:19]}  {letter.get('stage', '?'):<10} {where:<22} "
                   f"{letter.get('error_type', '')}: {letter.get('reason', '')[:120]}")


def register(app: typer.Typer) -> None:
    app.command("deadletters")(deadletters)
