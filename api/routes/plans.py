"""监测方案 over the API: list, create (the back-fill runs in the background), edit, pause, resume, and
the preview of the stored posts an expression matches. Duty officers and admins manage every plan; a
department handler the plans its own department owns; everyone may read them."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import DB, Now, Principal, State, api_user
from api.problems import ProblemError
from api.schemas import PostOut
from nlp.plans.models import PlanRow
from nlp.plans.service import (
    PlanError,
    PlanInput,
    backfill,
    create_plan,
    list_plans,
    may_manage,
    plan_out,
    preview,
    set_paused,
    update_plan,
)
from yuqing.clock import utcnow
from yuqing.storage import StoreError

log = logging.getLogger(__name__)
PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="方案编号（1 至 2147483647）")]
router = APIRouter(prefix="/plans", tags=["plans"])


class PlanIn(BaseModel):
    name: str = Field(min_length=1, max_length=80, description="方案名称")
    expression: str = Field(min_length=1, max_length=50_000,
                            description="表达式：词、a|b 或、a+b 且、a-b 排除、括号、引号短语、字段")
    owner_users: list[str] = Field(default_factory=list, max_length=20, description="负责用户")
    owner_departments: list[str] = Field(default_factory=list, max_length=20, description="负责部门 id")
    channels: list[str] = Field(default_factory=list, max_length=10, description="通知渠道")
    paused: bool = False


class PlanOut(BaseModel):
    id: int
    name: str
    expression: str
    owner_users: list[str]
    owner_departments: list[str]
    channels: list[str]
    paused: bool
    created_by: str
    created_at: str
    updated_at: str
    backfilled_at: str | None
    backfill_hits: int


class PreviewOut(BaseModel):
    looked_at: int = Field(description="看过的最新帖子数")
    hits: list[PostOut]


def _problem(exc: PlanError) -> ProblemError:
    return ProblemError(exc.status, "invalid-plan" if exc.status == 422 else "plan-conflict", str(exc))


def _plan(session: Session, plan_id: PlanId, principal: Principal, *, manage: bool) -> PlanRow:
    row = session.get(PlanRow, plan_id)
    if row is None or (principal.department_scope and not may_manage(principal.role, principal.department_id,
                                                                        row)):
        raise ProblemError(404, "not-found", f"没有编号为 {plan_id} 的方案")
    if manage and not may_manage(principal.role, principal.department_id, row):
        raise ProblemError(403, "forbidden", "只有值班员、管理员或方案所属部门可以修改这个方案")
    return row


def _input(body: PlanIn, principal: Principal) -> PlanInput:
    departments = list(body.owner_departments)
    if principal.department_scope and principal.department_scope not in departments:
        departments.insert(0, principal.department_scope)  # a department's plan is its own
    return PlanInput(body.name, body.expression, list(body.owner_users), departments, list(body.channels),
                     body.paused)


def start_backfill(state: State, plan_id: PlanId, expression: str) -> threading.Thread:
    """Mark the stored posts a new or changed plan matches, in a thread (the request returns at once)."""
    def run() -> None:
        try:
            hits = backfill(state.store, plan_id, expression)
        except (StoreError, PlanError) as exc:
            log.warning("plans: back-fill of plan %s failed: %s", plan_id, exc)
            return
        with state.db.transaction() as session:
            row = session.get(PlanRow, plan_id)
            if row is not None:
                row.backfill_hits, row.backfilled_at = hits, utcnow()

    thread = threading.Thread(target=run, name=f"plan-backfill-{plan_id}", daemon=True)
    thread.start()
    return thread


@router.get("", response_model=list[PlanOut], summary="监测方案列表（部门只看本部门的）")
def plans(session: DB, principal: Principal = api_user("plans.view")) -> list[PlanOut]:
    return [PlanOut(**plan_out(r)) for r in list_plans(session, department=principal.department_scope)]


@router.post("", response_model=PlanOut, status_code=201, summary="新建监测方案（并回溯匹配已存帖子）")
def create(body: PlanIn, session: DB, state: State, now: Now,
           principal: Principal = api_user("plans.manage")) -> PlanOut:
    if not may_manage(principal.role, principal.department_id, None):
        raise ProblemError(403, "forbidden", "只有值班员、管理员或部门处置人可以新建方案")
    try:
        row = create_plan(session, _input(body, principal), actor=principal.name, now=now,
                          channel=principal.channel, settings=state.settings)
    except PlanError as exc:
        raise _problem(exc) from None
    session.commit()
    start_backfill(state, row.id, row.expression)
    return PlanOut(**plan_out(row))


@router.get("/preview", response_model=PreviewOut, summary="试匹配：最新帖子里哪些会命中这个表达式")
def preview_plan(
    state: State,
    q: Annotated[str, Query(min_length=1, max_length=50_000, description="方案表达式")],
    size: Annotated[int, Query(ge=1, le=100)] = 20,
    scan: Annotated[int, Query(ge=1, le=50_000, description="看最新的多少条帖子")] = 5000,
    principal: Principal = api_user("plans.view"),
) -> PreviewOut:
    try:
        posts, looked = preview(state.store, q, size=size, scan=scan)
    except PlanError as exc:
        raise _problem(exc) from None
    except StoreError as exc:
        raise ProblemError(503, "search-unavailable", f"检索服务不可用：{exc}") from None
    return PreviewOut(looked_at=looked, hits=[PostOut.from_store(p, 0.0) for p in posts])


@router.get("/{plan_id}", response_model=PlanOut, summary="一个监测方案")
def plan(plan_id: PlanId, session: DB, principal: Principal = api_user("plans.view")) -> PlanOut:
    return PlanOut(**plan_out(_plan(session, plan_id, principal, manage=False)))


@router.put("/{plan_id}", response_model=PlanOut, summary="修改监测方案（表达式变了则重新回溯）")
def update(plan_id: PlanId, body: PlanIn, session: DB, state: State, now: Now,
           principal: Principal = api_user("plans.manage")) -> PlanOut:
    row = _plan(session, plan_id, principal, manage=True)
    changed = body.expression.strip() != row.expression
    try:
        update_plan(session, row, _input(body, principal), actor=principal.name, now=now,
                    channel=principal.channel, settings=state.settings)
    except PlanError as exc:
        raise _problem(exc) from None
    session.commit()
    if changed:
        start_backfill(state, row.id, row.expression)
    return PlanOut(**plan_out(row))


@router.post("/{plan_id}/pause", response_model=PlanOut, summary="暂停监测方案")
def pause(plan_id: PlanId, session: DB, now: Now,
          principal: Principal = api_user("plans.manage")) -> PlanOut:
    row = set_paused(session, _plan(session, plan_id, principal, manage=True), True, actor=principal.name,
                     now=now, channel=principal.channel)
    session.commit()
    return PlanOut(**plan_out(row))


@router.post("/{plan_id}/resume", response_model=PlanOut, summary="恢复监测方案")
def resume(plan_id: PlanId, session: DB, now: Now,
           principal: Principal = api_user("plans.manage")) -> PlanOut:
    row = set_paused(session, _plan(session, plan_id, principal, manage=True), False, actor=principal.name,
                     now=now, channel=principal.channel)
    session.commit()
    return PlanOut(**plan_out(row))
