"""Atomic training checkpoints, written through `distill_lab._io.atomic_writer` (a temporary file in
the same folder, fsynced, then `os.replace`).

A crash or Ctrl-C during a write therefore leaves either the previous checkpoint or the new one,
never a half-written file; a temporary file that a killed process left behind is removed by the
next save to the same path. Loading checks a format tag and the run's metadata (model settings,
data fingerprint, device type) and raises `CheckpointError` without touching the file when either
does not match.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from distill_lab._io import atomic_writer, data_fingerprint, temp_files

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "data_fingerprint"]

FORMAT = "distill_lab.generative.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint cannot be resumed from: unreadable, not ours, or from another run."""


def save_checkpoint(path, meta: dict, state: dict) -> Path:
    """Write {format, meta, state} to `path` atomically (fsynced) and return the path."""
    # One run writes a checkpoint path at a time (resuming assumes it too), so a temporary file
    # of `path` that exists before this save starts was left by an earlier save that was killed
    # before its cleanup could run (SIGKILL, out of memory, a restarted kernel).
    for tmp in temp_files(path):
        tmp.unlink(missing_ok=True)
    with atomic_writer(path) as fh:
        torch.save({"format": FORMAT, "meta": meta, "state": state}, fh)
    return Path(path)


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
