"""The console's search form: what the browser sends (empty fields included) read as ``SearchParams``,
errors as Chinese sentences naming the field, and the matched words marked in the results.

The form sends every field, empty ones as ``start=`` or ``sentiment=``: an empty field means "not set" and
is dropped before validation. A bare date (``<input type=date>``) is a Beijing day: ``end`` takes in the
whole of its day."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup, escape
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import QueryParams

from api.field_errors import describe
from api.routes.search import SearchParams
from yuqing.storage.base import query_terms

_ADAPTER = TypeAdapter(SearchParams)
_LIST_FIELDS = frozenset({"source", "category", "location", "sentiment"})
_FIELDS = tuple(f.name for f in fields(SearchParams))
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_HIGHLIGHT_TERMS = 20


class SearchFormError(ValueError):
    """The form has a bad field; ``detail`` names it in Chinese."""

    def __init__(self, detail: str, q: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.q = q


@dataclass(frozen=True)
class SearchForm:
    params: SearchParams
    start_date: str  # what the date fields show again
    end_date: str
    dates: dict[str, str | None]  # start/end as the user gave them, for the page's own links


def search_form(query: QueryParams) -> SearchForm:
    raw: dict[str, Any] = {}
    for name in _FIELDS:
        values = [v.strip() for v in query.getlist(name) if v.strip()]
        if not values:
            continue
        raw[name] = values if name in _LIST_FIELDS else values[-1]
    dates = {"start": raw.get("start"), "end": raw.get("end")}
    end_is_day = bool(dates["end"] and _DATE.match(dates["end"]))
    try:
        params = _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise SearchFormError(describe(exc.errors()), str(raw.get("q", ""))[:200]) from None
    if end_is_day and params.end is not None:
        params.end = params.end + timedelta(days=1)  # 至 2026-03-01: up to the end of that day
    return SearchForm(
        params=params,
        start_date=_day(params.start),
        end_date=dates["end"] if end_is_day else _day(params.end),  # type: ignore[arg-type]
        dates=dates,
    )


def _day(value: datetime | None) -> str:
    return value.date().isoformat() if value else ""


def highlight_terms(q: str) -> list[str]:
    """The words of the query as the store matches them, longest first (so 河水发黑 wins over 河水)."""
    if not q.strip():
        return []
    terms = query_terms(q)
    words = {w for w in [*terms, *q.split()] if len(w) > 1} or set(terms)  # 一 字 alone only when asked for
    return sorted(words, key=lambda w: (-len(w), w))[:MAX_HIGHLIGHT_TERMS]


def highlight(text: str | None, terms: list[str] | None) -> Markup:
    """The text, escaped, with each matched word in ``<mark>``."""
    if not text:
        return Markup("")
    if not terms:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(Markup("<mark>{}</mark>").format(match.group(0)))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
