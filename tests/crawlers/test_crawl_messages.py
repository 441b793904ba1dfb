"""留言 sources: a source declares ``item_kind: message``; its items carry that kind and, once the board
shows it, the official reply (已回复 block), which makes the crawler emit the message again as an update."""

from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import quote
from urllib.request import urlopen

from crawlers.config import Source, source_from_dict
from crawlers.crawl import crawl_round
from crawlers.extract import build_item
from crawlers.replay import due_lines, load_replay
from yuqing.bus import Bus
from yuqing.clock import CN_TZ, FakeClock
from yuqing.db.session import Database
from yuqing.schemas import RawPost

NewPosts = Callable[[], list[tuple[str | None, RawPost]]]
FAST_SCRAPY = {"DOWNLOAD_TIMEOUT": 5, "RETRY_TIMES": 1, "RETRY_BACKOFF_BASE": 0.05, "LOG_LEVEL": "ERROR"}
START = datetime(2026, 11, 23, 12, 0, tzinfo=CN_TZ)


def crawl(sources: list[Source], db: Database, bus: Bus, clock: FakeClock) -> None:
    producer = bus.producer()
    summaries = crawl_round(sources, db=db, producer=producer, clock=clock, scrapy_settings=FAST_SCRAPY)
    producer.close()
    assert all(not s.errors for s in summaries.values()), {k: s.errors for k, s in summaries.items()}


def test_board_items_are_messages_with_their_replies_and_a_new_reply_is_an_update(
    site: str, default_sources: dict[str, Source], db: Database, bus: Bus, raw_posts: NewPosts
) -> None:
    sources = [default_sources["nanyang-board"], default_sources["ningyang-letters"]]
    clock = FakeClock(START)
    crawl(sources, db, bus, clock)
    posts = {p.url.rsplit("/", 1)[-1]: p for _, p in raw_posts()}
    assert len(posts) == 18 and {p.item_kind for p in posts.values()} == {"message"}
    answered = posts["b2011.html"].reply
    assert answered is not None and answered.department == "唐河县教育局"
    assert answered.replied_at == datetime(2026, 11, 22, 9, 30, tzinfo=CN_TZ)
    assert answered.text.startswith("经调查核实") and "我要跟帖" not in answered.text
    letter = posts["g3004.html"].reply  # the GBK board: XPath selectors, its own layout
    assert letter is not None and letter.department == "宁阳县教育和体育局"
    assert letter.replied_at == datetime(2026, 11, 23, 16, 0, tzinfo=CN_TZ)
    assert posts["b2012.html"].reply is None and posts["g3006.html"].reply is None

    # the board answers b2012: the next crawl emits it again, same id, with the reply
    text = quote("已联系县自来水公司抢修，11月23日10时恢复供水。")
    with urlopen(f"{site}/_control/reply?id=b2012&text={text}&from={quote('方城县水利局')}"
                 f"&time={quote('2026年11月23日 10:00')}") as answer:
        assert answer.status == 200
    clock.advance(timedelta(minutes=10))
    crawl(sources, db, bus, clock)
    [(_, update)] = raw_posts()
    assert update.is_update and update.id == posts["b2012.html"].id and update.item_kind == "message"
    assert update.reply is not None and update.reply.department == "方城县水利局"
    assert update.reply.replied_at == datetime(2026, 11, 23, 10, 0, tzinfo=CN_TZ)

    clock.advance(timedelta(minutes=10))  # the same reply again: nothing new
    crawl(sources, db, bus, clock)
    assert raw_posts() == []


def test_an_unreadable_reply_time_or_message_date_keeps_the_item_with_the_problem() -> None:
    source = source_from_dict(
        {"id": "board", "name": "板", "type": "html", "start_urls": ["http://site.test/l"],
         "item_kind": "message",
         "list": {"item": "li", "link": "a::attr(href)",
                  "reply": {"content": "div.r", "published_at": "span.t::text"}}}
    )
    fields = {"title": "停水", "content": "三天没水", "published_at": "某天",
              "reply": {"text": "已处理", "department": "回复单位：水务局", "published_at": "不详"}}
    item, problems = build_item(source, "http://site.test/m/1", fields, START)
    assert item is not None and item.published_at is None
    assert item.reply is not None and item.reply.replied_at is None and item.reply.department == "水务局"
    assert [p.kind for p in problems] == ["bad_date", "bad_date"]
    assert "reply kept without it" in problems[1].reason


def test_the_board_replay_shows_one_reply_later_with_its_time_rebased(
    default_sources: dict[str, Source],
) -> None:
    source = default_sources["xinxiang-board-replay"]
    assert source.item_kind == "message"
    replay = load_replay(source)
    assert not replay.problems
    started = START
    first, position = due_lines(source, replay, started, 0, started + timedelta(seconds=30))
    assert len(first) == 3 and all(i.reply is None for i in first)
    later, _ = due_lines(source, replay, started, position, started + timedelta(minutes=2))
    [answered] = later
    assert answered.url == first[0].url and answered.reply is not None
    # 2 h 28 min after the first message at speed 240: 37 s after the replay started
    assert answered.reply.replied_at == started + timedelta(seconds=37)


def test_a_replay_line_with_a_broken_reply_keeps_its_message(tmp_path) -> None:
    lines = tmp_path / "board.jsonl"
    lines.write_text(
        '{"url": "https://b.example/m/1", "title": "停水", "published_at": "2026-11-23T09:00:00+08:00",'
        ' "reply": {"department": "水务局"}}\n',
        encoding="utf-8",
    )
    source = source_from_dict({"id": "board-replay", "name": "回放", "type": "replay", "file": str(lines),
                               "item_kind": "message"})
    replay = load_replay(source)
    [line] = replay.lines
    assert line.title == "停水" and line.reply is None
    [problem] = replay.problems
    assert problem.kind == "parse" and "reply ignored: text" in problem.reason
