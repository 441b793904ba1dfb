"""Many plans matched at once (Aho–Corasick, then each plan's tree) on real texts from ../shared/data,
checked against the plainest reading of each plan (Python substring tests, one plan at a time)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from nlp.plans.matcher import PlanMatcher, matches
from yuqing.expression import Word, evaluate, fold, parse_plan

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"  # ../shared/data beside the checkout
GOV = Path("/work/shared/data/gov_messages/dev_raw.tsv")


def _texts() -> list[str]:
    path = GOV if GOV.is_file() else DATA / "gov_messages" / "dev_raw.tsv"
    if not path.is_file():
        pytest.skip(f"{path} is not here (../shared/data)", allow_module_level=True)
    return [line.split("\t", 1)[1] for line in path.read_text(encoding="utf-8").splitlines()[1:]]


def _title_content(text: str) -> tuple[str, str]:
    return text[:20], text[20:]  # the raw rows are title + body run together: the first 20 characters


PLANS = {
    1: "(噪音|噪声)+(小区|工地)-表扬",
    2: "title:(学校|幼儿园)+(收费|乱收费)",
    3: "(物业|业主)+(停车|车位)",
    4: '"A市"+(拖欠|欠薪)+工资',
    5: "(拆迁|征收)+(补偿|安置)-(感谢|表扬)",
    6: "公积金 社保 医保",
    7: "(幼儿园|学校)+(食堂|伙食)",
}


def _reference(node: object, title: str, content: str) -> bool:
    return _reference_folded(node, fold(title), fold(title) + "\n" + fold(content))


def _reference_folded(node: object, title: str, text: str) -> bool:
    return evaluate(node, lambda w: w.text in (title if w.title else text), "", ())  # type: ignore[arg-type]


def test_many_plans_at_once_agree_with_each_plan_alone_on_real_messages() -> None:
    texts = _texts()
    nodes = {pid: parse_plan(text) for pid, text in PLANS.items()}
    matcher = PlanMatcher(nodes.items())
    hits = {pid: 0 for pid in PLANS}
    for text in texts:
        title, content = _title_content(text)
        got = matcher.match(title, content)
        expected = [pid for pid, node in nodes.items() if _reference(node, title, content)]
        assert got == expected, text[:60]
        for pid in got:
            hits[pid] += 1
    assert all(n > 0 for n in hits.values()), hits  # every plan finds real messages
    assert hits[6] > hits[3]  # the broad group finds more than a narrow pair


def test_a_word_is_found_inside_longer_words_and_exclusions_remove() -> None:
    node = parse_plan("(封丘|新乡|长垣)+(爆炸|起火|泄漏|中毒)-演练")
    assert matches(node, "封丘县化工厂发生爆炸", "")
    assert matches(node, "突发", "新乡市一仓库起火，消防到场")
    assert not matches(node, "封丘县举行危化品泄漏应急演练", "")
    assert not matches(node, "新乡市召开安全生产会议", "")


def test_title_scope_kind_and_region() -> None:
    node = parse_plan("title:爆炸+(kind:news|region:4107)")
    assert matches(node, "化工厂爆炸", "", kind="news")
    assert matches(node, "化工厂爆炸", "", kind="social", location_codes=["410727"])
    assert not matches(node, "化工厂爆炸", "", kind="social", location_codes=["410100"])
    assert not matches(node, "通报", "化工厂爆炸", kind="news")  # only in the content


def test_the_matcher_agrees_with_one_plan_on_title_scope() -> None:
    matcher = PlanMatcher([(9, parse_plan("title:爆炸"))])
    assert matcher.match("化工厂爆炸", "") == [9]
    assert matcher.match("通报", "化工厂爆炸") == []
    assert matcher.match("通报爆", "炸") == []  # the title's end is not glued to the content


def test_case_and_width_do_not_matter() -> None:
    matcher = PlanMatcher([(1, parse_plan("PM2.5+超标")), (2, parse_plan('"ａｐｐ 无法"'))])
    assert matcher.match("ｐｍ２.５严重超标", "") == [1]
    assert matcher.match("某APP  无法登录", "") == [2]


def _chinese_pair(text: str) -> bool:
    return len(text) == 2 and all("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_two_thousand_plans_stay_fast_and_exact() -> None:
    texts = _texts()[:400]
    rng = random.Random(7)
    vocabulary = sorted({text[i:i + 2] for text in texts[:200] for i in range(0, 60, 3)  # Chinese pairs
                         if _chinese_pair(text[i:i + 2])})
    plans = {}
    for pid in range(2000):
        a, b, c = (rng.sample(vocabulary, 3) for _ in range(3))
        plans[pid] = parse_plan(f"({'|'.join(a)})+({'|'.join(b)})-({'|'.join(c)})")
    matcher = PlanMatcher(plans.items())
    started = time.perf_counter()
    got = [matcher.match(*_title_content(text)) for text in texts]
    elapsed = time.perf_counter() - started
    assert sum(map(len, got)) > 0
    for text, ids in list(zip(texts, got, strict=True))[:30]:
        title, content = _title_content(text)
        folded = fold(title), fold(title) + "\n" + fold(content)
        assert ids == [pid for pid, node in plans.items() if _reference_folded(node, *folded)]
    assert elapsed < 5  # ~0.1 ms a post on a shared machine; generous bound


def test_no_plans_match_nothing() -> None:
    assert PlanMatcher([]).match("封丘爆炸", "") == []
    assert Word("x") == Word("x")
