"""Chinese for the console's codes (labels.py), validation errors as sentences naming the field
(field_errors.py), the search form's empty fields and the 转派 picker's order and pinyin keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import QueryParams

from alerting.directory import Directory
from alerting.rules import load_config
from api.console.department_picker import department_picker, pinyin_keys
from api.console.labels import ConsoleLabels, codes_on_hover, duration_label
from api.console.search_form import SearchFormError, highlight, search_form
from api.field_errors import describe
from api.routes.search import SearchParams

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "label"),
    [("4h", "4 小时"), ("7d", "7 天"), ("30m", "30 分钟"), ("1d", "1 天"), ("24h", "24 小时"),
     ("authoritative_info", "权威信息发布"), ("message_reply", "留言答复")],
)
def test_playbook_durations_read_in_chinese(value: str, label: str) -> None:
    assert duration_label(value) == label


def test_every_shipped_rule_has_a_chinese_title() -> None:
    rules = load_config(ROOT / "alerting" / "config" / "rules.yaml").rules
    assert rules and all(r.title and not any("a" <= c.lower() <= "z" for c in r.title) for r in rules)


def test_reasons_alerting_writes_read_in_chinese() -> None:
    labels = ConsoleLabels(None)
    labels.tables.rules.update({"severity-major": "重大事件", "watched-keywords": "重点关注词"})
    assert labels.reason("rules: severity-major, watched-keywords") == "规则 「重大事件」、「重点关注词」"
    assert labels.reason("authoritative_info due 2026-03-01 04:00:00+00:00") == (
        "权威信息发布时限已过（截止 03-01 12:00）"
    )
    assert labels.reason("press_conference 时限已过 (due 2026-03-01T04:00:00+00:00)") == (
        "新闻发布会时限已过（截止 03-01 12:00）"
    )
    assert labels.reason("snooze ended") == "暂缓到期，恢复提醒"
    assert "120 分钟内未开始处置" in labels.reason("acknowledged by duty but no response within 120 minutes")
    assert labels.reason("人工研判：现场有伤亡") == "人工研判：现场有伤亡"
    assert labels.person("system:alerting") == "系统（预警服务）"


def test_region_names_show_their_code_on_hover_only() -> None:
    labels = ConsoleLabels(None)
    assert labels.region("410727") == "新乡市封丘县"
    html = str(labels.region_html("410727"))
    assert 'title="行政区划代码 410727"' in html and ">新乡市封丘县<" in html
    reason = str(codes_on_hover("属地管理：事发地 封丘县(410727)；<b>"))
    assert reason == (
        '属地管理：事发地 <span class="code-label" title="行政区划代码 410727">封丘县</span>；&lt;b&gt;'
    )


def test_validation_errors_are_chinese_sentences_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(SearchParams).validate_python({"start": "2026-13-01", "sentiment": ["angry"], "page": 0})
    text = describe(caught.value.errors())
    assert text == (
        "「开始日期」不是有效的日期或时间，请按 年-月-日（如 2026-03-01）填写；"
        "「情感」的值无效，可选：负面、中性、正面；「页码」须不小于 1。"
    )
    api = describe(caught.value.errors(), with_paths=True)
    assert "「开始日期」（start）" in api and "「情感」（sentiment.0）" in api


def test_search_form_drops_empty_fields_and_takes_in_the_whole_end_day() -> None:
    form = search_form(QueryParams("q=河水&start=&end=2026-03-01&sentiment=&sort=relevance&location="))
    assert form.params.q == "河水" and form.params.sentiment is None and form.params.location is None
    assert form.params.end is not None and form.params.end.isoformat() == "2026-03-02T00:00:00"
    assert form.end_date == "2026-03-01" and form.dates == {"start": None, "end": "2026-03-01"}
    with pytest.raises(SearchFormError) as caught:
        search_form(QueryParams("q=河水&start=yesterday"))
    assert caught.value.detail.startswith("「开始日期」不是有效的日期") and caught.value.q == "河水"


def test_highlight_marks_matched_words_and_escapes_the_rest() -> None:
    assert str(highlight("<b>河水</b> 发黑", ["河水"])) == "&lt;b&gt;<mark>河水</mark>&lt;/b&gt; 发黑"
    assert str(highlight("河水", [])) == "河水"


def test_reassign_picker_lists_the_case_region_first_with_pinyin_keys() -> None:
    directory = Directory.load_yaml(ROOT / "alerting" / "config" / "departments.yaml")
    picker = department_picker(
        directory, locations=[{"name": "封丘县", "code": "410727"}], region_code="4107",
        current_id=None, region_name=lambda code: code,
    )
    assert picker.total == len(directory.departments)
    assert picker.place_names == ["封丘县", "新乡市", "河南省"]
    regions = [o.region_code for o in picker.local]
    assert regions == sorted(regions, key=lambda c: -len(c))
    assert regions[0] == "410727" and regions[-1] == "41"
    assert picker.others[0].region_code.startswith("41"), "the rest of the province before other provinces"
    assert pinyin_keys("封丘县公安局") == "fqxgaj fengqiuxiangonganju"
    police = next(o for o in picker.local if o.name == "封丘县公安局")
    assert "fqxgaj" in police.search and "封丘县" in police.search
