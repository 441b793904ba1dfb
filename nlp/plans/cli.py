"""``yuqing plans …``: add, list, test, pause and resume 监测方案 (syntax: ``yuqing/expression.py``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

plans_app = typer.Typer(
    help="监测方案: keyword plans matched on every post (add, list, test, pause, resume). Syntax: words, "
         "a|b or, a+b and, a-b not, (…), \"quoted phrase\", title:词, kind:gov, region:4107; e.g. "
         "'(封丘|新乡|长垣)+(爆炸|起火|泄漏|中毒)-演练'.",
    no_args_is_help=True,
)


def _fail(command: str, message: str) -> typer.Exit:
    typer.echo(f"yuqing plans {command}: {message}", err=True)
    return typer.Exit(2)


@plans_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="the plan's name, unique")],
    expression: Annotated[str, typer.Argument(help="what to watch, e.g. '(封丘|新乡)+(爆炸|起火)-演练'")],
    owner: Annotated[list[str] | None, typer.Option(
        "--owner", help="a user, a department id or name (user:NAME, dept:ID); repeatable")] = None,
    channel: Annotated[list[str] | None, typer.Option(
        "--channel", help="a notification channel of rules.yaml; repeatable")] = None,
    paused: Annotated[bool, typer.Option("--paused", help="store it paused")] = False,
    backfill: Annotated[bool, typer.Option(
        "--backfill/--no-backfill", help="mark the stored posts it matches (default: yes)")] = True,
) -> None:
    """Store a plan; the nlp stage matches it on every new post, and the stored posts it matches are
    marked at once (back-fill)."""
    from nlp.plans.service import PlanError, PlanInput, create_plan, resolve_owners
    from nlp.plans.service import backfill as run_backfill
    from yuqing.clock import utcnow
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings
    from yuqing.storage import open_store

    settings = get_settings()
    db = open_database(settings.db_url)
    try:
        with db.transaction() as session:
            users, departments = resolve_owners(session, owner or [])
            row = create_plan(session, PlanInput(name, expression, users, departments, channel or [], paused),
                              actor="cli", now=utcnow(), channel="cli")
            plan_id = row.id
        typer.echo(f"plan {plan_id} 「{row.name}」 stored")
        if backfill:
            store = open_store(settings.search_url, index_prefix=settings.es_index_prefix)
            try:
                hits = run_backfill(store, plan_id, row.expression)
            finally:
                store.close()
            with db.transaction() as session:
                from nlp.plans.models import PlanRow

                stored = session.get(PlanRow, plan_id)
                if stored is not None:
                    stored.backfill_hits, stored.backfilled_at = hits, utcnow()
            typer.echo(f"back-fill: {hits} stored posts match")
    except PlanError as exc:
        raise _fail("add", str(exc)) from None
    finally:
        db.close()


@plans_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Show the stored plans."""
    from nlp.plans.service import list_plans, plan_out
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings

    db = open_database(get_settings().db_url)
    try:
        with db.transaction() as session:
            rows = [plan_out(r) for r in list_plans(session)]
    finally:
        db.close()
    for plan in rows:
        if as_json:
            typer.echo(json.dumps(plan, ensure_ascii=False))
        else:
            owners = ", ".join(plan["owner_users"] + plan["owner_departments"]) or "-"
            state = "暂停" if plan["paused"] else "启用"
            typer.echo(f"{plan['id']:>4} {state} {plan['name']}  {plan['expression']}  负责 {owners}")
    if not rows and not as_json:
        typer.echo("no plans yet: yuqing plans add NAME EXPRESSION")


@plans_app.command("test")
def test(
    expression: Annotated[str, typer.Argument(help="a plan expression")],
    as_json: Annotated[bool, typer.Option(
        "--json", help="one JSON line per matching post (as yuqing search --json)")] = False,
    size: Annotated[int, typer.Option(help="at most this many posts (1-500)")] = 20,
    scan: Annotated[int, typer.Option(help="look at the newest N stored posts (1-1000000)")] = 100_000,
) -> None:
    """The stored posts (newest first) that EXPRESSION matches, as the nlp stage would match them."""
    from nlp.plans.service import PlanError, preview
    from yuqing.settings import get_settings
    from yuqing.storage import open_store

    if not 1 <= size <= 500 or not 1 <= scan <= 1_000_000:
        raise _fail("test", "--size must be 1-500 and --scan 1-1000000")
    settings = get_settings()
    store = open_store(settings.search_url, index_prefix=settings.es_index_prefix)
    try:
        posts, looked = preview(store, expression, size=size, scan=scan)
    except PlanError as exc:
        raise _fail("test", str(exc)) from None
    finally:
        store.close()
    for post in posts:
        if as_json:
            typer.echo(json.dumps({"score": 0.0, **post}, ensure_ascii=False))
        else:
            typer.echo(f"{(post.get('published_at') or post['fetched_at'])[:16]}  {post.get('source_id')}  "
                       f"{post.get('title') or post.get('content', '')[:40]}")
    if not as_json:
        typer.echo(f"{len(posts)} matching of {looked} stored posts looked at")


def _set_paused(command: str, plan: str, paused: bool) -> None:
    from sqlalchemy import select

    from nlp.plans.models import PlanRow
    from nlp.plans.service import set_paused
    from yuqing.clock import utcnow
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings

    db = open_database(get_settings().db_url)
    try:
        with db.transaction() as session:
            row = session.get(PlanRow, int(plan)) if plan.isdigit() else session.scalar(
                select(PlanRow).where(PlanRow.name == plan))
            if row is None:
                raise _fail(command, f"no plan {plan!r} (an id or a name from yuqing plans list)")
            set_paused(session, row, paused, actor="cli", now=utcnow(), channel="cli")
            typer.echo(f"plan {row.id} 「{row.name}」 {'paused' if paused else 'resumed'}")
    finally:
        db.close()


@plans_app.command("pause")
def pause(plan: Annotated[str, typer.Argument(help="plan id or name")]) -> None:
    """Stop matching a plan on new posts (its past matches stay)."""
    _set_paused("pause", plan, True)


@plans_app.command("resume")
def resume(plan: Annotated[str, typer.Argument(help="plan id or name")]) -> None:
    """Match a paused plan again."""
    _set_paused("resume", plan, False)


def register(app: typer.Typer) -> None:
    app.add_typer(plans_app, name="plans")
