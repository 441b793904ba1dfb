"""A message a stage cannot process reaches `yuqing deadletters` with the stage and the reason,
and the messages after it keep flowing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from yuqing.bus import Message, open_bus
from yuqing.schemas import RawPost
from yuqing.worker import Output, Worker


class Echo(Worker):
    name = "echo"
    topics = ("posts.raw",)

    def handle(self, message: Message) -> Iterable[Output]:
        post = RawPost.model_validate_json(message.value)
        return [Output("posts.enriched", post, key=post.id)]


def test_bad_message_is_dead_lettered_and_listed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bus.sqlite3'}"
    bus = open_bus(url, partitions=2)
    producer = bus.producer()
    good = {"id": "p1", "source_id": "s", "url": "http://x/1", "fetched_at": "2026-11-22T10:00:00+08:00"}
    producer.send("posts.raw", b"{not json", key="s")
    producer.send("posts.raw", good, key="s")
    producer.flush()
    worker = Echo(bus)
    worker.run(max_idle_polls=2)
    assert worker.processed == 1 and worker.dead_lettered == 1
    bus.close()

    env = {"YUQING_BUS_URL": url, "YUQING_BUS_PARTITIONS": "2", "YUQING_DATA_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "yuqing.cli.main", "deadletters", "--json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    letters = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(letters) == 1
    assert letters[0]["stage"] == "echo"
    assert letters[0]["payload"] == "{not json"
    assert "json" in letters[0]["reason"].lower()
