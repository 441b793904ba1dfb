"""The Elasticsearch search store (official ``elasticsearch`` 9.x client).

No Chinese analysis plugin is needed: the nlp stage already segmented each post (jieba-rs), so the
index holds the space-joined tokens (``title_tokens``, ``tokens_text``), lowercased here, under the
built-in ``whitespace`` analyzer, which only splits on whitespace; the query text is segmented by the
same segmenter (``query_terms``) and lowercased too. No custom analyzer is defined, so the index needs
nothing from the ``analysis-common`` module (a node without it, such as the test framework's, refuses a custom
analyzer built from the ``whitespace`` tokenizer and ``lowercase`` filter). An index created with that
former analyzer (``yuqing_tokens``) keeps it: it lowercases what is already lowercase, so it matches the
same.

The request bodies are built by the pure functions below (``index_template``, ``bulk_operations``,
``search_body``, ``parse_search_response``) so they are tested without a server; the live suite
runs against a real Elasticsearch 9 node that tests/engines/elastic_node.py starts (or the server
``YUQING_TEST_ES_URL`` names).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from yuqing.clock import CN_TZ
from yuqing.schemas import EnrichedPost
from yuqing.storage.base import (
    NOT_STORED,
    PostsRejected,
    SearchHit,
    SearchQuery,
    SearchResult,
    StoreError,
    canonical_location_code,
    index_text,
    post_location_ancestors,
    split_title_tokens,
)
from yuqing.storage.query import es_query, parse_query

TOKEN_ANALYZER = "whitespace"  # built in: splits on whitespace only; the token text is lowercased here
TOKEN_FIELDS = ("title_tokens", "tokens_text")
TITLE_BOOST = 3
FACET_FIELDS: dict[str, str] = {
    "source_id": "source_id", "category": "category", "location_code": "location_codes",
    "sentiment": "sentiment", "source_kind": "source_kind", "severity": "severity",
}
_KEYWORD = {"type": "keyword"}
Refresh = Literal["true", "false", "wait_for"] | bool | None


def index_name(prefix: str) -> str:
    return f"{prefix}-posts"


def index_settings() -> dict[str, Any]:
    return {
        "number_of_shards": 1,
        "auto_expand_replicas": "0-1",  # green on a single node, one replica once a second node joins
    }


def token_text(tokens: Sequence[str]) -> str:
    """What a token field holds or a query matches: the words space-joined and lowercased (the
    ``whitespace`` analyzer does not lowercase), so 'PM2.5' and 'pm2.5' are the same word."""
    return index_text(tokens).lower()


def index_mappings() -> dict[str, Any]:
    tokens = {"type": "text", "analyzer": TOKEN_ANALYZER}
    return {
        "dynamic": False,
        "properties": {
            "id": _KEYWORD,
            "post": {"type": "object", "enabled": False},  # kept in _source, not indexed
            "title_tokens": tokens,
            "tokens_text": tokens,
            "published_at": {"type": "date"},
            "fetched_at": {"type": "date"},
            "source_id": _KEYWORD,
            "source_kind": _KEYWORD,
            "category": _KEYWORD,
            "sentiment": _KEYWORD,
            "severity": _KEYWORD,
            "location_codes": _KEYWORD,
            "location_ancestors": _KEYWORD,
            "relevant": {"type": "boolean"},
            "heat": {"type": "double"},
            "plan_ids": {"type": "long"},
        },
    }


def mapping_update(current: dict[str, Any]) -> dict[str, Any]:
    """The mapping to put on an existing index whose mapping is ``current`` (its ``properties``): the
    token fields keep the analyzer they were created with, which cannot change without a re-index (the
    former ``yuqing_tokens`` also splits on whitespace, and lowercases what is lowercased already)."""
    mappings = index_mappings()
    for field in TOKEN_FIELDS:
        analyzer = current.get(field, {}).get("analyzer")
        if analyzer:
            mappings["properties"][field] = {**mappings["properties"][field], "analyzer": analyzer}
    return mappings


def index_template(prefix: str) -> dict[str, Any]:
    return {
        "index_patterns": [f"{index_name(prefix)}*"],
        "priority": 200,
        "template": {"settings": index_settings(), "mappings": index_mappings()},
        "_meta": {"managed_by": "yuqing", "description": "enriched posts, pre-tokenized by jieba"},
    }


def document(post: EnrichedPost) -> dict[str, Any]:
    """What the index holds for one post: the post itself plus the fields searches read."""
    tags = post.tags
    title_tokens, body_tokens = split_title_tokens(post.title, post.tokens)
    return {
        "id": post.id,
        "post": post.model_dump(mode="json", exclude=NOT_STORED),
        "title_tokens": token_text(title_tokens),
        "tokens_text": token_text(body_tokens),
        "published_at": post.posted_at.isoformat(),
        "fetched_at": post.fetched_at.isoformat(),
        "source_id": post.source_id,
        "source_kind": post.source_kind,
        "category": tags.category,
        "sentiment": tags.sentiment.label,
        "severity": tags.severity.level,
        "location_codes": list(dict.fromkeys(loc.code for loc in tags.locations)),
        "location_ancestors": post_location_ancestors(post),
        "relevant": tags.relevant,
        "heat": post.heat,
        "plan_ids": post.plan_ids,
    }


def bulk_operations(posts: Sequence[EnrichedPost], index: str) -> list[dict[str, Any]]:
    """Index actions with ``_id`` = post id; the version is the fetch time, so a re-delivered older
    version of a post never overwrites a newer one and indexing the same post again is a no-op."""
    newest: dict[str, EnrichedPost] = {}
    for post in posts:
        held = newest.get(post.id)
        if held is None or post.fetched_at >= held.fetched_at:
            newest[post.id] = post
    operations: list[dict[str, Any]] = []
    for post in newest.values():
        version = max(0, int(post.fetched_at.timestamp() * 1000))  # external versions cannot be negative
        operations.append({"index": {"_index": index, "_id": post.id, "version": version,
                                     "version_type": "external_gte"}})
        operations.append(document(post))
    return operations


def _filters(query: SearchQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if query.start is not None or query.end is not None:
        bounds = {}
        if query.start is not None:
            bounds["gte"] = query.start.isoformat()
        if query.end is not None:
            bounds["lt"] = query.end.isoformat()
        filters.append({"range": {"published_at": bounds}})
    for field, values in (("source_id", query.source_ids), ("category", query.categories),
                          ("sentiment", query.sentiments), ("id", query.post_ids)):
        if values:
            filters.append({"terms": {field: list(values)}})
    if query.location_codes:
        codes = list(dict.fromkeys(canonical_location_code(c) for c in query.location_codes))
        filters.append({"terms": {"location_ancestors": codes}})
    if query.relevant_only:
        filters.append({"term": {"relevant": True}})
    if query.plan_ids:
        filters.append({"terms": {"plan_ids": list(dict.fromkeys(query.plan_ids))}})
    return filters


def _sort(query: SearchQuery, has_terms: bool) -> list[Any]:
    newest_first = [{"published_at": {"order": "desc"}}, {"id": {"order": "asc"}}]
    if query.sort == "heat":
        return [{"heat": {"order": "desc"}}, *newest_first]
    if query.sort == "relevance" and has_terms:
        return ["_score", *newest_first]
    return newest_first


def search_body(query: SearchQuery, terms: Sequence[str] | None = None) -> dict[str, Any]:
    """The _search request for ``query``: its text read as an expression (``yuqing.storage.query``);
    ``terms`` (legacy): words to match instead, any or all of them by ``query.operator``."""
    bool_query: dict[str, Any] = {"filter": _filters(query)}
    if terms is None:
        node = parse_query(query.text, query.operator)
        if node is not None:
            bool_query["must"] = [es_query(node, TITLE_BOOST, token_text)]
        terms = ["text"] if node is not None else []
    elif terms:
        bool_query["must"] = [{"multi_match": {
            "query": token_text(terms),
            "fields": [f"title_tokens^{TITLE_BOOST}", "tokens_text"],
            "type": "cross_fields",
            "operator": query.operator,
        }}]
    body: dict[str, Any] = {
        "query": {"bool": bool_query},
        "sort": _sort(query, bool(terms)),
        "from": query.offset,
        "size": query.size,
        "track_total_hits": True,
        "track_scores": True,
        "_source": ["post"],
    }
    aggs: dict[str, Any] = {
        f"facet_{name}": {"terms": {"field": FACET_FIELDS[name], "size": query.facet_size,
                                    "order": [{"_count": "desc"}, {"_key": "asc"}]}}
        for name in query.facets
    }
    if query.histogram:
        aggs["histogram"] = {"date_histogram": {"field": "published_at", "calendar_interval": query.histogram,
                                                "time_zone": "Asia/Shanghai", "min_doc_count": 0}}
    if aggs:
        body["aggs"] = aggs
    return body


def parse_search_response(response: dict[str, Any], query: SearchQuery) -> SearchResult:
    hits = [SearchHit(post=h["_source"]["post"], score=float(h.get("_score") or 0.0))
            for h in response["hits"]["hits"]]
    aggs = response.get("aggregations", {})
    facets: dict[str, list[tuple[str, int]]] = {name: [(str(b["key"]), int(b["doc_count"]))
                     for b in aggs.get(f"facet_{name}", {}).get("buckets", [])]  # none when no index yet
              for name in query.facets}
    histogram = [(datetime.fromtimestamp(b["key"] / 1000, CN_TZ), int(b["doc_count"]))
                 for b in aggs.get("histogram", {}).get("buckets", [])]
    return SearchResult(total=int(response["hits"]["total"]["value"]), hits=hits, facets=facets,
                        histogram=histogram)


def bulk_failures(response: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The failed bulk items: ``(refused, passing)``. Refused (a 4xx) maps post id to reason: the post
    itself is wrong. Passing (429, 5xx) are the store's own trouble, worth retrying. A version conflict
    is no failure: the store already holds a newer version of that post."""
    refused: dict[str, str] = {}
    passing: list[str] = []
    for item in response.get("items", []):
        result = next(iter(item.values()))
        status = result.get("status", 200)
        if status < 300 or status == 409:
            continue
        error = result.get("error", {})
        reason = f"{error.get('type', status)} {error.get('reason', '')}".strip()
        if status == 429 or status >= 500:
            passing.append(f"{result.get('_id')}: {reason}")
        else:
            refused[str(result.get("_id"))] = reason
    return refused, passing


