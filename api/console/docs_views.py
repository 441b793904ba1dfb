"""OpenAPI docs behind a login: /openapi.json (session or API token) and /docs (Swagger UI, vendored, so
it works with no network access)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse, JSONResponse

from api.deps import Principal, api_user, console_user

router = APIRouter(include_in_schema=False)
VENDOR = "/static/vendor/swagger-ui"


@router.get("/openapi.json")
def openapi_spec(request: Request, principal: Principal = api_user()) -> JSONResponse:
    spec: dict[str, Any] = request.app.openapi()
    return JSONResponse(spec)


@router.get("/docs")
def swagger_ui(principal: Principal = console_user()) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="政务舆情监测与回应系统 API",
        swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/favicon-32x32.png",
    )
