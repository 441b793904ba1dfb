"""属地 from text and the source's region, on the shipped gazetteer."""

from __future__ import annotations

import csv
from pathlib import Path

import jieba
import pytest

from nlp.location import GAZETTEER_FILE, Gazetteer, normalize_code

DIVISIONS = Path(__file__).resolve().parents[3] / "shared" / "data" / "divisions"


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.load()


def places(gaz: Gazetteer, text: str, region: str | None = None) -> list[tuple[str, str]]:
    return [(loc.name, loc.code) for loc in gaz.resolve(text, jieba.lcut(text), region)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("海淀区一小区电梯故障，居民被困两小时", [("海淀区", "110108")]),
        ("海淀一小区电梯故障，居民被困两小时", [("海淀区", "110108")]),
        ("南京市发布暴雨橙色预警", [("南京市", "3201")]),
        ("南京发布暴雨橙色预警", [("南京市", "3201")]),
        ("广西壮族自治区多地出现强降雨", [("广西壮族自治区", "45")]),
        ("广西多地出现强降雨", [("广西壮族自治区", "45")]),
        ("延边州下大雪，多条公路封闭", [("延边朝鲜族自治州", "2224")]),
        ("湖北仙桃一化工厂爆炸", [("仙桃市", "429004")]),
        ("广西南宁一小区发生火灾", [("南宁市", "4501")]),  # jieba keeps 广西南宁 as one token
    ],
)
def test_full_and_short_names(gaz: Gazetteer, text: str, expected: list[tuple[str, str]]) -> None:
    assert places(gaz, text) == expected


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("南京市鼓楼区一小区发生火灾", None, [("鼓楼区", "320106")]),
        ("福州鼓楼区一小区发生火灾", None, [("鼓楼区", "350102")]),
        ("江苏徐州鼓楼区一小区发生火灾", None, [("鼓楼区", "320302")]),
        ("河南开封鼓楼区老街改造", None, [("鼓楼区", "410204")]),
        ("鼓楼区一小区发生火灾", "3201", [("鼓楼区", "320106")]),
        ("鼓楼区一小区发生火灾", "350100", [("鼓楼区", "350102")]),
        ("北京朝阳区居民反映噪音扰民", None, [("朝阳区", "110105")]),
        ("长春市朝阳区居民反映噪音扰民", None, [("朝阳区", "220104")]),
        ("朝阳区居民反映噪音扰民", "22", [("朝阳区", "220104")]),
        ("辽宁朝阳遭遇暴雨", None, [("朝阳市", "2113")]),
        ("text names the place, not the region: 福州鼓楼区", "3201", [("鼓楼区", "350102")]),
    ],
)
def test_ambiguous_names_resolved_by_context(
    gaz: Gazetteer, text: str, region: str | None, expected: list[tuple[str, str]]
) -> None:
    assert places(gaz, text, region) == expected


@pytest.mark.parametrize(
    "text",
    [
        "鼓楼区一小区发生火灾",
        "朝阳区居民反映噪音扰民",
        "朝阳暴雨",
        "市民反映小区停水三天",
        "",
        "😀😀😀",
        "hello world",
    ],
)
def test_none_when_unknown_or_too_ambiguous(gaz: Gazetteer, text: str) -> None:
    assert places(gaz, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("坚持和平发展道路", []),
        ("据新华社报道，会议今天召开", []),
        ("他在城关派出所办理了身份证", []),
        ("永安小区物业费又涨了", []),
        ("长安汽车发布新车型", []),
        ("上海淀粉厂", ["31"]),  # 上海 yes; 海淀 straddles two words
        ("钟南山院士表示病毒可以人传人，广东已有病例", ["44"]),  # 南山 inside a name
        ("尼玛，这种人就该严惩", []),
        ("拉丹之死引发金融震荡 美元反弹白银原油下挫", []),
        ("@黄埔刘老汉 说得对", []),
    ],
)
def test_common_words_are_not_places(gaz: Gazetteer, text: str, expected: list[str]) -> None:
    assert [code for _, code in places(gaz, text)] == expected


