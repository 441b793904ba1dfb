"""The FastAPI application: REST API under /api (OpenAPI at /docs) and the server-rendered console."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.auth.sessions import SessionCodec
from api.deps import AppState, default_store_factory
from api.middleware import BrowserSessionMiddleware, RefuseNulMiddleware
from api.problems import install_problem_handlers
from yuqing.clock import Clock, SystemClock
from yuqing.db.session import Database, open_database
from yuqing.settings import Settings
from yuqing.storage import SearchStore

STATIC_DIR = Path(__file__).resolve().parent / "console" / "static"

TAGS = [
    {"name": "health", "description": "存活检查（无需登录）"},
    {"name": "auth", "description": "登录、退出、当前用户与 API 令牌"},
    {"name": "alerts", "description": "预警：列表、详情与处置动作"},
    {"name": "incidents", "description": "事件：帖子时间线、热度与情感走势"},
    {"name": "search", "description": "全部帖子检索、筛选与分面"},
    {"name": "labels", "description": "标注纠错（用于下一次训练）"},
    {"name": "overview", "description": "领导视图与部门视图"},
    {"name": "sources", "description": "信源健康状态"},
    {"name": "reports", "description": "报告：事件专报/复盘、台账、舆情日报/周报"},
]


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Clock | None = None,
    store_factory: Callable[[], SearchStore] | None = None,
) -> FastAPI:
    """Build the app. ``db`` defaults to ``open_database(settings.db_url)`` (migrated); tests pass their own
    database, clock and store."""
    from api.console.pages import router as console_router
    from api.live import router as live_router
    from api.routes import api_router

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # /docs and /openapi.json need a login: api.console.docs_views
        redoc_url=None,
        openapi_url=None,
        title="政务舆情监测与回应系统 API",
        version="0.1.0",
        description="值班、处置、督办与检索接口。认证：浏览器会话（Cookie + CSRF）"
        "或 `Authorization: Bearer <API 令牌>`。错误按 RFC 9457 返回 `application/problem+json`。",
        openapi_tags=TAGS,
    )
    state = AppState(
        settings=settings,
        db=db or open_database(settings.db_url),
        clock=clock or SystemClock(),
        codec=SessionCodec(settings),
        store_factory=store_factory or default_store_factory(settings),
    )
    app.state.yuqing = state
    install_problem_handlers(app)

    app.add_middleware(RefuseNulMiddleware)  # inside the session: its error page is the console's
    app.add_middleware(BrowserSessionMiddleware, codec=state.codec)
    if settings.trusted_proxy_list:
        # outermost: the session cookie's Secure flag and the login rate limit see the client's scheme and
        # address, taken from X-Forwarded-Proto/-For only when the peer is a trusted proxy
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)

    app.include_router(live_router, prefix="/api")  # before /api/alerts/{alert_id}
    app.include_router(api_router)
    app.include_router(console_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    return app
