"""Cleaning and segmentation: what every model sees first."""

from __future__ import annotations

from pathlib import Path

import jieba
import pytest
import rjieba

from nlp.tokenize import clean_text, segment


def test_html_entities_and_scripts_are_stripped() -> None:
    raw = "<div><script>var x = '<b>';</script><p>自来水&nbsp;浑浊&amp;发黄</p><br/>三天了</div>"
    clean, truncated = clean_text(raw)
    assert clean == "自来水 浑浊&发黄 三天了"
    assert truncated is False


def test_control_characters_and_whitespace_runs_collapse() -> None:
    clean, _ = clean_text("路灯\x00坏了\u200b\r\n\n\t  一个月\x1b没人修")
    assert clean == "路灯 坏了 一个月 没人修"


def test_text_over_the_cap_is_cut_and_reported() -> None:
    clean, truncated = clean_text("堵" * 50_000, cap=1000)
    assert len(clean) == 1000
    assert truncated is True
    short, cut = clean_text("正常长度", cap=1000)
    assert (short, cut) == ("正常长度", False)


def test_enormous_markup_is_bounded_before_work() -> None:
    clean, truncated = clean_text("<span>" * 2_000_000 + "真实内容", cap=200)
    assert truncated is True
    assert len(clean) <= 200


def test_empty_and_whitespace_only_text() -> None:
    assert clean_text("") == ("", False)
    assert clean_text(" \n\t ") == ("", False)
    assert segment("") == []


def test_segment_is_jieba_rs_precise_mode_without_whitespace_tokens() -> None:
    text = "市民反映 小区门口道路积水严重，PM2.5 超标"
    assert segment(text) == [w for w in rjieba.cut(text) if not w.isspace()]


SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.mark.parametrize(
    "text",
    [
        "已经干净的文本 里面有一个空格",
        "Hello world, no Chinese at all",
        "价格 < 100元",
        "数字123和English混排，还有#话题#与[哈哈]表情",
    ],
)
def test_text_that_is_already_clean_comes_back_unchanged(text: str) -> None:
    assert clean_text(text) == (text, False)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (" 前后有空格 ", "前后有空格"),
        ("两个  空格", "两个 空格"),
        ("全角\u3000空格和\xa0不换行空格", "全角 空格和 不换行空格"),
        ("标题\n正文", "标题 正文"),
        ("零宽\u200d连接符", "零宽 连接符"),
        ("&lt;b&gt;不是标签", "<b>不是标签"),
    ],
)
def test_every_kind_of_dirt_is_still_cleaned(raw: str, clean: str) -> None:
    assert clean_text(raw) == (clean, False)


def _shared_lines(n: int) -> list[str]:
    lines: list[str] = []
    for name in ("weibo_emotion/train.tsv", "gov_messages/dev_raw.tsv", "news_titles/train.tsv"):
        path = SHARED / name
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                lines += [line.split("\t", 1)[-1].strip() for _, line in zip(range(n), fh, strict=False)]
    return lines


def test_segment_mostly_agrees_with_jieba() -> None:
    """jieba-rs has jieba's dictionary and HMM: the tokens are jieba.lcut's on the great majority of real
    posts (they differ where the HMM cuts unknown words or a number keeps its decimal point)."""
    texts = _shared_lines(300)
    if not texts:
        pytest.skip("no shared data")
    same = sum(segment(t) == [w for w in jieba.lcut(t) if not w.isspace()] for t in texts)
    assert same / len(texts) >= 0.9
    odd = ("南京市长江大桥", "研究生命起源", "。。。！！！", "一", "龘靐齉麤龘靐齉麤和鱻", "abc龘靐12.5%齉麤")
    for text in odd:
        assert "".join(segment(text)) == text.replace(" ", "")
