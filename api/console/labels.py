"""Chinese labels for every code the console shows: sentiments, emotions, source types and names, region
names (the code on hover), durations (4h → 4 小时), audit actors and the reasons alerting writes (rule
names → their ``title`` in rules.yaml, deadline kinds → their names).

Static tables are plain dicts; what depends on the deployment (source names from the crawler's table,
people's names from the users table, rule titles from the rules file) is read through ``ConsoleLabels``,
one per rendered page, from a cache refreshed every ``REFRESH_SECONDS``."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select

from yuqing.clock import CN_TZ
from yuqing.domain import ACTION_LABELS, DEADLINE_LABELS

SENTIMENT_LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面"}
EMOTION_LABELS = {
    "angry": "愤怒",
    "sad": "悲伤",
    "fear": "恐惧",
    "happy": "喜悦",
    "neutral": "平静",
    "surprise": "惊讶",
    "disgust": "厌恶",
    "like": "喜爱",
}
SOURCE_KIND_LABELS = {
    "news": "新闻", "gov": "政务", "forum": "论坛", "social": "社交媒体", "policy": "政策文件",
}
SOURCE_TYPE_LABELS = {"rss": "RSS 订阅", "html": "网页", "json_api": "数据接口", "replay": "演练回放"}
PROBLEM_KIND_LABELS = {
    "connection": "连接失败",
    "dns": "域名解析失败",
    "fetch_error": "抓取失败",
    "ignored": "请求被忽略",
    "redirect": "重定向异常",
    "redirect_loop": "重定向循环",
    "robots": "robots 协议禁止",
    "timeout": "超时",
    "too_large": "页面过大",
    "http": "HTTP 错误",
    "parse": "解析失败",
    "encoding": "编码异常",
    "missing_field": "缺少字段",
    "bad_date": "日期无法识别",
    "bad_item": "条目无效",
    "bad_text": "正文无效",
    "bad_url": "链接无效",
    "crawler_crashed": "爬虫异常退出",
    "replay_file": "回放文件错误",
}
SORT_LABELS = {"relevance": "相关度", "time": "时间", "heat": "热度"}
ACTOR_LABELS = {
    "system:alerting": "系统（预警服务）",
    "system:demo": "系统（演示）",
    "system": "系统",
    "cli": "命令行",
}
DURATION_UNITS = {"m": "分钟", "min": "分钟", "h": "小时", "d": "天", "w": "周", "wd": "个工作日"}
REFRESH_SECONDS = 30.0

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(wd|min|m|h|d|w)\s*$")
_RULES = re.compile(r"^rules:\s*(.*)$")
_DUE = re.compile(r"^(?P<kind>[a-z_]+) due (?P<at>\S+(?: \S+)?)$")
_BREACH = re.compile(r"^(?P<kind>[a-z_]+) 时限已过 \(due (?P<at>[^)]+)\)$")
_ACK_TIMEOUT = re.compile(r"^acknowledged by (?P<by>.+) but no response within (?P<minutes>\d+) minutes$")
_FIXED_REASONS = {"snooze ended": "暂缓到期，恢复提醒", "working calendar changed": "工作日历变更，重算时限"}


def sentiment_label(code: str | None) -> str:
    return SENTIMENT_LABELS.get(code or "", code or "—")


def emotion_label(code: str | None) -> str:
    return EMOTION_LABELS.get(code or "", code or "—")


def source_kind_label(code: str | None) -> str:
    return SOURCE_KIND_LABELS.get(code or "", code or "—")


def duration_label(value: str | None) -> str:
    """A playbook's ``within``: a deadline kind (its name) or a span (4h → 4 小时, 7d → 7 天)."""
    if not value:
        return ""
    if value in DEADLINE_LABELS:
        return DEADLINE_LABELS[value]
    match = _DURATION.match(value)
    if not match:
        return value
    number = match.group(1).removesuffix(".0")
    return f"{number} {DURATION_UNITS[match.group(2)]}"


_NAME_CODE = re.compile(r"(?P<name>[\u4e00-\u9fff]{2,20})[(（](?P<code>\d{2,12})[)）]")


def codes_on_hover(text: str | None) -> Markup:
    """Text naming places as 封丘县(410727) (assignment reasons): the name shown, the code on hover."""
    if not text:
        return Markup("")
    out: list[Markup] = []
    last = 0
    for match in _NAME_CODE.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(
            Markup('<span class="code-label" title="行政区划代码 {}">{}</span>').format(
                match["code"], match["name"]
            )
        )
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _when(text: str) -> str:
    from datetime import datetime

    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        return text
    if at.tzinfo is not None:
        at = at.astimezone(CN_TZ)
    return at.strftime("%m-%d %H:%M")


@dataclass
class _Cache:
    loaded_at: float = -1e9
    sources: dict[str, str] = field(default_factory=dict)
    source_kinds: dict[str, str] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)


_caches: dict[int, _Cache] = {}
_lock = threading.Lock()


