"""Source definitions: one YAML file per source, validated with pydantic.

``{sample_site}`` anywhere in a string value is replaced by the bundled sample site's base URL
(env ``YUQING_SAMPLE_SITE_URL``, default http://127.0.0.1:8765), so the default sources follow the demo.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree
from parsel.csstranslator import css2xpath
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from yuqing.domain import IncidentKind
from yuqing.safe_input import ConfigFileError, load_yaml_file
from yuqing.schemas import SourceKind

DEFAULT_SAMPLE_SITE_URL = "http://127.0.0.1:8765"
_INTERVAL = re.compile(r"(\d+)\s*([smhd])")
_FIELD_PROBLEM = re.compile(r"^Value error, ([a-z_][\w.]*): (.*)$", re.S)
_INTERVAL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_SOURCE_FILE_BYTES = 256 * 1024


def sample_site_url() -> str:
    return os.environ.get("YUQING_SAMPLE_SITE_URL", DEFAULT_SAMPLE_SITE_URL).rstrip("/")


def parse_interval(value: str | int | float) -> int:
    """``10m``, ``1h30m``, ``45s``, ``2d`` or a number of seconds -> seconds (> 0)."""
    if isinstance(value, int | float):
        seconds = int(value)
    else:
        text = value.strip().lower().replace(" ", "")
        if text.isdigit():
            seconds = int(text)
        else:
            parts = _INTERVAL.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 10m, 1h30m or 2d")
            seconds = sum(int(n) * _INTERVAL_UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError("must be longer than zero")
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def is_xpath(selector: str) -> bool:
    return selector.startswith(("/", "./", "(", "xpath:"))


def compile_selector(selector: str) -> str:
    """The selector if it compiles (CSS with parsel's ``::text``/``::attr()``, or XPath); ValueError else."""
    if is_xpath(selector):
        try:
            etree.XPath(selector.removeprefix("xpath:"))
        except etree.XPathError as exc:
            raise ValueError(
                f"invalid XPath {selector!r} ({exc}); fix: check brackets, quotes and @ (e.g. //a/@href)"
            ) from None
        return selector
    try:
        etree.XPath(css2xpath(selector.removeprefix("css:")))
    except (SyntaxError, etree.XPathError, ValueError) as exc:
        raise ValueError(
            f"invalid CSS selector {selector!r} ({exc}); fix: check the syntax "
            "(e.g. a.title::attr(href), span.time::text)"
        ) from None
    return selector


class _Selectors(_Strict):
    @field_validator("*", mode="after")
    @classmethod
    def _compiles(cls, v: Any) -> Any:
        return compile_selector(v) if isinstance(v, str) else v


class CountSelectors(_Selectors):
    reply: str | None = None
    repost: str | None = None
    comment: str | None = None
    like: str | None = None


class ReplySelectors(_Selectors):
    """The official reply block of a 留言 (已回复 / 回复内容): an item has a reply when ``content``
    matches."""

    content: str
    department: str | None = None
    published_at: str | None = None


class DetailSelectors(_Selectors):
    """Selectors on a detail page (CSS, or XPath when starting with ``/``, ``./``, ``(`` or ``xpath:``)."""

    title: str | None = None
    content: str | None = None
    published_at: str | None = None
    author: str | None = None
    counts: CountSelectors = Field(default_factory=CountSelectors)
    reply: ReplySelectors | None = Field(default=None, description="a message board's official reply")


class ListSelectors(DetailSelectors):
    """Selectors on a list page: ``item`` picks each entry, the rest are relative to it."""

    item: str
    link: str
    next: str | None = None


class FieldMap(_Strict):
    """Dotted paths into one JSON item (``user.name``, ``stats.0.value``)."""

    url: str | None = None
    url_template: str | None = Field(
        default=None, description="build the URL from the item, e.g. https://site/post/{id}"
    )
    title: str | None = None
    content: str | None = None
    published_at: str | None = None
    author: str | None = None
    counts: dict[Literal["reply", "repost", "comment", "like"], str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_url(self) -> FieldMap:
        if not self.url and not self.url_template:
            raise ValueError("give url (a path in the item) or url_template")
        return self


class ApiPaging(_Strict):
    url: str = Field(description="URL template with {page} (and optionally {size})")
    items: str = Field(description="dotted path to the list of items in the response")
    start_page: int = 1
    page_size: int = 20
    has_more: str | None = Field(default=None, description="dotted path to a boolean; default: stop on empty")

    @field_validator("url")
    @classmethod
    def _has_page(cls, v: str) -> str:
        if "{page}" not in v:
            raise ValueError("the URL template needs a {page} placeholder")
        return v


class SourceBase(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,63}$")
    name: str = Field(min_length=1)
    start_urls: list[str] = Field(default_factory=list)
    interval: int = Field(default=600, description="seconds between crawls; YAML takes 10m, 1h, 30s")
    region: str | None = Field(default=None, pattern=r"^\d{2,12}$")
    kind: SourceKind = "news"
    item_kind: IncidentKind = Field(
        default="opinion", description="what its items are: opinion (posts), message (留言: each a case)"
    )
    weight: float = Field(default=1.0, gt=0, le=10)
    timezone: str = "Asia/Shanghai"
    enabled: bool = True
    silent_after: int = Field(default=6 * 3600, description="raise 'silent' after this long without items")
    max_pages: int = Field(default=5, ge=1, le=1000)
    obey_robots: bool = True
    download_delay: float = Field(default=0.0, ge=0)
    concurrency: int = Field(default=4, ge=1, le=64)
    encoding: str | None = Field(default=None, description="force a page encoding (e.g. gb18030)")
    required: list[Literal["title", "content", "published_at", "author"]] = Field(
        default_factory=list, description="fields without which an item is skipped (url always is)"
    )

    @field_validator("interval", "silent_after", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> int:
        return parse_interval(v)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r}; use an IANA name like Asia/Shanghai") from None
        return v

    @field_validator("start_urls")
    @classmethod
    def _urls(cls, v: list[str]) -> list[str]:
        for url in v:
            if not re.match(r"^https?://[^/\s]+", url):
                raise ValueError(f"{url!r} is not an http(s) URL")
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str | None) -> str | None:
        if v is not None:
            import codecs

            try:
                codecs.lookup(v)
            except LookupError:
                raise ValueError(f"unknown encoding {v!r}") from None
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class _NeedsStartUrls(SourceBase):
    @model_validator(mode="after")
    def _start(self) -> _NeedsStartUrls:
        if not self.start_urls:
            raise ValueError("start_urls: give at least one URL")
        return self


class RssSource(_NeedsStartUrls):
    type: Literal["rss"]
    detail: DetailSelectors | None = Field(
        default=None, description="follow each entry's link and take these fields from the page"
    )


class HtmlSource(_NeedsStartUrls):
    type: Literal["html"]
    list: ListSelectors
    detail: DetailSelectors | None = None


class JsonApiSource(SourceBase):
    type: Literal["json_api"]
    api: ApiPaging
    fields: FieldMap


class ReplaySource(SourceBase):
    type: Literal["replay"]
    file: Path = Field(description="JSON-lines file of posts; relative to the YAML file")
    speed: float = Field(default=1.0, gt=0, description="60 = one minute of the event per second")
    rebase_time: bool = Field(default=True, description="shift times so the event starts when replay starts")

    @field_validator("file")
    @classmethod
    def _exists(cls, v: Path) -> Path:
        if not v.is_file():
            raise ValueError(f"{v} is not a file")
        return v


SourceConfig = Annotated[RssSource | HtmlSource | JsonApiSource | ReplaySource, Field(discriminator="type")]
_ADAPTER: TypeAdapter[RssSource | HtmlSource | JsonApiSource | ReplaySource] = TypeAdapter(SourceConfig)
Source = RssSource | HtmlSource | JsonApiSource | ReplaySource


class SourceFileError(ValueError):
    """One problem in one source file: the file, the field and what is wrong."""

    def __init__(self, path: Path, field: str, problem: str) -> None:
        self.path, self.field, self.problem = path, field, problem
        super().__init__(f"{path}: {field}: {problem}")


def _substitute(value: Any, placeholders: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in placeholders.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, list):
        return [_substitute(v, placeholders) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, placeholders) for k, v in value.items()}
    return value


