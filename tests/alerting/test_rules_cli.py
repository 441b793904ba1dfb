"""``yuqing rules check|explain``: officers see a bad rules edit, or what rules make of an incident, first."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from yuqing.cli.main import app

RULES = Path(__file__).resolve().parents[2] / "alerting" / "config" / "rules.yaml"
runner = CliRunner()


def test_check_lists_the_shipped_rules_and_channels() -> None:
    result = runner.invoke(app, ["rules", "check", str(RULES)])
    assert result.exit_code == 0, result.output
    assert "severity-major" in result.output and "channel console: console" in result.output


def test_check_names_the_file_and_field_of_a_bad_edit(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - name: typo\n    level: 重大\n    when: {severity_atleast: 重大}\n", "utf-8")
    result = runner.invoke(app, ["rules", "check", str(bad)])
    assert result.exit_code == 2
    assert str(bad) in result.output and "rules.0.when.severity_atleast" in result.output

    bad.write_text("rules:\n  - {name: a, level: 一般, when: {heat_at_least: 1}}\n"
                   "notifications:\n  channels: [{name: pager, type: pigeon}]\n", "utf-8")
    result = runner.invoke(app, ["rules", "check", str(bad)])
    assert result.exit_code == 2 and "unknown channel type 'pigeon'" in result.output


def test_explain_gives_level_matches_and_failed_conditions_and_survives_bad_lines() -> None:
    incident = {
        "id": "inc-1", "title": "化工厂爆炸", "first_seen": "2026-11-23T08:00:00+08:00",
        "last_seen": "2026-11-23T09:00:00+08:00", "severity": {"level": "较大"}, "negative_share": 0.5,
        "keywords": ["爆炸"],
    }
    stdin = json.dumps(incident, ensure_ascii=False) + "\n{\"id\": \"no-title\"}\n\nnot json\n"
    result = runner.invoke(app, ["rules", "explain", str(RULES)], input=stdin)
    assert result.exit_code == 0, result.output
    first, missing, broken = (json.loads(line) for line in result.output.splitlines())
    assert first["level"] == "较大"
    assert set(first["matched"]) == {"severity-large", "severity-ordinary", "watched-keywords"}
    assert first["failed"]["severity-major"] == ["severity_at_least"]
    assert missing == {"line": 2, "error": "title: Field required"}
    assert broken["line"] == 4 and "Invalid JSON" in broken["error"]


def test_explain_and_check_show_the_kind_condition(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: messages, level: 一般, when: {kinds: [message]}}\n"
                     "  - {name: hot, level: 较大, when: {heat_at_least: 100}}\n", "utf-8")
    checked = runner.invoke(app, ["rules", "check", str(rules)])
    assert checked.exit_code == 0, checked.output
    assert "messages: kinds=['message']" in checked.output
    base = {"title": "小区停水", "first_seen": "2026-11-23T08:00:00+08:00",
            "last_seen": "2026-11-23T09:00:00+08:00"}
    stdin = "".join(json.dumps({**base, **extra}, ensure_ascii=False) + "\n" for extra in (
        {"id": "m-1", "kind": "message"}, {"id": "o-1"}, {"id": "x-1", "kind": "petition"}))
    result = runner.invoke(app, ["rules", "explain", str(rules)], input=stdin)
    assert result.exit_code == 0, result.output
    message, opinion, bad = (json.loads(line) for line in result.output.splitlines())
    assert (message["kind"], message["level"], message["matched"]) == ("message", "一般", ["messages"])
    assert message["failed"] == {"hot": ["heat_at_least"]}
    assert (opinion["kind"], opinion["level"], opinion["matched"]) == ("opinion", None, [])
    assert opinion["failed"] == {"messages": ["kinds"], "hot": ["heat_at_least"]}
    assert bad["line"] == 3 and bad["error"].startswith("kind:")
