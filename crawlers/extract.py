"""Field extraction shared by the spiders: selectors, counts, JSON paths and the item/required-field checks.

Everything here is pure (a page and ``now`` in, items and problems out), so it is tested without a network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from parsel import Selector, SelectorList
from w3lib.url import canonicalize_url

from crawlers.config import CountSelectors, DetailSelectors, FieldMap, Source, is_xpath
from crawlers.items import CrawledItem, Problem
from crawlers.text import clean_lines, html_to_text
from crawlers.timeparse import parse_cn_datetime
from yuqing.safe_input import valid_unicode
from yuqing.schemas import Counts, OfficialReply

COUNT_NAMES = ("reply", "repost", "comment", "like")
_NUMBER = re.compile(r"(\d+(?:[.,]\d+)*)\s*(万|w|W|千|k|K|亿)?")
_MULTIPLIER = {"万": 10_000, "w": 10_000, "W": 10_000, "千": 1_000, "k": 1_000, "K": 1_000, "亿": 100_000_000}
_TRACKING = re.compile(r"^(utm_\w+|spm|share_token|_t)$")


def http_url(url: str | None) -> str | None:
    """The URL when it is an absolute http(s) URL with a host; None for javascript:, data:, file: …"""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or any(ord(c) < 32 or c == "\x7f" for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def bad_url_problem(source_id: str, url: str, where: str = "item") -> Problem:
    shown = valid_unicode(url)[0][:120]
    return Problem(
        source_id=source_id,
        kind="bad_url",
        url=None,
        reason=f"{where} skipped: link {shown!r} is not an http(s) URL",
    )


def admit_item(item: CrawledItem) -> tuple[CrawledItem | None, list[Problem]]:
    """Input at the door: an item keeps an http(s) URL (else it is dropped with a ``bad_url`` problem),
    and its text is made valid Unicode (lone surrogates and NUL replaced, a ``bad_text`` problem)."""
    url = http_url(item.url)
    if url is None:
        return None, [bad_url_problem(item.source_id, item.url)]
    fixed = 0
    changes: dict[str, Any] = {}
    for name in ("url", "title", "content", "author"):
        value = url if name == "url" else getattr(item, name)
        if value is None:
            continue
        clean, n = valid_unicode(value)
        fixed += n
        if clean != getattr(item, name):
            changes[name] = clean
    if item.reply is not None:
        text, n_text = valid_unicode(item.reply.text)
        dept, n_dept = valid_unicode(item.reply.department) if item.reply.department else (None, 0)
        if n_text or n_dept:
            fixed += n_text + n_dept
            changes["reply"] = item.reply.model_copy(update={"text": text, "department": dept})
    problems = []
    if fixed:
        problems.append(
            Problem(
                source_id=item.source_id,
                kind="bad_text",
                url=changes.get("url", item.url),
                reason=f"{fixed} invalid character(s) (lone surrogates or NUL) replaced with U+FFFD",
            )
        )
    return (item.model_copy(update=changes) if changes else item), problems


def canonical_url(url: str) -> str:
    """Sorted query, no fragment, no tracking parameters: the identity of a page."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    return canonicalize_url(
        urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", urlencode(query), ""))
    )


def parse_count(text: str | int | float | None) -> int | None:
    """``回复(12)`` -> 12, ``1.2万`` -> 12000, ``3k`` -> 3000; None when there is no number."""
    if text is None:
        return None
    if isinstance(text, int | float):
        return int(text)
    m = _NUMBER.search(text)
    if not m:
        return None
    number = float(m.group(1).replace(",", ""))
    return int(number * _MULTIPLIER.get(m.group(2) or "", 1))


def select(node: Selector, selector: str) -> SelectorList[Selector]:
    if is_xpath(selector):
        return node.xpath(selector.removeprefix("xpath:"))
    return node.css(selector.removeprefix("css:"))


