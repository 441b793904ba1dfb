"""One behavioural suite for every search store: SQLite FTS5, and Elasticsearch on a real 9.x node
that tests/engines/elastic_node.py starts for the session (or the server YUQING_TEST_ES_URL names).
The request bodies are also checked without a server in tests/storage/test_elastic_requests.py."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import jieba
import pytest

from tests.engines.elastic_node import es_url  # noqa: F401 - the session fixture the "elastic" param uses
from yuqing.clock import CN_TZ
from yuqing.schemas import EnrichedPost, Location, Sentiment, Severity, Tags
from yuqing.storage import SearchQuery, SearchStore, open_store


def make_post(
    pid: str,
    title: str,
    content: str,
    *,
    published: datetime,
    source_id: str = "weibo",
    source_kind: str = "social",
    category: str | None = None,
    codes: tuple[str, ...] = (),
    sentiment: str = "neutral",
    severity: str | None = None,
    relevant: bool = True,
    heat: float = 0.0,
    fetched: datetime | None = None,
) -> EnrichedPost:
    """A post as the nlp stage emits it: its tokens are jieba's segmentation of title and content."""
    return EnrichedPost(
        id=pid,
        source_id=source_id,
        source_kind=source_kind,
        url=f"https://example.cn/{pid}",
        title=title,
        content=content,
        published_at=published,
        fetched_at=fetched or published,
        tokens=jieba.lcut(f"{title}\n{content}"),
        heat=heat,
        tags=Tags(
            category=category,
            relevant=relevant,
            sentiment=Sentiment(label=sentiment),
            severity=Severity(level=severity),
            locations=[Location(name=c, code=c) for c in codes],
        ),
    )


def cn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=CN_TZ)


CORPUS = [
    make_post(
        "water",
        "市民反映自来水浑浊发黄",
        "近日朝阳区多个小区居民反映自来水浑浊发黄，担心饮用安全。",
        published=cn(1, 9, 30),
        category="供水",
        codes=("110105",),
        sentiment="negative",
        severity="较大",
        heat=80,
    ),
    make_post(
        "water2",
        "自来水公司回应管网检修",
        "自来水公司表示，管网检修结束后水质已经恢复正常。",
        published=cn(1, 15),
        source_id="gov-bj",
        source_kind="gov",
        category="供水",
        codes=("110000",),
        heat=30,
    ),
    make_post(
        "metro",
        "地铁早高峰拥挤不堪",
        "上班族反映地铁十号线早高峰过于拥挤，希望增加班次。",
        published=cn(2, 8, 10),
        category="交通",
        codes=("110108",),
        sentiment="negative",
        heat=50,
    ),
    make_post(
        "canteen",
        "学校食堂饭菜质量引关注",
        "家长反映孩子学校食堂饭菜质量差，价格偏高。",
        published=cn(3, 0, 30),
        source_id="forum-x",
        source_kind="forum",
        category="教育",
        codes=("310101",),
        sentiment="negative",
        heat=20,
    ),
    make_post(
        "park",
        "公园新增健身设施",
        "市民点赞公园新增的健身设施，晨练更方便了。",
        published=cn(3, 10),
        source_id="news-sh",
        source_kind="news",
        category="城建",
        codes=("310104", "310101"),
        sentiment="positive",
        relevant=False,
        heat=10,
    ),
]


def _sqlite_store(tmp_path: Path) -> Iterator[SearchStore]:
    store = open_store(f"sqlite:///{tmp_path / 'search.sqlite3'}")
    store.ensure_schema()
    yield store
    store.close()


def _elastic_store(url: str) -> Iterator[SearchStore]:
    from yuqing.storage.elastic import ElasticStore

    # refresh=True: each write is searchable at once (wait_for would wait up to the 1 s refresh interval)
    store = ElasticStore(url, index_prefix=f"yuqing-test-{uuid.uuid4().hex[:8]}", refresh=True)
    store.ensure_schema()
    yield store
    store.drop()
    store.close()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("elastic", marks=pytest.mark.es_live),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchStore]:
    if request.param == "sqlite":
        yield from _sqlite_store(tmp_path)
    else:
        yield from _elastic_store(request.getfixturevalue("es_url"))


