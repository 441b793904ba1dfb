"""The shipped baseline tagger on realistic posts: what a duty officer would see."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.classify import Tagger
from nlp.tokenize import clean_text, segment
from nlp.training import modelfile
from yuqing.schemas import Tags


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


def tag(tagger: Tagger, text: str) -> Tags:
    clean, _ = clean_text(text)
    return tagger.tag(clean, segment(clean))


def test_the_baseline_ships_small_with_its_metrics() -> None:
    assert modelfile.BASELINE.stat().st_size < 30 * 1024 * 1024
    model = modelfile.load()
    assert set(model.metrics) == {"relevance", "category", "sentiment", "emotion"}
    assert all(d["sha256"] for d in model.data)


@pytest.mark.parametrize(
    ("text", "category", "department"),
    [
        (
            "市人民医院乱收费，做个检查花了两千多，医生态度还很差，希望卫生部门管一管",
            "卫生计生",
            "卫生健康委员会",
        ),
        ("孩子所在的小学强制家长购买教辅资料，还要交补课费，请教育局调查", "教育文体", "教育局"),
        ("化工厂每天夜里偷排废水，河水发黑发臭，附近居民苦不堪言", "环境保护", "生态环境局"),
        (
            "公司拖欠我们农民工工资半年了，老板一直不露面，劳动监察也不管",
            "劳动和社会保障",
            "人力资源和社会保障局",
        ),
    ],
)
def test_citizen_complaints_get_their_category_and_department(
    tagger: Tagger, text: str, category: str, department: str
) -> None:
    tags = tag(tagger, text)
    assert tags.relevant is True
    assert tags.category == category
    assert tags.department_type == department


@pytest.mark.parametrize(
    "text",
    [
        "湖人加时险胜勇士 詹姆斯砍下40分12篮板",
        "《英雄联盟》新版本上线 三位英雄技能大改",
        "某当红小花新剧杀青 与男主同游海岛恋情曝光",
        "全场包邮！限时秒杀，加微信领优惠券，私聊下单",
    ],
)
def test_sports_games_entertainment_and_ads_are_noise(tagger: Tagger, text: str) -> None:
    tags = tag(tagger, text)
    assert tags.relevant is False
    assert tags.relevance_score < 0.5


def test_a_category_without_training_data_comes_from_the_taxonomy_keywords(tagger: Tagger) -> None:
    tags = tag(tagger, "实名举报某局局长贪污受贿、收受回扣，以权谋私，请纪委彻查")
    assert tags.category == "纪检监察"
    assert tags.department_type == "纪委监委"
    assert tags.subcategory in ("贪污贿赂", "滥用职权", "党政处分")


def test_second_level_from_keywords_within_the_category(tagger: Tagger) -> None:
    tags = tag(tagger, "开发商延期交房一年多，物业还要我们先交物业费，业主们很无奈")
    assert tags.category == "城乡建设"
    assert tags.subcategory == "住房保障与房地产"
    assert tags.department_type == "住房和城乡建设局"


def test_anger_and_praise(tagger: Tagger) -> None:
    angry = tag(tagger, "投诉了八次都没人管，简直气死人了，这些人到底干什么吃的！")
    happy = tag(tagger, "感谢消防员叔叔及时赶到救出被困老人，太暖心了，为你们点赞！")
    assert angry.sentiment.label == "negative" and angry.sentiment.score < 0
    assert angry.emotion == "angry"
    assert happy.sentiment.label == "positive" and happy.sentiment.score > 0
    assert happy.emotion == "happy"


def test_a_deadly_accident_is_relevant_and_graded(tagger: Tagger) -> None:
    tags = tag(tagger, "今天下午某化工厂发生爆炸，已造成12人死亡，多人受伤")
    assert tags.relevant is True
    assert tags.severity.level == "重大"
    assert "12人死亡" in tags.severity.triggers


@pytest.mark.parametrize(
    "text", ["", "   ", "😂😂😂👍", "The mayor opened a new bridge today.", "<p>&nbsp;</p>"]
)
def test_nothing_chinese_to_judge_gives_an_empty_but_valid_result(tagger: Tagger, text: str) -> None:
    tags = tag(tagger, text)
    assert tags.relevant is False
    assert tags.category is None and tags.emotion is None
    assert tags.sentiment.label == "neutral"
    assert tags.model_version == tagger.version


def test_batch_and_single_agree_and_keep_order(tagger: Tagger) -> None:
    texts = ["路灯坏了一个月没人修", "", "今晚的球赛太精彩了", "医院排队挂号要三个小时"]
    clean = [clean_text(t)[0] for t in texts]
    tokens = [segment(c) for c in clean]
    assert tagger.tag_many(clean, tokens) == [tagger.tag(c, k) for c, k in zip(clean, tokens, strict=True)]


def test_loading_something_else_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(modelfile.ModelFileError):
        Tagger.load(tmp_path / "nope.joblib")
