"""Plans as the CLI, the API and the nlp stage use them: create, edit, pause, list; the matcher of the
active plans; the preview of which stored posts an expression matches; the back-fill of a new plan's
matches over the stored posts (their ``plan_ids`` in the search store, so search filters by plan).

Who may manage a plan: duty officers and admins every plan; a department handler the plans its own
department owns (``may_manage``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from nlp.plans.matcher import PlanMatcher, matches
from nlp.plans.models import PlanRow
from yuqing.audit import Channel
from yuqing.expression import ExpressionError, Node, parse_plan
from yuqing.schemas import EnrichedPost, stored_posted_at
from yuqing.settings import Settings
from yuqing.storage.base import SearchQuery, SearchStore

log = logging.getLogger(__name__)

MAX_NAME = 80
MAX_OWNERS = 20
MAX_CHANNELS = 10
PAGE = 500


class PlanError(ValueError):
    """A plan the user asked for cannot be: the message is one Chinese sentence; ``field`` names the input."""

    def __init__(self, message: str, field: str = "expression", status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass
class PlanInput:
    name: str
    expression: str
    owner_users: list[str] = field(default_factory=list)
    owner_departments: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    paused: bool = False


def check_expression(expression: str) -> Node:
    try:
        return parse_plan(expression)
    except ExpressionError as exc:
        raise PlanError(f"表达式有误：{exc}", "expression") from None


def _check(session: Session, data: PlanInput, *, known_users: set[str] | None = None,
           known_departments: set[str] | None = None) -> None:
    name = data.name.strip()
    if not name or len(name) > MAX_NAME or any(not ch.isprintable() for ch in name):
        raise PlanError(f"方案名称须为 1 到 {MAX_NAME} 个可见字符", "name")
    data.name = name
    check_expression(data.expression)
    if len(data.owner_users) + len(data.owner_departments) > MAX_OWNERS:
        raise PlanError(f"负责人最多 {MAX_OWNERS} 个", "owners")
    if len(data.channels) > MAX_CHANNELS or any(not c or len(c) > 40 for c in data.channels):
        raise PlanError(f"通知渠道最多 {MAX_CHANNELS} 个，每个名称 1 到 40 个字符", "channels")
    if known_users is not None:
        unknown = [u for u in data.owner_users if u not in known_users]
        if unknown:
            raise PlanError(f"没有用户「{unknown[0]}」", "owners")
    if known_departments is not None:
        unknown = [d for d in data.owner_departments if d not in known_departments]
        if unknown:
            raise PlanError(f"部门目录里没有「{unknown[0]}」", "owners")


def user_names(session: Session) -> set[str]:
    from api.models import UserRow

    return set(session.scalars(select(UserRow.name)))


def department_ids(session: Session, settings: Settings | None = None) -> set[str] | None:
    """The ids of the department directory the alerting uses (stored, else the YAML file); None if it
    cannot be read (then owners are not checked against it)."""
    names = department_names(session, settings)
    return None if names is None else set(names.values())


def department_names(session: Session, settings: Settings | None = None) -> dict[str, str] | None:
    """The directory's departments, name → id (合肥市生态环境局 → hf-sthj); None if it cannot be read."""
    try:
        from alerting.directory import load_directory
        from yuqing.settings import get_settings

        return {d.name: d.id for d in load_directory(session, settings or get_settings()).departments}
    except Exception as exc:  # noqa: BLE001 - an unreadable directory only skips the check
        log.warning("plans: department directory unreadable, owners not checked: %s", exc)
        return None


def resolve_owners(session: Session, owners: Sequence[str]) -> tuple[list[str], list[str]]:
    """``user:NAME``, ``dept:ID``, or a bare name: a user if one has it, else a department id, else a
    department's name (合肥市生态环境局)."""
    users, named = user_names(session), department_names(session) or {}
    departments = set(named.values())
    out_users: list[str] = []
    out_departments: list[str] = []
    for owner in owners:
        kind, _, value = owner.partition(":") if ":" in owner else ("", "", owner)
        value = value.strip()
        if kind == "user" or (not kind and value in users):
            out_users.append(value)
        elif kind in ("dept", "department") or (not kind and value in departments):
            out_departments.append(value)
        elif not kind and value in named:
            out_departments.append(named[value])
        else:
            hint = "可写用户名、部门名称，或 user:名字、dept:部门id"
            raise PlanError(f"负责人「{owner}」既不是用户也不是部门（{hint}）", "owners")
    return list(dict.fromkeys(out_users)), list(dict.fromkeys(out_departments))


