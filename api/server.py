"""The ``api`` stage: serve the app with uvicorn until ``stop`` is set."""

from __future__ import annotations

import threading
from urllib.parse import urlparse

import uvicorn

from api.main import create_app
from yuqing.settings import Settings


def listen_address(settings: Settings) -> tuple[str, int]:
    """``YUQING_API_HOST``/``YUQING_API_PORT`` when set, else the host and port of the console URL."""
    url = urlparse(settings.console_url)
    host = settings.api_host or url.hostname or "127.0.0.1"
    port = settings.api_port or url.port or (443 if url.scheme == "https" else 8000)
    return host, port


def build_server(settings: Settings, host: str, port: int) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        # X-Forwarded-For/-Proto are believed only from YUQING_TRUSTED_PROXIES, by the app itself
        # (api.main); uvicorn's own handling would trust 127.0.0.1, i.e. any client on this host
        proxy_headers=False,
        lifespan="on",
    )
    return uvicorn.Server(config)


def _exit_when(stop: threading.Event, server: uvicorn.Server) -> None:
    stop.wait()
    server.should_exit = True


def run(
    settings: Settings, stop: threading.Event, *, host: str | None = None, port: int | None = None
) -> None:
    """Serve until ``stop`` is set (or, in the main thread, until SIGINT/SIGTERM, which uvicorn handles
    gracefully before passing the signal on)."""
    default_host, default_port = listen_address(settings)
    server = build_server(settings, host or default_host, port or default_port)
    watcher = threading.Thread(target=_exit_when, args=(stop, server), daemon=True)
    watcher.start()
    server.run()
