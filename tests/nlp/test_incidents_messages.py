"""留言 in the incidents stage: a post from a source declaring ``item_kind: message`` is its own incident of
kind ``message`` (never merged with other posts, whatever the relevance model says), carrying the board's
official reply once it shows; a reply to a 留言 whose incident has gone quiet re-sends the stored incident."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select
from test_incidents import T0, message, worker  # tests/nlp is on the path

from incidents.clustering import IncidentTracker
from incidents.models import IncidentRow
from incidents.stage import UnmatchedReply
from nlp.tokenize import clean_text, segment
from yuqing.schemas import EnrichedPost, Location, OfficialReply, Tags

TEXT = (
    "方城县城关镇新城小区连续三天停水无人通知\n"
    "小区从11月20日开始停水，打自来水公司电话一直占线，请问什么时候恢复供水？"
)
FORUM = {"source_id": "changyuan-forum", "source_kind": "forum", "url": "https://bbs.example.cn/t/1"}


def post(post_id: str, *, kind: str = "message", minutes: int = 0, **extra: Any) -> EnrichedPost:
    text = extra.pop("text", TEXT)
    title, content = text.split("\n", 1)
    at = T0 + timedelta(minutes=minutes)
    fields: dict[str, Any] = {
        "id": post_id,
        "source_id": "nanyang-board",
        "source_kind": "gov",
        "url": f"https://liuyan.example.gov.cn/msg/{post_id}.html",
        "title": title,
        "content": content,
        "published_at": at,
        "fetched_at": at + timedelta(minutes=5),
        "tokens": segment(clean_text(text)[0]),
        "tags": Tags(category="城乡建设", locations=[Location(name="方城县", code="411322", level="county")]),
        "item_kind": kind,
    }
    fields.update(extra)
    return EnrichedPost(**fields)


REPLY = OfficialReply(text="已联系自来水公司抢修，今日恢复供水。", department="方城县水利局",
                      replied_at=T0 + timedelta(hours=20))


def test_every_message_is_its_own_case_and_other_posts_never_join_it() -> None:
    tracker = IncidentTracker()
    first = tracker.add(post("m1"))
    twin = tracker.add(post("m2", minutes=30))  # the same words from another resident
    irrelevant = tracker.add(post("m3", minutes=40, tags=Tags(relevant=False, relevance_score=0.1)))
    repost = tracker.add(post("o1", kind="opinion", minutes=50, **FORUM))  # the same text on a forum
    assert first and twin and irrelevant and repost
    ids = {c.incident.id for c in (first, twin, irrelevant, repost)}
    assert len(ids) == 4, "four cases: three 留言 and the forum post's own incident"
    assert [c.incident.kind for c in (first, twin, irrelevant)] == ["message"] * 3
    assert repost.incident.kind == "opinion" and repost.member.duplicate_of is None
    assert first.incident.reply is None and first.incident.notes == []


def test_the_reply_travels_with_the_incident_and_keeps_when_it_was_first_seen() -> None:
    tracker = IncidentTracker()
    opened = tracker.add(post("m1"))
    answered = tracker.add(post("m1", reply=REPLY, is_update=True, fetched_at=T0 + timedelta(hours=21)))
    assert opened and answered and answered.changed
    assert answered.incident.version == opened.incident.version + 1
    reply = answered.incident.reply
    assert reply is not None and reply.post_id == "m1" and reply.department == "方城县水利局"
    assert reply.replied_at == REPLY.replied_at and reply.seen_at == T0 + timedelta(hours=21)
    assert reply.url == "https://liuyan.example.gov.cn/msg/m1.html"
    later = tracker.add(post("m1", reply=REPLY, is_update=True, fetched_at=T0 + timedelta(hours=30)))
    assert later and later.incident.reply == reply, "a re-fetch does not move when the reply was first seen"


def test_a_message_without_a_date_keeps_the_problem_on_its_case() -> None:
    change = IncidentTracker().add(post("m1", published_at=None))
    assert change is not None and change.incident.first_seen == T0 + timedelta(minutes=5)
    assert change.incident.notes == ["留言未标明时间（或时间无法识别），答复时限从抓取时间起算"]


def test_a_reply_after_the_case_went_quiet_re_sends_the_stored_incident(db_engine: Engine) -> None:
    w = worker(db_engine)
    [opened] = w.handle(message(post("m1"), 0)) or []
    # four days later another post moves time on; the 72 h window closes the 留言's incident
    bus_line = "南阳城区新开三条公交线路\n方便市民出行"
    later = post("x1", kind="opinion", minutes=4 * 24 * 60, text=bus_line, **FORUM)
    w.handle(message(later, 1))
    w.tick(T0 + timedelta(days=4))
    assert "m1" not in w.tracker.post_cluster

    answered = post("m1", reply=REPLY, is_update=True, fetched_at=T0 + timedelta(days=5))
    [out] = w.handle(message(answered, 2)) or []
    incident = out.value
    assert incident.id == opened.value.id and incident.kind == "message"
    assert incident.version == opened.value.version + 1 and incident.reply is not None
    assert incident.reply.text == REPLY.text and incident.first_seen == opened.value.first_seen
    with w.db.session() as s:
        row = s.scalar(select(IncidentRow).where(IncidentRow.id == incident.id))
        assert row is not None and row.version == incident.version and row.reply["text"] == REPLY.text
    assert w.handle(message(answered, 3)) == [], "the same reply again sends nothing"

    unknown = post("m9", reply=REPLY, is_update=True)
    w._is_closed = lambda post_id: True  # type: ignore[method-assign]  # as if in a quiet incident
    try:
        w._reply_to_closed(unknown)
    except UnmatchedReply as exc:
        assert "cannot be matched" in str(exc) and "m9" in str(exc)
    else:
        raise AssertionError("a reply no case holds must not pass silently")