def _rule_titles(path: Path) -> dict[str, str]:
    from alerting.rules import RulesError, load_config

    try:
        config = load_config(path)
    except (RulesError, OSError):
        return {}
    return {r.name: r.title for r in config.rules if r.title}


def _load(state: Any) -> _Cache:
    from api.models import UserRow
    from crawlers.models import CrawlSourceState

    cache = _Cache(loaded_at=time.monotonic())
    try:
        with state.db.transaction() as session:
            for row in session.execute(
                select(CrawlSourceState.source_id, CrawlSourceState.name, CrawlSourceState.kind)
            ):
                if row.name:
                    cache.sources[row.source_id] = row.name
                cache.source_kinds[row.source_id] = row.kind
            for row in session.execute(select(UserRow.name, UserRow.display_name)):
                if row.display_name:
                    cache.people[row.name] = row.display_name
    except Exception:  # noqa: BLE001 - labels are a nicety: a page never fails for them
        pass
    cache.rules = _rule_titles(state.settings.rules_file)
    return cache


def _cached(state: Any) -> _Cache:
    key = id(state)
    with _lock:
        cache = _caches.get(key)
        if cache is None or time.monotonic() - cache.loaded_at > REFRESH_SECONDS:
            cache = _caches[key] = _load(state)
        return cache


def forget() -> None:
    """Drop every cached table (tests, or after an import)."""
    with _lock:
        _caches.clear()


class ConsoleLabels:
    """The labels one page needs; tables are read on first use."""

    sentiment = staticmethod(sentiment_label)
    emotion = staticmethod(emotion_label)
    source_kind = staticmethod(source_kind_label)
    duration = staticmethod(duration_label)

    def __init__(self, state: Any | None) -> None:
        self._state = state
        self._cache: _Cache | None = None

    @property
    def tables(self) -> _Cache:
        if self._cache is None:
            self._cache = _cached(self._state) if self._state is not None else _Cache()
        return self._cache

    def source(self, source_id: str | None) -> str:
        """A source's name (信源 id when the crawler has not recorded one)."""
        if not source_id:
            return "—"
        return self.tables.sources.get(source_id, source_id)

    def source_html(self, source_id: str | None) -> Markup:
        """The source's name, its id on hover."""
        name = self.source(source_id)
        return Markup('<span class="code-label" title="信源 {}">{}</span>').format(source_id or "", name)

    def person(self, name: str | None) -> str:
        """Who did it: a user's display name, a system actor in Chinese, else as recorded."""
        if not name:
            return "—"
        if name in ACTOR_LABELS:
            return ACTOR_LABELS[name]
        if name.startswith("system:"):
            return "系统"
        return self.tables.people.get(name, name)

    def rule(self, name: str) -> str:
        return self.tables.rules.get(name, name)

    def region(self, code: str | None, fallback: str | None = None) -> str:
        """A region's name (city and county: 新乡市封丘县) from the shipped gazetteer."""
        if not code:
            return fallback or "—"
        from nlp.location import Gazetteer

        chain = Gazetteer.load().chain(code)
        return "".join(loc.name for loc in chain[-2:]) or fallback or code

    def region_html(self, code: str | None, fallback: str | None = None) -> Markup:
        """The region's name with its administrative code on hover."""
        name = self.region(code, fallback)
        if not code:
            return Markup("{}").format(name)
        return Markup('<span class="code-label" title="行政区划代码 {}">{}</span>').format(code, name)

    def action(self, action: str | None) -> str:
        return ACTION_LABELS.get(action or "", action or "—")

    def reason(self, text: str | None) -> str:
        """A reason alerting wrote (``rules: a, b``; ``authoritative_info due …``) in Chinese."""
        if not text:
            return ""
        if text in _FIXED_REASONS:
            return _FIXED_REASONS[text]
        if match := _RULES.match(text):
            names = [n.strip() for n in match.group(1).split(",") if n.strip()]
            return "规则 " + "、".join(f"「{self.rule(n)}」" for n in names)
        if match := _DUE.match(text):
            kind = DEADLINE_LABELS.get(match["kind"], match["kind"])
            return f"{kind}时限已过（截止 {_when(match['at'])}）"
        if match := _BREACH.match(text):
            kind = DEADLINE_LABELS.get(match["kind"], match["kind"])
            return f"{kind}时限已过（截止 {_when(match['at'])}）"
        if match := _ACK_TIMEOUT.match(text):
            return f"{self.person(match['by'])} 签收后 {match['minutes']} 分钟内未开始处置，退回待签收"
        return text

    def facet(self, facet: str, value: str) -> str:
        """A search facet's bucket in Chinese."""
        if facet == "sentiment":
            return sentiment_label(value)
        if facet == "source_id":
            return self.source(value)
        if facet == "source_kind":
            return source_kind_label(value)
        if facet == "location_code":
            return self.region(value)
        return value

    def facet_title(self, facet: str, value: str) -> str:
        """What a facet bucket's hover shows: the code behind the label."""
        if facet == "location_code":
            return f"行政区划代码 {value}"
        if facet == "source_id":
            return f"信源 {value}"
        return ""
