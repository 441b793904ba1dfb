"""The incident page's charts in Chromium: the trend of posts and heat has a vertical line at every release
(the first 权威信息, the 发布会 and a later 进展通报), at the release's own time; the effect review's
回应前 and 回应后 windows are shaded; the source-type split, the top keywords and the places are on the
page, counted from the incident's posts. Screenshots at 1366 and on a 390 px phone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from console_harness import Console, screenshot
from factories import PASSWORD, act, make_post

from alerting import service
from yuqing.clock import CN_TZ, SystemClock
from yuqing.storage import SearchQuery

pytestmark = pytest.mark.browser

OPTION_JS = """
(id) => {
  const chart = echarts.getInstanceByDom(document.getElementById(id));
  const option = chart.getOption();
  return { series: option.series.map(s => ({
    name: s.name,
    lines: ((s.markLine || {}).data || []).map(d => ({ name: d.name, x: d.xAxis })),
    areas: ((s.markArea || {}).data || []).map(p => ({ name: p[0].name, from: p[0].xAxis, to: p[1].xAxis })),
  })), xmin: option.xAxis[0].min, xmax: option.xAxis[0].max };
}
"""


def wall_ms(t: datetime) -> int:
    return int(t.astimezone(CN_TZ).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def case(console: Console) -> dict[str, Any]:
    """An 安庆 case of the fixture's four 排污 news posts, one from social media (合肥) and one from a
    government site: 权威信息 25 min ago, 发布会 10 min ago, and a 进展通报 recorded now."""
    now = SystemClock().now().replace(microsecond=0)
    extra = [
        make_post(
            11, title="排污 河水 视频 曝光", at=now - timedelta(minutes=15), location=("合肥市", "3401"),
            source_id="weibo-x",
        ).model_copy(update={"source_kind": "social"}),
        make_post(
            12, title="生态环境局 通报 排污 处置", at=now - timedelta(minutes=8), location=("安庆市", "3408"),
            source_id="gov-aq2", sentiment="neutral",
        ).model_copy(update={"source_kind": "gov"}),
    ]
    console.store.index(extra)
    post_ids = [h.post["id"] for h in console.store.search(SearchQuery(text="排污", size=10)).hits]
    alert_id = console.seed_major_incident(
        "inc-aq-charts", "安庆 化工厂 排污 河水 发黑", ("安庆市", "3408"), post_ids, age=timedelta(minutes=60)
    )
    info_at, press_at = now - timedelta(minutes=25), now - timedelta(minutes=10)
    act(console.db, "ack", alert_id, now - timedelta(minutes=40))
    act(console.db, "info", alert_id, info_at)
    act(console.db, "press", alert_id, press_at)
    with console.db.transaction() as session:
        service.record_release(
            session, alert_id=alert_id, kind="progress", link="https://www.aq.gov.cn/xxgk/progress.html",
            note="排污口已封堵", actor="officer", channel="console", now=now,
        )
    return {"alert": alert_id, "releases": {"权威信息": info_at, "发布会": press_at, "进展通报": now}}


def log_in(page: Any, console: Console) -> None:
    page.goto(f"{console.url}/login")
    page.fill("input[name=name]", "duty")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(console.url) + "/board"))


def test_trend_chart_marks_every_release_and_shades_the_effect_windows(
    page: Any, console: Console, case: dict[str, Any]
) -> None:
    log_in(page, console)
    page.goto(f"{console.url}/alerts/{case['alert']}")
    page.wait_for_load_state("networkidle")
    page.locator("#heat canvas").first.wait_for()
    for chart in ("heat", "sentiment"):
        option = page.evaluate(OPTION_JS, chart)
        marked = option["series"][0]
        lines = {line["name"].split(" ")[0]: line["x"] for line in marked["lines"]}
        assert lines == {kind: wall_ms(at) for kind, at in case["releases"].items()}, chart
        assert [a["name"] for a in marked["areas"]] == ["回应前", "回应后"]
        before, after = marked["areas"]
        info = wall_ms(case["releases"]["权威信息"])
        assert before["to"] == info == after["from"], "the windows meet at the first response"
        shown = option["xmin"] < min(lines.values()) and option["xmax"] > max(lines.values())
        assert shown, "every mark is inside the axis"
    note = page.locator("#chart-note").inner_text()
    assert "竖线" in note and "阴影" in note
    screenshot(page, "incident-charts-1366", full_page=True)


def test_source_split_keywords_and_places(page: Any, console: Console, case: dict[str, Any]) -> None:
    log_in(page, console)
    page.goto(f"{console.url}/alerts/{case['alert']}")
    page.wait_for_load_state("networkidle")
    sources = page.locator("#source-split li").all_inner_texts()
    assert [s.split()[0] for s in sources] == ["新闻", "政务", "社交媒体"]
    assert "4 条" in sources[0] and "67%" in sources[0] and "1 条" in sources[1] and "17%" in sources[2]
    pie = page.evaluate("() => echarts.getInstanceByDom(document.getElementById('sources')).getOption()")
    assert {d["name"]: d["value"] for d in pie["series"][0]["data"]} == {"新闻": 4, "政务": 1, "社交媒体": 1}
    words = page.locator("#keywords li")
    assert words.first.inner_text().startswith("排污"), "the word in every post ranks first"
    assert "kw-5" in (words.first.get_attribute("class") or "")
    assert words.first.locator("sup").inner_text() == "6"
    counts = [int(n) for n in words.locator("sup").all_inner_texts()]
    assert counts == sorted(counts, reverse=True), "most posts first"
    assert "河水2" in words.all_inner_texts(), "河水 is in two posts"
    places = page.locator("#places li")
    assert [p.split()[0] for p in places.all_inner_texts()] == ["安徽省安庆市", "安徽省合肥市"]
    assert "4 条" in places.first.inner_text() and places.first.get_attribute("data-code") == "3408"
    assert "1 条" in places.nth(1).inner_text()
    page.locator("#insights").scroll_into_view_if_needed()
    screenshot(page, "incident-insights-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.wait_for_load_state("networkidle")
    page.locator("#insights").scroll_into_view_if_needed()
    screenshot(page, "incident-insights-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
