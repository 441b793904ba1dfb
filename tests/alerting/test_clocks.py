"""Deadline policies: which clocks an alert gets, when they fall due, and recomputation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from alerting.calendar import WorkCalendar
from alerting.clocks import (
    DEADLINE_KINDS,
    Policies,
    PolicyError,
    UnknownDeadlineKind,
    due_for,
    recompute,
)
from yuqing.clock import CN_TZ

SHIPPED = Path(__file__).resolve().parents[2] / "alerting" / "config" / "policies.yaml"
OFFICIAL_2027 = "years:\n  2027:\n    holidays: [[2027-02-05, 2027-02-12]]\n    workdays: [2027-02-20]\n"


@pytest.fixture(scope="module")
def policies() -> Policies:
    return Policies.load(SHIPPED)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def test_shipped_policies_are_the_documented_defaults(policies: Policies) -> None:
    assert policies == Policies()
    assert set(policies.deadlines) == set(DEADLINE_KINDS)


@pytest.mark.parametrize(
    ("kind", "hours"), [("authoritative_info", 5), ("press_conference", 24), ("response", 48)]
)
def test_wall_clock_kinds_run_from_detection(
    policies: Policies, cal: WorkCalendar, kind: str, hours: int
) -> None:
    # Detected on a Saturday night during no holiday: wall-clock deadlines ignore weekends.
    start = datetime(2026, 11, 21, 22, 15, tzinfo=CN_TZ)
    due = due_for(kind, start, policies=policies, calendar=cal)
    assert due.due_at == start + timedelta(hours=hours)
    assert due.provisional is False and due.calendar_version is None
    assert due.start == start and due.kind == kind


def test_wall_clock_due_is_reported_in_beijing_time(policies: Policies, cal: WorkCalendar) -> None:
    start = datetime.fromisoformat("2026-11-23T02:00:00+00:00")
    due = due_for("authoritative_info", start, policies=policies, calendar=cal)
    assert due.due_at.isoformat() == "2026-11-23T15:00:00+08:00"


@pytest.mark.parametrize("kind", ["message_reply", "policy_interpretation"])
def test_working_day_kinds_use_the_calendar(policies: Policies, cal: WorkCalendar, kind: str) -> None:
    due = due_for(kind, datetime(2026, 9, 30, 9, tzinfo=CN_TZ), policies=policies, calendar=cal)
    assert due.due_at == datetime(2026, 10, 10, 23, 59, 59, tzinfo=CN_TZ)
    assert due.provisional is False and due.calendar_version == cal.version
    late = due_for(kind, datetime(2026, 12, 30, 9, tzinfo=CN_TZ), policies=policies, calendar=cal)
    assert late.provisional is True


def test_kinds_for_levels_and_incident_kinds(policies: Policies) -> None:
    major = ["authoritative_info", "press_conference"]
    assert policies.kinds_for("重大", "opinion") == major
    assert policies.kinds_for("特别重大", "opinion") == major
    assert policies.kinds_for("较大", "opinion") == ["response"]
    assert policies.kinds_for("一般", "opinion") == ["response"]
    assert policies.kinds_for(None, "opinion") == ["response"]
    assert policies.kinds_for("一般", "message") == ["message_reply"]
    assert policies.kinds_for(None, "policy") == ["policy_interpretation"]
    assert policies.kinds_for("重大", "message") == ["message_reply", *major]


def test_policies_file_changes_times_and_keeps_other_defaults(tmp_path: Path, cal: WorkCalendar) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(
        'deadlines:\n  response: {hours: 24}\n  message_reply: {working_days: 5}\nworking_day_end: "17:30"\n'
        "applies:\n  default: [response]\n  levels:\n    较大: [authoritative_info]\n",
        encoding="utf-8",
    )
    pol = Policies.load(path)
    start = datetime(2026, 11, 23, 9, tzinfo=CN_TZ)
    assert due_for("response", start, policies=pol, calendar=cal).due_at == start + timedelta(hours=24)
    info = due_for("authoritative_info", start, policies=pol, calendar=cal).due_at
    assert info == start + timedelta(hours=5)
    reply = due_for("message_reply", start, policies=pol, calendar=cal).due_at
    assert reply == datetime(2026, 11, 30, 17, 30, tzinfo=CN_TZ)
    assert pol.working_day_end == time(17, 30)
    assert pol.kinds_for("较大", "opinion") == ["authoritative_info"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("deadlines:\n  response: {hours: -1}\n", "deadlines.response.hours"),
        ("deadlines:\n  response: {hours: 2, working_days: 1}\n", "exactly one of hours or working_days"),
        ("deadlines:\n  reply: {hours: 2}\n", "deadlines.reply"),
        ("applies:\n  default: [respond]\n", "applies.default.0"),
        ("applies:\n  levels:\n    严重: [response]\n", "applies.levels.严重"),
        ("working_day_end: 17:30\n", 'in quotes, e.g. "17:30"'),
        ("deadline: {}\n", "deadline: Extra inputs"),
        ("deadlines: [\n", "not valid YAML"),
    ],
)
def test_policy_errors_name_the_field(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        Policies.load(path)
    assert str(path) in str(info.value) and fragment in str(info.value)


def test_unknown_kind_and_naive_start_are_refused(policies: Policies, cal: WorkCalendar) -> None:
    with pytest.raises(UnknownDeadlineKind, match="message_reply"):
        due_for("reply", datetime(2026, 11, 23, tzinfo=CN_TZ), policies=policies, calendar=cal)
    with pytest.raises(ValueError, match="timezone-aware"):
        due_for("response", datetime(2026, 11, 23), policies=policies, calendar=cal)


@dataclass
class Stored:
    kind: str
    start: datetime
    due_at: datetime
    calendar_version: str | None


def _store(kind: str, start: datetime, policies: Policies, cal: WorkCalendar) -> Stored:
    due = due_for(kind, start, policies=policies, calendar=cal)
    return Stored(kind, start, due.due_at, due.calendar_version)


def test_recompute_after_an_override_arrives(tmp_path: Path, policies: Policies, cal: WorkCalendar) -> None:
    start = datetime(2027, 2, 4, 11, tzinfo=CN_TZ)
    provisional = _store("message_reply", start, policies, cal)
    untouched = _store("message_reply", datetime(2027, 3, 1, 9, tzinfo=CN_TZ), policies, cal)
    wall_clock = _store("response", start, policies, cal)
    (tmp_path / "2027.yaml").write_text(OFFICIAL_2027, encoding="utf-8")
    official = WorkCalendar.load(tmp_path / "2027.yaml")

    result = recompute([provisional, untouched, wall_clock], official, policies=policies)

    assert [r.deadline for r in result] == [provisional, untouched]
    moved, same = result
    assert moved.changed and moved.deadline.due_at.date() == date(2027, 2, 15)
    assert moved.due.due_at.date() == date(2027, 2, 17)
    assert moved.due.provisional is False and moved.due.calendar_version == official.version
    assert not same.changed and same.due.provisional is False
    # Stored under the new version, nothing is recomputed again.
    for r in result:
        r.deadline.due_at, r.deadline.calendar_version = r.due.due_at, r.due.calendar_version
    assert recompute([provisional, untouched, wall_clock], official, policies=policies) == []
