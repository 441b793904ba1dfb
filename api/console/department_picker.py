"""The 转派 picker: the departments of the case's place and of the levels above it first (county, city,
province), then every other one; each searchable by name, place and pinyin (initials 'fqxgaj' or full
'fengqiu') in the browser (console_forms.js)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pypinyin import Style, lazy_pinyin

from alerting.directory import Directory, common_region, normalize_region, region_chain


@dataclass(frozen=True)
class PickerOption:
    id: str
    name: str
    region_code: str
    region_name: str
    search: str  # lower-case: name, place, pinyin initials and full pinyin
    current: bool


@dataclass(frozen=True)
class DepartmentPicker:
    place_code: str | None
    place_names: list[str]  # the case's place and the levels above it, nearest first
    local: list[PickerOption]
    others: list[PickerOption]

    @property
    def total(self) -> int:
        return len(self.local) + len(self.others)

    @property
    def example(self) -> str:
        """Pinyin initials of the first local department, as a hint of what to type."""
        first = self.local[0].name if self.local else ""
        return pinyin_keys(first).split(" ")[0][:6] if first else ""


@lru_cache(maxsize=4096)
def pinyin_keys(text: str) -> str:
    """'封丘县公安局' → 'fqxgaj fengqiuxiangonganju' (non-Chinese characters kept as they are)."""
    initials = "".join(lazy_pinyin(text, style=Style.FIRST_LETTER, errors="default"))
    full = "".join(lazy_pinyin(text, errors="default"))
    return f"{initials} {full}".lower()


def case_place(locations: Iterable[dict[str, Any]], region_code: str | None) -> str | None:
    """The case's place: the nearest region holding every place it names, else its department's region."""
    codes = []
    for loc in locations:
        try:
            codes.append(normalize_region(str(loc.get("code") or "")))
        except ValueError:
            continue
    place = common_region(codes) if codes else None
    if place is None and region_code:
        try:
            place = normalize_region(region_code)
        except ValueError:
            place = None
    return place


def department_picker(
    directory: Directory,
    *,
    locations: Iterable[dict[str, Any]],
    region_code: str | None,
    current_id: str | None,
    region_name: Any,
) -> DepartmentPicker:
    """``region_name(code)`` names a region (the console's labels)."""
    place = case_place(locations, region_code)
    chain = region_chain(place) if place else []
    rank = {code: i for i, code in enumerate(chain)}

    def name_of(code: str) -> str:
        return directory.config.regions.get(code) or region_name(code)

    def option(dept: Any) -> PickerOption:
        region = name_of(dept.region)
        keys = " ".join([dept.name, region, pinyin_keys(dept.name), pinyin_keys(region)])
        return PickerOption(
            id=dept.id,
            name=dept.name,
            region_code=dept.region,
            region_name=region,
            search=keys.lower(),
            current=dept.id == current_id,
        )

    local = [d for d in directory.departments if d.region in rank]
    local.sort(key=lambda d: rank[d.region])  # stable: the directory's order within a region
    others = sorted((d for d in directory.departments if d.region not in rank), key=lambda d: d.region)
    if place:
        # the rest of the case's province before other provinces
        others.sort(key=lambda d: 0 if d.region[:2] == place[:2] else 1)
    return DepartmentPicker(
        place_code=place,
        place_names=[name_of(code) for code in chain],
        local=[option(d) for d in local],
        others=[option(d) for d in others],
    )
