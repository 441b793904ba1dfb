"""The console's browser session and security headers, as plain ASGI middleware.

Plain ASGI (not ``@app.middleware("http")``) so that a streamed response — the alert stream in
``api/live.py`` — sees the client's disconnect and ends at once instead of running on for minutes.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth.sessions import COOKIE_NAME, SessionCodec

# Every page's script, style, image, font and fetch come from this origin: no inline script, no inline
# style, no eval, no plugins, not framed, forms post only here. The console's templates carry no inline
# <script>, event handler, javascript: URL, <style> or style="" (tests/api/test_csp.py); data: images are
# Swagger UI's icons in its CSS. JSON data for the charts sits in <script type="application/json">, which
# never runs and so needs no nonce.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


class RefuseNulMiddleware:
    """A path or query string holding a NUL character answers 422: no id, name or search term has one,
    and PostgreSQL cannot even compare text with it (it would end in a 500). Bodies say so in their
    schemas (``api.schemas.NO_NUL``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope["path"] or "\x00" in unquote_plus(scope["query_string"].decode("latin-1"))
        ):
            from api.problems import problem_response

            response = problem_response(Request(scope), 422, "请求地址或查询参数含有 NUL 字符")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BrowserSessionMiddleware:
    """Loads the signed session cookie into ``request.state.session``; sets it again when it changed."""

    def __init__(self, app: ASGIApp, codec: SessionCodec) -> None:
        self.app = app
        self.codec = codec

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        session = self.codec.load(request.cookies.get(COOKIE_NAME))
        scope.setdefault("state", {})["session"] = session
        https = request.url.scheme == "https"

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if session.changed:
                    carrier = Response()
                    self.codec.save(carrier, session, https=https)
                    for name, value in carrier.raw_headers:
                        if name == b"set-cookie":
                            headers.append("set-cookie", value.decode("latin-1"))
                for header, header_value in SECURITY_HEADERS.items():
                    headers.setdefault(header, header_value)
            await send(message)

        await self.app(scope, receive, send_with_session)
