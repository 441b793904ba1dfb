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
    search,
    sources,
    users,
)

api_router = APIRouter(prefix="/api", responses=PROBLEM_RESPONSES)
for module in (health, auth, alerts, notifications, incidents, search, labels, overview, sources, users):
    api_router.include_router(module.router)
api_router.include_router(performance.router)
api_router.include_router(plans.router)
