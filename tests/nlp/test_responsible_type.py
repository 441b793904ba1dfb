"""谁主管谁负责 for emergencies: the kind of emergency decides the answering department type before
the text's category does; texts without an emergency keep the category's department type."""

from __future__ import annotations

import pytest

from nlp.classify import Tagger
from nlp.severity import assess, responsible_type
from nlp.tokenize import segment


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("封丘县一化工厂生产车间发生爆炸，造成11人死亡", "应急管理局"),
        ("老城区一居民楼发生火灾，消防正在扑救", "应急管理局"),
        ("暴雨导致山洪，多个村庄被淹没", "应急管理局"),
        ("学校食堂发生食物中毒，30名学生送医", "市场监督管理局"),
        ("小区自来水浑浊三天无人处理", None),
        ("辖区内开展消防安全检查和火灾隐患排查", None),  # prevention work is not an event
    ],
)
def test_emergency_kind_names_the_answering_department(text: str, expected: str | None) -> None:
    assert responsible_type(assess(text)) == expected


def test_tagger_prefers_the_emergency_department_over_the_category() -> None:
    tagger = Tagger.load()
    explosion = "据现场附近群众反映，化工企业爆炸后周边两个村的群众正在疏散，空气中有刺鼻气味"
    water = "某小区自来水浑浊三天无人处理，居民很愤怒"
    tags = tagger.tag_many([explosion, water], [segment(explosion), segment(water)])
    assert tags[0].department_type == "应急管理局"
    assert tags[1].department_type == tagger.taxonomy.department_for(tags[1].category, tags[1].subcategory)
