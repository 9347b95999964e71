"""distill_lab/_io.py: one atomic write (temporary file beside the target, fsync, os.replace)."""
import json
import os

import pytest

from distill_lab import _io
from distill_lab._io import (atomic_write_bytes, atomic_write_json, atomic_write_text,
                             atomic_writer, temp_files)


def test_forms_write_what_they_say(tmp_path):
    assert atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert atomic_write_text(tmp_path / "sub" / "a.txt", "é\n").read_text("utf-8") == "é\n"
    assert json.loads(atomic_write_json(tmp_path / "a.json", {"k": [1, 2]}).read_text()) == {
        "k": [1, 2]}
    assert sorted(os.listdir(tmp_path)) == ["a.bin", "a.json", "sub"]  # no temporary file left
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644


def test_an_error_keeps_the_previous_content_and_removes_the_temporary_file(tmp_path):
    path = atomic_write_text(tmp_path / "r.json", "old")
    with pytest.raises(RuntimeError, match="stop"):
        with atomic_writer(path) as fh:
            fh.write(b"half")
            assert len(temp_files(path)) == 1
            raise RuntimeError("stop")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["r.json"]
    with pytest.raises(ValueError):
        atomic_write_json(path, {"x": float("nan")})  # refused before anything is written
    assert path.read_text() == "old"


def test_writes_are_fsynced_before_the_replace(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(_io.os, "fsync", lambda fd: calls.append("fsync"))
    real_replace = os.replace
    monkeypatch.setattr(_io.os, "replace", lambda a, b: (calls.append("replace"),
                                                         real_replace(a, b)))
    atomic_write_bytes(tmp_path / "a", b"x")
    assert calls == ["fsync", "replace"]


def test_temp_files_are_only_those_of_the_path(tmp_path):
    names = [".run.pt.k3x9.tmp", ".run.pt.bak.k3x9.tmp", "run.pt.tmp", ".run.pt.notes"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in temp_files(tmp_path / "run.pt")] == [".run.pt.k3x9.tmp"]
    assert temp_files(tmp_path / "absent" / "x") == []
