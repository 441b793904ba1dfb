"""The segmenter (jieba-rs) and the nlp stage on bad input: lone surrogates, NUL and control characters,
200,000-character posts, emoji-only and non-Chinese text, a user dictionary with bad lines. Each post is
tagged or dead-lettered with a reason; nothing crashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import rjieba

import yuqing.text as tokenize  # the one segmenter, in the core (nlp.tokenize names it)
from nlp.enrich import Enricher
from nlp.tokenize import clean_text, load_user_dict, segment
from nlp.worker import EnrichWorker
from yuqing.bus import open_bus
from yuqing.schemas import DeadLetter, EnrichedPost, RawPost
from yuqing.storage.base import query_terms
from yuqing.topology import Topics

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
BAD = {
    "lone surrogate": "南京鼓楼区\ud800停水\udfff三天",
    "NUL and controls": "\x00\x01路灯坏了\x07\x1b一个月\x7f\u200b没人修\x00",
    "200,000 characters": "南京鼓楼区停水，居民反映没人管。" * 12_500,
    "200,000 characters, one run": "停" * 200_000,
    "emoji only": "😀😀🎉🔥" * 10,
    "not Chinese": "Hello world, the water is off since Monday 12.5% #help",
    "empty": "",
}


def test_rjieba_itself_refuses_a_lone_surrogate() -> None:
    with pytest.raises(UnicodeEncodeError):
        rjieba.cut("南京\ud800停水")


@pytest.mark.parametrize("name", list(BAD))
def test_segment_and_query_terms_take_any_text(name: str) -> None:
    text = BAD[name]
    clean, truncated = clean_text(text)
    assert truncated == (len(text) > tokenize.DEFAULT_CAP)
    tokens = segment(clean)
    assert not any(tokenize._CONTROL.search(t) for t in tokens)
    assert all(not t.isspace() for t in tokens)
    segment(text)  # the raw text too (queries are not cleaned)
    query_terms(text[:2000])


def test_a_lone_surrogate_is_cut_as_a_space() -> None:
    assert clean_text("南京\ud800停水") == ("南京 停水", False)
    assert segment("南京\ud800停水") == segment("南京 停水")
    assert query_terms("停水\udc00南京") == query_terms("停水 南京")


@pytest.fixture(scope="module")
def shipped() -> Enricher:
    return Enricher.load()


@pytest.mark.parametrize("name", list(BAD))
def test_the_shipped_tagger_tags_bad_posts(shipped: Enricher, name: str) -> None:
    post = RawPost(id="bad", source_id="s", url="https://example.cn/bad", content=BAD[name], fetched_at=T0)
    out = shipped.enrich_many([post, post.model_copy(update={"id": "ok", "content": "南京鼓楼区停水三天"})])
    assert [type(o) for o in out] == [EnrichedPost, EnrichedPost]
    assert out[1].tags.category is not None
    if name in ("emoji only", "not Chinese", "empty"):
        assert out[0].tags.relevant is False
    assert len(out[0].content) <= shipped.cap or not out[0].truncated


def test_on_the_bus_a_lone_surrogate_is_dead_lettered_with_a_reason_and_the_rest_flow(
    tmp_path: Path, shipped: Enricher
) -> None:
    bus = open_bus(f"sqlite:///{tmp_path / 'bus.sqlite3'}", partitions=1)
    bus.ensure_topics(list(Topics.ALL))
    try:
        producer = bus.producer()
        good = [
            RawPost(id=name, source_id="s", url=f"https://example.cn/{i}", content=text, fetched_at=T0)
            for i, (name, text) in enumerate(BAD.items())
            if name != "lone surrogate"
        ]
        surrogate = json.dumps(good[0].model_dump(mode="json") | {"id": "sur", "content": "南京\ud800停水"})
        producer.send(Topics.RAW_POSTS, good[0], key="k")
        producer.send(Topics.RAW_POSTS, surrogate.encode(), key="k")  # \\ud800 escaped: invalid JSON text
        for post in good[1:]:
            producer.send(Topics.RAW_POSTS, post, key="k")
        producer.flush()
        worker = EnrichWorker(bus, shipped)
        worker.run(max_idle_polls=2)
        assert (worker.processed, worker.dead_lettered) == (len(good), 1)
        consumer = bus.consumer("t", [Topics.DEAD_LETTER])
        dead = [DeadLetter.model_validate_json(m.value) for m in consumer.poll(timeout=0.5, max_records=10)]
        assert len(dead) == 1 and "surrogate" in dead[0].reason
    finally:
        bus.close()


def test_a_user_dictionary_with_bad_lines_loads_its_good_lines(tmp_path: Path) -> None:
    path = tmp_path / "user_dict.txt"
    path.write_bytes(
        "\ufeff政务舆情监测 100 n\n"
        "\n"
        "# a comment\n"
        "网格员\n"
        "坏频率 abc\n"
        "负频率 -5\n"
        "太多 1 n x\n".encode()
        + b"\xff\xfe bytes that are not UTF-8\n"
        + "控制\x00字符 3\n".encode()
        + ("长" * 100 + " 3\n").encode()
        + "巨大频率 99999999999999999999999\n".encode()
    )
    seg = rjieba.Jieba()
    added, bad = load_user_dict(seg, path)
    assert added == 2
    assert [b.split(":")[0] for b in bad] == ["line 5", "line 6", "line 7", "line 8", "line 9", "line 10",
                                              "line 11"]
    assert "政务舆情监测" in seg.cut("开展政务舆情监测工作")
    assert load_user_dict(seg, tmp_path / "missing.txt")[0] == 0


def test_the_user_dictionary_is_loaded_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "user_dict.txt"
    path.write_text("鼓楼停水事件 1000\n坏行 x y z w\n", encoding="utf-8")
    monkeypatch.setenv(tokenize.USER_DICT_ENV, str(path))
    monkeypatch.setattr(tokenize, "_segmenter", None)
    monkeypatch.setattr(tokenize, "_new_segmenter", rjieba.Jieba)  # leave the process's default alone
    loads: list[Path] = []
    real = tokenize.load_user_dict

    def counting(seg: tokenize.Segmenter, p: Path) -> tuple[int, list[str]]:
        loads.append(p)
        return real(seg, p)

    monkeypatch.setattr(tokenize, "load_user_dict", counting)
    for _ in range(3):
        assert "鼓楼停水事件" in segment("今天鼓楼停水事件有进展")
    assert query_terms("鼓楼停水事件") == ["鼓楼停水事件"]
    assert loads == [path]


def test_without_jieba_rs_segmenting_fails_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No silent fallback: a store's query and the nlp stage fail the same clear way."""
    import builtins

    real_import = builtins.__import__

    def no_rjieba(name: str, *args: object, **kwargs: object) -> object:
        if name == "rjieba":
            raise ImportError("No module named 'rjieba'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tokenize, "_segmenter", None)
    monkeypatch.setattr(builtins, "__import__", no_rjieba)
    with pytest.raises(tokenize.SegmenterUnavailable, match="rjieba"):
        segment("鼓楼停水")
    with pytest.raises(tokenize.SegmenterUnavailable, match="jieba-rs"):
        query_terms("鼓楼停水")
