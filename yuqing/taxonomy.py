"""The 15 first-level 政务 categories (names exactly as in the TipDM taxonomy shipped in
``yuqing/data/taxonomy.tsv``), their second levels, the keywords used for second-level tagging and for
the categories the labeled data does not cover, and category -> responsible department type
(``yuqing/data/departments.tsv``).

Domain tables, read by the classifier (nlp), its training (nlp/training) and the router (alerting)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

CATEGORIES: tuple[str, ...] = (
    "城乡建设",
    "环境保护",
    "交通运输",
    "教育文体",
    "劳动和社会保障",
    "商贸旅游",
    "卫生计生",
    "农村农业",
    "政法",
    "民政",
    "党务政务",
    "经济管理",
    "纪检监察",
    "国土资源",
    "科技与信息产业",
)


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


@dataclass(frozen=True)
class Taxonomy:
    subcategories: dict[str, tuple[str, ...]]  # first level -> second levels (from taxonomy.tsv)
    keywords: dict[tuple[str, str], tuple[str, ...]]  # (first, second) -> keywords
    departments: dict[tuple[str, str], str]  # (first, second or "") -> department type

    def department_for(self, category: str | None, subcategory: str | None = None) -> str | None:
        if category is None:
            return None
        return self.departments.get((category, subcategory or "")) or self.departments.get((category, ""))


@lru_cache(maxsize=1)
def load_taxonomy() -> Taxonomy:
    subs: dict[str, list[str]] = {}
    for row in _rows("taxonomy.tsv"):
        level2 = subs.setdefault(row["一级分类"], [])
        if row["二级分类"] not in level2:
            level2.append(row["二级分类"])
    unknown = set(subs) ^ set(CATEGORIES)
    if unknown:
        raise ValueError(f"taxonomy.tsv and CATEGORIES disagree on {sorted(unknown)}")
    keywords: dict[tuple[str, str], tuple[str, ...]] = {}
    for row in _rows("category_keywords.tsv"):
        if row["category"] not in subs or row["subcategory"] not in subs[row["category"]]:
            raise ValueError(
                f"category_keywords.tsv: {row['category']}/{row['subcategory']} is not in the taxonomy"
            )
        keywords[(row["category"], row["subcategory"])] = tuple(row["keywords"].split())
    departments = {(r["category"], r["subcategory"]): r["department_type"] for r in _rows("departments.tsv")}
    missing = [c for c in CATEGORIES if (c, "") not in departments]
    if missing:
        raise ValueError(f"departments.tsv has no department type for {missing}")
    return Taxonomy({k: tuple(v) for k, v in subs.items()}, keywords, departments)
