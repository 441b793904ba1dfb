"""Crawl the sample site over HTTP on localhost with the default sources, emit to the SQLite bus."""

from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.request import urlopen

from crawlers.config import Source
from crawlers.crawl import crawl_round
from crawlers.extract import canonical_url
from yuqing.bus import Bus, open_bus
from yuqing.clock import CN_TZ, FakeClock
from yuqing.db.session import Database, open_database
from yuqing.schemas import RawPost, post_id_for

NewPosts = Callable[[], list[tuple[str | None, RawPost]]]  # the raw_posts fixture

FAST_SCRAPY = {"DOWNLOAD_TIMEOUT": 5, "RETRY_TIMES": 1, "RETRY_BACKOFF_BASE": 0.05, "LOG_LEVEL": "ERROR"}

START = datetime(2026, 11, 23, 12, 0, tzinfo=CN_TZ)
FETCHED = ("nanyang-news", "nanyang-board", "ningyang-letters", "changyuan-forum", "shaoyang-social")


def crawl(sources: list[Source], db: Database, bus: Bus, clock: FakeClock) -> dict[str, tuple[int, int]]:
    producer = bus.producer()
    summaries = crawl_round(sources, db=db, producer=producer, clock=clock, scrapy_settings=FAST_SCRAPY)
    producer.close()
    assert all(not s.errors for s in summaries.values()), {k: s.errors for k, s in summaries.items()}
    return {k: (s.new, s.updated) for k, s in summaries.items()}


def by_url(posts: list[tuple[str | None, RawPost]]) -> dict[str, RawPost]:
    return {p.url.split("/", 3)[-1]: p for _, p in posts}


def test_every_source_type_extracts_its_fields_then_only_changes_are_emitted_across_restarts(
    site: str,
    default_sources: dict[str, Source],
    db: Database,
    db_url: str,
    bus: Bus,
    bus_url: str,
    raw_posts: NewPosts,
) -> None:
    sources = [default_sources[i] for i in FETCHED]
    clock = FakeClock(START)

    first = crawl(sources, db, bus, clock)
    assert first == {
        "nanyang-news": (8, 0),
        "nanyang-board": (12, 0),
        "ningyang-letters": (6, 0),
        "changyuan-forum": (3, 0),
        "shaoyang-social": (9, 0),
    }
    emitted = raw_posts()
    assert len(emitted) == 38
    for key, post in emitted:
        assert key == post.source_id
        assert post.id == post_id_for(post.source_id, canonical_url(post.url))
        assert post.published_at is not None and post.published_at.utcoffset() is not None
        assert post.fetched_at == START and not post.is_update
    posts = by_url(emitted)

    news = posts["news/n1001.html"]  # RSS entry, full text from the article page
    assert news.title == "宛城区部分区域11月24日停水12小时 供水部门提醒居民提前储水"
    assert news.content.startswith("因主干管网改造施工，宛城区新华东路以南")
    assert "统计代码" not in news.content and "首页" not in news.content and "分享到" not in news.content
    assert news.published_at == datetime(2026, 11, 23, 8, 30, tzinfo=CN_TZ)
    assert (news.author, news.source_kind, news.region) == ("本报记者 李晓", "news", "4113")

    board = posts["board/msg/b2011.html"]  # UTF-8 board, found on list page 1, detail page fields
    assert board.title == "唐河县某中学强制收取教辅资料费180元是否合规"
    assert board.author == "网友家长老周" and board.source_kind == "gov" and board.source_weight == 1.5
    assert board.published_at == datetime(2026, 11, 21, 16, 42, tzinfo=CN_TZ)
    assert (board.counts.reply, board.counts.like) == (41, 156)
    assert "统一订的练习册" in board.content and "我要跟帖" not in board.content
    assert "board/msg/b2001.html" in posts  # reached through the pager (page 3)

    letter = posts["gbk/msg/g3003.html"]  # GBK-encoded county portal, XPath selectors
    assert letter.title == "化工园区附近夜间异味明显 居民担心健康"
    assert letter.author == "伏山镇居民" and letter.counts.comment == 31
    assert letter.published_at == datetime(2026, 11, 19, 23, 5, tzinfo=CN_TZ)
    assert "刺鼻的化学品味道" in letter.content

    thread = posts["forum/thread/t5003.html"]  # forum: first post only, relative "昨天"
    assert thread.published_at == datetime(2026, 11, 22, 21, 18, tzinfo=CN_TZ)
    assert thread.counts.reply == 4 and "制氧机" in thread.content and "冰箱" not in thread.content

    social = posts["status/4921078"]  # JSON API, relative time against the crawl's now
    assert social.published_at == START - timedelta(minutes=3)
    assert (social.counts.repost, social.counts.comment, social.counts.like) == (86, 142, 310)
    assert social.author == "新邵随手拍" and social.title == ""
    assert "status/4916011" in posts  # last API page

    # The same pages again: nothing new.
    clock.advance(timedelta(minutes=10))
    assert crawl(sources, db, bus, clock) == {s: (0, 0) for s in FETCHED}
    assert raw_posts() == []

    # A reply on the board: one update with the new count, same post id.
    with urlopen(f"{site}/_control/bump?id=b2012&count=reply&by=3") as answer:
        assert answer.status == 200
    clock.advance(timedelta(minutes=10))
    third = crawl(sources, db, bus, clock)
    assert third["nanyang-board"] == (0, 1) and sum(n + u for n, u in third.values()) == 1
    [(key, update)] = raw_posts()
    assert key == "nanyang-board" and update.is_update
    assert update.id == posts["board/msg/b2012.html"].id and update.counts.reply == 30

    # Restart: new database and bus connections on the same files keep the state.
    db.close()
    bus.close()
    db2 = open_database(db_url)
    bus2 = open_bus(bus_url, partitions=2)
    try:
        with urlopen(f"{site}/_control/bump?id=4920650&count=like&by=10") as answer:
            assert answer.status == 200
        clock.advance(timedelta(minutes=10))
        after_restart = crawl(sources, db2, bus2, clock)
        assert after_restart["shaoyang-social"] == (0, 1)
        assert sum(n + u for n, u in after_restart.values()) == 1
    finally:
        bus2.close()
        db2.close()
