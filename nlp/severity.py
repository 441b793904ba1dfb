"""Emergency severity candidates (一般 / 较大 / 重大 / 特别重大) from explainable rules.

The rules and thresholds are data (``nlp/data/severity.yaml``): casualty counts ("3人死亡", "致三死五伤",
"死亡人数升至31人"), direct economic loss, crowd sizes, and emergency words (explosion, fire, collapse,
flood, epidemic, mass incident, food and drug safety, officials' misconduct). Children and schools
raise the level one step when harm is present. Every level comes with the words and numbers behind it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import ahocorasick
import cn2an
import yaml

from yuqing.schemas import SEVERITY_ORDER, Severity, SeverityLevel

LEXICON = Path(__file__).resolve().parent / "data" / "severity.yaml"
_CN_DIGITS = "零〇一二两三四五六七八九十百千万亿"
_NUM = rf"(?P<num>\d+(?:\.\d+)?|[{_CN_DIGITS}]+|数十|几十|数百|几百|上百|近百|数千|几千|上千)"
_MORE = r"(?P<more>余|多|几)?"
_CLAUSE_GAP = r"[^\d，。；！？,;!?：:\n]"
_NEGATION_WINDOW = 6


@dataclass(frozen=True)
class _CountRule:
    kind: str
    verbs: tuple[str, ...]
    thresholds: dict[str, float]


@dataclass(frozen=True)
class _Rules:
    counts: tuple[_CountRule, ...]
    count_patterns: tuple[tuple[str, re.Pattern[str]], ...]
    loss_pattern: re.Pattern[str]
    loss_thresholds: dict[str, float]
    vague: dict[str, float]
    signals: dict[str, tuple[str, tuple[str, ...]]]
    words: ahocorasick.Automaton  # signal words -> ("signal", name), count verbs -> ("count", kind)
    not_event_after: tuple[str, ...]
    negations: tuple[str, ...]
    aggravating_words: tuple[str, ...]
    aggravating_kinds: frozenset[str]
    responsible: dict[str, str]  # signal word -> the department type that answers for its emergency


def _alternation(words: list[str] | tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@lru_cache(maxsize=4)
def _load_rules(path: Path = LEXICON) -> _Rules:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    counts = tuple(
        _CountRule(kind, tuple(spec["verbs"]), {k: float(v) for k, v in spec["thresholds"].items()})
        for kind, spec in data["counts"].items()
    )
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for rule in counts:
        verbs = _alternation(rule.verbs)
        # "3人死亡", "三名学生受伤", "3死5伤"
        patterns.append(
            (
                rule.kind,
                re.compile(rf"{_NUM}{_MORE}(?:(?:名|人|位|例|个|口){_CLAUSE_GAP}{{0,8}}?)?(?:{verbs})"),
            )
        )
        # "死亡人数升至31人", "遇难12人", "确诊病例增至45例"
        patterns.append(
            (
                rule.kind,
                re.compile(
                    rf"(?:{verbs})(?:人数|者|病例)?(?:已|共|累计|增|上升|升|增加)?(?:至|到|为|达)?"
                    rf"\s*{_NUM}{_MORE}(?:名|人|例|位)"
                ),
            )
        )
    signals = {name: (spec["level"], tuple(spec["words"])) for name, spec in data["signals"].items()}
    payloads: dict[str, list[tuple[str, str]]] = {}
    for name, (_, words) in signals.items():
        for w in words:
            payloads.setdefault(w, []).append(("signal", name))
    for rule in counts:
        for w in rule.verbs:
            payloads.setdefault(w, []).append(("count", rule.kind))
    automaton = ahocorasick.Automaton()
    for word, owners in payloads.items():
        automaton.add_word(word, (word, owners))
    automaton.make_automaton()
    return _Rules(
        counts=counts,
        count_patterns=tuple(patterns),
        loss_pattern=re.compile(
            rf"经济损失(?:约|达|超过|超|逾|近|高达)?\s*{_NUM}{_MORE}\s*(?P<unit>亿|万)?元"
        ),
        loss_thresholds={k: float(v) for k, v in data["loss_thresholds"].items()},
        vague={k: float(v) for k, v in data["vague_numbers"].items()},
        signals=signals,
        words=automaton,
        not_event_after=tuple(data["not_event_after"]),
        negations=tuple(data["negations"]),
        aggravating_words=tuple(data["aggravating"]["words"]),
        aggravating_kinds=frozenset(data["aggravating"]["applies_to"]),
        responsible={
            word: data["responsible"][name]
            for name, (_, words) in signals.items()
            if name in data.get("responsible", {})
            for word in words
        },
    )


def _number(token: str, vague: dict[str, float]) -> float | None:
    if token in vague:
        return vague[token]
    try:
        return float(cn2an.cn2an(token, "smart"))
    except (ValueError, KeyError, TypeError):
        return None


def _level_for(value: float, thresholds: dict[str, float]) -> str | None:
    best: str | None = None
    for level in SEVERITY_ORDER:
        if level in thresholds and value >= thresholds[level]:
            best = level
    return best


def _negated(text: str, start: int, negations: tuple[str, ...]) -> bool:
    before = text[max(0, start - _NEGATION_WINDOW) : start]
    return any(neg in before for neg in negations)


def _higher(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if SEVERITY_ORDER.index(a) >= SEVERITY_ORDER.index(b) else b


_Hit = tuple[int, tuple[str, Any]]  # the automaton's (end index, (word, owners)); owners: (role, name) pairs


@dataclass
class _Finding:
    """What ``assess`` has found so far: the highest level, the kinds that gave one, the triggers."""

    level: str | None = None
    kinds: set[str] = field(default_factory=set)
    triggers: list[str] = field(default_factory=list)

    def note(self, kind: str, candidate: str | None, trigger: str) -> None:
        if candidate is None:
            return
        self.level = _higher(self.level, candidate)
        self.kinds.add(kind)
        if trigger not in self.triggers:
            self.triggers.append(trigger)


def _note_counts(text: str, rules: _Rules, found: list[_Hit], finding: _Finding) -> None:
    """Casualty-style counts (死亡 3 人 …), only for the kinds whose count verbs occur in the text."""
    count_kinds = {kind for _, (_, owners) in found for role, kind in owners if role == "count"}
    thresholds = {rule.kind: rule.thresholds for rule in rules.counts}
    for kind, pattern in rules.count_patterns:
        if kind not in count_kinds:
            continue
        for m in pattern.finditer(text):
            value = _number(m.group("num"), rules.vague)
            if not value or _negated(text, m.start(), rules.negations):
                continue
            finding.note(kind, _level_for(value, thresholds[kind]), m.group(0))


def _note_losses(text: str, rules: _Rules, finding: _Finding) -> None:
    """经济损失 amounts, in 元 (亿 / 万 scaled)."""
    if "经济损失" not in text:
        return
    for m in rules.loss_pattern.finditer(text):
        value = _number(m.group("num"), rules.vague)
        if value:
            unit = {"亿": 1e8, "万": 1e4}.get(m.group("unit") or "", 1.0)
            finding.note("loss", _level_for(value * unit, rules.loss_thresholds), m.group(0))


def _not_an_event(text: str, end: int, word: str, rules: _Rules) -> bool:
    """The signal word is followed by words that make it no event (演练 …) or is negated before."""
    after = text[end + 1 : end + 5]
    if any(after.startswith(w) or after[1:].startswith(w) for w in rules.not_event_after):
        return True
    return _negated(text, end + 1 - len(word), rules.negations)


def _note_signals(text: str, rules: _Rules, found: list[_Hit], finding: _Finding) -> None:
    """Signal words (爆炸, 火灾 …) that are not negated and not followed by a non-event word."""
    for end, (word, owners) in found:
        signals = [name for role, name in owners if role == "signal"]
        if not signals or _not_an_event(text, end, word, rules):
            continue
        for name in signals:
            finding.note(name, rules.signals[name][0], word)


def _aggravate(text: str, rules: _Rules, finding: _Finding) -> None:
    """One level up when vulnerable people (学生, 儿童 …) are involved in an aggravating kind."""
    if finding.level is None or not finding.kinds & rules.aggravating_kinds:
        return
    vulnerable = next((w for w in rules.aggravating_words if w in text), None)
    if vulnerable is not None:
        idx = min(SEVERITY_ORDER.index(finding.level) + 1, len(SEVERITY_ORDER) - 1)
        finding.level = SEVERITY_ORDER[idx]
        finding.triggers.append(vulnerable)


def assess(text: str) -> Severity:
    """The severity candidate of ``text`` and the words and numbers that triggered it."""
    if not text:
        return Severity()
    rules = _load_rules()
    found: list[_Hit] = list(rules.words.iter(text))
    if not found and "经济损失" not in text:
        return Severity()
    finding = _Finding()
    _note_counts(text, rules, found, finding)
    _note_losses(text, rules, finding)
    _note_signals(text, rules, found, finding)
    _aggravate(text, rules, finding)
    level = cast(SeverityLevel | None, finding.level)  # pydantic checks it
    return Severity(level=level, triggers=finding.triggers)


def emergency_words(severity: Severity) -> list[str]:
    """The triggers of ``severity`` that name an emergency with a responsible department (爆炸, 火灾 …)."""
    responsible = _load_rules().responsible
    return [t for t in severity.triggers if t in responsible]


def responsible_type(severity: Severity) -> str | None:
    """The department type that answers for the emergency behind ``severity`` (``responsible`` in
    severity.yaml), or None when no trigger is an emergency signal with a responsible type."""
    responsible = _load_rules().responsible
    return next((responsible[t] for t in severity.triggers if t in responsible), None)
