"""Atomic training checkpoints: write to a temporary file in the same folder, then `os.replace`.

A crash or Ctrl-C during a write therefore leaves either the previous checkpoint or the new one,
never a half-written file; a temporary file that a killed process left behind is removed by the
next save to the same path. Loading checks a format tag and the run's metadata (model settings,
data fingerprint, device type) and raises `CheckpointError` without touching the file when either
does not match.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import torch

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "data_fingerprint"]

FORMAT = "distill_lab.generative.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint cannot be resumed from: unreadable, not ours, or from another run."""


def data_fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    """A short SHA-1 of the training arrays, so a checkpoint is never resumed on other data."""
    digest = hashlib.sha1()
    digest.update(np.ascontiguousarray(X).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return f"{X.shape}:{digest.hexdigest()[:16]}"


def _temp_files(path: Path) -> list[Path]:
    """The temporary files `save_checkpoint` creates for `path`: .{name}.<mkstemp id>.tmp.
    (The id has no dot, so the temporary files of "run.pt.bak" are not those of "run.pt".)"""
    pattern = re.compile(re.escape(f".{path.name}.") + r"[^.]+" + re.escape(".tmp"))
    return [p for p in path.parent.iterdir() if pattern.fullmatch(p.name)]


def _remove_stale_temp_files(path: Path) -> None:
    # One run writes a checkpoint path at a time (resuming assumes it too), so a temporary file
    # of `path` that exists before this save starts was left by an earlier save that was killed
    # before its cleanup below could run (SIGKILL, out of memory, a restarted kernel).
    for tmp in _temp_files(path):
        tmp.unlink(missing_ok=True)


def save_checkpoint(path, meta: dict, state: dict) -> Path:
    """Write {format, meta, state} to `path` atomically and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save({"format": FORMAT, "meta": meta, "state": state}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def load_checkpoint(path, expected_meta: dict) -> dict:
    """Return the saved `state` of `path`; raise CheckpointError if unreadable or mismatched."""
    path = Path(path)
    hint = (f"the file was left untouched; delete {str(path)!r} or pass resume=False to start a "
            "new run")
    try:
        with open(path, "rb") as fh:
            blob = torch.load(fh, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"checkpoint {str(path)!r} is corrupt or unreadable "
                              f"({type(exc).__name__}: {exc}); {hint}") from exc
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} is not a distill_lab generative "
                              f"checkpoint (expected format {FORMAT!r}); {hint}")
    saved = blob["meta"]
    keys = set(saved) | set(expected_meta)
    diff = sorted(k for k in keys if saved.get(k) != expected_meta.get(k))
    if diff:
        detail = "; ".join(f"{k}: checkpoint has {saved.get(k)!r}, this run has "
                           f"{expected_meta.get(k)!r}" for k in diff)
        raise CheckpointError(f"checkpoint {str(path)!r} belongs to a different run ({detail}); "
                              f"{hint}")
    return blob["state"]
