"""The whole pipeline, each stage its own `yuqing worker` process: how fast does it go, and what does it hold?

    python -P bench/pipeline.py [--posts 20000] [--rate 0]
                                [--kafka kafka://…] [--search-url http://…] [--db-url postgresql+psycopg://…]

Real posts from ../shared/data (Weibo posts, news titles, citizen messages, as bench/tagging.py mixes them)
are sent into ``posts.raw`` as the crawler sends them, with ``fetched_at`` stamped at sending; ``--rate``
caps the sending at so many posts per second (0: as fast as the producer goes). The nlp, indexer,
incidents and alerting stages run as separate processes on the embedded defaults in a temporary data
folder, or on the engines named by ``--kafka``, ``--search-url`` and ``--db-url``.

Printed, from one run:
- per stage: posts (messages) handled, its rate from its first to its last commit, the CPU seconds its
  process spent from the first post sent until it was done and the messages per CPU second that makes,
  and its peak RSS (VmHWM); ``incidents ÷ nlp`` is the incidents stage's rate over the nlp stage's, as
  measured (the stages share the machine's cores) and per CPU second (each with a core of its own: nlp
  scales out over partitions, the incidents stage is one process);
- end to end: posts ÷ the time from the first post sent to the last stage done;
- crawl-to-alert latency p50/p95 over the alerts raised in the run (alert created − its incident's
  first post fetched).
Progress is read from the bus (each stage's consumer group's committed offsets), so the stages run
exactly as deployed.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from bench.corpus import raw_posts  # noqa: E402
from yuqing.bus import Bus, open_bus  # noqa: E402
from yuqing.topology import Topics  # noqa: E402

# stage → the topic its consumer group reads; progress is that group's committed offset on it
STAGES: dict[str, str] = {
    "nlp": Topics.RAW_POSTS,
    "indexer": Topics.ENRICHED_POSTS,
    "incidents": Topics.ENRICHED_POSTS,
    "alerting": Topics.INCIDENTS,
}
UPSTREAM: dict[str, str | None] = {"nlp": None, "indexer": "nlp", "incidents": "nlp", "alerting": "incidents"}
SAMPLE_S = 0.25


@dataclass
class Progress:
    stage: str
    topic: str
    start: int  # committed offset (summed) before the run
    first_at: float | None = None  # first time the group committed past ``start``
    done_at: float | None = None
    handled: int = 0
    peak_rss_kib: int = 0
    cpu_start: float = 0.0  # the process's CPU seconds when the posts started to be sent
    cpu: float = 0.0  # CPU seconds it spent from then until it was done
    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        if self.first_at is None or self.done_at is None or self.done_at <= self.first_at:
            return 0.0
        return self.handled / (self.done_at - self.first_at)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(procs: dict[str, subprocess.Popen[bytes]], timeout: float = 120.0) -> None:
    """Wait until no stage uses CPU any more (each has imported its code, loaded its models and polls an
    empty topic), so that what a stage spends afterwards is the posts' work."""
    deadline = time.monotonic() + timeout
    before = {name: cpu_seconds(proc.pid) for name, proc in procs.items()}
    time.sleep(2)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = {name: cpu_seconds(proc.pid) for name, proc in procs.items()}
        if all(now[name] - before[name] < 0.1 for name in procs):
            return
        before = now
    raise SystemExit(f"the stages were still busy {timeout:.0f} s after starting; see their logs")


def peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def start_stages(env: dict[str, str], log_dir: Path) -> dict[str, subprocess.Popen[bytes]]:
    procs = {}
    for stage in STAGES:
        log = (log_dir / f"{stage}.log").open("wb")
        procs[stage] = subprocess.Popen(
            [sys.executable, "-m", "yuqing.cli.main", "worker", stage],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )
    return procs


def send(bus: Bus, count: int, rate: float) -> tuple[float, float]:
    """Send ``count`` posts into posts.raw; returns when sending started and ended (monotonic)."""
    posts = raw_posts(count, seed=11)
    producer = bus.producer()
    started = time.monotonic()
    for i, post in enumerate(posts):
        if rate > 0:
            ahead = started + i / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        post.fetched_at = datetime.now(UTC)
        producer.send(Topics.RAW_POSTS, post, key=post.id)
        if (i + 1) % 500 == 0:
            producer.flush()
    producer.flush()
    producer.close()
    return started, time.monotonic()


