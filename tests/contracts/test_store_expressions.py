"""The plan expression language on both search stores (SQLite FTS5 and Elasticsearch 9): 30+ queries on
real messages (../shared/data), each store's answer equal to a plain reading of the expression over the
posts' tokens, so the two stores answer the same posts. Also: a word that appears nowhere finds
nothing (its single characters do not count)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contracts.test_store import _elastic_store, _sqlite_store
from tests.engines.elastic_node import es_url  # noqa: F401 - the session fixture the "elastic" param uses
from tests.plans.conftest import real_posts
from yuqing.expression import And, Kind, Node, Not, Or, Region, Word
from yuqing.schemas import EnrichedPost
from yuqing.storage import SearchQuery, SearchStore
from yuqing.storage.base import index_text, post_location_ancestors, split_title_tokens
from yuqing.storage.query import QuerySyntaxError, parse_query, word_tokens

POSTS = real_posts(160)

QUERIES = [
    "小区", "物业|业主", "物业+业主", "小区-物业", "(小区|物业)+(停车|噪音)", "学校 老师", "学校+老师-家长",
    "title:小区", "title:(学校|老师)+家长", '"业主委员会"', '"物业公司"+收费', "kind:gov+反映",
    "(kind:news|kind:forum)+小区", "region:41+(问题|反映)", "region:410727+学校", "region:43-小区",
    "-小区+(学校|医院)", "工资|拖欠|欠薪", "(拆迁|征收)+(补偿|安置)", "政府 部门 -小区", "公交 地铁",
    "A市", "A市+(小区|学校)", "(A市|B市)+投诉", "道路+施工-夜间", "噪音+(夜间|晚上)", "(幼儿园|学校)+收费",
    "不存在的词语xyz", "小区+不存在的词语xyz", "小区|不存在的词语xyz", "title:不存在的词语xyz|学校",
    "((小区+物业)|(学校+老师))-(收费|停车)", "kind:social+(region:41|region:43)+问题",
]
AND_QUERIES = ["小区 物业", "学校 老师 家长", "不存在的词语xyz 小区"]  # operator "and": side by side = all


def _doc(post: EnrichedPost) -> dict[str, Any]:
    title, body = split_title_tokens(post.title, post.tokens)
    return {"title": index_text(title).lower().split(), "body": index_text(body).lower().split(),
            "kind": post.source_kind, "regions": set(post_location_ancestors(post))}


DOCS = {p.id: _doc(p) for p in POSTS}


def _has_sequence(tokens: list[str], seq: list[str]) -> bool:
    return any(tokens[i:i + len(seq)] == seq for i in range(len(tokens) - len(seq) + 1))


def _holds(node: Node, doc: dict[str, Any]) -> bool:
    """The plain reading: a word = all its tokens (in order if quoted) in the title, or anywhere."""
    if isinstance(node, Word):
        tokens = [t.lower() for t in word_tokens(node)]
        fields = [doc["title"]] if node.title else [doc["title"], doc["body"]]
        if not tokens:
            return False
        if node.quoted and len(tokens) > 1:
            return any(_has_sequence(f, tokens) for f in fields)
        return all(any(t in f for f in fields) for t in tokens)
    if isinstance(node, Kind):
        return doc["kind"] == node.value
    if isinstance(node, Region):
        return node.code in doc["regions"]
    if isinstance(node, Not):
        return not _holds(node.child, doc)
    if isinstance(node, And):
        return all(_holds(c, doc) for c in node.children)
    assert isinstance(node, Or)
    return any(_holds(c, doc) for c in node.children)


def _expected(text: str, operator: str = "or") -> list[str]:
    node = parse_query(text, operator)  # type: ignore[arg-type]
    assert node is not None
    return sorted(pid for pid, doc in DOCS.items() if _holds(node, doc))


@pytest.fixture(params=["sqlite", pytest.param("elastic", marks=pytest.mark.es_live)], scope="module")
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchStore]:
    stores = (_sqlite_store(tmp_path_factory.mktemp("fts")) if request.param == "sqlite"
              else _elastic_store(request.getfixturevalue("es_url")))
    store = next(stores)
    store.index(POSTS)
    yield store
    next(stores, None)


def _found(store: SearchStore, text: str, operator: str = "or") -> tuple[list[str], int]:
    result = store.search(SearchQuery(text=text, operator=operator, size=500))  # type: ignore[arg-type]
    return sorted(h.post["id"] for h in result.hits), result.total


def test_the_queries_say_something() -> None:
    sizes = [len(_expected(q)) for q in QUERIES]
    assert len(QUERIES) + len(AND_QUERIES) >= 30
    assert sum(0 < n < len(POSTS) for n in sizes) >= 25, dict(zip(QUERIES, sizes, strict=True))


@pytest.mark.parametrize("text", QUERIES)
def test_each_store_answers_the_plain_reading(store: SearchStore, text: str) -> None:
    expected = _expected(text)
    assert _found(store, text) == (expected, len(expected))


@pytest.mark.parametrize("text", AND_QUERIES)
def test_side_by_side_means_all_with_operator_and(store: SearchStore, text: str) -> None:
    expected = _expected(text, "and")
    assert _found(store, text, "and") == (expected, len(expected))


def test_an_unknown_word_finds_nothing(store: SearchStore) -> None:
    assert _found(store, "不存在的词语xyz") == ([], 0)
    assert _found(store, "的") != ([], 0)  # its characters are in many posts, and do not count above


def test_filters_and_facets_apply_to_expressions(store: SearchStore) -> None:
    text = "(小区|物业)+(停车|噪音)"
    expected = _expected(text)
    result = store.search(SearchQuery(text=text, facets=["source_kind"], size=0))
    assert result.total == len(expected)
    assert sum(n for _, n in result.facets["source_kind"]) == len(expected)
    kinds = store.search(SearchQuery(text=text + "+kind:gov", size=0)).total
    assert kinds == len([p for p in expected if DOCS[p]["kind"] == "gov"])


def test_syntax_errors_name_the_position(store: SearchStore) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        store.search(SearchQuery(text="(小区|物业"))
    assert caught.value.position == 1
    assert store.search(SearchQuery(text="小区", size=0)).total > 0


def test_posts_are_real(tmp_path: Path) -> None:
    assert len(POSTS) == 160 and all(p.tokens for p in POSTS)
