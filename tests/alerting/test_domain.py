"""One place for the domain words (yuqing.domain): every reader uses it, and a kind is one entry there
plus its policy line."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from alerting import outbox, state
from alerting.clocks import DEADLINE_KINDS, Policies
from alerting.effect_review import RESPONSE_KINDS
from api.console import render
from yuqing import domain
from yuqing.schemas import Incident

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "alerting" / "config" / "policies.yaml"


def test_every_deadline_kind_has_its_policy_line_and_a_label() -> None:
    shipped = yaml.safe_load(POLICIES.read_text(encoding="utf-8"))
    assert set(shipped["deadlines"]) == set(domain.DEADLINES) == set(DEADLINE_KINDS)
    policies = Policies.load(POLICIES)
    for kind, definition in domain.DEADLINES.items():
        rule = policies.rule(kind)
        assert (rule.hours, rule.working_days) == (definition.hours, definition.working_days)
        assert re.fullmatch(r"[\u4e00-\u9fff]+", domain.DEADLINE_LABELS[kind])
    assert policies.rule("reprint").hours == 24


def test_statuses_actions_and_incident_kinds_have_one_label_each() -> None:
    assert set(domain.STATUS_LABELS) == {s.value for s in domain.Status}
    assert state.Status is domain.Status and state.Action is domain.Action
    assert domain.STATUS_LABELS["closed"] == "已办结"
    for action in domain.Action:
        assert action.value in domain.ACTION_LABELS
    assert set(Incident.model_fields["kind"].annotation.__args__) == set(domain.INCIDENT_KINDS)
    assert Policies().applies.incident_kinds == {
        "message": ["message_reply"], "policy": ["policy_interpretation"], "key_policy": ["reprint"]
    }


def test_readers_share_the_same_tables() -> None:
    assert outbox.KIND_NAMES is domain.DEADLINE_LABELS
    env = render.templates.env.globals
    assert env["STATUS_LABELS"] is domain.STATUS_LABELS
    assert env["DEADLINE_LABELS"] is domain.DEADLINE_LABELS
    assert env["ACTION_LABELS"] is domain.ACTION_LABELS
    assert RESPONSE_KINDS == domain.INFO_KINDS and "reprint" in RESPONSE_KINDS


def test_no_other_module_spells_a_label_for_a_kind_or_status() -> None:
    """A dict entry like ``"message_reply": "留言答复"`` outside yuqing/domain.py is a second spelling."""
    words = "|".join([*domain.DEADLINES, *(s.value for s in domain.Status)])
    entry = re.compile(rf"""["']({words})["']\s*:\s*["'][^"']*[\u4e00-\u9fff]""")
    offenders = []
    for folder in ("alerting", "api", "yuqing", "response_playbooks"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "yuqing" / "domain.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if entry.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
