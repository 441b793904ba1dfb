"""The REST API under /api."""

from __future__ import annotations

from fastapi import APIRouter

from api.problems import PROBLEM_RESPONSES
from api.routes import (
    alerts,
    auth,
    health,
    incidents,
    labels,
    notifications,
    overview,
    performance,
    plans,
    reports,
    search,
    sources,
    users,
)

api_router = APIRouter(prefix="/api", responses=PROBLEM_RESPONSES)
for module in (health, auth, alerts, notifications, incidents, search, labels, overview, sources, users):
    api_router.include_router(module.router)
api_router.include_router(performance.router)

from api.routes import policies  # noqa: E402  (the policy register)

api_router.include_router(policies.router)
api_router.include_router(reports.router)
api_router.include_router(plans.router)
