"""The console in Chinese, as an analyst and a duty officer meet it (issue 12), against the shipped
department directory (181 departments) and a drill in 封丘县:

- searching from the form with its empty date and sentiment fields shows results (no 422), with the
  matched words marked; a genuinely bad field gives a Chinese sentence naming it, never pydantic's English;
- no Latin-letter codes in the visible text of the board, the alert page, the incident page, a post and the
  search page (source ids, source types, region codes, emotions, actors, rule names all in Chinese);
- 转派 lists the departments of the case's county, city and province first and filters by name or pinyin
  initials;
- every input, select and textarea has a label, and keyboard focus is visible."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher, profiles
from console_harness import Console, screenshot, serve
from factories import PASSWORD, alerting_worker, create_users, make_post, seed_incident
from sqlalchemy import select as sql_select

from alerting.models import Alert
from api import live
from api.auth import passwords
from api.console import labels
from api.main import create_app
from api.models import UserRow
from crawlers.models import CrawlSourceState
from yuqing.clock import CN_TZ, SystemClock
from yuqing.db.migrate import create_schema
from yuqing.db.registry import load_all_models
from yuqing.db.session import Database, make_engine
from yuqing.settings import load_settings
from yuqing.storage.sqlite_fts import SqliteFtsStore

pytestmark = pytest.mark.browser

SHIPPED_DIRECTORY = Path(__file__).resolve().parents[2] / "alerting" / "config" / "departments.yaml"
HOMES = {"duty": "/board", "analyst": "/search", "admin": "/board"}
SOURCES = [
    ("fengqiu-drill-replay", "封丘县化工企业爆炸事故（演练回放）", "social"),
    ("nanyang-board", "南阳市长留言板", "gov"),
]
DISPLAY_NAMES = {"admin": "系统管理员", "duty": "值班员张敏", "analyst": "分析员李想", "leader": "值班领导"}
# Latin letters allowed in visible text: product words the console keeps (API 令牌, API 文档; the report
# downloads' file formats).
ALLOWED_LATIN = {"API", "PDF", "Word", "HTML", "XLSX", "CSV"}


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[dict[str, Any]]:
    """The console on the shipped directory, with a 重大 drill alert in 封丘县 and its posts."""
    tmp = tmp_path_factory.mktemp("labels")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(passwords, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
        mp.setattr(live, "CHECK_SECONDS", 0.5)
        labels.forget()
        settings = load_settings(data_dir=tmp / "var", departments_file=SHIPPED_DIRECTORY)
        engine = make_engine(settings.db_url)
        create_schema(engine)
        load_all_models().metadata.create_all(engine)
        db = Database(engine)
        clock = SystemClock()
        now = clock.now()
        create_users(db, now)
        with db.transaction() as session:
            for user in session.scalars(sql_select(UserRow)):
                user.display_name = DISPLAY_NAMES.get(user.name, user.display_name)
            for source_id, name, kind in SOURCES:
                session.add(CrawlSourceState(source_id=source_id, name=name, kind=kind, type="replay"))
        store = SqliteFtsStore(settings.search_url)
        store.ensure_schema()
        place = ("封丘县", "410727")
        posts = [
            make_post(1, title="封丘县 化工厂 爆炸 浓烟", content="网友 称 化工厂 发生 爆炸 浓烟 滚滚",
                      at=now - timedelta(minutes=40), location=place, heat=80, source_id=SOURCES[0][0]),
            make_post(2, title="化工厂 爆炸 附近 居民 疏散", content="附近 居民 已 疏散 河水 发黑",
                      at=now - timedelta(minutes=30), location=place, heat=60, source_id=SOURCES[0][0]),
            make_post(3, title="市民 反映 河水 发黑", content="河水 发黑 有 异味", sentiment="neutral",
                      at=now - timedelta(minutes=20), location=("南阳市", "4113"), source_id=SOURCES[1][0]),
        ]
        kinds = {source_id: kind for source_id, _, kind in SOURCES}
        posts = [
            p.model_copy(update={"source_kind": kinds[p.source_id],
                                 "tags": p.tags.model_copy(update={"emotion": "angry"})})
            for p in posts
        ]
        store.index(posts)
        worker = alerting_worker(settings, db, clock)
        app = create_app(settings, db=db, clock=clock, store_factory=lambda: store)
        with serve(app) as url:
            alert_id = seed_incident(
                worker, db, incident_id="inc-fq", title="封丘县 化工厂 爆炸", place=place,
                first_seen=now - timedelta(minutes=45), post_ids=[p.id for p in posts[:2]],
            )
            assert alert_id is not None
            console = Console(url, settings, db, store, worker)
            yield {"console": console, "alert_id": alert_id, "posts": posts, "incident_id": "inc-fq"}
        store.close()
        db.close()
        labels.forget()


def log_in(page: Any, url: str, name: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(url + HOMES[name])))


def latin_codes(text: str, ids: list[str]) -> list[str]:
    """Latin-letter words in ``text`` other than URLs, the given ids and the allowed product words."""
    text = re.sub(r"https?://\S+", " ", text)
    for value in ids:
        text = text.replace(value, " ")
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_:.\-]*", text) if w not in ALLOWED_LATIN]


def test_search_from_the_form_with_empty_fields_shows_results(page: Any, drill: dict[str, Any]) -> None:
    url = drill["console"].url
    log_in(page, url, "analyst")
    page.fill("#search-q", "河水")
    page.press("#search-q", "Enter")  # the date and sentiment fields are left empty
    page.wait_for_load_state("networkidle")
    sent = parse_qs(urlsplit(page.url).query, keep_blank_values=True)
    assert sent.get("q") == ["河水"]
    assert not any(v == [""] for v in sent.values()), f"empty fields are left out of the URL: {page.url}"
    assert "请求有误" not in page.content()
    assert page.locator("article.post").count() == 2
    marks = page.locator("article.post mark").all_inner_texts()
    assert marks and set(marks) == {"河水"}, "the matched word is highlighted in each result"
    screenshot(page, "search-form-empty-fields", full_page=True)

    # the same form submitted by a browser without script still sends its empty fields: still results
    page.goto(f"{url}/search?q=%E6%B2%B3%E6%B0%B4&start=&end=&sentiment=&sort=relevance")
    assert page.locator("article.post").count() == 2
    # a day range from the date fields: 至 (end) takes in the whole of that day
    today = datetime.now(CN_TZ).date().isoformat()  # a Beijing day, as the form means it
    page.goto(f"{url}/search")
    page.fill("#search-q", "爆炸")
    page.fill("input[name=start]", today)
    page.fill("input[name=end]", today)
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("article.post").count() == 2
    assert page.locator("input[name=end]").input_value() == today
    # a facet link keeps the chosen day, not the day after it
    facet = page.locator(".facets a").first
    assert f"end={today}" in (facet.get_attribute("href") or "")


def test_a_bad_field_gets_a_chinese_sentence_naming_it(page: Any, drill: dict[str, Any]) -> None:
    url = drill["console"].url
    log_in(page, url, "analyst")
    response = page.goto(f"{url}/search?q=%E6%B2%B3%E6%B0%B4&start=2026-13-45&sentiment=angry")
    assert response is not None and response.status == 422
    error = page.locator("p.error[role=alert]").inner_text()
    assert "「开始日期」不是有效的日期" in error and "「情感」的值无效" in error
    assert "负面、中性、正面" in error
    body = page.locator("body").inner_text()
    assert "Input should" not in body and "query." not in body
    assert page.locator("#search-q").input_value() == "河水", "the words typed are kept"
    screenshot(page, "search-bad-field-error")
    # the API keeps RFC 9457 with the field paths
    api = page.request.get(f"{url}/api/search?start=2026-13-45")
    assert api.status == 422 and api.headers["content-type"].startswith("application/problem+json")
    problem = api.json()
    assert ["query", "start"] in [e["loc"] for e in problem["errors"]]
    assert "「开始日期」（start）" in problem["detail"]
    # an alert action with a missing field: the field named in Chinese
    log_in(page, url, "duty")
    page.goto(f"{url}/alerts/{drill['alert_id']}")
    form = page.locator("form[data-action=supervise]")
    form.evaluate("f => f.noValidate = true")
    form.locator("button").click()
    page.wait_for_load_state("networkidle")
    assert "「督办事由」必须填写" in page.locator("p.flash.error[role=alert]").inner_text()


PAGES = {
    "board": "/board",
    "alert": "/alerts/{alert_id}",
    "incident": "/incidents/{incident_id}",
    "post": "/posts/{post_id}",
    "search": "/search?q=%E7%88%86%E7%82%B8",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_no_latin_codes_in_the_visible_text(page: Any, drill: dict[str, Any], name: str) -> None:
    url = drill["console"].url
    log_in(page, url, "admin")
    if name == "alert":  # history with a person's step, a reassignment and a system reason
        page.goto(f"{url}/alerts/{drill['alert_id']}")
        page.click("form[data-action=acknowledge] button")
        page.wait_for_url(re.compile(r"done=acknowledge"))
    path = PAGES[name].format(
        alert_id=drill["alert_id"], incident_id=drill["incident_id"], post_id=drill["posts"][0].id
    )
    page.goto(url + path)
    page.wait_for_load_state("networkidle")
    text = page.locator("body").inner_text()
    ids = [drill["incident_id"], *(p.id for p in drill["posts"])]
    assert latin_codes(text, ids) == [], f"{name}: Latin-letter codes in the visible text"
    if name in ("alert", "incident", "post"):
        assert "封丘县" in text
        assert "410727" not in text, "region codes show on hover only"
        region = page.locator(".code-label[title='行政区划代码 410727']").first
        assert region.is_visible(), "the region code shows on hover"
    if name == "post":
        assert "愤怒" in text and "封丘县化工企业爆炸事故（演练回放）" in text and "社交媒体" in text
    if name == "alert":
        history = page.locator("#history").inner_text()
        assert "系统（预警服务） · 生成预警：规则 「重大事件」" in history
        assert "签收" in history
    if name == "search":
        facets = page.locator(".facets").inner_text()
        assert "新乡市封丘县" in facets and "社交媒体" in facets
        assert "封丘县化工企业爆炸事故（演练回放）" in facets
    screenshot(page, f"chinese-labels-{name}", full_page=True)


def test_reassign_picker_puts_the_case_region_first_and_filters(page: Any, drill: dict[str, Any]) -> None:
    url = drill["console"].url
    log_in(page, url, "duty")
    page.goto(f"{url}/alerts/{drill['alert_id']}")
    form = page.locator("form[data-action=reassign]")
    select = form.locator("select[name=department_id]")
    options = select.locator("option")
    assert options.count() == 181
    first = options.evaluate_all("os => os.slice(0, 40).map(o => o.textContent)")
    assert first[0].startswith("中共封丘县委"), first[:3]  # the county first, then 新乡市, then 河南省
    county = [t for t in first if "封丘" in t]
    city_at = next(i for i, t in enumerate(first) if t.startswith("中共新乡市委"))
    assert all(first.index(t) < city_at for t in county if not t.startswith("新乡市生态环境局封丘分局"))
    assert not any(t.startswith("山东省") for t in first)
    groups = select.locator("optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert groups[0] == "本地及上级：封丘县 › 新乡市 › 河南省"

    def visible() -> list[str]:
        return options.evaluate_all("os => os.filter(o => !o.hidden).map(o => o.textContent.trim())")

    search = form.locator("input[data-dept-filter]")
    search.fill("fqxgaj")  # 封丘县公安局 by its pinyin initials
    assert visible() == ["封丘县公安局"]
    assert "封丘县公安局" in select.evaluate("s => s.selectedOptions[0].textContent"), "the match is chosen"
    search.fill("公安")  # by name: the county's, the city's and the province's first
    shown = visible()
    assert shown[:3] == ["封丘县公安局", "新乡市公安局", "河南省公安厅"], shown[:5]
    assert len(shown) > 3
    search.fill("gaj")
    assert all("公安" in t for t in visible())
    search.fill("zzzz")
    assert visible() == [] and form.locator("[data-dept-empty]").is_visible()
    search.fill("新乡市公安局")
    assert visible() == ["新乡市公安局"]
    form.scroll_into_view_if_needed()
    screenshot(page, "reassign-picker-filtered")
    form.locator("input[name=reason]").fill("涉及治安，转公安机关")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=reassign"))
    assert "新乡市公安局" in page.locator(".grid-dl").inner_text()
    with drill["console"].db.transaction() as session:
        alert = session.scalars(sql_select(Alert).where(Alert.id == drill["alert_id"])).one()
        assert alert.department_name == "新乡市公安局"


LABEL_PAGES = ["/board", "/alerts/{alert_id}", "/incidents/{incident_id}", "/posts/{post_id}", "/search",
               "/incidents", "/department", "/leader", "/performance", "/sources", "/users", "/tokens"]
UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden')
  .filter(el => {
    const byLabel = Array.from(el.labels || []).some(l => l.textContent.trim().length > 0);
    const byAria = (el.getAttribute('aria-label') || '').trim().length > 0;
    const byRef = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
      .some(id => (document.getElementById(id)?.textContent || '').trim().length > 0);
    return !(byLabel || byAria || byRef);
  })
  .map(el => el.outerHTML.slice(0, 120))"""


def test_every_input_has_a_label_and_focus_is_visible(page: Any, drill: dict[str, Any]) -> None:
    url = drill["console"].url
    page.goto(f"{url}/login")
    assert page.evaluate(UNLABELLED) == []
    log_in(page, url, "admin")
    missing: dict[str, list[str]] = {}
    for path in LABEL_PAGES:
        path = path.format(
            alert_id=drill["alert_id"], incident_id=drill["incident_id"], post_id=drill["posts"][0].id
        )
        page.goto(url + path)
        found = page.evaluate(UNLABELLED)
        if found:
            missing[path] = found
    assert missing == {}, missing
    # keyboard focus is visible: a clear outline on the focused field
    page.goto(f"{url}/search")
    page.focus("#search-q")
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline[0] != "none" and float(outline[1].rstrip("px")) >= 2, outline
    screenshot(page, "focus-visible-search")
