"""The shipped playbooks load, cover every required phase, and the most specific one is chosen."""

from __future__ import annotations

from pathlib import Path

import pytest

from response_playbooks import REQUIRED_PHASES, PlaybookError, load_playbooks, select


def test_shipped_playbooks_cover_the_four_phases() -> None:
    books = load_playbooks()
    assert {b.id for b in books} >= {"default", "major_emergency", "message_reply"}
    for book in books:
        assert {s.phase for s in book.steps} >= set(REQUIRED_PHASES), book.id


def test_selection_prefers_the_most_specific() -> None:
    books = load_playbooks()
    assert select(books, category="交通运输", level=None).id == "default"
    assert select(books, category="卫生计生", level="一般").id == "public_health"
    # a 重大 health emergency needs the 5-hour / 24-hour playbook, not the ordinary health one
    major = select(books, category="卫生计生", level="重大")
    assert major.id == "major_emergency"
    assert any(s.within == "authoritative_info" for s in major.steps)
    assert any(s.within == "press_conference" for s in major.steps)
    assert select(books, category="城乡建设", level=None, kind="message").id == "message_reply"


def test_a_playbook_missing_a_phase_is_refused_with_the_file_named(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text(
        "id: default\nname: x\nsteps:\n  - {phase: 研判, action: 核实}\n  - {phase: 回应, action: 回应}\n",
        encoding="utf-8",
    )
    with pytest.raises(PlaybookError, match=r"default\.yaml.*督办"):
        load_playbooks(tmp_path)


def test_a_bad_level_names_the_field(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text(
        "id: default\nname: x\nmatch: {min_level: 很大}\nsteps: []\n", encoding="utf-8"
    )
    with pytest.raises(PlaybookError, match=r"default\.yaml: match\.min_level"):
        load_playbooks(tmp_path)