def watch(
    bus: Bus, progress: dict[str, Progress], procs: dict[str, subprocess.Popen[bytes]], target: int,
    timeout: float,
) -> None:
    """Sample every group's committed offset until every stage has caught up with its upstream."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = time.monotonic()
        for name, p in progress.items():
            if p.done_at is not None:
                continue
            backlog = bus.backlog(name, p.topic)
            p.handled = backlog.committed - p.start
            p.samples.append((now, p.handled))
            p.peak_rss_kib = max(p.peak_rss_kib, peak_rss_kib(procs[name].pid))
            if p.handled > 0 and p.first_at is None:
                p.first_at = now
            upstream = UPSTREAM[name]
            upstream_done = upstream is None or progress[upstream].done_at is not None
            caught_up = backlog.lag == 0 and (p.handled >= target if name == "nlp" else upstream_done)
            if caught_up and p.handled > 0:
                p.done_at = now
                p.cpu = cpu_seconds(procs[name].pid) - p.cpu_start
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"stage {name} exited with {proc.returncode}; see its log")
        if all(p.done_at is not None for p in progress.values()):
            return
        time.sleep(SAMPLE_S)
    late = [n for n, p in progress.items() if p.done_at is None]
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {', '.join(late)}")


def alert_latencies(db_url: str, since: datetime) -> list[float]:
    from sqlalchemy import select

    from alerting.models import Alert
    from yuqing.db.session import open_database

    db = open_database(db_url)
    with db.transaction() as session:
        rows = session.execute(
            select(Alert.created_at, Alert.first_seen).where(Alert.created_at >= since)
        ).all()
    db.close()
    return sorted((created - first).total_seconds() for created, first in rows if first >= since)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=0.0, help="posts/s sent (0: as fast as possible)")
    parser.add_argument("--kafka", help="kafka://host:port: run on Kafka instead of the SQLite bus")
    parser.add_argument("--search-url", help="http://host:9200: index into Elasticsearch")
    parser.add_argument("--db-url", help="postgresql+psycopg://…: the database")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="yuqing-bench-pipeline-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env["YUQING_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = str(ROOT)
    for key, value in (("YUQING_BUS_URL", args.kafka), ("YUQING_SEARCH_URL", args.search_url),
                       ("YUQING_DB_URL", args.db_url)):
        if value:
            env[key] = value
    os.environ.update(env)

    from yuqing.cli.demo import prepare
    from yuqing.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    prepare(settings)  # migrations, the department directory (alerting assigns from it)
    bus = open_bus(settings.bus_url, partitions=settings.bus_partitions)
    bus.ensure_topics(list(Topics.ALL))
    progress = {s: Progress(s, t, bus.backlog(s, t).committed) for s, t in STAGES.items()}
    log_dir = data_dir / "logs"
    log_dir.mkdir()
    procs = start_stages(env, log_dir)
    since = datetime.now(UTC)
    try:
        wait_until_idle(procs)  # every stage imported and polling: the rates and CPU count from here
        for name, p in progress.items():
            p.cpu_start = cpu_seconds(procs[name].pid)
        sent_from, sent_to = send(bus, args.posts, args.rate)
        watch(bus, progress, procs, args.posts, args.timeout)
        for name, p in progress.items():
            p.peak_rss_kib = max(p.peak_rss_kib, peak_rss_kib(procs[name].pid))
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    end_to_end = max(p.done_at or 0.0 for p in progress.values()) - sent_from
    latencies = alert_latencies(settings.db_url, since)
    bus.close()

    engines = "Kafka" if args.kafka else "SQLite bus"
    engines += ", Elasticsearch" if args.search_url else ", FTS5"
    engines += ", PostgreSQL" if args.db_url else ", SQLite"
    print(f"pipeline: {args.posts} posts, {engines}, each stage its own process; sent in "
          f"{sent_to - sent_from:.1f} s" + (f" at ≤ {args.rate:.0f}/s" if args.rate else ""))
    print(f"{'stage':<10} {'handled':>8} {'msgs/s':>8} {'CPU s':>7} {'msgs/CPU s':>11} {'peak RSS':>10}")
    for name, p in progress.items():
        per_cpu = p.handled / p.cpu if p.cpu else 0.0
        print(f"{name:<10} {p.handled:>8} {p.rate:>8.0f} {p.cpu:>7.1f} {per_cpu:>11.0f} "
              f"{p.peak_rss_kib / 1024:>7.0f} MiB")
    nlp, incidents = progress["nlp"], progress["incidents"]
    if nlp.rate and incidents.cpu:
        print(f"incidents ÷ nlp: {incidents.rate / nlp.rate:.2f} in msgs/s; "
              f"{(incidents.handled / incidents.cpu) / (nlp.handled / nlp.cpu):.2f} in msgs per CPU second "
              "(what one process of each does with a core of its own)")
    print(f"end to end: {args.posts / end_to_end:.0f} posts/s ({end_to_end:.1f} s from first post sent "
          "to last stage done)")
    print(f"alerts raised: {len(latencies)}; crawl-to-alert latency p50 {percentile(latencies, 50):.1f} s, "
          f"p95 {percentile(latencies, 95):.1f} s")
    print(f"logs: {log_dir}")


if __name__ == "__main__":
    main()
