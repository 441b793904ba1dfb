"""属地: which provinces, cities and counties a text is about, with their 2023 administrative codes.

Names are every division's full name and short forms (``nlp/gazetteer/divisions.tsv``, shipped with the
project), found in the text by dict lookups indexed by their first two characters. Each mention has one
or more candidate divisions (鼓楼区 is a county of 南京, 福州, 徐州 and 开封; 朝阳 is a district of 北京
and 长春 and a city of 辽宁). A mention with one candidate is an anchor; an ambiguous one takes the
candidate that shares the most levels (province, city) with the anchors in the text, then with the
source's region; a tie, or no context at all, gives nothing. Short forms that are ordinary words (和平,
新华, 城关 …) count only when their province or city is named too, and a two-character name must fit
the tokens (上海|淀粉 has no 海淀, 钟南山 no 南山). A county's short form pointing to another province than
every place the text names in full is dropped (博望段 and 兖州至信阳高速 in a text about 方城县).

``resolve`` returns the most specific places only, in order of first mention: a county implies its city and
province, which ``Gazetteer.chain(code)`` gives back, and the search store matches codes by prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from pathlib import Path

from yuqing.schemas import Location

GAZETTEER_FILE = Path(__file__).resolve().parent / "gazetteer" / "divisions.tsv"
_LEVEL_DIGITS = {"province": 2, "city": 4, "county": 6}
# Cities that are only a grouping of counties under a province; never shown as a place of their own.
_PLACEHOLDER_CITIES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_CODE = re.compile(r"\d{2,12}")
_HANDLE = re.compile(r"@[^\s:：,，、@]{1,30}")


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    level: str
    parent: str

    def location(self) -> Location:
        return Location(name=self.name, code=self.code, level=self.level)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class _Candidate:
    code: str
    weak: bool


@dataclass(slots=True)
class _Mention:
    start: int
    key: str
    candidates: list[_Candidate]


def normalize_code(code: str | None) -> str | None:
    """A region code in any common form (32, 3201, 320100, 320106000000) as this gazetteer writes it."""
    if not code or not _CODE.fullmatch(code.strip()):
        return None
    code = code.strip()[:6]
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code if len(code) % 2 == 0 else None


def shared_levels(a: str, b: str) -> int:
    """How many levels (province, city, county) two codes have in common: 0..3."""
    n = 0
    for digits in (2, 4, 6):
        if len(a) < digits or len(b) < digits or a[:digits] != b[:digits]:
            break
        n += 1
    return n


def is_ancestor(a: str, b: str) -> bool:
    """``a`` contains ``b`` (strictly)."""
    return len(a) < len(b) and b.startswith(a)


class Gazetteer:
    """Divisions and the index of their names; ``load()`` gives the shipped one, built once."""

    def __init__(self, divisions: list[Division], names: dict[str, list[_Candidate]]) -> None:
        self.divisions = {d.code: d for d in divisions}
        self._names = names
        # every name has two characters or more: its first two say which lengths can follow
        lengths: dict[str, set[int]] = {}
        for key in names:
            lengths.setdefault(key[:2], set()).add(len(key))
        self._lengths = {pair: tuple(sorted(n)) for pair, n in lengths.items()}
        self._first = re.compile("[" + "".join(sorted({re.escape(key[0]) for key in names})) + "]")

    @classmethod
    def load(cls, path: Path | None = None) -> Gazetteer:
        return _load(path or GAZETTEER_FILE)

    @classmethod
    def from_file(cls, path: Path) -> Gazetteer:
        divisions: list[Division] = []
        names: dict[str, list[_Candidate]] = {}
        with path.open(encoding="utf-8") as fh:
            rows = [line.rstrip("\n").split("\t") for line in fh if not line.startswith("#")]
        for code, name, level, parent, aliases, weak in rows[1:]:
            divisions.append(Division(code, name, level, parent))
            if name in _PLACEHOLDER_CITIES:
                continue
            keys = [(name, False)] + [(a, False) for a in aliases.split(",") if a]
            keys += [(a, True) for a in weak.split(",") if a]
            for key, is_weak in keys:
                names.setdefault(key, []).append(_Candidate(code, is_weak))
        return cls(divisions, names)

    # --- lookups ------------------------------------------------------------------------------
    def get(self, code: str | None) -> Division | None:
        norm = normalize_code(code)
        return self.divisions.get(norm) if norm else None

    def chain(self, code: str) -> list[Location]:
        """Province, city and county that contain ``code`` (itself included), skipping placeholder cities."""
        out = []
        for digits in (2, 4, 6):
            division = self.divisions.get(code[:digits]) if len(code) >= digits else None
            if division and division.name not in _PLACEHOLDER_CITIES:
                out.append(division.location())
        return out

    # --- resolution ---------------------------------------------------------------------------
    def resolve(
        self, text: str, tokens: list[str] | None = None, source_region: str | None = None
    ) -> list[Location]:
        """The most specific places the text is about; the source's region when the text names none."""
        region = normalize_code(source_region)
        spans = self._spans(text)
        if not spans:  # most posts name no place: no mentions to settle
            return [self.divisions[region].location()] if region in self.divisions else []
        mentions = self._mentions(text, tokens, spans)
        chosen: dict[int, str] = {}
        for i, m in enumerate(mentions):
            code = _collapse([c.code for c in m.candidates if not c.weak])
            if code:
                chosen[i] = code
        self._drop_far_short_forms(mentions, chosen)
        for _ in range(2):  # a mention settled by context can settle another
            for i, m in enumerate(mentions):
                if i not in chosen:
                    anchors = {c for j, c in chosen.items() if j != i}
                    code = _by_context(m, anchors, region, self.divisions)
                    if code:
                        chosen[i] = code
        codes = [chosen[i] for i in sorted(chosen)]
        specific = [c for c in codes if not any(is_ancestor(c, other) for other in codes)]
        if not specific and region in self.divisions:
            specific = [region]
        return [self.divisions[c].location() for c in dict.fromkeys(specific)]

    def _drop_far_short_forms(self, mentions: list[_Mention], chosen: dict[int, str]) -> None:
        """A county's short form (博望 for 博望区) with one reading is still a guess when the text names
        places of another province in full: 方城县…券桥至博望段…绕行兖州至信阳高速 is about 方城县
        (and 信阳, same province), not 马鞍山's 博望区 or 济宁's 兖州区. Provinces and cities by short
        name, and short forms in a text naming nothing in full (福州鼓楼区), are kept."""
        full = {code for i, code in chosen.items() if mentions[i].key == self.divisions[code].name}
        if not full:
            return
        provinces = {code[:2] for code in full}
        for i, code in list(chosen.items()):
            division = self.divisions[code]
            if division.level == "county" and mentions[i].key != division.name and code[:2] not in provinces:
                del chosen[i]  # provinces and cities by short name (上海, 信阳) are mentioned far and wide

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        """``(start, end, name)`` of every occurrence of every name in ``text``, overlaps included: at each
        character a name can start with, the names its first two characters allow are looked up (several
        times faster than a pyahocorasick automaton over this many names)."""
        spans = []
        lengths, names = self._lengths, self._names
        for first in self._first.finditer(text):
            i = first.start()
            for n in lengths.get(text[i : i + 2], ()):
                if text[i : i + n] in names:
                    spans.append((i, i + n, text[i : i + n]))
        return spans

    def _mentions(
        self, text: str, tokens: list[str] | None, spans: list[tuple[int, int, str]]
    ) -> list[_Mention]:
        """Mentions among ``spans``, the names found in ``text``."""
        if "@" in text:  # @南京吃货 names a user, not a place
            text = _HANDLE.sub(lambda m: " " * len(m.group()), text)
            spans = self._spans(text)
        short = tokens is not None and any(end - start <= 2 for start, end, _ in spans)
        starts, ends = _token_edges(text, tokens) if short and tokens is not None else (None, None)
        spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))  # longest first, then leftmost
        taken = bytearray(len(text))
        found: dict[str, _Mention] = {}
        for start, end, key in spans:
            if any(taken[start:end]):
                continue
            candidates = self._names[key]
            if len(key) <= 2 and starts is not None and ends is not None:
                candidates = _by_position(candidates, start in starts, end in ends, start + 1 in ends)
            if not candidates:
                continue
            taken[start:end] = b"\x01" * (end - start)
            seen = found.setdefault(key, _Mention(start, key, []))
            seen.start = min(seen.start, start)
            seen.candidates += [c for c in candidates if c not in seen.candidates]
        return sorted(found.values(), key=lambda m: m.start)


