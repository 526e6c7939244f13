"""The one atomic-write helper (almea.atomic_write) that exports, maps, manifests, reports and
checkpoints go through: a failed write leaves the old file and no temporary behind."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest

from almea.atomic_write import write_atomically


def test_text_bytes_and_writer_functions(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "out.txt"
    write_atomically(path, "é\n")
    assert path.read_bytes() == "é\n".encode("utf-8")
    write_atomically(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    write_atomically(path, lambda file: file.write(b"streamed"))
    assert path.read_bytes() == b"streamed"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644                 # shared, unlike mkstemp's default
    assert [p.name for p in path.parent.iterdir()] == ["out.txt"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "ent_links"
    path.write_text("old\n")

    def half_then_crash(file) -> None:
        file.write(b"new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, half_then_crash)
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["ent_links"]
