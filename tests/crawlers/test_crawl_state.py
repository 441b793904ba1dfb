"""The incremental decision (new, seen, update, duplicate) on SQLite and PostgreSQL."""

from datetime import datetime, timedelta

from sqlalchemy import Engine

from crawlers.config import source_from_dict
from crawlers.items import CrawledItem
from crawlers.state import decide
from yuqing.clock import CN_TZ
from yuqing.db.session import Database
from yuqing.schemas import Counts, post_id_for

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=CN_TZ)
SOURCE = source_from_dict(
    {
        "id": "board",
        "name": "留言板",
        "type": "html",
        "kind": "gov",
        "weight": 1.5,
        "region": "4113",
        "start_urls": ["http://site.test/list"],
        "list": {"item": "li", "link": "a::attr(href)"},
    }
)


def item(
    url: str = "http://site.test/msg/1.html?utm_source=feed#top",
    content: str = "小区停水三天",
    reply: int = 2,
) -> CrawledItem:
    return CrawledItem(source_id="board", url=url, title="停水", content=content, counts=Counts(reply=reply))


def test_new_then_seen_then_updated_then_duplicate(db_engine: Engine) -> None:
    db = Database(db_engine)
    with db.transaction() as session:
        verdict, post = decide(session, SOURCE, item(), NOW)
    assert verdict == "new" and post is not None and not post.is_update
    assert post.id == post_id_for("board", "http://site.test/msg/1.html")
    assert (post.source_kind, post.source_weight, post.region, post.fetched_at) == ("gov", 1.5, "4113", NOW)

    later = NOW + timedelta(minutes=10)
    with db.transaction() as session:  # the same page, tracking parameters aside
        assert decide(session, SOURCE, item(url="http://site.test/msg/1.html"), later) == ("seen", None)
    with db.transaction() as session:
        verdict, update = decide(session, SOURCE, item(reply=5), later)
    assert verdict == "update" and update is not None and update.is_update and update.id == post.id
    assert update.counts.reply == 5
    with db.transaction() as session:
        verdict, edited = decide(session, SOURCE, item(reply=5, content="小区停水三天，已恢复"), later)
    assert verdict == "update" and edited is not None and edited.content.endswith("已恢复")
    with db.transaction() as session:  # the same text under another address of the same source
        assert decide(
            session, SOURCE, item(url="http://site.test/m/1", reply=5, content="小区停水三天，已恢复"), later
        ) == ("duplicate", None)
    with db.transaction() as session:  # the same item twice in one round: the second is seen
        first, _ = decide(session, SOURCE, item(url="http://site.test/msg/2.html", content="另一条"), later)
        second, _ = decide(session, SOURCE, item(url="http://site.test/msg/2.html", content="另一条"), later)
    assert (first, second) == ("new", "seen")