@pytest.fixture
def corpus(store: SearchStore) -> SearchStore:
    store.index(CORPUS)
    return store


def ids(store: SearchStore, **query: object) -> list[str]:
    return [h.post["id"] for h in store.search(SearchQuery(size=50, **query)).hits]


# --- full text ------------------------------------------------------------------------------------


def test_chinese_full_text_ranks_the_matching_post_first(corpus: SearchStore) -> None:
    result = corpus.search(SearchQuery(text="自来水 浑浊"))  # side by side: any of the words
    found = [h.post["id"] for h in result.hits]
    assert found[0] == "water"
    assert set(found) == {"water", "water2"}  # water2 says 自来水 only; the others say neither
    assert result.total == 2
    assert result.hits[0].score > result.hits[1].score > 0


def test_every_word_required_with_operator_and(corpus: SearchStore) -> None:
    assert ids(corpus, text="自来水 浑浊", operator="and") == ["water"]
    assert ids(corpus, text="自来水 地铁", operator="and") == []


def test_words_match_whole_not_as_characters(corpus: SearchStore) -> None:
    assert ids(corpus, text="水") == []  # a character inside 自来水 is not a word of any post
    assert ids(corpus, text="地铁") == ["metro"]


def test_latin_words_match_whatever_their_case(store: SearchStore) -> None:
    content = "多个监测站PM2.5数值异常，APP无法查询。"
    store.index([make_post("pm", "朝阳区PM2.5爆表", content, published=cn(1, 9))])
    for text in ("pm2.5", "PM2.5", "Pm2.5 app"):
        assert ids(store, text=text, operator="and") == ["pm"], text


def test_title_weighs_more_than_content(store: SearchStore) -> None:
    store.index(
        [
            make_post(
                "in-body", "小区夜间施工扰民", "居民反映噪音太大影响休息，希望处理。", published=cn(1, 9)
            ),
            make_post(
                "in-title", "小区夜间噪音扰民", "居民反映施工太吵影响休息，希望处理。", published=cn(1, 8)
            ),
        ]
    )
    assert ids(store, text="噪音") == ["in-title", "in-body"]


def test_full_text_combines_with_filters(corpus: SearchStore) -> None:
    assert ids(corpus, text="自来水", source_ids=["gov-bj"]) == ["water2"]
    assert ids(corpus, text="反映", sentiments=["negative"], sort="time") == ["canteen", "metro", "water"]


# --- filters --------------------------------------------------------------------------------------


def test_time_range_is_start_inclusive_end_exclusive(corpus: SearchStore) -> None:
    assert ids(corpus, start=cn(1, 15), end=cn(3, 0, 30), sort="time") == ["metro", "water2"]
    assert ids(corpus, start=cn(3, 0, 0), sort="time") == ["park", "canteen"]
    assert ids(corpus, end=cn(1, 9, 30)) == []
    naive = datetime(2025, 3, 3, 0, 0)  # a time without a zone is China time
    assert ids(corpus, start=naive, sort="time") == ["park", "canteen"]


def test_filters_by_source_category_sentiment_relevance_and_id(corpus: SearchStore) -> None:
    assert ids(corpus, source_ids=["weibo"], sort="time") == ["metro", "water"]
    assert ids(corpus, source_ids=["gov-bj", "news-sh"], sort="time") == ["park", "water2"]
    assert ids(corpus, categories=["供水"], sort="time") == ["water2", "water"]
    assert ids(corpus, sentiments=["positive"]) == ["park"]
    assert "park" not in ids(corpus, relevant_only=True)
    assert len(ids(corpus, relevant_only=True)) == 4
    assert sorted(ids(corpus, post_ids=["metro", "park", "nope"])) == ["metro", "park"]


