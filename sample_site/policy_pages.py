"""The sample site's 政策文件 pages (a list and one page per policy), from ``data/policies.yaml``.

Publication times are ``hours_ago`` before the site started, so the demo's 解读 and 转载 clocks are running
whenever it is started; they stay the same while the site runs (a re-crawl sees the same page).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

DATA = Path(__file__).resolve().parent / "data" / "policies.yaml"
STARTED = datetime.now(ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0)


def load() -> dict[str, Any]:
    raw = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    for p in raw["policies"]:
        p["published"] = f"{STARTED - timedelta(hours=p['hours_ago']):%Y-%m-%d %H:%M}"
        p["paras"] = [line.strip() for line in p["body"].strip().splitlines() if line.strip()]
    return raw


def list_context() -> dict[str, Any]:
    data = load()
    return {"site": data["site"], "policies": data["policies"]}


def detail_context(policy_id: str) -> dict[str, Any] | None:
    data = load()
    found = next((p for p in data["policies"] if p["id"] == policy_id), None)
    return None if found is None else {"site": data["site"], "p": found}