def source_from_dict(data: Any) -> Source:
    """Validate an already-substituted mapping (used across the crawl subprocess boundary)."""
    return _ADAPTER.validate_python(data)


def load_source_file(path: Path, placeholders: dict[str, str] | None = None) -> Source:
    """Read and validate one YAML file; raises SourceFileError naming the first problem."""
    source, errors = _load(path, placeholders)
    if source is None:
        raise errors[0]
    return source


def _load(path: Path, placeholders: dict[str, str] | None) -> tuple[Source | None, list[SourceFileError]]:
    placeholders = {"sample_site": sample_site_url()} if placeholders is None else placeholders
    try:
        raw = load_yaml_file(path, max_bytes=MAX_SOURCE_FILE_BYTES)
    except ConfigFileError as exc:
        problem = f"{exc.problem} (fix: {exc.fix})" if exc.fix else exc.problem
        return None, [SourceFileError(path, exc.field, problem)]
    if not isinstance(raw, dict):
        return None, [SourceFileError(path, "file", "expected a mapping of fields (id, name, type, …)")]
    data = _substitute(raw, placeholders)
    if data.get("type") == "replay" and isinstance(data.get("file"), str):
        data["file"] = str((path.parent / data["file"]).resolve())
    try:
        return _ADAPTER.validate_python(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            if loc and loc[0] == data.get("type"):
                loc = loc[1:]  # drop the discriminator's tag from the path
            field, message = ".".join(loc), err["msg"]
            if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
                field = "type"
            elif not field and (m := _FIELD_PROBLEM.match(message)):
                field, message = m.group(1), m.group(2)  # a model-level check naming its field
            elif err["type"] == "extra_forbidden":
                message = (
                    "Extra inputs are not permitted: unknown key (fix: remove it or correct its spelling)"
                )
            elif err["type"] == "missing":
                message = "Field required (fix: add it)"
            message = " ".join(message.removeprefix("Value error, ").split())
            problems.append(SourceFileError(path, field or "source", message))
        return None, problems


def source_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def check_sources(path: Path, placeholders: dict[str, str] | None = None) -> list[SourceFileError]:
    """Every problem in a folder (or one file), including ids used by two files."""
    if not path.exists():
        return [SourceFileError(path, "path", "does not exist")]
    problems: list[SourceFileError] = []
    seen: dict[str, Path] = {}
    for file in source_files(path):
        source, errors = _load(file, placeholders)
        problems.extend(errors)
        if source is not None:
            if source.id in seen:
                problems.append(
                    SourceFileError(file, "id", f"{source.id!r} is already used by {seen[source.id]}")
                )
            seen.setdefault(source.id, file)
    return problems


def load_source_files(
    path: Path, placeholders: dict[str, str] | None = None
) -> list[tuple[Path, Source | None, list[SourceFileError]]]:
    """Every source file of a folder: (file, the valid source or None, its problems), ids checked across."""
    out: list[tuple[Path, Source | None, list[SourceFileError]]] = []
    ids: set[str] = set()
    for file in source_files(path) if path.exists() else []:
        source, errors = _load(file, placeholders)
        if source is not None:
            if source.id in ids:
                errors = [SourceFileError(file, "id", f"{source.id!r} is used by another file; skipped")]
                source = None
            elif source.enabled:
                ids.add(source.id)
        out.append((file, source, errors))
    return out


def load_sources(
    path: Path, placeholders: dict[str, str] | None = None
) -> tuple[list[Source], list[SourceFileError]]:
    """The valid, enabled sources of a folder, and the problems of the files that were left out."""
    sources: list[Source] = []
    problems: list[SourceFileError] = []
    for _, source, errors in load_source_files(path, placeholders):
        problems.extend(errors)
        if source is not None and source.enabled:
            sources.append(source)
    return sources, problems
