"""Alert rules: levels from conditions, validation with clear errors, reload without restart."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from alerting.notify.registry import build_channels
from alerting.rules import Channel, RulesError, RulesFile, evaluate, load_config, parse_config
from alerting.state import Action, InvalidTransition, Status, next_status
from tests.alerting.conftest import RULES, T0, incident
from yuqing.schemas import Location
from yuqing.settings import PROJECT_ROOT

SENSITIVE = """
rules:
  - {name: place, level: 较大, when: {location_prefixes: ["110101"], negative_share_at_least: 0.5}}
  - {name: category, level: 一般, when: {categories: [卫生计生], post_count_at_least: 10}}
  - {name: words, level: 重大, when: {keywords: [爆炸], active_within_hours: 6}}
  - {name: angry-burst, level: 较大, when: {burst_at_least: 3, anger_share_at_least: 0.4, heat_at_least: 100}}
"""


def test_the_shipped_rules_file_is_valid_and_makes_severe_incidents_major() -> None:
    config = load_config(PROJECT_ROOT / "alerting" / "config" / "rules.yaml")
    assert evaluate(config, incident(level="重大"), T0).level == "重大"
    assert evaluate(config, incident(level=None, heat=0, negative_share=0), T0).level is None


def test_highest_matching_level_wins_and_each_condition_counts() -> None:
    config = parse_config(SENSITIVE)
    quiet = incident(level=None, category="交通运输", code="340826", negative_share=0.9)
    assert evaluate(config, quiet, T0).level is None
    in_place = quiet.model_copy(update={"locations": [Location(name="东城区", code="110101")]})
    assert evaluate(config, in_place, T0).matched == ("place",)
    both = in_place.model_copy(update={"category": "卫生计生"})
    decision = evaluate(config, both, T0)
    assert decision.level == "较大" and set(decision.matched) == {"place", "category"}
    boom = incident(level=None, category=None, keywords=["爆炸", "化工厂"])
    assert evaluate(config, boom, T0).level == "重大"
    # the same incident six hours after its last post no longer matches the recency condition
    assert evaluate(config, boom, T0 + timedelta(hours=7)).level is None
    angry = incident(level=None, category=None, burst=4.0, anger_share=0.5, heat=99.0)
    assert evaluate(config, angry, T0).level is None
    assert evaluate(config, angry.model_copy(update={"heat": 100.0}), T0).level == "较大"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: []", "rules"),
        ("rules:\n  - {name: x, level: 很大, when: {heat_at_least: 1}}", "rules.0.level"),
        ("rules:\n  - {name: x, level: 一般, when: {}}", "at least one condition"),
        ("rules:\n  - {name: x, level: 一般, when: {heat_over: 1}}", "heat_over"),
        ("rules: [", "not valid YAML"),
        (RULES.replace("at: 0.75", "at: 0.25"), "ascending"),
    ],
)
def test_bad_rules_are_refused_with_the_field_named(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_config(text, source="rules.yaml")


def test_rules_reload_when_the_file_changes_and_a_bad_edit_keeps_the_last_good(
    tmp_path: Path, caplog
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {name: a, level: 一般, when: {heat_at_least: 10}}\n", encoding="utf-8")
    rules = RulesFile(path)
    hot = incident(level=None, heat=50)
    assert evaluate(rules.current(), hot, T0).level == "一般"

    def edit(text: str, bump: int) -> None:
        path.write_text(text, encoding="utf-8")
        stat = path.stat()
        os.utime(
            path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump)
        )  # a new mtime, whatever the FS granularity

    edit("rules:\n  - {name: a, level: 较大, when: {heat_at_least: 10}}\n", 10**9)
    assert evaluate(rules.current(), hot, T0).level == "较大"
    with caplog.at_level(logging.ERROR):
        edit("rules:\n  - {name: a, level: 较大, when: {heat_at_least: ten}}\n", 2 * 10**9)
        assert evaluate(rules.current(), hot, T0).level == "较大"
    assert "keeping the last good" in caplog.text and rules.last_error
    with pytest.raises(RulesError):
        RulesFile(tmp_path / "missing.yaml")


def test_state_machine_table() -> None:
    path = [
        Action.ACKNOWLEDGE,
        Action.START_RESPONSE,
        Action.PUBLISH_INFO,
        Action.HOLD_PRESS_CONFERENCE,
        Action.CLOSE,
    ]
    status: str = Status.NEW
    for action in path:
        status = next_status(action, status)
    assert status == Status.CLOSED
    assert next_status(Action.UNSNOOZE, Status.SNOOZED, resume=Status.RESPONDING) == Status.RESPONDING
    assert next_status(Action.REOPEN, Status.CLOSED) == Status.NEW
    assert next_status(Action.ACK_TIMEOUT, Status.ACKNOWLEDGED) == Status.NEW
    with pytest.raises(InvalidTransition, match="cannot publish_info an alert that is new"):
        next_status(Action.PUBLISH_INFO, Status.NEW)
    with pytest.raises(InvalidTransition):
        next_status(Action.MERGE, Status.MERGED)
    with pytest.raises(InvalidTransition):
        next_status(Action.SNOOZE, Status.SUPERVISED)  # a 督办 case cannot be silenced


def test_the_channel_examples_in_the_shipped_rules_file_build(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (PROJECT_ROOT / "alerting" / "config" / "rules.yaml").read_text(encoding="utf-8")
    block = text.split("# Examples:\n", 1)[1].split("\nnotifications:", 1)[0]
    examples = yaml.safe_load("\n".join(line[3:] for line in block.splitlines()))
    for name in (
        "YUQING_DINGTALK_AH_WXB_URL",
        "YUQING_DINGTALK_AH_WXB_SECRET",
        "YUQING_FEISHU_URL",
        "YUQING_FEISHU_SECRET",
        "YUQING_WECOM_KEY",
        "YUQING_WECOM_CORPID",
        "YUQING_WECOM_APP_SECRET",
        "YUQING_DINGTALK_APPKEY",
        "YUQING_DINGTALK_APPSECRET",
        "YUQING_SMS_URL",
        "YUQING_SMS_SECRET",
    ):
        monkeypatch.setenv(name, f"https://robot.example/{name}")
    channels = build_channels([Channel.model_validate(e) for e in examples])
    assert {c.kind.factory.__name__ for c in channels.values()} == {
        "EmailChannel",
        "DingTalkChannel",
        "FeishuChannel",
        "WeComChannel",
        "WebhookChannel",
        "WeComAppChannel",
        "DingTalkWorkChannel",
        "SmsGatewayChannel",
    }
    assert channels["leader-sms"].kind.needs_address == "phone"
    assert channels["ah-wxb"].per_minute == 20 and channels["ops"].per_minute is None
    monkeypatch.delenv("YUQING_WECOM_KEY")
    with pytest.raises(RulesError, match="YUQING_WECOM_KEY is not set"):
        build_channels([Channel.model_validate(e) for e in examples])


KIND_RULES = """
rules:
  - {name: every-message, level: 一般, when: {kinds: [message]}}
  - name: policy-or-message-negative
    level: 较大
    when: {kinds: [policy, message], negative_share_at_least: 0.5}
"""


def test_a_rule_can_test_the_incident_kind() -> None:
    config = parse_config(KIND_RULES)
    message = incident(level=None, kind="message", negative_share=0.1)
    decision = evaluate(config, message, T0)
    assert (decision.level, decision.matched) == ("一般", ("every-message",))
    assert config.rules[1].when.failed(message, T0) == ["negative_share_at_least"]
    opinion = incident(level=None, kind="opinion", negative_share=0.9)
    assert evaluate(config, opinion, T0).level is None
    assert config.rules[0].when.failed(opinion, T0) == ["kinds"]
    assert config.rules[1].when.failed(opinion, T0) == ["kinds"]
    policy = incident(level=None, kind="policy", negative_share=0.9)
    assert evaluate(config, policy, T0).matched == ("policy-or-message-negative",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  - {name: x, level: 一般, when: {kinds: [petition]}}", "rules.0.when.kinds.0"),
        ("rules:\n  - {name: x, level: 一般, when: {kinds: []}}", "rules.0.when.kinds"),
    ],
)
def test_an_unknown_or_empty_kind_list_is_refused(text: str, message: str) -> None:
    with pytest.raises(RulesError, match=message):
        parse_config(text, source="rules.yaml")