def test_location_code_matches_the_place_and_everything_below_it(corpus: SearchStore) -> None:
    assert sorted(ids(corpus, location_codes=["110000"])) == ["metro", "water", "water2"]  # 北京市
    assert sorted(ids(corpus, location_codes=["110100"])) == ["metro", "water"]  # its districts
    assert ids(corpus, location_codes=["110105"]) == ["water"]  # 朝阳区 alone
    assert sorted(ids(corpus, location_codes=["310000"])) == ["canteen", "park"]  # 上海市
    assert sorted(ids(corpus, location_codes=["310101", "110108"])) == ["canteen", "metro", "park"]
    assert ids(corpus, location_codes=["120000"]) == []


# --- aggregations ---------------------------------------------------------------------------------


def _expected_counts(values: list[str]) -> list[tuple[str, int]]:
    return sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0]))


def test_facets_count_the_filtered_set(corpus: SearchStore) -> None:
    result = corpus.search(SearchQuery(facets=["category", "source_id", "sentiment", "location_code"]))
    assert result.facets["category"] == _expected_counts([p.tags.category for p in CORPUS])
    assert result.facets["source_id"] == _expected_counts([p.source_id for p in CORPUS])
    assert result.facets["sentiment"] == [("negative", 3), ("neutral", 1), ("positive", 1)]
    assert result.facets["location_code"] == _expected_counts(
        [loc.code for p in CORPUS for loc in p.tags.locations]
    )

    filtered = corpus.search(SearchQuery(text="反映", facets=["category", "severity"], size=0))
    assert filtered.hits == []
    assert filtered.total == 3
    assert filtered.facets["category"] == [("交通", 1), ("供水", 1), ("教育", 1)]
    assert filtered.facets["severity"] == [("较大", 1)]  # posts without a severity are not counted


def test_facet_size_keeps_the_most_frequent(corpus: SearchStore) -> None:
    result = corpus.search(SearchQuery(facets=["source_id"], facet_size=1))
    assert result.facets["source_id"] == [("weibo", 2)]


def test_day_histogram_uses_china_days_and_fills_gaps(corpus: SearchStore) -> None:
    result = corpus.search(SearchQuery(histogram="day"))
    # canteen is 2025-03-03 00:30 in China (still 03-02 in UTC): it counts on 03-03
    assert result.histogram == [(cn(1, 0), 2), (cn(2, 0), 1), (cn(3, 0), 2)]
    assert all(when.utcoffset() == timedelta(hours=8) for when, _ in result.histogram)

    hourly = corpus.search(SearchQuery(histogram="hour", start=cn(1, 0), end=cn(2, 0)))
    assert hourly.histogram[0] == (cn(1, 9), 1)
    assert hourly.histogram[-1] == (cn(1, 15), 1)
    assert [n for _, n in hourly.histogram] == [1, 0, 0, 0, 0, 0, 1]


# --- sorting and paging ---------------------------------------------------------------------------


def test_sorts_by_time_and_by_heat(corpus: SearchStore) -> None:
    by_time = sorted(CORPUS, key=lambda p: p.published_at, reverse=True)
    assert ids(corpus, sort="time") == [p.id for p in by_time]
    assert ids(corpus, sort="heat") == ["water", "metro", "water2", "canteen", "park"]
    assert ids(corpus) == ids(corpus, sort="time")  # no text: relevance falls back to newest first


def test_pages_cover_the_result_once(corpus: SearchStore) -> None:
    pages = [corpus.search(SearchQuery(sort="time", size=2, offset=offset)) for offset in (0, 2, 4, 6)]
    assert [len(p.hits) for p in pages] == [2, 2, 1, 0]
    assert {p.total for p in pages} == {5}
    assert [h.post["id"] for p in pages for h in p.hits] == ids(corpus, sort="time")


