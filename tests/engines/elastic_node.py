"""A real Elasticsearch 9 node for the live search-store tests, started in one JVM from Maven Central jars.

The session fixture ``es_url`` yields ``YUQING_TEST_ES_URL`` when it is set (to test against a server
of one's own); otherwise it starts the test framework's ``MockNode`` with the netty4 HTTP transport
(``elasticsearch/ElasticNode.java``, compiled once into the engines cache) on a free loopback port,
waits for the cluster health to be yellow or green, and kills the JVM at the end of the session. The
jars are resolved by ``maven.py`` (``elasticsearch/pom.xml``); Elasticsearch 9 needs Java 21 or newer
and a ``javac`` beside it. When the node cannot be started, the tests using it fail under CI (the
variable ``CI`` is set) and are skipped otherwise, with what is missing in the message.

Such a node has no ``analysis-common`` module (no custom analyzers built from the ``whitespace``
tokenizer) and no ``rest-root`` (``GET /`` answers 405), so health is checked with ``_cluster/health``.
Import the fixture into a conftest or test module to use it.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LAUNCHER = HERE / "elasticsearch" / "ElasticNode.java"
JAVA_MAJOR = 21
HEAP = "768m"
START_TIMEOUT_S = 120.0
CLUSTER_NAME = "yuqing-test"

_url: str | None = None
_error: str | None = None
_stop: Callable[[], None] | None = None
start_seconds: float | None = None  # how long the last node took to go yellow, for the curious


def compile_launcher(java_path: str, cp: str) -> Path:
    """The folder of ElasticNode.class, compiled by the ``javac`` beside ``java_path`` against ``cp``
    once and kept in the engines cache under a hash of the source and the pom."""
    from tests.engines.maven import EngineUnavailable, cache_dir, pom_digest

    digest = hashlib.sha256(LAUNCHER.read_bytes() + pom_digest("elasticsearch").encode()).hexdigest()[:16]
    classes = cache_dir("elasticsearch") / f"classes-{digest}"
    if (classes / f"{LAUNCHER.stem}.class").exists():
        return classes
    javac = Path(java_path).with_name("javac")
    if not javac.exists():
        raise EngineUnavailable(
            f"no javac beside {java_path} to compile {LAUNCHER.name}: install a JDK {JAVA_MAJOR}+ (Temurin),"
            " not only a runtime, or point YUQING_TEST_JAVA to a JDK's java"
        )
    partial = Path(tempfile.mkdtemp(prefix=f"{classes.name}-", dir=classes.parent))
    done = subprocess.run(
        [str(javac), "-nowarn", "-encoding", "UTF-8", "-cp", cp, "-d", str(partial), str(LAUNCHER)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        output = (done.stdout + done.stderr).strip()[-2000:]
        raise EngineUnavailable(f"{javac} could not compile {LAUNCHER}:\n{output}")
    try:
        partial.rename(classes)  # whole or not at all
    except OSError:  # another session compiled it meanwhile
        shutil.rmtree(partial, ignore_errors=True)
    return classes


def _health(url: str) -> str | None:
    """The cluster's health status, or None while the node does not answer."""
    health = f"{url}/_cluster/health?wait_for_status=yellow&timeout=1s"  # GET / answers 405 on this node
    try:
        with urllib.request.urlopen(health, timeout=5) as resp:
            return str(json.load(resp).get("status"))
    except (OSError, ValueError):  # refused, not ready (408/503) or not JSON yet
        return None


def _tail(log_path: Path, lines: int = 40) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:])


def _start() -> str:
    from tests.engines.maven import classpath, java

    java_path = java(JAVA_MAJOR)
    cp = classpath("elasticsearch")
    classes = compile_launcher(java_path, cp)
    home = Path(tempfile.mkdtemp(prefix="yuqing-es-"))
    log_path = home / "node.log"
    log_file = log_path.open("wb")
    began = time.monotonic()
    proc = subprocess.Popen(
        [
            java_path,
            f"-Xms{HEAP}",
            f"-Xmx{HEAP}",
            "-Dfile.encoding=UTF-8",
            "-Djava.awt.headless=true",
            "-cp",
            os.pathsep.join([str(classes), cp]),
            LAUNCHER.stem,
            str(home),
            "0",  # any free port: the node writes the one it bound to home/http.port
            CLUSTER_NAME,
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.PIPE,  # the node stops when this closes, so it never outlives this process
        cwd=home,
    )

    def stop() -> None:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        if proc.stdin is not None:
            proc.stdin.close()
        log_file.close()
        shutil.rmtree(home, ignore_errors=True)

    def fail(why: str) -> RuntimeError:
        output = _tail(log_path)
        stop()
        return RuntimeError(f"{why}; the end of its log:\n{output}")

    port_file = home / "http.port"
    deadline = began + START_TIMEOUT_S
    url = None
    while True:
        if proc.poll() is not None:
            raise fail(f"the Elasticsearch JVM ({java_path}) exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise fail(f"the Elasticsearch node was not up within {START_TIMEOUT_S:.0f} s")
        if url is None and port_file.exists():
            url = f"http://127.0.0.1:{int(port_file.read_text())}"
        if url is not None and _health(url) in ("yellow", "green"):
            break
        time.sleep(0.2)
    global _stop, start_seconds
    start_seconds = time.monotonic() - began
    _stop = stop
    atexit.register(stop)  # also when the session ends abnormally
    return url


def elastic_url() -> str:
    """The URL of a running node; fails (under CI) or skips the calling test when there is none."""
    global _url, _error
    if _url is None and _error is None:
        external = os.environ.get("YUQING_TEST_ES_URL")
        try:
            _url = external or _start()
        except Exception as exc:  # noqa: BLE001 - any failure to start means no node for this run
            _error = f"cannot start the Elasticsearch 9 test node: {exc}"
    if _url is None:
        if os.environ.get("CI"):
            pytest.fail(_error or "no Elasticsearch node")
        pytest.skip(_error or "no Elasticsearch node")
    return _url


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    yield elastic_url()
    if _stop is not None:
        _stop()
