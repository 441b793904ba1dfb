"""Console page 政策文件: the policy register, each policy with its 解读 / 转载 case, its clock, the
department and any problem kept with it (a page without a date, a date in the future)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from alerting.policies_register import list_policies
from api.console.render import render
from api.deps import DB, Now, Principal, console_user
from yuqing.domain import DEADLINE_STATE_LABELS

router = APIRouter(include_in_schema=False)


@router.get("/policies")
def policies_page(request: Request, session: DB, now: Now,
                  principal: Principal = console_user("alerts.view")) -> Response:
    scope = principal.department_scope
    policies = [v for v in list_policies(session) if scope is None or v.department_id == scope]
    return render(request, "policies.html", {"nav": "policies", "policies": policies, "now": now,
                                             "state_labels": DEADLINE_STATE_LABELS})