# --- writing and reading back ---------------------------------------------------------------------


def test_reindexing_a_post_keeps_one_document_the_newer(corpus: SearchStore) -> None:
    old = CORPUS[0]
    newer = make_post(
        "water",
        "自来水水质恢复正常",
        "经过管网冲洗，朝阳区自来水水质已恢复正常。",
        published=old.published_at,
        fetched=old.fetched_at + timedelta(hours=2),
        category="供水",
        codes=("110105",),
        heat=90,
    )
    corpus.index([newer])
    corpus.index([newer])
    assert corpus.search(SearchQuery()).total == len(CORPUS)
    assert [p["title"] for p in corpus.get(["water"])] == [newer.title]
    assert ids(corpus, text="发黄") == []  # the old words left the full-text index
    assert ids(corpus, text="冲洗") == ["water"]

    corpus.index([old])  # an older version delivered late does not win
    assert corpus.get(["water"])[0]["title"] == newer.title


def test_get_returns_posts_in_the_order_asked_and_skips_unknown(corpus: SearchStore) -> None:
    got = corpus.get(["park", "missing", "water"])
    assert [p["id"] for p in got] == ["park", "water"]
    assert EnrichedPost.model_validate(got[1]) == CORPUS[0]
    assert corpus.get([]) == []


def test_ensuring_the_schema_again_keeps_the_posts_searchable(corpus: SearchStore) -> None:
    corpus.ensure_schema()  # what every process does at start, on a store that already exists
    assert ids(corpus, text="自来水 浑浊", operator="and") == ["water"]
    assert corpus.search(SearchQuery()).total == len(CORPUS)


def test_an_empty_store_answers_empty(store: SearchStore) -> None:
    result = store.search(SearchQuery(text="自来水", facets=["category"], histogram="day"))
    assert (result.total, result.hits, result.histogram) == (0, [], [])
    assert store.get(["water"]) == []


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '""',
        "'",
        "*",
        "-",
        ":",
        "()",
        ")(",
        "^",
        "\\",
        "+",
        "。。。",
        "   ",
        "NEAR",
        "NEAR(自来水 浑浊)",
        "AND",
        "OR",
        "NOT",
        "自来水 AND",
        "OR 自来水",
        "自来水 NOT 浑浊",
        '自来水" OR "1',
        "title:自来水",
        "自来水*",
        "-自来水",
        "{自来水}",
        "自来水 -- ; DROP TABLE documents",
        "a" * 300,
        "自来水\x00浑浊",
    ],
)
def test_hostile_query_text_answers_or_names_the_problem(corpus: SearchStore, text: str) -> None:
    """Text with operator characters is an expression: it answers posts of the corpus, or raises
    QuerySyntaxError naming the position (422 in the API, exit 2 in the CLI); never another error."""
    from yuqing.storage.query import QuerySyntaxError

    try:
        result = corpus.search(SearchQuery(text=text, facets=["category"], histogram="day"))
    except QuerySyntaxError as exc:
        assert exc.reason
    else:
        assert {h.post["id"] for h in result.hits} <= {p.id for p in CORPUS}
        if "自来水" in text and not text.startswith("-"):  # the words around the operators still match
            assert "water" in [h.post["id"] for h in result.hits]
    assert corpus.search(SearchQuery()).total == len(CORPUS)


# --- aggregations stay exact as posts change and at any time bounds -------------------------------

ALL_FACETS = ["source_id", "category", "location_code", "sentiment", "source_kind", "severity"]


