"""`yuqing demo` ships two plans (a place plan and a topic plan) that find posts in the bundled data."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from nlp.plans.matcher import PlanMatcher
from nlp.plans.models import PlanRow
from nlp.plans.service import DEMO_PLANS
from yuqing.cli.demo import prepare
from yuqing.db.session import open_database
from yuqing.expression import parse_plan
from yuqing.settings import load_settings

DATA = Path(__file__).resolve().parents[2] / "sample_site" / "data"


def _texts() -> list[tuple[str, str]]:
    texts = []
    for line in (DATA / "fengqiu_explosion_replay.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        texts.append((item.get("title", ""), item.get("content", "")))

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "title" in node:
                texts.append((str(node.get("title", "")), str(node.get("content", node.get("body", "")))))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for path in DATA.glob("*.yaml"):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")))
    return texts


def test_the_demo_plans_are_stored_once_and_find_the_sample_posts(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "var")
    prepare(settings)
    prepare(settings)  # a second start adds nothing
    db = open_database(settings.db_url)
    with db.transaction() as session:
        rows = session.query(PlanRow).order_by(PlanRow.id).all()
        assert [(r.name, r.expression, r.owner_users) for r in rows] == [
            (name, expression, ["duty"]) for name, expression in DEMO_PLANS]
        ids = [r.id for r in rows]
    db.close()
    matcher = PlanMatcher((pid, parse_plan(expression)) for pid, (_, expression) in zip(ids, DEMO_PLANS,
                                                                                        strict=True))
    hits = {pid: 0 for pid in ids}
    for title, content in _texts():
        for pid in matcher.match(title, content):
            hits[pid] += 1
    assert all(n >= 3 for n in hits.values()), hits
