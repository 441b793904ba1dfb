"""Severity candidates follow the national grading and say which words and numbers triggered them."""

from __future__ import annotations

import pytest

from nlp.severity import assess


@pytest.mark.parametrize(
    ("text", "level", "trigger"),
    [
        ("某煤矿发生瓦斯爆炸事故，已造成32人遇难，救援仍在进行", "特别重大", "32人遇难"),
        ("国道上一辆大客车侧翻，截至目前死亡人数升至12人", "重大", "死亡人数升至12人"),
        ("某化工厂今晨起火，造成三名工人死亡、五人受伤", "较大", "三名工人死亡"),
        ("两车相撞致2死5伤，事故原因正在调查", "一般", "2死"),
        ("暴雨引发山洪，十一名村民失踪，搜救正在进行", "重大", "十一名村民失踪"),
        ("直接经济损失约1.2亿元", "特别重大", "经济损失约1.2亿元"),
        ("上千名业主聚集在售楼处门前要求退房", "重大", "上千名业主聚集"),
    ],
)
def test_counts_grade_by_the_national_thresholds(text: str, level: str, trigger: str) -> None:
    result = assess(text)
    assert result.level == level
    assert trigger in result.triggers


def test_emergency_words_without_numbers_give_the_lowest_level_and_name_the_word() -> None:
    result = assess("小区一栋居民楼突然发生坍塌，消防正在现场处置")
    assert result.level == "一般"
    assert "坍塌" in result.triggers


def test_children_and_schools_raise_the_level_one_step() -> None:
    plain = assess("某单位食堂发生食物中毒，多人送医")
    school = assess("某小学食堂发生食物中毒，多名学生送医")
    assert plain.level == "一般"
    assert school.level == "较大"
    assert "学生" in school.triggers


def test_school_words_alone_are_not_an_emergency() -> None:
    assert assess("希望学校食堂多做些学生爱吃的菜").level is None


@pytest.mark.parametrize(
    "text",
    [
        "经核实，该厂未发生火灾，网传视频系谣言",
        "本周开展消防安全检查，排查火灾隐患",
        "全市组织防汛演练，模拟洪水演练",
        "某小区自来水浑浊三天无人处理，居民很愤怒",
        "",
    ],
)
def test_denials_drills_and_ordinary_complaints_are_not_graded(text: str) -> None:
    result = assess(text)
    assert result.level is None
    assert result.triggers == []


def test_a_year_is_not_a_death_toll() -> None:
    result = assess("2019年发生死亡事故后整改至今")
    assert result.level == "一般"
    assert all("2019" not in t for t in result.triggers)


def test_officials_misconduct_is_flagged() -> None:
    result = assess("网友举报某局长利用职务之便受贿，长期吃拿卡要")
    assert result.level == "一般"
    assert {"受贿", "吃拿卡要"} <= set(result.triggers)


def test_the_highest_signal_wins_and_every_trigger_is_kept() -> None:
    result = assess("仓库爆炸后引发大火，已致31人死亡、数十人受伤")
    assert result.level == "特别重大"
    assert {"31人死亡", "爆炸", "大火"} <= set(result.triggers)
