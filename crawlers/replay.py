"""Replay sources: a JSON-lines file of posts played back with their original spacing at ``speed``.

Each line: ``url``, ``title``, ``content``, ``author``, ``published_at`` (ISO-8601), ``counts`` and
optionally ``seen_at`` (when this snapshot was observed; a later line with the same URL and higher counts,
or with a ``reply`` — ``{text, department, replied_at}``, a 留言's official reply — becomes an update).
Lines come out when ``(seen_at - first seen_at) / speed`` has passed since the replay started; with
``rebase_time`` their times are moved so the event starts when the replay started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from crawlers.config import ReplaySource
from crawlers.extract import bad_url_problem, http_url
from crawlers.items import CrawledItem, Problem
from yuqing.safe_input import loads_bounded, valid_unicode, valid_unicode_deep
from yuqing.schemas import Counts, OfficialReply

MAX_LINE_BYTES = 1024 * 1024


class ReplayLine(BaseModel):
    url: str
    title: str = ""
    content: str = ""
    author: str | None = None
    published_at: AwareDatetime
    seen_at: AwareDatetime | None = None
    counts: Counts = Field(default_factory=Counts)
    reply: OfficialReply | None = Field(default=None, description="a 留言's official reply, once shown")

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
        where = f"{source.file}:{number}"
        try:
            data, fixed = valid_unicode_deep(loads_bounded(text, max_bytes=MAX_LINE_BYTES))
            data, bad_reply = _without_bad_reply(data)
            line = ReplayLine.model_validate(data)
        except (ValueError, ValidationError) as exc:
            reason = valid_unicode(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[0]
            reason = f"line {number} skipped: {reason}"
            problems.append(Problem(source_id=source.id, kind="parse", url=where, reason=reason))
            continue
        if bad_reply:  # the post is kept: a broken reply never costs the 留言 its case
            reason = f"line {number}: reply ignored: {bad_reply}"
            problems.append(Problem(source_id=source.id, kind="parse", url=where, reason=reason))
        if http_url(line.url) is None:
            problems.append(bad_url_problem(source.id, line.url, f"line {number}"))
            continue
        if fixed:
            problems.append(
                Problem(
                    source_id=source.id,
                    kind="bad_text",
                    url=where,
                    reason=f"line {number}: {fixed} invalid character(s) (lone surrogates or NUL) "
                    "replaced with U+FFFD; the line is kept",
                )
            )
        lines.append(line)
    lines.sort(key=lambda line: line.at)
    return ReplayFile(lines, problems)


def _without_bad_reply(data: object) -> tuple[object, str | None]:
    """The line's data, its ``reply`` dropped when it is not a valid reply (and why)."""
    if not isinstance(data, dict) or data.get("reply") is None:
        return data, None
    try:
        OfficialReply.model_validate(data["reply"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "reply"
        return {k: v for k, v in data.items() if k != "reply"}, f"{where}: {first['msg']}"
    return data, None


def to_item(
    source: ReplaySource, line: ReplayLine, event_start: datetime, started_at: datetime
) -> CrawledItem:
    published = line.published_at
    reply = line.reply
    if source.rebase_time:
        published = started_at + (line.published_at - event_start) / source.speed
        if reply is not None and reply.replied_at is not None:
            replied = started_at + (reply.replied_at - event_start) / source.speed
            reply = reply.model_copy(update={"replied_at": replied})
    return CrawledItem(
        source_id=source.id,
        url=line.url,
        title=line.title,
        content=line.content,
        author=line.author,
        published_at=published,
        counts=line.counts,
        reply=reply,
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
