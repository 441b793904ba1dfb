"""Every console page, in one router."""

from __future__ import annotations

from fastapi import APIRouter

from api.console import (
    alert_views,
    board_views,
    docs_views,
    incident_views,
    overview_views,
    performance_views,
    plan_views,
    report_views,
    token_views,
    user_views,
    views,
)

router = APIRouter(include_in_schema=False)
for module in (
    views,
    alert_views,
    board_views,
    incident_views,
    overview_views,
    docs_views,
    token_views,
    user_views,
    performance_views,
    report_views,
):
    router.include_router(module.router)

from api.console import policy_views  # noqa: E402  (the policy register)

router.include_router(policy_views.router)
router.include_router(plan_views.router)
