"""Replay sources: a JSON-lines file of posts played back with their original spacing at ``speed``.

Each line: ``url``, ``title``, ``content``, ``author``, ``published_at`` (ISO-8601), ``counts`` and
optionally ``seen_at`` (when this snapshot was observed; a later line with the same URL and higher counts
becomes an update). Lines come out when ``(seen_at - first seen_at) / speed`` has passed since the replay
started; with ``rebase_time`` their times are moved so the event starts when the replay started.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from crawlers.config import ReplaySource
from crawlers.items import CrawledItem, Problem
from yuqing.schemas import Counts


class ReplayLine(BaseModel):
    url: str
    title: str = ""
    content: str = ""
    author: str | None = None
    published_at: AwareDatetime
    seen_at: AwareDatetime | None = None
    counts: Counts = Field(default_factory=Counts)

    @property
    def at(self) -> datetime:
        return self.seen_at or self.published_at


@dataclass
class ReplayFile:
    lines: list[ReplayLine]
    problems: list[Problem]

    @property
    def start(self) -> datetime | None:
        return self.lines[0].at if self.lines else None


def load_replay(source: ReplaySource) -> ReplayFile:
    """Valid lines in time order; a broken line is a Problem naming the line number."""
    lines: list[ReplayLine] = []
    problems: list[Problem] = []
    try:
        raw_lines = Path(source.file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return ReplayFile(
            [],
            [
                Problem(
                    source_id=source.id,
                    kind="replay_file",
                    url=str(source.file),
                    reason=f"cannot read the replay file: {exc}",
                )
            ],
        )
    for number, text in enumerate(raw_lines, start=1):
        if not text.strip():
            continue
        try:
            lines.append(ReplayLine.model_validate(json.loads(text)))
        except (ValueError, ValidationError) as exc:
            problems.append(
                Problem(
                    source_id=source.id,
                    kind="parse",
                    url=f"{source.file}:{number}",
                    reason=f"line {number} skipped: {str(exc).splitlines()[0]}",
                )
            )
    lines.sort(key=lambda line: line.at)
    return ReplayFile(lines, problems)


def to_item(
    source: ReplaySource, line: ReplayLine, event_start: datetime, started_at: datetime
) -> CrawledItem:
    published = line.published_at
    if source.rebase_time:
        published = started_at + (line.published_at - event_start) / source.speed
    return CrawledItem(
        source_id=source.id,
        url=line.url,
        title=line.title,
        content=line.content,
        author=line.author,
        published_at=published,
        counts=line.counts,
    )


def due_lines(
    source: ReplaySource, replay: ReplayFile, started_at: datetime, position: int, now: datetime
) -> tuple[list[CrawledItem], int]:
    """Items of the lines due by ``now`` from ``position`` on, and the new position."""
    start = replay.start
    if start is None:
        return [], position
    played = (now - started_at) * source.speed
    items = []
    while position < len(replay.lines) and replay.lines[position].at - start <= played:
        items.append(to_item(source, replay.lines[position], start, started_at))
        position += 1
    return items, position