def create_plan(session: Session, data: PlanInput, *, actor: str, now: datetime,
                channel: Channel = "cli", settings: Settings | None = None) -> PlanRow:
    _check(session, data, known_users=user_names(session),
           known_departments=department_ids(session, settings))
    if session.scalar(select(PlanRow.id).where(PlanRow.name == data.name)) is not None:
        raise PlanError(f"已有名为「{data.name}」的方案", "name", status=409)
    row = PlanRow(name=data.name, expression=data.expression.strip(), owner_users=data.owner_users,
                  owner_departments=data.owner_departments, channels=data.channels, paused=data.paused,
                  created_by=actor, created_at=now, updated_at=now, backfill_hits=0)
    session.add(row)
    session.flush()
    _audit(session, row, "plan.create", actor, now, channel)
    return row


def update_plan(session: Session, row: PlanRow, data: PlanInput, *, actor: str, now: datetime,
                channel: Channel = "cli", settings: Settings | None = None) -> PlanRow:
    _check(session, data, known_users=user_names(session),
           known_departments=department_ids(session, settings))
    other = session.scalar(select(PlanRow.id).where(PlanRow.name == data.name, PlanRow.id != row.id))
    if other is not None:
        raise PlanError(f"已有名为「{data.name}」的方案", "name", status=409)
    row.name, row.expression = data.name, data.expression.strip()
    row.owner_users, row.owner_departments = data.owner_users, data.owner_departments
    row.channels, row.paused, row.updated_at = data.channels, data.paused, now
    _audit(session, row, "plan.update", actor, now, channel)
    return row


def set_paused(session: Session, row: PlanRow, paused: bool, *, actor: str, now: datetime,
               channel: Channel = "cli") -> PlanRow:
    row.paused, row.updated_at = paused, now
    _audit(session, row, "plan.pause" if paused else "plan.resume", actor, now, channel)
    return row


def _audit(session: Session, row: PlanRow, action: str, actor: str, now: datetime, channel: Channel) -> None:
    from yuqing.audit import record

    record(session, at=now, actor=actor, channel=channel, action=action, object_type="plan",
           object_id=str(row.id), reason=row.name, details={"expression": row.expression,
                                                            "paused": row.paused})


def list_plans(session: Session, *, department: str | None = None) -> list[PlanRow]:
    rows = list(session.scalars(select(PlanRow).order_by(PlanRow.id)))
    if department is None:
        return rows
    return [r for r in rows if department in (r.owner_departments or [])]


def may_manage(role: str, department: str | None, row: PlanRow | None) -> bool:
    """Duty officers and admins: every plan; a department handler: its own department's plans (and new
    plans it owns)."""
    if role in ("admin", "duty_officer"):
        return True
    if role == "department" and department:
        return row is None or department in (row.owner_departments or [])
    return False


def active_matcher(session: Session) -> PlanMatcher:
    """The matcher of every plan not paused; a stored expression that no longer parses is skipped."""
    compiled: list[tuple[int, Node]] = []
    for row in session.scalars(select(PlanRow).where(PlanRow.paused.is_(False)).order_by(PlanRow.id)):
        try:
            compiled.append((row.id, parse_plan(row.expression)))
        except ExpressionError as exc:
            log.warning("plans: plan %s skipped, its expression does not parse: %s", row.id, exc)
    return PlanMatcher(compiled)


def plans_version(session: Session) -> tuple[tuple[Any, ...], ...]:
    """Changes when a plan is added, edited, paused or resumed (the nlp stage rebuilds its matcher then)."""
    return tuple(tuple(row) for row in session.execute(
        select(PlanRow.id, PlanRow.paused, PlanRow.expression).order_by(PlanRow.id)))


# --- the stored posts ------------------------------------------------------------------------------


