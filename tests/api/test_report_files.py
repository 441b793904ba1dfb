"""A report file is written whole or not at all."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from reports import files


def test_written_whole_with_the_usual_permissions(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "报告.pdf"
    files.write_atomic(target, b"%PDF-1.7 whole")
    assert target.read_bytes() == b"%PDF-1.7 whole"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["报告.pdf"]


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "日报.pdf"
    target.write_bytes(b"old complete report")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        files.write_atomic(target, b"new report, half written")
    assert target.read_bytes() == b"old complete report"
    assert [p.name for p in tmp_path.iterdir()] == ["日报.pdf"]
