"""A report as a list of blocks (headings, paragraphs, tables, charts), so the HTML/PDF and the Word
renderings are made from one description and say the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    text: str
    url: str


Cell = str | Link


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Para:
    text: str
    strong: bool = False


@dataclass
class Table:
    header: list[str]
    rows: Sequence[Sequence[Cell]]
    empty: str = "无"  # what the report says when there are no rows


@dataclass
class Image:
    png: bytes
    caption: str


Block = Heading | Para | Table | Image


@dataclass
class Document:
    title: str
    subtitle: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> Document:
        self.blocks.extend(blocks)
        return self
