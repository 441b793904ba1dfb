"""Response playbooks: what a department does for a case, phase by phase (研判 → 回应 → 督办 → 效果评估).

Playbooks are YAML files in this folder (or ``settings.playbooks_dir``), validated on load. ``select``
picks the most specific playbook for a case's category, level, kind and text; ``default.yaml`` catches
the rest. Every playbook must cover the four phases the rules require for every serious case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from yuqing.domain import IncidentKind
from yuqing.safe_input import ConfigFileError, load_yaml_file
from yuqing.schemas import SEVERITY_ORDER, severity_rank

Phase = Literal["研判", "回应", "督办", "效果评估"]
REQUIRED_PHASES: tuple[str, ...] = ("研判", "回应", "督办", "效果评估")
HERE = Path(__file__).resolve().parent


class PlaybookError(ValueError):
    """A playbook file is invalid; the message names the file and the field."""


class Step(BaseModel):
    phase: Phase
    action: str = Field(min_length=2)
    owner: Literal["department", "duty_office", "leader", "publicity", "analyst"] = "department"
    within: str | None = Field(default=None, description="a deadline kind or a duration like 2h")
    evidence: str | None = Field(default=None, description="what proves the step was done")


class Match(BaseModel):
    categories: list[str] = Field(default_factory=list)
    min_level: str | None = None
    kinds: list[IncidentKind] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)

    @field_validator("min_level")
    @classmethod
    def _level(cls, v: str | None) -> str | None:
        if v is not None and v not in SEVERITY_ORDER:
            raise ValueError(f"min_level must be one of {', '.join(SEVERITY_ORDER)}")
        return v


class Playbook(BaseModel):
    id: str = Field(pattern=r"^[a-z0-9_\-]+$")
    name: str
    match: Match = Field(default_factory=Match)
    steps: list[Step]

    @model_validator(mode="after")
    def _all_phases(self) -> Playbook:
        present = {s.phase for s in self.steps}
        missing = [p for p in REQUIRED_PHASES if p not in present]
        if missing:
            raise ValueError(f"steps must cover every phase; missing: {', '.join(missing)}")
        return self

    def matches(self, *, category: str | None, level: str | None, kind: str, text: str) -> int:
        """0 when it does not apply; otherwise a specificity score (higher is more specific)."""
        m, score = self.match, 1
        if m.categories:
            if category not in m.categories:
                return 0
            score += 4
        if m.min_level:
            if severity_rank(level) < severity_rank(m.min_level):
                return 0
            score += 6  # statutory 5 h / 24 h clocks outrank a category's ordinary routine
        if m.kinds:
            if kind not in m.kinds:
                return 0
            score += 3
        if m.keywords:
            hits = sum(1 for k in m.keywords if k in text)
            if not hits:
                return 0
            score += 2 + hits
        return score


def load_playbooks(folder: Path | None = None) -> list[Playbook]:
    folder = folder or HERE
    books: list[Playbook] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = load_yaml_file(path, what="playbook")  # the project's safe loader: bounded, UTF-8
            books.append(Playbook.model_validate(data))
        except ConfigFileError as exc:
            raise PlaybookError(str(exc)) from None
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "(top)"
            raise PlaybookError(f"{path.name}: {where}: {err['msg']}") from None
    ids = [b.id for b in books]
    if len(ids) != len(set(ids)):
        raise PlaybookError(f"duplicate playbook ids in {folder}")
    if "default" not in ids:
        raise PlaybookError(f"{folder}: a playbook with id 'default' is required")
    return books


def select(
    books: list[Playbook], *, category: str | None, level: str | None, kind: str = "opinion", text: str = ""
) -> Playbook:
    """The most specific playbook that applies (``default`` when none does)."""
    scored = [(b.matches(category=category, level=level, kind=kind, text=text), b) for b in books]
    best = max((s for s in scored if s[0] > 0), key=lambda s: s[0], default=None)
    return best[1] if best else next(b for b in books if b.id == "default")