def test_weak_short_names_count_next_to_their_city(gaz: Gazetteer) -> None:
    assert places(gaz, "天津和平区") == [("和平区", "120101")]
    assert places(gaz, "天津和平一商场起火") == [("和平区", "120101")]
    assert places(gaz, "福建永安市突降暴雨") == [("永安市", "350481")]


def test_most_specific_places_in_order_of_mention(gaz: Gazetteer) -> None:
    text = "江苏省南京市鼓楼区发生火灾后，浙江杭州西湖区也通报了一起类似事故"
    assert places(gaz, text) == [("鼓楼区", "320106"), ("西湖区", "330106")]
    assert [loc.name for loc in gaz.chain("320106")] == ["江苏省", "南京市", "鼓楼区"]
    assert [loc.name for loc in gaz.chain("110105")] == ["北京市", "朝阳区"]  # no 市辖区


def test_province_preferred_over_same_named_prefecture(gaz: Gazetteer) -> None:
    assert places(gaz, "海南旅游市场持续升温") == [("海南省", "46")]
    assert places(gaz, "青海海南州共和县地震") == [("共和县", "632521")]


def test_source_region_when_text_names_no_place(gaz: Gazetteer) -> None:
    assert places(gaz, "市民反映小区停水三天", "320106") == [("鼓楼区", "320106")]
    assert places(gaz, "市民反映小区停水三天", "320100000000") == [("南京市", "3201")]
    assert places(gaz, "市民反映小区停水三天", "999999") == []
    assert places(gaz, "市民反映小区停水三天", "not a code") == []


def test_region_codes_normalised() -> None:
    assert normalize_code("320000") == "32"
    assert normalize_code("320100") == "3201"
    assert normalize_code("320106") == "320106"
    assert normalize_code("320106000000") == "320106"
    assert normalize_code("3") is None
    assert normalize_code(None) is None


def test_shipped_gazetteer_matches_the_source_csvs() -> None:
    if not DIVISIONS.is_dir():
        pytest.skip("shared divisions data not present")
    shipped = {
        row[0]: row[1]
        for row in csv.reader(
            (line for line in GAZETTEER_FILE.open(encoding="utf-8") if not line.startswith("#")),
            delimiter="\t",
        )
    }
    for name in ("provinces.csv", "cities.csv"):
        with (DIVISIONS / name).open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                assert shipped[row["code"]] == row["name"]
    with (DIVISIONS / "areas.csv").open(encoding="utf-8") as fh:
        counties = [r for r in csv.DictReader(fh) if not r["code"].endswith("00")]
    assert sum(1 for r in counties if shipped.get(r["code"]) == r["name"]) >= len(counties) - 5


def test_every_county_named_with_its_city_is_found(gaz: Gazetteer) -> None:
    """Names of every length (2 to 15 characters) are found wherever they sit in the text."""
    missed = []
    counties = [d for d in gaz.divisions.values() if d.level == "county"]
    for county in counties[::7]:
        text = "据报道，" + "".join(loc.name for loc in gaz.chain(county.code))  # 江苏省南京市鼓楼区
        if county.code not in [loc.code for loc in gaz.resolve(text, jieba.lcut(text))]:
            missed.append(text)
    assert missed == []


def test_names_inside_a_user_handle_are_skipped_but_the_rest_is_read(gaz: Gazetteer) -> None:
    assert places(gaz, "@南京吃货 转发：福州鼓楼区停水") == [("鼓楼区", "350102")]
    assert places(gaz, "转发：成都市武侯区停电//@南京吃货:") == [("武侯区", "510107")]


def test_a_far_county_short_form_yields_to_places_named_in_full(gaz: Gazetteer) -> None:
    text = "312国道方城县境内改扩建工程，对券桥至博望段实行半幅通行。交警提醒货车绕行兖州至信阳高速。"
    # 博望 (马鞍山 博望区) and 兖州 (济宁 兖州区) are a town and a road name here; 信阳 is a city of the
    # same province as 方城县 and stays
    assert places(gaz, text) == [("方城县", "411322"), ("信阳市", "4115")]
    # a province or city named by its short form is kept wherever it is
    assert places(gaz, "从郑州市出发去上海的游客") == [("郑州市", "4101"), ("上海市", "31")]
    # with no place named in full, a county's short form still counts
    assert places(gaz, "博望一企业发生火灾") == [("博望区", "340506")]
