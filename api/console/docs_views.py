"""OpenAPI docs behind a login: /openapi.json (session or API token) and /docs (Swagger UI, vendored, so
it works with no network access).

/docs is our own page rather than FastAPI's ``get_swagger_ui_html``: Swagger UI's ``requestInterceptor``
is a JavaScript function, which that helper's JSON ``swagger_ui_parameters`` cannot carry. The page's
``static/api_docs.js`` adds the session's CSRF token (``CSRF_HEADER``) to every same-origin request, so
"Try it out" works for POST/PUT/PATCH/DELETE from a logged-in console session."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from api.auth.sessions import CSRF_HEADER
from api.console.render import render
from api.deps import Principal, api_user, console_user

router = APIRouter(include_in_schema=False)
SPEC_URL = "/openapi.json"


@router.get(SPEC_URL)
def openapi_spec(request: Request, principal: Principal = api_user()) -> JSONResponse:
    spec: dict[str, Any] = request.app.openapi()
    return JSONResponse(spec)


@router.get("/docs")
def swagger_ui(request: Request, principal: Principal = console_user()) -> Response:
    return render(
        request,
        "api_docs.html",
        {"title": request.app.title, "spec_url": SPEC_URL, "csrf_header": CSRF_HEADER},
    )
