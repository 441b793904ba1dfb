"""``yuqing search QUERY``: search the configured store (YUQING_SEARCH_URL) from the command line."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer

if TYPE_CHECKING:
    from yuqing.storage import SearchResult

SENTIMENTS = ("negative", "neutral", "positive")
SORTS = ("relevance", "time", "heat")


class UsageError(ValueError):
    """A bad option value; the message says which and what to write instead."""


def parse_when(value: str, option: str, *, end: bool = False) -> datetime:
    """``YYYY-MM-DD`` or an ISO date-time; without a zone it is China time. A day given to ``--to``
    includes that whole day."""
    from yuqing.clock import CN_TZ, aware

    try:
        day = date.fromisoformat(value)
    except ValueError:
        pass
    else:
        start = datetime(day.year, day.month, day.day, tzinfo=CN_TZ)
        return start + timedelta(days=1) if end else start
    try:
        return aware(datetime.fromisoformat(value), CN_TZ)
    except ValueError:
        raise UsageError(f"{option} {value!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][+08:00]") from None


def search(
    query: Annotated[str, typer.Argument(
        help="an expression as plans are written: words (side by side: any), a|b, a+b, a-b, (…), \"phrase\","
             " title:词, kind:gov, region:4107; '' for all posts")],
    as_json: Annotated[bool, typer.Option(
        "--json", help="one JSON line per hit: the post and its score")] = False,
    start: Annotated[str | None, typer.Option(
        "--from", help="published at or after (YYYY-MM-DD[THH:MM])")] = None,
    end: Annotated[str | None, typer.Option(
        "--to", help="published before; a bare date includes that day")] = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="source id (repeatable)")] = None,
    category: Annotated[list[str] | None, typer.Option("--category", help="category (repeatable)")] = None,
    location: Annotated[list[str] | None, typer.Option(
        "--location", help="administrative code; a province or city code covers the places below it")] = None,
    sentiment: Annotated[list[str] | None, typer.Option(
        "--sentiment", help="negative, neutral or positive (repeatable)")] = None,
    plan: Annotated[list[int] | None, typer.Option(
        "--plan", help="posts matching this 监测方案 id (yuqing plans list; repeatable)")] = None,
    sort: Annotated[str, typer.Option(help="relevance, time or heat")] = "relevance",
    size: Annotated[int, typer.Option(help="how many hits to show (1-500)")] = 20,
) -> None:
    """Search the posts in the configured search store (YUQING_SEARCH_URL)."""
    from yuqing.settings import get_settings
    from yuqing.storage import SearchQuery, open_store
    from yuqing.storage.query import QuerySyntaxError

    try:
        search_query = SearchQuery(
            text=query,
            start=parse_when(start, "--from") if start else None,
            end=parse_when(end, "--to", end=True) if end else None,
            source_ids=source or [], categories=category or [], location_codes=location or [],
            sentiments=_checked(sentiment or [], SENTIMENTS, "--sentiment"),
            plan_ids=_plans(plan or []),
            sort=_sort(sort), size=_size(size),
        )
    except UsageError as exc:
        typer.echo(f"yuqing search: {exc}", err=True)
        raise typer.Exit(2) from None

    settings = get_settings()
    store = open_store(settings.search_url, index_prefix=settings.es_index_prefix)
    try:
        result = store.search(search_query)
    except QuerySyntaxError as exc:
        typer.echo(f"yuqing search: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        store.close()
    if as_json:
        _print_json(result)
    else:
        _print_table(result)


def _checked(values: list[str], allowed: tuple[str, ...], option: str) -> list[str]:
    for value in values:
        if value not in allowed:
            raise UsageError(f"{option} {value!r}: use one of {', '.join(allowed)}")
    return values


def _plans(values: list[int]) -> list[int]:
    for value in values:
        if not 1 <= value <= 2**31 - 1:
            raise UsageError(f"--plan {value}: use a plan id from yuqing plans list")
    return values


def _sort(value: str) -> Literal["relevance", "time", "heat"]:
    _checked([value], SORTS, "--sort")
    return cast(Literal["relevance", "time", "heat"], value)


def _size(value: int) -> int:
    if not 1 <= value <= 500:
        raise UsageError(f"--size {value}: use a number from 1 to 500")
    return value


def _print_json(result: SearchResult) -> None:
    import json

    for hit in result.hits:
        typer.echo(json.dumps({"score": hit.score, **hit.post}, ensure_ascii=False))


def _print_table(result: SearchResult) -> None:
    from rich.console import Console
    from rich.table import Table

    from yuqing.clock import CN_TZ
    from yuqing.schemas import stored_posted_at

    console = Console(soft_wrap=False)
    if not result.hits:
        console.print(f"no posts found ({result.total} in all)")
        return
    table = Table(title=f"{len(result.hits)} of {result.total} posts", title_justify="left")
    for column, options in (("title", {"ratio": 1, "overflow": "fold"}), ("time (China)", {"no_wrap": True}),
                            ("source", {}), ("category", {}), ("score", {"justify": "right"})):
        table.add_column(column, **options)
    for hit in result.hits:
        post = hit.post
        when = stored_posted_at(post) if post.get("fetched_at") else None
        shown = when.astimezone(CN_TZ).strftime("%Y-%m-%d %H:%M") if when else ""
        category = (post.get("tags") or {}).get("category") or ""
        table.add_row(post.get("title") or post.get("url", ""), shown, post.get("source_id", ""), category,
                      f"{hit.score:.3g}")
    console.print(table)


def search_reindex(
    batch: Annotated[int, typer.Option(help="posts written per request (1-500)")] = 500,
    quiet: Annotated[bool, typer.Option("--quiet", help="no progress bar")] = False,
) -> None:
    """Re-segment every post in the search store (YUQING_SEARCH_URL) with today's segmenter (jieba-rs)
    and index it again, so posts indexed with older tokens are found by new queries. Run once after
    upgrading; safe to run again or to interrupt."""
    import sys

    from yuqing.settings import get_settings
    from yuqing.storage import open_store
    from yuqing.storage.reindex import reindex, total

    if not 1 <= batch <= 500:
        typer.echo(f"yuqing search-reindex: --batch {batch}: use a number from 1 to 500", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    store = open_store(settings.search_url, index_prefix=settings.es_index_prefix)
    try:
        store.ensure_schema()
        count = total(store)
        with typer.progressbar(length=count, label="reindexing posts", file=sys.stderr,
                               hidden=quiet) as bar:
            written = reindex(store, batch=batch, progress=bar.update)
    finally:
        store.close()
    typer.echo(f"re-segmented and re-indexed {written} posts (of {count})")


def register(app: typer.Typer) -> None:
    """Add ``yuqing search`` and ``yuqing search-reindex`` to the main app."""
    app.command("search")(search)
    app.command("search-reindex")(search_reindex)