def _expected_aggregations(
    posts: list[EnrichedPost], start: datetime | None = None, end: datetime | None = None, unit: str = "day"
) -> tuple[int, dict[str, list[tuple[str, int]]], list[tuple[datetime, int]]]:
    """Total, facets and histogram counted by hand: what every store must answer."""
    kept = [
        p
        for p in posts
        if (start is None or p.posted_at >= start) and (end is None or p.posted_at < end)
    ]
    facets = {
        "source_id": _expected_counts([p.source_id for p in kept]),
        "category": _expected_counts([p.tags.category for p in kept if p.tags.category is not None]),
        "location_code": _expected_counts(
            [c for p in kept for c in dict.fromkeys(x.code for x in p.tags.locations)]
        ),
        "sentiment": _expected_counts([p.tags.sentiment.label for p in kept]),
        "source_kind": _expected_counts([p.source_kind for p in kept]),
        "severity": _expected_counts(
            [p.tags.severity.level for p in kept if p.tags.severity.level is not None]
        ),
    }
    width = timedelta(days=1) if unit == "day" else timedelta(hours=1)

    def bucket(when: datetime) -> datetime:
        local = when.astimezone(CN_TZ)
        return local.replace(minute=0, second=0, microsecond=0, hour=0 if unit == "day" else local.hour)

    counts = Counter(bucket(p.posted_at) for p in kept)
    histogram = []
    if counts:
        at = min(counts)
        while at <= max(counts):
            histogram.append((at, counts.get(at, 0)))
            at += width
    return len(kept), facets, histogram


def _aggregations(
    store: SearchStore, start: datetime | None = None, end: datetime | None = None, unit: str = "day"
) -> tuple[int, dict[str, list[tuple[str, int]]], list[tuple[datetime, int]]]:
    result = store.search(SearchQuery(start=start, end=end, facets=ALL_FACETS, histogram=unit, size=0))
    return result.total, result.facets, result.histogram


def test_aggregations_follow_a_reindexed_post_that_moves(corpus: SearchStore) -> None:
    old = next(p for p in CORPUS if p.id == "metro")  # the only 交通 post, on 03-02
    moved = make_post(
        "metro",
        old.title,
        old.content,
        published=cn(3, 23, 59),
        fetched=cn(4, 0, 59),  # re-crawled after its new time (a time after the fetch is not believed)
        source_id="gov-bj",
        source_kind="gov",
        category="供水",
        codes=("310101", "310101", "440305"),
        sentiment="positive",
        severity="一般",
        heat=5,
    )
    posts = [moved if p.id == "metro" else p for p in CORPUS]
    corpus.index([moved])
    corpus.index([moved])  # the same version again changes nothing
    for unit in ("day", "hour"):
        assert _aggregations(corpus, unit=unit) == _expected_aggregations(posts, unit=unit), unit
    _, facets, _ = _aggregations(corpus)
    assert "交通" not in dict(facets["category"])  # a value whose last post left is gone, not 0
    assert _aggregations(corpus, start=cn(2, 0), end=cn(3, 0)) == (0, {name: [] for name in ALL_FACETS}, [])

    corpus.index([old])  # an older version delivered late changes no count
    assert _aggregations(corpus) == _expected_aggregations(posts)


def test_aggregations_with_time_bounds_inside_hours(corpus: SearchStore) -> None:
    second = timedelta(seconds=1)
    bounds = [
        (cn(1, 9, 15), cn(3, 10, 0)),
        (cn(1, 9, 30), cn(3, 0, 30)),  # water is in (start inclusive), canteen out (end exclusive)
        (cn(1, 9, 30) + second, cn(3, 0, 30) + second),
        (cn(1, 0), cn(3, 10) + second),
        (None, cn(2, 8, 10)),
        (cn(2, 8, 10) + second, None),
        (cn(1, 15) - second, cn(1, 15) + second),
        (cn(1, 14, 30), cn(2, 8, 30)),
        (cn(1, 9, 31), cn(1, 14, 59)),  # nothing inside
    ]
    for start, end in bounds:
        for unit in ("day", "hour"):
            expected = _expected_aggregations(CORPUS, start, end, unit)
            assert _aggregations(corpus, start, end, unit) == expected, (start, end, unit)
