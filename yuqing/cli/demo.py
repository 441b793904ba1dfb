"""``yuqing demo``: the whole pipeline on embedded defaults, in one process tree.

Starts the bundled sample site, one process per stage (crawler, nlp, indexer, incidents, alerting) and the
API/console, creates one user per role and prints the console URL and the logins. A stage that dies is
restarted with backoff. Ctrl-C or SIGTERM stops every child cleanly (SIGTERM, then SIGKILL after a grace
period).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from yuqing.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from api.auth.users import DemoLogin

PIPELINE_STAGES: tuple[str, ...] = ("crawler", "nlp", "indexer", "incidents", "alerting")
PIPELINE_STAGES += ("policies",)  # the policy register (alerting.policy_worker)
PIPELINE_STAGES += ("reports",)  # 日报 / 周报 on schedule, and today's 日报 so far (reports.worker)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    log_path: Path | None = None
    started_at: float = field(default=0.0)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


class Supervisor:
    """Starts children, restarts the ones that die, stops them all on request."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.children: list[Child] = []
        self.stop = threading.Event()

    def add(self, name: str, argv: list[str]) -> Child:
        child = Child(name, argv, log_path=self.log_dir / f"{name}.log")
        self.children.append(child)
        self._start(child)
        return child

    def _start(self, child: Child) -> None:
        assert child.log_path is not None
        log = child.log_path.open("ab")
        child.proc = subprocess.Popen(child.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        child.started_at = time.monotonic()
        log.close()

    def watch(self) -> None:
        while not self.stop.wait(1.0):
            for child in self.children:
                if child.proc is None or child.proc.poll() is None:
                    continue
                now = time.monotonic()
                if child.next_start == 0.0:
                    if now - child.started_at > 60:
                        child.restarts = 0  # it ran fine for a while: start the backoff over
                    delay = min(30.0, 2.0 ** child.restarts)
                    child.next_start = now + delay
                    typer.echo(f"  ! {child.name} exited with {child.proc.returncode}; restarting in "
                               f"{delay:.0f}s (log: {child.log_path})", err=True)
                elif now >= child.next_start:
                    child.restarts += 1
                    child.next_start = 0.0
                    self._start(child)

    def shutdown(self, grace: float = 10.0) -> None:
        self.stop.set()
        for child in self.children:
            if child.proc and child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self.children:
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()


def remove_embedded_state(settings: Settings) -> None:
    """Delete the embedded SQLite files (bus, store, database) and the logs; external engines stay."""
    for url in (settings.bus_url, settings.search_url, settings.db_url):
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm", ".migrate.lock"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)
    shutil.rmtree(settings.data_dir / "logs", ignore_errors=True)


def prepare(settings: Settings) -> list[DemoLogin]:
    """Migrate the database, load the department directory (once), create one user per role."""
    from sqlalchemy import select

    from alerting.directory import Directory
    from alerting.directory_models import DepartmentRow
    from api.auth.users import ensure_demo_users
    from yuqing.audit import record
    from yuqing.clock import utcnow
    from yuqing.db.session import open_database

    db = open_database(settings.db_url)
    with db.transaction() as session:
        if session.scalar(select(DepartmentRow.id).limit(1)) is None:
            now = utcnow()
            Directory.load_yaml(settings.departments_file).save(session, now=now)
            record(session, at=now, actor="system:demo", channel="system", action="directory.import",
                   object_type="directory", object_id="departments",
                   reason=f"demo imported {settings.departments_file.name}")

    logins = ensure_demo_users(db)
    from nlp.plans.service import ensure_demo_plans

    with db.transaction() as session:
        ensure_demo_plans(session, now=utcnow())  # a place plan and a topic plan (监测方案)
    db.close()
    return logins


def demo(
    host: Annotated[str, typer.Option(help="Where the console listens")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Console port")] = 8000,
    sample_port: Annotated[int, typer.Option(help="Port of the bundled sample site (0: any free port)")] = 0,
    fresh: Annotated[bool, typer.Option(help="Start over: delete the bus, store, database and logs")] = False,
) -> None:
    """Run every stage on embedded defaults, serve the console and crawl the bundled sample site."""
    from yuqing.settings import get_settings

    if not port_is_free(host, port):
        typer.echo(f"yuqing demo: {host}:{port} is in use; choose another with --port", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    if fresh:
        remove_embedded_state(settings)
    data_dir = settings.ensure_data_dir()
    log_dir = data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    sample_port = sample_port or free_port()
    console_url = f"http://{host}:{port}"
    env = dict(os.environ)
    env.update(
        YUQING_DATA_DIR=str(data_dir.resolve()),
        YUQING_BUS_URL=settings.bus_url,
        YUQING_SEARCH_URL=settings.search_url,
        YUQING_DB_URL=settings.db_url,
        YUQING_CONSOLE_URL=console_url,
        YUQING_API_HOST=host,
        YUQING_API_PORT=str(port),
        YUQING_SAMPLE_SITE_URL=f"http://127.0.0.1:{sample_port}",
        PYTHONUNBUFFERED="1",
    )
    # the sample site (sample_site/) lives in the checkout beside the packages, not in the installed product
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("YUQING_REPORTS_FILE", str(Path(__file__).resolve().parents[2] / "reports" / "config"
                                                / "reports-demo.yaml"))
    os.environ.update(env)
    get_settings.cache_clear()
    typer.echo("yuqing demo: preparing the database, departments and users …")
    logins = prepare(get_settings())

    sup = Supervisor(env, log_dir)
    stop = threading.Event()

    def _handler(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)

    python = sys.executable
    sup.add("sample-site", [python, "-m", "sample_site", "--port", str(sample_port)])
    wait_for_port("127.0.0.1", sample_port, 15)
    for stage in PIPELINE_STAGES:
        sup.add(stage, [python, "-m", "yuqing.cli.main", "worker", stage])
    sup.add("api", [python, "-m", "yuqing.cli.main", "worker", "api"])
    watcher = threading.Thread(target=sup.watch, name="supervisor", daemon=True)
    watcher.start()
    up = wait_for_port(host, port, 60)

    typer.echo("")
    typer.echo(f"  控制台 console:  {console_url}" + ("" if up else "   (still starting; see logs)"))
    typer.echo(f"  API docs:        {console_url}/docs")
    typer.echo(f"  sample site:     http://127.0.0.1:{sample_port}")
    typer.echo(f"  data and logs:   {data_dir.resolve()}")
    typer.echo("  logins (user / password / role):")
    for name, password, role in logins:
        typer.echo(f"    {name:<12} {password:<20} {role}")
    typer.echo("  Alerts appear within a minute as the sample sources are crawled. Ctrl-C stops everything.")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        typer.echo("yuqing demo: stopping …")
        sup.shutdown()
        typer.echo("yuqing demo: stopped")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
