"""The leader's overview and a department's queue, and the department list (for reassigning)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.alert_actions import load_directory
from api.deps import DB, Now, Principal, State, api_user
from api.overview import DepartmentQueue, LeaderOverview, department_queue, leader_overview
from api.problems import ProblemError

router = APIRouter(tags=["overview"])


class DepartmentOut(BaseModel):
    id: str
    name: str
    type: str
    level: str | None = None
    region: str


@router.get(
    "/overview/leader",
    response_model=LeaderOverview,
    summary="领导视图：进行中的重大及以上案件、督办、超时、各部门与各地区",
)
def leader(
    session: DB, state: State, now: Now, principal: Principal = api_user("leader.view")
) -> LeaderOverview:
    return leader_overview(session, load_directory(session, state.settings), now=now)


@router.get(
    "/overview/department",
    response_model=DepartmentQueue,
    summary="部门工作台：本部门待办、时限与处置步骤",
    description="部门处置人总是看到本部门（department_id 不起作用）；其他角色（管理员、值班员）"
    "必须用 department_id 指定部门，否则答复 422（department-required）。",
)
def department(
    session: DB,
    state: State,
    now: Now,
    department_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=60,
            description="部门 id（部门目录中的）：管理员、值班员必填；部门处置人可省略",
        ),
    ] = None,
    principal: Principal = api_user("department.view"),
) -> DepartmentQueue:
    target = principal.department_scope or department_id
    if not target:
        raise ProblemError(422, "department-required", "请用 department_id 指定部门")
    return department_queue(session, target, load_directory(session, state.settings), now=now)


@router.get("/departments", response_model=list[DepartmentOut], summary="部门目录（转派时选择）")
def departments(
    session: DB, state: State, principal: Principal = api_user("alerts.view")
) -> list[DepartmentOut]:
    directory = load_directory(session, state.settings)
    return [
        DepartmentOut(id=d.id, name=d.name, type=d.type, level=d.level, region=d.region)
        for d in directory.departments
    ]