def select_links(node: Selector, selector: str | None) -> list[str]:
    """Every href/URL a link selector picks, each on its own (never joined into one), duplicates dropped."""
    if not selector:
        return []
    links: list[str] = []
    for match in select(node, selector):
        value = match.get()
        text = (value if isinstance(match.root, str) else html_to_text(value)).strip()
        if text and text not in links:
            links.append(text)
    return links


def select_text(node: Selector, selector: str | None) -> str | None:
    """The text a selector picks: text nodes and attributes joined, elements converted to clean text."""
    if not selector:
        return None
    found = select(node, selector)
    if not found:
        return None
    parts = []
    for match in found:
        value = match.get()
        parts.append(value if isinstance(match.root, str) else html_to_text(value))
    text = clean_lines("\n".join(p for p in parts if p))
    return text or None


def select_counts(node: Selector, counts: CountSelectors) -> dict[str, int]:
    result: dict[str, int] = {}
    for name in COUNT_NAMES:
        value = parse_count(select_text(node, getattr(counts, name)))
        if value is not None:
            result[name] = value
    return result


def select_fields(node: Selector, selectors: DetailSelectors) -> dict[str, Any]:
    """title / content / published_at / author (raw text) and counts from one node, only those found."""
    fields: dict[str, Any] = {}
    for name in ("title", "content", "published_at", "author"):
        value = select_text(node, getattr(selectors, name))
        if value is not None:
            fields[name] = value
    counts = select_counts(node, selectors.counts)
    if counts:
        fields["counts"] = counts
    if selectors.reply is not None and (text := select_text(node, selectors.reply.content)):
        reply = {"text": text}
        for name in ("department", "published_at"):
            if (value := select_text(node, getattr(selectors.reply, name))) is not None:
                reply[name] = value
        fields["reply"] = reply
    return fields


def json_path(data: Any, path: str | None) -> Any:
    """``data.list`` / ``user.name`` / ``pics.0.url``; None when any step is missing."""
    if not path:
        return None
    current = data
    for step in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(step)
        elif isinstance(current, list) and step.lstrip("-").isdigit():
            index = int(step)
            current = current[index] if -len(current) <= index < len(current) else None
        else:
            return None
        if current is None:
            return None
    return current


def json_fields(entry: Mapping[str, Any], mapping: FieldMap) -> dict[str, Any]:
    """Raw field values of one JSON item; the url from ``url`` or ``url_template``."""
    fields: dict[str, Any] = {}
    url = json_path(entry, mapping.url)
    if url is None and mapping.url_template:
        try:
            url = mapping.url_template.format_map(entry)
        except (KeyError, IndexError, AttributeError, ValueError):
            url = None
    if isinstance(url, str | int) and not isinstance(url, bool):
        fields["url"] = str(url)  # a list or object is no URL: the item is skipped as missing one
    for name in ("title", "content", "published_at", "author"):
        value = json_path(entry, getattr(mapping, name))
        if value is not None:
            fields[name] = value if name == "published_at" else _plain(value)
    counts = {
        k: c for k, path in mapping.counts.items() if (c := parse_count(json_path(entry, path))) is not None
    }
    if counts:
        fields["counts"] = counts
    return fields


def _plain(value: Any) -> str:
    text = str(value)
    return html_to_text(text) if "<" in text and ">" in text else clean_lines(text)