def stored_posts(store: SearchStore, *, page: int = PAGE, start: datetime | None = None,
                 limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Every stored post, newest first, page by page (a time cursor, so there is no depth limit)."""
    end: datetime | None = None
    seen_at_end = 0  # posts at exactly ``end`` already handed out (they sort by id there)
    given = 0
    while True:
        query = SearchQuery(sort="time", size=page, start=start,
                            end=end + timedelta(microseconds=1) if end else None,
                            offset=seen_at_end if end else 0)
        hits = store.search(query).hits
        if not hits:
            return
        for hit in hits:
            post = hit.post
            when = _post_time(post)
            if end is not None and when == end:
                seen_at_end += 1
            else:
                end, seen_at_end = when, 1
            yield post
            given += 1
            if limit is not None and given >= limit:
                return
        if len(hits) < page:
            return


def _post_time(post: dict[str, Any]) -> datetime:
    """The time the store files the post under: the cursor must follow it."""
    return stored_posted_at(post)


def _post_matches(node: Node, post: dict[str, Any]) -> bool:
    codes = [loc.get("code", "") for loc in post.get("tags", {}).get("locations", [])]
    return matches(node, post.get("title", ""), post.get("content", ""), post.get("source_kind", ""), codes)


def preview(store: SearchStore, expression: str, *, size: int = 20, scan: int = 20_000,
            start: datetime | None = None) -> tuple[list[dict[str, Any]], int]:
    """The newest stored posts the expression matches (at most ``size``) among the newest ``scan``
    stored posts, and how many posts were looked at."""
    node = check_expression(expression)
    found: list[dict[str, Any]] = []
    looked = 0
    for post in stored_posts(store, start=start, limit=scan):
        looked += 1
        if _post_matches(node, post):
            found.append(post)
            if len(found) >= size:
                break
    return found, looked


def backfill(store: SearchStore, plan_id: int, expression: str, *, batch: int = 200,
             progress: Callable[[int, int], None] | None = None) -> int:
    """Add ``plan_id`` to every stored post the expression matches and take it off those it no longer
    matches (an edited plan), in the search store (re-indexed with the same fetch time, so a newer
    version indexed meanwhile wins). Returns the matches."""
    node = check_expression(expression)
    pending: list[EnrichedPost] = []
    hits = 0
    for looked, post in enumerate(stored_posts(store), 1):
        held = list(post.get("plan_ids", []))
        matched = _post_matches(node, post)
        hits += matched
        if matched and plan_id not in held:
            pending.append(EnrichedPost.model_validate({**post, "plan_ids": [*held, plan_id]}))
        elif not matched and plan_id in held:
            kept = [p for p in held if p != plan_id]
            pending.append(EnrichedPost.model_validate({**post, "plan_ids": kept}))
        if len(pending) >= batch:
            store.index(pending)
            pending = []
        if progress is not None and looked % 1000 == 0:
            progress(looked, hits)
    if pending:
        store.index(pending)
    return hits


def plan_out(row: PlanRow) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "expression": row.expression, "owner_users": row.owner_users,
            "owner_departments": row.owner_departments, "channels": row.channels, "paused": row.paused,
            "created_by": row.created_by, "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
            "backfilled_at": row.backfilled_at.isoformat() if row.backfilled_at else None,
            "backfill_hits": row.backfill_hits}


DEMO_PLANS = (  # what `yuqing demo` ships: a place plan and a topic plan, both with hits in the sample data
    ("封丘县突发事件", "(封丘|新乡|长垣)+(爆炸|起火|泄漏|中毒|巨响|爆燃)-演练"),
    ("停水停电与欠薪", "停水|停电|(拖欠|欠薪)+(工资|农民工)"),
)


def ensure_demo_plans(session: Session, *, now: datetime) -> int:
    """Store the demo plans once (none stored yet), owned by the demo duty officer; how many were added."""
    if session.scalar(select(PlanRow.id).limit(1)) is not None:
        return 0
    owners = ["duty"] if "duty" in user_names(session) else []
    for name, expression in DEMO_PLANS:
        create_plan(session, PlanInput(name, expression, owner_users=owners, channels=["console"]),
                    actor="system:demo", now=now, channel="system", settings=None)
    return len(DEMO_PLANS)
