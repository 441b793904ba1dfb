"""A tiny local web server for crawler tests: each test registers the pages it needs (any bytes, any
headers, a delay or a hang), and the crawler fetches them over real HTTP on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    delay: float = 0.0


@dataclass
class Pages:
    """Registered pages by path (the query string is ignored) and the requests served, with their times."""

    base: str = ""
    pages: dict[str, Page] = field(default_factory=dict)
    hits: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)

    def add(
        self,
        path: str,
        body: str | bytes,
        *,
        content_type: str = "text/html; charset=utf-8",
        status: int = 200,
        delay: float = 0.0,
    ) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.pages[path] = Page(data, content_type, status, delay)
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base + path

    def hits_of(self, path: str) -> list[float]:
        with self.lock:
            return [at for at, p in self.hits if p == path]


def serve_pages() -> tuple[Pages, ThreadingHTTPServer]:
    pages = Pages()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            with pages.lock:
                pages.hits.append((time.monotonic(), path))
            page = pages.pages.get(path)
            if page is None:
                self.send_error(404)
                return
            if page.delay:
                pages.closing.wait(page.delay)  # a hanging site; ends when the server stops
            try:
                self.send_response(page.status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                self.end_headers()
                self.wfile.write(page.body)
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    pages.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return pages, server
