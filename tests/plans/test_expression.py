"""The plan expression language: precedence, phrases, fields, and errors that name the position."""

from __future__ import annotations

import time

import pytest

from yuqing.expression import (
    MAX_WORDS,
    ExpressionError,
    Kind,
    Region,
    Word,
    parse,
    parse_plan,
    to_text,
)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("(封丘|新乡|长垣)+(爆炸|起火|泄漏|中毒)-演练", "((封丘|新乡|长垣)+(爆炸|起火|泄漏|中毒)+-演练)"),
        ("a|b+c", "(a|(b+c))"),  # + binds tighter than |
        ("甲+乙|丙-丁", "((甲+乙)|(丙+-丁))"),
        ("a+b|c -d", "((a+b)|(c+-d))"),
        ("a b -c", "((a|b)+-c)"),  # side by side: a group of any, tighter than + and -
        ("a b+c d", "((a|b)+(c|d))"),
        ("-演练+封丘", "(封丘+-演练)"),
        ("a+-b", "(a+-b)"),
        ("（封丘｜新乡）＋爆炸－演练", "((封丘|新乡)+爆炸+-演练)"),  # full-width operators as typed by an IME
        ('"COVID-19 疫苗"+接种', '("covid-19 疫苗"+接种)'),  # operators and spaces inside quotes are text
        ("title:(爆炸|起火)+封丘", "((title:爆炸|title:起火)+封丘)"),
        ("标题：爆炸", "title:爆炸"),
        ("kind:gov+回应", "(kind:gov+回应)"),
        ("region:410700+起火", "(region:4107+起火)"),  # a 6-digit code means its significant digits
        ("地区:41+起火", "(region:41+起火)"),
        ("http://x.cn/a:b", '"http://x.cn/a:b"'),  # an unknown field name is part of the word
        ("PM2.5", "pm2.5"),
        ("COVID-19+0731-88888888-演练", '("covid-19"+"0731-88888888"+-演练)'),  # a dash inside ASCII is text
        ("封丘-演练", "(封丘+-演练)"),
    ],
)
def test_precedence_phrases_and_fields(text: str, tree: str) -> None:
    assert to_text(parse(text)) == tree


def test_words_are_folded_and_scoped() -> None:
    node = parse('title:"ＡＢＣ  公司"')
    assert node == Word("abc 公司", title=True, quoted=True)
    assert parse("kind:GOV") == Kind("gov")
    assert parse("region:410727") == Region("410727")


def test_side_by_side_means_all_when_asked() -> None:
    assert to_text(parse("自来水 浑浊", juxtaposition="and")) == "(自来水+浑浊)"


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "表达式为空"),
        ("   ", 0, "表达式为空"),
        ("(封丘|新乡+爆炸", 1, "没有配对"),
        ("封丘)+爆炸", 3, "多余的「)」"),
        ("封丘+", 3, "「+」后面缺少词"),
        ("封丘||新乡", 4, "应是词"),
        ("封丘+()", 4, "括号里没有词"),
        ('封丘+"爆炸', 4, "引号没有结束"),
        ("kind:weibo+a", 6, "来源类型"),
        ("region:4107x+a", 8, "地区代码"),
        ("[a-z]+", 6, "「+」后面缺少词"),
        (".*", 1, "不含文字或数字"),
        ("a+.*", 3, "不含文字或数字"),
        ("title:kind:gov", 7, "标题范围"),
        ("封丘 新乡)", 6, "多余的「)」"),
    ],
)
def test_errors_name_the_position(text: str, position: int, reason: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert caught.value.position == position
    assert reason in caught.value.reason
    assert (f"第 {position} 个字符" in str(caught.value)) == (position > 0)


@pytest.mark.parametrize("text", ["-演练", "kind:gov", "region:41", "a|-b", "kind:gov-演练", "-(a+b)"])
def test_a_plan_needs_a_word_that_must_appear(text: str) -> None:
    with pytest.raises(ExpressionError, match="必须出现的词"):
        parse_plan(text)
    parse(text)  # search may ask for everything but


def test_a_plan_may_combine_words_with_kinds_and_regions() -> None:
    assert to_text(parse_plan("(kind:gov|kind:news)+回应")) == "((kind:gov|kind:news)+回应)"


def test_size_limits_are_clear_errors_and_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError, match="最多 100 个"):
        parse("字" * 500)
    with pytest.raises(ExpressionError, match=f"超过 {MAX_WORDS} 个"):
        parse("|".join(f"词{i}" for i in range(5000)))
    with pytest.raises(ExpressionError, match="最多 50000 个"):
        parse("a" * 60_000)
    with pytest.raises(ExpressionError, match="嵌套超过"):
        parse("(" * 5000 + "a" + ")" * 5000)
    assert len(parse("|".join(f"词{i}" for i in range(MAX_WORDS))).children) == MAX_WORDS  # type: ignore[union-attr]
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("text", ["a" * 300, "(((", ")))", "|||", "+-+-", "\x00", "a\x00b", "\\", "NEAR(a b)",
                                  "a AND b", "'; DROP TABLE x", "\ud800", "𠀀𠀁"])
def test_hostile_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        parse(text)
    except ExpressionError as exc:
        assert exc.reason
