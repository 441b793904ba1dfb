"""Matching many plans on one post at once: one Aho–Corasick automaton over every word of every plan
finds which words a post holds in one pass over its text; only the plans with at least one word found
are then checked (their boolean tree over the words found, the source kind and the places). A plan
always needs a word (``parse_plan``), so a plan none of whose words is found cannot match.

The automaton runs over the UTF-8 bytes of the folded text (``_bytes``). Texts are compared folded
(lower case, blanks collapsed, full-width letters and digits as ASCII: ``expression.fold``); a word is found
wherever its characters appear (封丘 in 封丘县). A title-only word counts where it ends inside the title.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import ahocorasick

from yuqing.expression import And, Kind, Node, Or, Region, Word, evaluate, fold, words
from yuqing.storage.base import location_ancestors

Check = Callable[[set[str], set[str], str, frozenset[str]], bool]


@dataclass(frozen=True, slots=True)
class CompiledPlan:
    id: int
    node: Node
    check: Check  # (words found, words found in the title, source kind, region codes) -> matches


def compile_check(node: Node) -> Check:
    """The tree as one Python function (generated code; the words are constants passed in, never code)."""
    constants: list[str] = []

    def code(n: Node) -> str:
        if isinstance(n, Word | Kind | Region):
            constants.append(n.text if isinstance(n, Word) else n.value if isinstance(n, Kind) else n.code)
            ref = f"C[{len(constants) - 1}]"
            if isinstance(n, Word):
                return f"({ref} in {'t' if n.title else 'f'})"
            return f"({ref} == k)" if isinstance(n, Kind) else f"({ref} in r)"
        if isinstance(n, And):
            return "(" + " and ".join(code(c) for c in n.children) + ")"
        if isinstance(n, Or):
            return "(" + " or ".join(code(c) for c in n.children) + ")"
        return f"(not {code(n.child)})"

    body = code(node)
    namespace: dict[str, object] = {}
    exec(f"def check(f, t, k, r, C=C):\n    return {body}", {"C": tuple(constants)}, namespace)
    return namespace["check"]  # type: ignore[return-value]


def necessary_words(node: Node) -> set[tuple[str, bool]] | None:
    """(word, title only) pairs one of which a post must hold for the tree to be true (the fewest
    found), or None when no such set exists (a negation, a source kind or a region alone)."""
    if isinstance(node, Word):
        return {(node.text, node.title)}
    if isinstance(node, Or):
        union: set[tuple[str, bool]] = set()
        for child in node.children:
            needed = necessary_words(child)
            if needed is None:
                return None
            union |= needed
        return union
    if isinstance(node, And):
        options = [needed for c in node.children if (needed := necessary_words(c)) is not None]
        # title-only words are found far less often than words anywhere: prefer them, then the fewest
        return min(options, key=lambda o: (not all(title for _, title in o), len(o))) if options else None
    return None


class PlanMatcher:
    """All active plans, compiled once; ``match`` returns the ids of the plans a post matches."""

    def __init__(self, plans: Iterable[tuple[int, Node]]) -> None:
        self.plans = [CompiledPlan(pid, node, compile_check(node)) for pid, node in plans]
        self._automaton = ahocorasick.Automaton()
        self._word_plans: dict[str, list[int]] = {}  # folded word -> indexes into self.plans
        self._title_plans: dict[str, list[int]] = {}  # the same for words that count in the title only
        self._words: set[str] = set()
        for index, plan in enumerate(self.plans):
            self._words.update(w.text for w in words(plan.node))
            triggers = necessary_words(plan.node) or {(w.text, w.title) for w in words(plan.node)}
            for word, title in triggers:
                (self._title_plans if title else self._word_plans).setdefault(word, []).append(index)
        for word in self._words:
            self._automaton.add_word(_bytes(word), word)
        if self._words:
            self._automaton.make_automaton()

    def __len__(self) -> int:
        return len(self.plans)

    def match(self, title: str, content: str, kind: str = "",
              location_codes: Sequence[str] = ()) -> list[int]:
        """The ids of the plans the post matches, in the order the plans were given."""
        if not self._words:
            return []
        folded_title = _bytes(fold(title))
        text = f"{folded_title}\n{_bytes(fold(content))}"
        title_end = len(folded_title)
        found: set[str] = set()
        in_title: set[str] = set()
        for end, word in self._automaton.iter(text):
            found.add(word)
            if end < title_end:
                in_title.add(word)
        if not found:
            return []
        word_plans, title_plans = self._word_plans, self._title_plans
        candidates = sorted({i for word in found if word in word_plans for i in word_plans[word]}
                            | {i for word in in_title if word in title_plans for i in title_plans[word]})
        if not candidates:
            return []
        regions = frozenset(code for c in location_codes for code in location_ancestors(c))
        plans = self.plans
        return [plans[i].id for i in candidates if plans[i].check(found, in_title, kind, regions)]


def _bytes(text: str) -> str:
    """The UTF-8 bytes of ``text`` as a str of code points 0-255. The automaton runs over these: its
    nodes then have at most 256 children (a trie over thousands of Chinese words has a node with
    thousands, which pyahocorasick searches one by one: 4x slower). UTF-8 is self-synchronising, so a
    word's bytes are found only where the word itself is."""
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


def matches(node: Node, title: str, content: str, kind: str = "", location_codes: Sequence[str] = ()) -> bool:
    """One plan on one post, without an automaton (a test box, the reference in tests)."""
    folded_title = fold(title)
    text = f"{folded_title}\n{fold(content)}"
    regions = frozenset(code for c in location_codes for code in location_ancestors(c))
    return evaluate(node, lambda w: w.text in (folded_title if w.title else text), kind, regions)
