"""`yuqing demo` end to end, as a newcomer runs it: one command starts every stage on the embedded
defaults, crawls the bundled sample site, and within a minute or so the console shows alerts — a 重大
one for the sample explosion with its 5-hour and 24-hour clocks — and SIGTERM stops the whole tree.

The same run on the real engines (the scale-out path): the stages talk over the Apache Kafka broker,
index into Elasticsearch 9 and keep their tables in PostgreSQL, all started by the test fixtures; the
test then finds the posts in each engine, and no embedded file was made."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_demo_shows_a_major_alert_with_its_clocks_and_stops_cleanly(tmp_path: Path) -> None:
    run_demo(tmp_path, {})


@pytest.mark.kafka
@pytest.mark.es_live
@pytest.mark.postgres
def test_the_demo_pipeline_runs_on_kafka_elasticsearch_and_postgresql(
    tmp_path: Path, kafka_broker_url: str, es_url: str, pg_url: str
) -> None:
    from sqlalchemy import create_engine, text

    from yuqing.bus import open_bus
    from yuqing.storage.elastic import ElasticStore, index_name
    from yuqing.topology import Topics

    suffix = uuid.uuid4().hex[:8]
    base, _, _ = pg_url.rpartition("/")
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "demo_{suffix}"'))
    db_url = f"{base}/demo_{suffix}"
    prefix = f"yuqing-demo-{suffix}"
    engines = {"YUQING_BUS_URL": kafka_broker_url, "YUQING_SEARCH_URL": es_url, "YUQING_DB_URL": db_url,
               "YUQING_ES_INDEX_PREFIX": prefix}
    store = ElasticStore(es_url, index_prefix=prefix)
    try:
        run_demo(tmp_path, engines)
        # every stage used the engines: Kafka carried the posts, Elasticsearch and PostgreSQL hold them
        bus = open_bus(kafka_broker_url)
        try:
            assert bus.backlog("nlp", Topics.RAW_POSTS).committed > 0
            assert bus.backlog("incidents", Topics.ENRICHED_POSTS).committed > 0
        finally:
            bus.close()
        assert store.client.count(index=index_name(prefix))["count"] > 0
        with create_engine(db_url).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alerts")).scalar_one() > 0
        assert not list((tmp_path / "var").glob("*.sqlite3")), "no embedded bus, store or database"
    finally:
        store.drop()
        store.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "demo_{suffix}" WITH (FORCE)'))
        admin.dispose()


def run_demo(tmp_path: Path, engines: dict[str, str]) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env["YUQING_DATA_DIR"] = str(tmp_path / "var")
    env.update(engines)
    out_path = tmp_path / "demo.out"
    with out_path.open("w") as out:
        demo = subprocess.Popen([sys.executable, "-m", "yuqing.cli.main", "demo", "--port", str(port)],
                                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while "Ctrl-C stops everything" not in out_path.read_text() and time.monotonic() < deadline:
            assert demo.poll() is None, out_path.read_text()
            time.sleep(0.5)
        printed = out_path.read_text()
        assert f"console:  {base}" in printed
        logins = dict(re.findall(r"^\s+(\w+)\s+(\S+)\s+duty_officer$", printed, flags=re.M))
        assert "duty" in logins, printed
        children = _children(demo.pid)
        assert len(children) >= 7, "sample site, five stages and the API run as children"

        client = httpx.Client(base_url=base, timeout=10)
        assert client.get("/api/alerts").status_code == 401, "nothing but health and login is open"
        assert client.post("/api/auth/login", json={"name": "duty", "password": logins["duty"]}).is_success
        major = None
        while time.monotonic() < deadline + 90 and major is None:
            page = client.get("/api/alerts", params={"limit": 50}).json()
            major = next((a for a in page["items"] if a["level"] in ("重大", "特别重大")), None)
            if major is None:
                time.sleep(2)
        assert major is not None, "no 重大 alert for the sample explosion"
        assert "封丘" in major["title"] or any("封丘" in loc["name"] for loc in major["locations"])
        detail = client.get(f"/api/alerts/{major['id']}").json()
        kinds = {d["kind"]: d for d in detail["deadlines"]}
        assert {"authoritative_info", "press_conference"} <= set(kinds)
        hours = {k: (time_of(d["due_at"]) - time_of(d["start"])) / 3600 for k, d in kinds.items()}
        assert hours["authoritative_info"] == 5 and hours["press_conference"] == 24
        assert client.get("/api/search", params={"q": "爆炸"}).json()["total"] > 0
        # 属地管理、分级负责、谁主管谁负责: at 重大 the explosion is the emergency-management bureau's, of
        # 封丘's city (新乡) by the level rule, from the directory the demo imported, with the reason shown
        assert "应急管理" in (major["department_name"] or ""), major
        assert "新乡" in major["department_name"] and "分级负责" in (major["assignment_reason"] or ""), major
        assert len(client.get("/api/departments").json()) > 10
        # the sample 政策文件 page (source kind policy): a 政策解读 case and a key-policy 转载 case
        cases: dict[str, dict] = {}
        while time.monotonic() < deadline + 150 and len(cases) < 2:
            items = client.get("/api/alerts", params={"limit": 100}).json()["items"]
            cases = {a["next_due_kind"]: a for a in items
                     if a["next_due_kind"] in ("policy_interpretation", "reprint")}
            if len(cases) < 2:
                time.sleep(2)
        assert set(cases) == {"policy_interpretation", "reprint"}, "no policy cases from the sample page"
        assert cases["policy_interpretation"]["department_name"] == "南阳市教育局"
        assert "稳就业" in cases["reprint"]["title"]
        check_message_cases(client, deadline + 120)
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
    assert demo.returncode == 0, out_path.read_text()
    assert "stopped" in out_path.read_text()
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), pid


def check_message_cases(client: httpx.Client, until: float) -> None:
    """The sample boards' 留言 are cases with the 3-working-day clock; the replayed board answers one,
    which stops its clock on time with the reply on its timeline."""
    answered = None
    while time.monotonic() < until and answered is None:
        cases = client.get("/api/alerts", params={"kind": "message", "limit": 100}).json()["items"]
        found = next((a for a in cases if a["title"].startswith("原阳县城关镇幸福小区")), None)
        if found is not None:
            detail = client.get(f"/api/alerts/{found['id']}").json()
            if detail["deadlines"] and detail["deadlines"][0]["state"] == "met":
                answered = detail
        if answered is None:
            time.sleep(2)
    assert len(cases) >= 18, "12 南阳 and 6 宁阳 messages, each its own case"
    assert {a["incident_kind"] for a in cases} == {"message"}
    assert answered is not None, "the replayed board's reply did not stop its case's clock"
    [clock] = answered["deadlines"]
    assert clock["kind"] == "message_reply"
    assert time_of(clock["due_at"]) - time_of(clock["start"]) >= 3 * 86400, "three working days or more"
    assert time_of(clock["met_at"]) <= time_of(clock["due_at"])
    [reply] = answered["releases"]
    assert reply["kind"] == "message_reply" and reply["note"].startswith("原阳县城市管理局：")


def time_of(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value).timestamp()