def build_item(
    source: Source, url: str | None, fields: Mapping[str, Any], now: datetime
) -> tuple[CrawledItem | None, list[Problem]]:
    """Check required fields and parse the time; an unparseable time is reported but the item is kept."""
    problems: list[Problem] = []
    if url is not None and http_url(url) is None:
        return None, [bad_url_problem(source.id, url)]
    title = str(fields.get("title") or "").strip()
    content = str(fields.get("content") or "").strip()
    missing: list[str] = [name for name in source.required if not fields.get(name)]
    if not url:
        missing.insert(0, "url")
    if not title and not content:
        missing.append("title or content")
    if missing:
        reason = f"skipped: missing {', '.join(missing)}"
        return None, [Problem(source_id=source.id, kind="missing_field", url=url, reason=reason)]
    assert url is not None
    raw_time = fields.get("published_at")
    published = None
    if raw_time not in (None, ""):
        published = parse_cn_datetime(raw_time, now, source.tz)
        if published is None:
            if "published_at" in source.required:
                return None, [
                    Problem(
                        source_id=source.id,
                        kind="missing_field",
                        url=url,
                        reason=f"skipped: published_at {str(raw_time)[:60]!r} is not a time",
                    )
                ]
            problems.append(
                Problem(
                    source_id=source.id,
                    kind="bad_date",
                    url=url,
                    reason=f"cannot read the time {str(raw_time)[:60]!r}; kept without it",
                )
            )
    author = fields.get("author")
    reply, reply_problems = _reply(source, url, fields.get("reply"), now)
    problems += reply_problems
    item = CrawledItem(
        source_id=source.id,
        url=url,
        title=title,
        content=content,
        published_at=published,
        author=str(author).strip() or None if author is not None else None,
        counts=Counts(**fields.get("counts", {})),
        reply=reply,
    )
    admitted, door = admit_item(item)
    return admitted, problems + door


def _reply(
    source: Source, url: str, raw: Any, now: datetime
) -> tuple[OfficialReply | None, list[Problem]]:
    """The official reply block's fields as an ``OfficialReply``; an unreadable reply time is a
    ``bad_date`` problem and the reply is kept without it (the crawl time then counts as its time)."""
    if not isinstance(raw, Mapping) or not str(raw.get("text") or "").strip():
        return None, []
    department = str(raw.get("department") or "").strip() or None
    department = re.sub(r"^(回复单位|答复单位|办理单位)[:：]\s*", "", department) if department else None
    raw_time = raw.get("published_at")
    replied = parse_cn_datetime(raw_time, now, source.tz) if raw_time not in (None, "") else None
    problems = []
    if raw_time not in (None, "") and replied is None:
        problems.append(
            Problem(
                source_id=source.id,
                kind="bad_date",
                url=url,
                reason=f"cannot read the reply time {str(raw_time)[:60]!r}; reply kept without it",
            )
        )
    return OfficialReply(text=str(raw["text"]).strip(), department=department, replied_at=replied), problems


def merge_fields(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Later layers win per field; counts merge per count."""
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key == "counts":
                merged["counts"] = {**merged.get("counts", {}), **value}
            else:
                merged[key] = value
    return merged


def feed_entries(feed: Selector) -> Iterable[tuple[str | None, dict[str, Any]]]:
    """(link, fields) per RSS item or Atom entry of a feed with namespaces removed."""
    for entry in feed.xpath("//item | //entry"):
        link = (
            entry.xpath("normalize-space(link/text())").get()
            or entry.xpath("(link[@rel='alternate']/@href | link/@href)[1]").get()
        )
        if not link:
            guid = entry.xpath("normalize-space(guid/text())").get() or ""
            link = guid if guid.startswith("http") else None
        body = (
            entry.xpath("encoded/text()").get()
            or entry.xpath("content/text()").get()
            or entry.xpath("description/text()").get()
            or entry.xpath("summary/text()").get()
            or ""
        )
        fields: dict[str, Any] = {
            "title": clean_lines(html_to_text(entry.xpath("title/text()").get() or "")),
            "content": html_to_text(body),
            "published_at": (
                entry.xpath("normalize-space(pubDate/text())").get()
                or entry.xpath("normalize-space(published/text())").get()
                or entry.xpath("normalize-space(date/text())").get()
                or entry.xpath("normalize-space(updated/text())").get()
                or None
            ),
            "author": (
                entry.xpath("normalize-space(author/name/text())").get()
                or entry.xpath("normalize-space(creator/text())").get()
                or entry.xpath("normalize-space(author/text())").get()
                or None
            ),
        }
        yield link, {k: v for k, v in fields.items() if v}