def _token_edges(text: str, tokens: list[str]) -> tuple[set[int], set[int]]:
    """Offsets in ``text`` where tokens start and where they end."""
    if "".join(tokens) == text:  # the usual case: no spaces, so each token starts where the last ended
        ends_list = list(accumulate(map(len, tokens)))
        return {0, *ends_list[:-1]}, set(ends_list)
    starts: set[int] = set()
    ends: set[int] = set()
    pos = 0
    for token in tokens:
        i = text.find(token, pos)
        if i >= 0:
            starts.add(i)
            ends.add(i + len(token))
            pos = i + len(token)
    return starts, ends


def _by_position(
    candidates: list[_Candidate], at_start: bool, at_end: bool, straddles: bool
) -> list[_Candidate]:
    """Which readings of a two-character name its place among the tokens allows: none when it straddles
    two tokens (海淀 in 上海|淀粉) or sits inside one (山南 in 中山南二路); only the full-word readings at
    one end of a longer token (南宁 in 广西南宁, not 南山 in 钟南山); all of them as a token of its own."""
    if straddles or not (at_start or at_end):
        return []
    if at_start and at_end:
        return candidates
    return [c for c in candidates if not c.weak]


def _collapse(codes: list[str]) -> str | None:
    """The one code meant: the only candidate, or the one that contains all others (吉林 → 吉林省)."""
    if not codes:
        return None
    top = min(codes, key=len)
    return top if all(c == top or is_ancestor(top, c) for c in codes) else None


def _by_context(
    mention: _Mention, anchors: set[str], region: str | None, divisions: dict[str, Division]
) -> str | None:
    """The candidate closest to the other places named, then to the source's region; None on a tie."""
    scored: list[tuple[int, str]] = []
    for cand in mention.candidates:
        text_score = max((shared_levels(cand.code, a) for a in anchors), default=0)
        if cand.weak and text_score == 0:
            continue
        region_score = shared_levels(cand.code, region) if region else 0
        scored.append((text_score * 10 + region_score, cand.code))
    if not scored:
        return None
    best = max(score for score, _ in scored)
    top = [code for score, code in scored if score == best]
    if best == 0:
        provinces = [c for c in top if divisions[c].level == "province"]
        return provinces[0] if len(provinces) == 1 else None  # 海南 is the province before the prefecture
    return _collapse(top)


@cache
def _load(path: Path) -> Gazetteer:
    return Gazetteer.from_file(path)


def place_name(code: str) -> str:
    """A region's name from the shipped gazetteer (city and county, 鸠江区 → 芜湖市鸠江区), else the code."""
    chain = Gazetteer.load().chain(code)
    return "".join(loc.name for loc in chain[-2:]) or code
