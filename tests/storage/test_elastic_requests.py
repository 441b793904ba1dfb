"""The Elasticsearch store without a server: the mapping, the bulk and search bodies it generates,
how it reads responses, and what it sends over HTTP (to a recording stand-in on 127.0.0.1).
The live behaviour is tests/contracts/test_store.py, on the Elasticsearch 9 node tests/engines starts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jieba
import pytest

from yuqing.clock import CN_TZ
from yuqing.schemas import EnrichedPost, Location, Tags
from yuqing.storage import SearchQuery, StoreError
from yuqing.storage.base import PostsRejected, is_word, query_terms
from yuqing.storage.elastic import (
    TOKEN_ANALYZER,
    TOKEN_FIELDS,
    ElasticStore,
    bulk_failures,
    bulk_operations,
    document,
    index_mappings,
    index_name,
    index_settings,
    index_template,
    mapping_update,
    parse_search_response,
    search_body,
)

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=CN_TZ)


def post(pid: str = "p1", *, fetched: datetime = T0, published: datetime | None = T0,
         codes: tuple[str, ...] = ("110105",)) -> EnrichedPost:
    title, content = "市民反映自来水浑浊", "朝阳区居民反映，自来水浑浊发黄！"
    return EnrichedPost(id=pid, source_id="weibo", url=f"https://example.cn/{pid}", title=title,
                        content=content, published_at=published, fetched_at=fetched,
                        tokens=jieba.lcut(f"{title}\n{content}"),
                        tags=Tags(category="供水", locations=[Location(name=c, code=c) for c in codes]))


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


# --- mapping --------------------------------------------------------------------------------------

def test_tokens_are_analyzed_by_the_builtin_whitespace_analyzer_only() -> None:
    assert TOKEN_ANALYZER == "whitespace"
    assert "analysis" not in index_settings()  # no custom analyzer: nothing needed from analysis-common
    props = index_mappings()["properties"]
    assert TOKEN_FIELDS == ("title_tokens", "tokens_text")
    for field in TOKEN_FIELDS:
        assert props[field] == {"type": "text", "analyzer": "whitespace"}


def test_token_text_is_lowercased_in_documents_and_queries() -> None:
    title, content = "PM2.5超标 Tesla门店", "居民称PM2.5数值异常。"
    tokens = jieba.lcut(f"{title}\n{content}")
    assert any(t != t.lower() for t in tokens)
    doc = document(EnrichedPost(id="p", source_id="weibo", url="https://example.cn/p", title=title,
                                content=content, published_at=T0, fetched_at=T0, tokens=tokens))
    for field in TOKEN_FIELDS:
        assert doc[field] == doc[field].lower() and doc[field]
    assert "pm2.5" in doc["title_tokens"].split(" ")
    body = search_body(SearchQuery(text="PM2.5 Tesla"), query_terms("PM2.5 Tesla"))
    assert body["query"]["bool"]["must"][0]["multi_match"]["query"] == "pm2.5 tesla"


def test_filter_fields_are_keywords_and_the_post_is_kept_unindexed() -> None:
    mappings = index_mappings()
    props = mappings["properties"]
    for field in ("id", "source_id", "source_kind", "category", "sentiment", "severity",
                  "location_codes", "location_ancestors"):
        assert props[field]["type"] == "keyword", field
    assert props["published_at"]["type"] == "date"
    assert props["relevant"]["type"] == "boolean"
    assert props["post"] == {"type": "object", "enabled": False}
    assert mappings["dynamic"] is False


def test_the_template_covers_the_index_the_store_writes() -> None:
    template = index_template("yq")
    assert index_name("yq") == "yq-posts"
    assert template["index_patterns"] == ["yq-posts*"]
    assert template["template"]["mappings"] == index_mappings()


# --- documents and bulk ---------------------------------------------------------------------------

def test_document_holds_pretokenized_title_and_content_and_place_ancestors() -> None:
    doc = document(post(codes=("110105", "310000")))
    assert doc["title_tokens"] == "市民 反映 自来水 浑浊"
    assert doc["tokens_text"] == "朝阳区 居民 反映 自来水 浑浊 发黄"  # punctuation and the newline left out
    assert doc["location_codes"] == ["110105", "310000"]
    assert doc["location_ancestors"] == ["11", "1101", "110105", "31"]
    assert doc["post"]["id"] == "p1"
    assert doc["published_at"] == T0.isoformat()


def test_a_post_without_publication_time_is_filed_under_its_fetch_time() -> None:
    assert document(post(published=None))["published_at"] == T0.isoformat()


def test_bulk_indexes_by_post_id_and_keeps_the_newest_version() -> None:
    later = T0 + timedelta(minutes=5)
    ops = bulk_operations([post("p1"), post("p2"), post("p1", fetched=later)], "yq-posts")
    actions = ops[0::2]
    assert [a["index"]["_id"] for a in actions] == ["p1", "p2"]
    assert actions[0]["index"] == {"_index": "yq-posts", "_id": "p1", "version_type": "external_gte",
                                   "version": int(later.timestamp() * 1000)}
    assert ops[1]["fetched_at"] == later.isoformat()
    old = datetime(1960, 1, 1, tzinfo=UTC)  # an external version cannot be negative
    assert bulk_operations([post("p3", fetched=old)], "yq-posts")[0]["index"]["version"] == 0


def test_bulk_failures_split_refused_posts_from_passing_trouble() -> None:
    response = {"errors": True, "items": [
        {"index": {"_id": "a", "status": 201}},
        {"index": {"_id": "b", "status": 409, "error": {"type": "version_conflict_engine_exception"}}},
        {"index": {"_id": "c", "status": 400,
                   "error": {"type": "mapper_parsing_exception", "reason": "bad"}}},
        {"index": {"_id": "d", "status": 429, "error": {"type": "es_rejected_execution_exception"}}},
    ]}
    assert bulk_failures(response) == ({"c": "mapper_parsing_exception bad"},
                                       ["d: es_rejected_execution_exception"])


# --- search body ----------------------------------------------------------------------------------

def test_search_body_has_full_text_on_tokens_and_every_filter() -> None:
    start, end = datetime(2025, 3, 1, tzinfo=CN_TZ), datetime(2025, 3, 2, tzinfo=UTC)
    query = SearchQuery(text="自来水浑浊", start=start, end=end, source_ids=["weibo"], categories=["供水"],
                        location_codes=["110000", "110105"], sentiments=["negative"], relevant_only=True,
                        size=10, offset=20, operator="and")
    body = search_body(query, query_terms(query.text))
    match = body["query"]["bool"]["must"][0]["multi_match"]
    assert match == {"query": "自来水 浑浊", "fields": ["title_tokens^3", "tokens_text"],
                     "type": "cross_fields", "operator": "and"}
    assert body["query"]["bool"]["filter"] == [
        {"range": {"published_at": {"gte": "2025-03-01T00:00:00+08:00", "lt": "2025-03-02T00:00:00+00:00"}}},
        {"terms": {"source_id": ["weibo"]}},
        {"terms": {"category": ["供水"]}},
        {"terms": {"sentiment": ["negative"]}},
        {"terms": {"location_ancestors": ["11", "110105"]}},
        {"term": {"relevant": True}},
    ]
    assert (body["from"], body["size"], body["track_total_hits"]) == (20, 10, True)
    assert body["sort"][0] == "_score"
    assert "aggs" not in body


def test_search_body_without_text_matches_all_and_sorts_newest_first() -> None:
    body = search_body(SearchQuery(sort="relevance"), [])
    assert body["query"] == {"bool": {"filter": []}}
    assert body["sort"] == [{"published_at": {"order": "desc"}}, {"id": {"order": "asc"}}]
    assert search_body(SearchQuery(sort="heat"), [])["sort"][0] == {"heat": {"order": "desc"}}


def test_search_body_aggregations_for_facets_and_china_time_histogram() -> None:
    body = search_body(SearchQuery(facets=["category", "location_code"], facet_size=5, histogram="day"), [])
    assert body["aggs"]["facet_category"]["terms"]["field"] == "category"
    assert body["aggs"]["facet_location_code"]["terms"] == {
        "field": "location_codes", "size": 5, "order": [{"_count": "desc"}, {"_key": "asc"}]}
    assert body["aggs"]["histogram"]["date_histogram"] == {
        "field": "published_at", "calendar_interval": "day", "time_zone": "Asia/Shanghai", "min_doc_count": 0}


@pytest.mark.parametrize("text", ['"*-:() NEAR AND OR', "title:自来水^3", "{\"query\": 1}", "\\/~?"])
def test_user_text_never_reaches_query_syntax(text: str) -> None:
    body = search_body(SearchQuery(text=text), query_terms(text))
    assert not {"query_string", "simple_query_string", "regexp", "wildcard", "prefix"} & set(_keys(body))
    for clause in body["query"]["bool"].get("must", []):
        assert all(is_word(word) for word in clause["multi_match"]["query"].split(" "))


def test_response_becomes_a_search_result_in_china_time() -> None:
    query = SearchQuery(facets=["category"], histogram="day")
    day = datetime(2025, 3, 1, tzinfo=CN_TZ)
    response = {
        "hits": {"total": {"value": 7, "relation": "eq"},
                 "hits": [{"_id": "p1", "_score": 2.5, "_source": {"post": {"id": "p1"}}},
                          {"_id": "p2", "_score": None, "_source": {"post": {"id": "p2"}}}]},
        "aggregations": {
            "facet_category": {"buckets": [{"key": "供水", "doc_count": 5}, {"key": "交通", "doc_count": 2}]},
            "histogram": {"buckets": [{"key": int(day.timestamp() * 1000), "doc_count": 7}]},
        },
    }
    result = parse_search_response(response, query)
    assert result.total == 7
    assert [(h.post["id"], h.score) for h in result.hits] == [("p1", 2.5), ("p2", 0.0)]
    assert result.facets == {"category": [("供水", 5), ("交通", 2)]}
    assert result.histogram == [(day, 7)]
    assert result.histogram[0][0].utcoffset() == timedelta(hours=8)


def test_a_missing_index_answers_empty() -> None:
    query = SearchQuery(facets=["category"], histogram="day")
    response = {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}  # ignore_unavailable
    result = parse_search_response(response, query)
    assert (result.total, result.hits, result.facets, result.histogram) == (0, [], {"category": []}, [])


# --- over HTTP ------------------------------------------------------------------------------------

class _FakeElasticsearch(BaseHTTPRequestHandler):
    """Records each request and answers what Elasticsearch would for this store's calls."""

    requests: list[tuple[str, str, str]]
    overrides: dict[str, tuple[int, dict[str, Any]]]  # a part of the path -> status and answer
    product: str | None

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        self.requests.append((self.command, self.path, body))
        status, payload = 200, {"acknowledged": True}
        if self.command == "HEAD":
            status = 404
        elif self.path.startswith("/_bulk"):
            payload = {"errors": False, "items": []}
        elif "/_search" in self.path:
            payload = {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}
        for part, answer in self.overrides.items():
            if part in self.path:
                status, payload = answer
        data = json.dumps(payload).encode()
        self.send_response(status)
        if self.product:
            self.send_header("X-Elastic-Product", self.product)
        self.send_header("Content-Type", "application/vnd.elasticsearch+json; compatible-with=9")
        self.send_header("Content-Length", "0" if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_HEAD = _answer

    def log_message(self, *args: object) -> None:
        pass


Serve = Callable[..., tuple[str, list[tuple[str, str, str]]]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Starts a stand-in on 127.0.0.1: ``serve(overrides={path part: (status, answer)}, product=…)``."""
    servers: list[ThreadingHTTPServer] = []

    def start(overrides: dict[str, tuple[int, dict[str, Any]]] | None = None,
              product: str | None = "Elasticsearch") -> tuple[str, list[tuple[str, str, str]]]:
        requests: list[tuple[str, str, str]] = []
        handler = type("Handler", (_FakeElasticsearch,),
                       {"requests": requests, "overrides": overrides or {}, "product": product})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", requests

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_store_sends_template_index_bulk_and_search(serve: Serve) -> None:
    url, requests = serve()
    store = ElasticStore(url, index_prefix="yq", refresh="wait_for")
    store.ensure_schema()
    store.index([post("p1"), post("p2")])
    result = store.search(SearchQuery(text="自来水", categories=["供水"]))
    store.close()

    assert result.total == 0
    (m1, p1, b1), (m2, p2, _), (m3, p3, _), (m4, p4, b4), (m5, p5, b5) = requests
    assert (m1, p1) == ("PUT", "/_index_template/yq-posts")
    assert json.loads(b1) == index_template("yq")
    assert (m2, p2, m3, p3) == ("HEAD", "/yq-posts", "PUT", "/yq-posts")
    assert (m4, p4) == ("PUT", "/_bulk?refresh=wait_for")
    lines = [json.loads(line) for line in b4.strip().splitlines()]
    assert [line["index"]["_id"] for line in lines[0::2]] == ["p1", "p2"]
    assert (m5, p5.split("?")[0]) == ("POST", "/yq-posts/_search")
    assert json.loads(b5) == search_body(SearchQuery(text="自来水", categories=["供水"]))


def test_an_existing_index_gets_the_new_fields_of_the_mapping(serve: Serve) -> None:
    url, requests = serve(overrides={"/yq-posts": (200, {"acknowledged": True})})
    store = ElasticStore(url, index_prefix="yq")
    store.ensure_schema()
    store.close()
    assert [(m, p) for m, p, _ in requests] == [
        ("PUT", "/_index_template/yq-posts"), ("HEAD", "/yq-posts"), ("GET", "/yq-posts/_mapping"),
        ("PUT", "/yq-posts/_mapping")]
    assert json.loads(requests[-1][2]) == index_mappings()


def test_an_index_made_with_the_former_custom_analyzer_keeps_it() -> None:
    """An analyzer cannot change without a re-index; the former one (whitespace tokenizer, lowercase
    filter) matches the lowercased token text the same, so an existing index keeps working."""
    old = {"type": "text", "analyzer": "yuqing_tokens"}
    update = mapping_update({"title_tokens": old, "tokens_text": old, "id": {"type": "keyword"}})
    for field in TOKEN_FIELDS:
        assert update["properties"][field] == old
    assert {k: v for k, v in update["properties"].items() if k not in TOKEN_FIELDS} == {
        k: v for k, v in index_mappings()["properties"].items() if k not in TOKEN_FIELDS}
    assert mapping_update({}) == index_mappings()


def test_ensure_schema_puts_the_mapping_with_the_analyzer_the_index_has(serve: Serve) -> None:
    old = {"type": "text", "analyzer": "yuqing_tokens"}
    current = {"yq-posts": {"mappings": {"properties": {"title_tokens": old, "tokens_text": old}}}}
    url, requests = serve(overrides={"/yq-posts": (200, {"acknowledged": True}), "/_mapping": (200, current)})
    store = ElasticStore(url, index_prefix="yq")
    store.ensure_schema()
    store.close()
    method, path, body = requests[-1]
    assert (method, path) == ("PUT", "/yq-posts/_mapping")
    assert json.loads(body)["properties"]["tokens_text"] == old


def test_refusals_become_one_line_store_errors(serve: Serve) -> None:
    rejected = {"_id": "p2", "status": 400, "error": {"type": "mapper_parsing_exception", "reason": "x"}}
    failed = {"type": "search_phase_execution_exception", "reason": "all shards failed"}
    url, _ = serve(overrides={
        "/_bulk": (200, {"errors": True, "items": [{"index": {"_id": "p1"}}, {"index": rejected}]}),
        "/_search": (400, {"error": failed, "status": 400}),
    })
    store = ElasticStore(url, index_prefix="yq")
    with pytest.raises(PostsRejected, match="1 posts refused") as refused:
        store.index([post("p1"), post("p2")])
    assert refused.value.reasons == {"p2": "mapper_parsing_exception x"}
    with pytest.raises(StoreError, match="search refused: 400 search_phase_execution_exception all shards"):
        store.search(SearchQuery(text="自来水"))
    store.close()


def test_a_server_that_is_not_elasticsearch_is_named(serve: Serve) -> None:
    url, _ = serve(product=None)
    store = ElasticStore(url)
    with pytest.raises(StoreError, match="is not Elasticsearch"):
        store.search(SearchQuery(text="自来水"))
    store.close()


def test_unreachable_server_is_one_clear_store_error() -> None:
    store = ElasticStore("http://127.0.0.1:9", request_timeout=2)
    with pytest.raises(StoreError) as err:
        store.search(SearchQuery(text="自来水"))
    message = str(err.value)
    assert "\n" not in message
    assert "127.0.0.1:9" in message and "YUQING_SEARCH_URL" in message
