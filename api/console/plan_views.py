"""The 监测方案 pages: the list with a form to write a plan, try it on the newest stored posts (试匹配)
before saving, and each plan's page (hit trend, sources, top incidents; edit, pause, resume)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy import func, select
from starlette.responses import Response

from alerting.read_models import user_notices
from api.console.render import render
from api.console.views import see_other
from api.deps import DB, Now, Principal, State, console_user
from api.problems import ProblemError
from api.routes.plans import PlanId, start_backfill
from api.schemas import PostOut
from incidents.models import IncidentPost, IncidentRow
from nlp.plans.models import PlanRow
from nlp.plans.service import (
    PlanError,
    PlanInput,
    create_plan,
    list_plans,
    may_manage,
    preview,
    resolve_owners,
    set_paused,
    update_plan,
)
from yuqing.storage import SearchQuery, StoreError

router = APIRouter(include_in_schema=False)
PREVIEW_SIZE = 20


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace("，", ",").replace("、", ",").split(",") if v.strip()]


def _form(name: str, expression: str, owners: str, channels: str) -> dict[str, str]:
    return {"name": name, "expression": expression, "owners": owners, "channels": channels}


def _preview(state: State, expression: str) -> tuple[list[PostOut], int, str | None]:
    try:
        posts, looked = preview(state.store, expression, size=PREVIEW_SIZE, scan=5000)
    except PlanError as exc:
        return [], 0, str(exc)
    except StoreError as exc:
        return [], 0, f"检索服务不可用：{exc}"
    return [PostOut.from_store(p) for p in posts], looked, None


def _list_page(request: Request, session: DB, principal: Principal, **extra: Any) -> Response:
    plans = list_plans(session, department=principal.department_scope)
    context = {"nav": "plans", "plans": plans, "form": _form("", "", "", ""),
               "can_manage": principal.can("plans.manage"),
               "my_notices": user_notices(session, principal.name), **extra}
    return render(request, "plans.html", context, status_code=extra.pop("status", 200))


@router.get("/plans")
def plans_page(request: Request, session: DB, principal: Principal = console_user("plans.view")) -> Response:
    return _list_page(request, session, principal)


@router.post("/plans")
def plans_submit(
    request: Request, session: DB, state: State, now: Now,
    name: Annotated[str, Form(max_length=80)] = "",
    expression: Annotated[str, Form(max_length=50_000)] = "",
    owners: Annotated[str, Form(max_length=2000)] = "",
    channels: Annotated[str, Form(max_length=500)] = "",
    action: Annotated[str, Form()] = "preview",
    principal: Principal = console_user("plans.manage"),
) -> Response:
    form = _form(name, expression, owners, channels)
    if action != "save":
        hits, looked, error = _preview(state, expression)
        return _list_page(request, session, principal, form=form, hits=hits, looked=looked, error=error,
                          previewed=True, status=422 if error else 200)
    try:
        users, departments = resolve_owners(session, _split(owners))
        if principal.department_scope and principal.department_scope not in departments:
            departments.insert(0, principal.department_scope)
        row = create_plan(session, PlanInput(name, expression, users, departments, _split(channels)),
                          actor=principal.name, now=now, channel="console", settings=state.settings)
    except PlanError as exc:
        session.rollback()
        return _list_page(request, session, principal, form=form, error=str(exc), status=exc.status)
    session.commit()
    start_backfill(state, row.id, row.expression)
    return see_other(f"/plans/{row.id}")


def _plan(session: DB, plan_id: int, principal: Principal) -> PlanRow:
    row = session.get(PlanRow, plan_id)
    if row is None or (principal.department_scope and not may_manage(principal.role, principal.department_id,
                                                                        row)):
        raise ProblemError(404, "not-found", f"没有编号为 {plan_id} 的方案")
    return row


def _plan_page(request: Request, session: DB, state: State, principal: Principal, row: PlanRow,
               **extra: Any) -> Response:
    try:
        result = state.store.search(SearchQuery(plan_ids=[row.id], size=500, sort="time",
                                                facets=["source_id", "source_kind"], histogram="day"))
        store_error = None
    except StoreError as exc:
        result, store_error = None, f"检索服务不可用：{exc}"
    incidents: list[tuple[IncidentRow, int]] = []
    if result is not None and result.hits:
        ids = [h.post["id"] for h in result.hits]
        rows = session.execute(
            select(IncidentRow, func.count(IncidentPost.post_id))
            .join(IncidentPost, IncidentPost.incident_id == IncidentRow.id)
            .where(IncidentPost.post_id.in_(ids), IncidentRow.merged_into.is_(None))
            .group_by(IncidentRow.id).order_by(IncidentRow.heat.desc()).limit(10)
        ).all()
        incidents = [(inc, n) for inc, n in rows]
    owners = ", ".join([*row.owner_users, *row.owner_departments])
    context = {"nav": "plans", "plan": row, "result": result, "store_error": store_error,
               "recent": [PostOut.from_store(h.post) for h in result.hits[:20]] if result else [],
               "incidents": incidents,
               "peak": max((n for _, n in result.histogram), default=0) if result else 0,
               "form": _form(row.name, row.expression, owners, ", ".join(row.channels)),
               "can_manage": may_manage(principal.role, principal.department_id, row), **extra}
    return render(request, "plan.html", context, status_code=extra.pop("status", 200))


@router.get("/plans/{plan_id}")
def plan_page(request: Request, plan_id: PlanId, session: DB, state: State,
              principal: Principal = console_user("plans.view")) -> Response:
    return _plan_page(request, session, state, principal, _plan(session, plan_id, principal))


@router.post("/plans/{plan_id}")
def plan_submit(
    request: Request, plan_id: PlanId, session: DB, state: State, now: Now,
    name: Annotated[str, Form(max_length=80)] = "",
    expression: Annotated[str, Form(max_length=50_000)] = "",
    owners: Annotated[str, Form(max_length=2000)] = "",
    channels: Annotated[str, Form(max_length=500)] = "",
    action: Annotated[str, Form()] = "preview",
    principal: Principal = console_user("plans.manage"),
) -> Response:
    row = _plan(session, plan_id, principal)
    if not may_manage(principal.role, principal.department_id, row):
        raise ProblemError(403, "forbidden", "只有值班员、管理员或方案所属部门可以修改这个方案")
    form = _form(name, expression, owners, channels)
    if action in ("pause", "resume"):
        set_paused(session, row, action == "pause", actor=principal.name, now=now, channel="console")
        session.commit()
        return see_other(f"/plans/{row.id}")
    if action != "save":
        hits, looked, error = _preview(state, expression)
        return _plan_page(request, session, state, principal, row, form=form, hits=hits, looked=looked,
                          error=error, previewed=True, status=422 if error else 200)
    changed = expression.strip() != row.expression
    try:
        users, departments = resolve_owners(session, _split(owners))
        if principal.department_scope and principal.department_scope not in departments:
            departments.insert(0, principal.department_scope)
        data = PlanInput(name, expression, users, departments, _split(channels), row.paused)
        update_plan(session, row, data, actor=principal.name, now=now, channel="console",
                    settings=state.settings)
    except PlanError as exc:
        session.rollback()
        return _plan_page(request, session, state, principal, _plan(session, plan_id, principal), form=form,
                          error=str(exc), status=exc.status)
    session.commit()
    if changed:
        start_backfill(state, row.id, row.expression)
    return see_other(f"/plans/{row.id}")
