"""Live updates for the console: a Server-Sent Events stream that says when the alerts a user sees changed.

``GET /api/alerts/stream`` sends an ``alerts`` event with the current version at once and again whenever
the user's alerts change (one more, one fewer, or any of them updated: level, status, assignment, a clock
met). The board knows the version it was drawn at (and each rows refresh tells it the new one), so it
reloads its rows only when an event brings a different version: a new 重大 alert shows within seconds,
even one that arrived between drawing the page and opening the stream. Polling stays as the fallback
when a proxy drops the stream.

The stream checks the database every ``CHECK_SECONDS`` in a short transaction of its own (a request-long
transaction would stay open as long as the stream), re-authenticating each time, so a revoked token or a
deactivated user ends it. It ends by itself after ``MAX_STREAM_SECONDS``; browsers reconnect on their own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from alerting.read_models import alerts_version
from api.deps import AppState, app_state, authenticate
from api.problems import ProblemError

router = APIRouter(tags=["alerts"])

CHECK_SECONDS = 2.0
MAX_STREAM_SECONDS = 600.0
PING_SECONDS = 15


def _version(state: AppState, request: Request) -> str | None:
    """The version for this request's user (None: no longer allowed to see the alerts)."""
    with state.db.transaction() as session:
        try:
            principal = authenticate(request, session, state.clock.now())
        except ProblemError:  # a token revoked, or its user deactivated
            return None
        if principal is None or not principal.can("alerts.view"):
            return None
        return alerts_version(session, principal.department_scope)


@router.get(
    "/alerts/stream",
    summary="预警变化推送（Server-Sent Events）",
    description="连接后立即推送一次 `alerts` 事件，此后本人可见的预警有增减或变化时再推送；"
    "登录失效时推送 `logout` 并结束。数据为不透明的版本串。控制台据此刷新看板。",
    responses={200: {"content": {"text/event-stream": {}}, "description": "事件流"}},
)
async def alert_stream(request: Request) -> EventSourceResponse:
    state = app_state(request)
    first = await run_in_threadpool(_version, state, request)
    if first is None:
        raise ProblemError(401, "unauthenticated", "需要登录或 API 令牌（Authorization: Bearer …）",
                           headers={"WWW-Authenticate": "Bearer"})

    async def events() -> AsyncIterator[dict[str, Any]]:
        version: str | None = first
        started = time.monotonic()
        yield {"event": "alerts", "data": version}
        while time.monotonic() - started < MAX_STREAM_SECONDS:
            await asyncio.sleep(CHECK_SECONDS)
            if await request.is_disconnected():
                return
            latest = await run_in_threadpool(_version, state, request)
            if latest is None:
                yield {"event": "logout", "data": "-"}
                return
            if latest != version:
                version = latest
                yield {"event": "alerts", "data": version}

    return EventSourceResponse(events(), ping=PING_SECONDS)
