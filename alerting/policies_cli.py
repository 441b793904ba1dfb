"""``yuqing policies add`` and ``yuqing policies list``: the policy register by hand
(alerting.policies_register).

``add`` registers one policy and opens its case: a local policy a 政策解读 case (3 working days), a
central / provincial key policy a 转载 case (24 h from publication). A missing title or address, a time
that is not ISO-8601 or lies in the future, or an unknown level is refused with exit code 2.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from yuqing.domain import POLICY_LEVELS

policies_app = typer.Typer(
    help="The policy register (政策文件): local policies need a 解读 within 3 working days, central and "
    "provincial key policies a 转载 on the portal within 24 hours.",
    no_args_is_help=True,
)


def _fail(command: str, message: str) -> typer.Exit:
    typer.echo(f"yuqing policies {command}: {message}", err=True)
    return typer.Exit(2)


@policies_app.command("add")
def add(
    title: Annotated[str, typer.Option(help="the policy's title (标题)")] = "",
    url: Annotated[str, typer.Option(help="where it is published (http/https)")] = "",
    published_at: Annotated[str, typer.Option(
        "--published-at", help="publication time, ISO-8601, e.g. 2026-12-04T10:00:00+08:00 "
        "(without an offset: Asia/Shanghai)")] = "",
    level: Annotated[str | None, typer.Option(
        help="who issued it: " + ", ".join(f"{k} ({v})" for k, v in POLICY_LEVELS.items())
        + "; default: from --issuer, else local")] = None,
    key: Annotated[bool | None, typer.Option(
        "--key/--not-key", help="a key policy (重要政策) that needs 转载; default: central and provincial "
        "policies are key")] = None,
    issuer: Annotated[str | None, typer.Option(help="发文机关, e.g. 南阳市教育局")] = None,
    region: Annotated[str | None, typer.Option(
        help="region code whose portal reprints it / whose policy it is; default: the issuer's, else the "
        "directory's home region")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the registered policy as one JSON object")]
    = False,
) -> None:
    """Register a policy and open its 解读 or 转载 case (exit 2 with the reason when refused)."""
    from alerting.calendar import CalendarError
    from alerting.clocks import PolicyError
    from alerting.directory import DirectoryError, normalize_region
    from alerting.manual import intake_context
    from alerting.policies_register import PolicyEntry, PolicyRefused, list_policies, register_policy
    from alerting.rules import RulesError
    from yuqing.clock import CN_TZ, aware, utcnow
    from yuqing.db.session import open_database
    from yuqing.settings import get_settings

    missing = [name for name, value in (("--title", title), ("--url", url), ("--published-at", published_at))
               if not value.strip()]
    if missing:
        raise _fail("add", "缺少 " + "、".join(missing))
    if level is not None and level not in POLICY_LEVELS:
        raise _fail("add", f"--level {level!r} 无效，应为 " + "、".join(POLICY_LEVELS))
    try:
        published = aware(datetime.fromisoformat(published_at.strip()), CN_TZ)
    except ValueError:
        raise _fail("add", f"--published-at {published_at!r} 不是 ISO-8601 时间"
                           "（例如 2026-12-04T10:00:00+08:00）") from None
    if region is not None:
        try:
            region = normalize_region(region)
        except ValueError as exc:
            raise _fail("add", f"--region: {exc}") from None
    entry = PolicyEntry(title=title, url=url, published_at=published, level=level, key=key, issuer=issuer,
                        region=region)
    settings = get_settings()
    db = open_database(settings.db_url)
    try:
        with db.transaction() as session:
            ctx = intake_context(session, settings)
            result = register_policy(session, entry, ctx, now=utcnow(), actor="cli", channel="cli",
                                     strict=True)
            policy_id = result.policy.id
        with db.session() as session:
            view = next(v for v in list_policies(session, limit=100_000) if v.id == policy_id)
    except PolicyRefused as exc:
        raise _fail("add", str(exc)) from None
    except (RulesError, DirectoryError, CalendarError, PolicyError) as exc:
        raise _fail("add", f"配置文件有误：{exc}") from None
    finally:
        db.close()
    if as_json:
        typer.echo(json.dumps({"outcome": result.outcome, **view.as_json()}, ensure_ascii=False))
        return
    if result.outcome == "seen":
        case = f"（预警 #{view.alert_id}）" if view.alert_id else ""
        typer.echo(f"已登记过：政策 #{view.id} {view.title}{case}")
    elif view.alert_id is None:
        typer.echo(f"已登记政策 #{view.id}（{view.level_label}，非重要政策）：无需转载或解读，不生成预警")
    else:
        typer.echo(f"已登记政策 #{view.id}（{view.level_label}{'重要政策' if view.key else ''}），"
                   f"生成{view.deadline_label}预警 #{view.alert_id}：{view.department}，"
                   f"{view.due_at} 前完成")


@policies_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
    limit: Annotated[int, typer.Option(min=1, help="at most this many, newest first")] = 200,
) -> None:
    """Show the register: each policy, its case, clock, department and any problem kept with it."""
    from alerting.policies_register import list_policies
    from yuqing.db.session import open_database
    from yuqing.domain import DEADLINE_STATE_LABELS
    from yuqing.settings import get_settings

    db = open_database(get_settings().db_url)
    try:
        with db.session() as session:
            views = list_policies(session, limit=limit)
    finally:
        db.close()
    for v in views:
        if as_json:
            typer.echo(json.dumps(v.as_json(), ensure_ascii=False))
            continue
        case = (f"#{v.alert_id} {v.deadline_label} {v.due_at} 前 "
                f"{DEADLINE_STATE_LABELS.get(v.deadline_state or '', '')} {v.department}"
                if v.alert_id else "无需转载/解读")
        problem = f"  ⚠ {v.problem}" if v.problem else ""
        typer.echo(f"{v.id:>4} {v.level_label}{'·重要' if v.key else ''} {v.published_at or '-'} "
                   f"{v.title}  [{case}]{problem}")
    if not views and not as_json:
        typer.echo("（政策登记簿为空）")
