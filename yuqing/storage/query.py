"""The plan expression language (``yuqing.expression``) as each search store's query.

Search reads a word as the segmenter cuts it (the stores index the nlp stage's tokens): a word matches
the posts that hold every token of it (``自来水浑浊`` = 自来水 and 浑浊, so the characters of an unknown word
such as ``不存在的词语xyz`` never match on their own), a quoted phrase matches its tokens in order; ``title:``
looks in the title only, ``kind:`` is the source kind, ``region:`` a place and every place below it.
Words side by side match any of them (``SearchQuery.operator="and"``: all). Both stores get the same
tree, so they answer the same posts (tests/contracts/test_store.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from yuqing.expression import And, ExpressionError, Kind, Node, Not, Or, Region, Word, parse
from yuqing.storage.base import _segmenter, is_word


class QuerySyntaxError(ValueError):
    """The query text is not a valid expression: ``reason`` (Chinese) and ``position`` (1-based, 0: all)."""

    def __init__(self, error: ExpressionError) -> None:
        super().__init__(str(error))
        self.reason = error.reason
        self.position = error.position


def parse_query(text: str, operator: Literal["or", "and"] = "or") -> Node | None:
    """The tree of a search text; None for an empty text (every post)."""
    if not text.strip():
        return None
    try:
        return parse(text, juxtaposition=operator)
    except ExpressionError as exc:
        raise QuerySyntaxError(exc) from None


def word_tokens(word: Word) -> list[str]:
    """The word cut as posts are, words only (what the index holds), in order."""
    return [t.strip() for t in _segmenter()(word.raw or word.text) if is_word(t)]


# --- SQLite FTS5 --------------------------------------------------------------------------------


def _phrase(tokens: list[str]) -> str:
    return '"' + " ".join(tokens).replace('"', '""') + '"'


def fts_expression(node: Node) -> str | None:
    """The tree as one FTS5 MATCH expression, or None when FTS5 cannot say it (a source kind, a region,
    a negation outside an "and" with something positive, a word without tokens)."""
    if isinstance(node, Word):
        tokens = word_tokens(node)
        if not tokens:
            return None
        column = "title : " if node.title else ""
        if node.quoted or len(tokens) == 1:
            return column + _phrase(tokens)
        return "(" + " AND ".join(column + _phrase([t]) for t in tokens) + ")"
    if isinstance(node, Or):
        parts = [fts_expression(c) for c in node.children]
        return None if any(p is None for p in parts) else "(" + " OR ".join(parts) + ")"  # type: ignore[arg-type]
    if isinstance(node, And):
        positive = [fts_expression(c) for c in node.children if not isinstance(c, Not)]
        negative = [fts_expression(c.child) for c in node.children if isinstance(c, Not)]
        if not positive or any(p is None for p in positive + negative):
            return None
        text = "(" + " AND ".join(positive) + ")"  # type: ignore[arg-type]
        if negative:
            text = f"({text} NOT ({' OR '.join(negative)}))"  # type: ignore[arg-type]
        return text
    return None


def fts_sql(node: Node) -> tuple[str, list[Any]]:
    """The tree as an SQL condition on ``documents d`` (full-text parts as sub-queries)."""
    text = fts_expression(node)
    if text is not None:
        return "d.rowid IN (SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?)", [text]
    if isinstance(node, Word):
        return "0", []  # no token: nothing holds it
    if isinstance(node, Kind):
        return "d.source_kind = ?", [node.value]
    if isinstance(node, Region):
        return "d.rowid IN (SELECT doc FROM document_places WHERE code = ?)", [node.code]
    if isinstance(node, Not):
        inner, params = fts_sql(node.child)
        return f"(NOT {inner})", params
    joined = " AND " if isinstance(node, And) else " OR "
    parts = [fts_sql(c) for c in node.children]
    return "(" + joined.join(p for p, _ in parts) + ")", [v for _, ps in parts for v in ps]


@dataclass
class FtsPlan:
    match: str | None  # the ranked full-text part (MATCH), if any
    where: list[str]  # further SQL conditions on ``documents d``
    params: list[Any]


def fts_plan(node: Node) -> FtsPlan:
    """The ranked MATCH (the full-text conjuncts) and the SQL conditions of the rest."""
    whole = fts_expression(node)
    if whole is not None:
        return FtsPlan(whole, [], [])
    conjuncts = list(node.children) if isinstance(node, And) else [node]
    matchable = [c for c in conjuncts if fts_expression(c) is not None and not isinstance(c, Not)]
    rest = [c for c in conjuncts if c not in matchable]
    match = fts_expression(And(tuple(matchable))) if len(matchable) > 1 else (
        fts_expression(matchable[0]) if matchable else None)
    where, params = [], []
    for child in rest:
        sql, values = fts_sql(child)
        where.append(sql)
        params.extend(values)
    return FtsPlan(match, where, params)


# --- Elasticsearch ------------------------------------------------------------------------------


def es_query(node: Node, title_boost: int, lower: Any) -> dict[str, Any]:
    """The tree as an Elasticsearch query on the token fields (``lower`` joins tokens as indexed)."""
    if isinstance(node, Word):
        tokens = word_tokens(node)
        if not tokens:
            return {"match_none": {}}
        fields = ["title_tokens"] if node.title else [f"title_tokens^{title_boost}", "tokens_text"]
        if node.quoted and len(tokens) > 1:
            return {"multi_match": {"query": lower(tokens), "fields": fields, "type": "phrase"}}
        return {"multi_match": {"query": lower(tokens), "fields": fields, "type": "cross_fields",
                                "operator": "and"}}
    if isinstance(node, Kind):
        return {"term": {"source_kind": node.value}}
    if isinstance(node, Region):
        return {"term": {"location_ancestors": node.code}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [es_query(node.child, title_boost, lower)]}}
    if isinstance(node, And):
        must = [es_query(c, title_boost, lower) for c in node.children if not isinstance(c, Not)]
        must_not = [es_query(c.child, title_boost, lower) for c in node.children if isinstance(c, Not)]
        return {"bool": {"must": must, "must_not": must_not}}
    return {"bool": {"should": [es_query(c, title_boost, lower) for c in node.children],
                     "minimum_should_match": 1}}