class ElasticStore:
    def __init__(self, url: str, *, index_prefix: str = "yuqing", refresh: Refresh = False,
                 request_timeout: float = 10.0) -> None:
        from elasticsearch import Elasticsearch

        # the client logs each failed attempt with a traceback; StoreError says what to fix in one line
        logging.getLogger("elastic_transport").setLevel(logging.ERROR)
        self.url = url
        self.prefix = index_prefix
        self.index_name = index_name(index_prefix)
        self.refresh = refresh
        try:
            self.client = Elasticsearch(url, request_timeout=request_timeout, max_retries=1,
                                        retry_on_timeout=True)
        except ValueError as exc:
            raise StoreError(f"search URL {url!r}: {exc}") from exc

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn client errors into one clear StoreError line."""
        from elastic_transport import TransportError
        from elasticsearch import ApiError, UnsupportedProductError

        try:
            yield
        except UnsupportedProductError as exc:
            raise StoreError(f"search store {self.url} is not Elasticsearch ({exc.message})") from exc
        except ApiError as exc:
            raise StoreError(f"search store {self.url}: {action} refused: {exc.status_code} {exc.error}"
                             f" {_reason(exc.body)}".rstrip()) from exc
        except TransportError as exc:
            raise StoreError(f"search store {self.url}: cannot connect ({exc.__class__.__name__});"
                             " check YUQING_SEARCH_URL and that Elasticsearch is up") from exc

    def ensure_schema(self) -> None:
        from elasticsearch import BadRequestError

        with self._errors("creating the index template"):
            self.client.indices.put_index_template(name=self.index_name, body=index_template(self.prefix))
        if self.index_exists():
            with self._errors("reading the mapping"):
                response = self.client.indices.get_mapping(index=self.index_name)
            current = _properties(dict(response))
            with self._errors("updating the mapping (a changed field needs a re-index)"):
                self.client.indices.put_mapping(index=self.index_name, body=mapping_update(current))
            return
        with self._errors("creating the index"):
            try:
                self.client.indices.create(index=self.index_name)
            except BadRequestError as exc:  # another process created it meanwhile
                if exc.error != "resource_already_exists_exception":
                    raise

    def index_exists(self) -> bool:
        with self._errors("checking the index"):
            return bool(self.client.indices.exists(index=self.index_name))

    def index(self, posts: Sequence[EnrichedPost]) -> None:
        operations = bulk_operations(posts, self.index_name)
        if not operations:
            return
        with self._errors("bulk indexing"):
            response = self.client.bulk(operations=operations, refresh=self.refresh)
        refused, passing = bulk_failures(dict(response))
        if passing:
            raise StoreError(f"search store {self.url}: {len(passing)} posts not indexed;"
                             f" first: {passing[0]}")
        if refused:
            raise PostsRejected(refused)

    def get(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        from elasticsearch import NotFoundError

        if not ids:
            return []
        with self._errors("get"):
            try:
                response = self.client.mget(index=self.index_name, ids=list(dict.fromkeys(ids)),
                                            source=["post"])
            except NotFoundError:  # no index yet
                return []
        return [doc["_source"]["post"] for doc in response["docs"] if doc.get("found")]

    def search(self, query: SearchQuery) -> SearchResult:
        body = search_body(query)  # QuerySyntaxError names the position
        with self._errors("search"):
            response = self.client.search(index=self.index_name, body=body, ignore_unavailable=True)
        return parse_search_response(dict(response), query)

    def drop(self) -> None:
        """Delete the index and its template (tests and re-indexing)."""
        with self._errors("deleting the index"):
            self.client.indices.delete(index=self.index_name, ignore_unavailable=True)
            self.client.indices.delete_index_template(name=self.index_name)

    def close(self) -> None:
        self.client.close()


def _properties(response: dict[str, Any]) -> dict[str, Any]:
    """The field mappings in a get-mapping response (``{index: {"mappings": {"properties": …}}}``)."""
    for entry in response.values():
        if isinstance(entry, dict):
            properties = entry.get("mappings", {}).get("properties")
            if isinstance(properties, dict):
                return properties
    return {}


def _reason(body: Any) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("reason", ""))
    return ""
