"""Atomic file writes: a temporary file beside the target, flushed and fsynced, then os.replace, so
that a reader (or a crash, or a power cut) never sees half a file. `atomic_writer` is the one
implementation; bytes, text and JSON are thin forms of it. Also the YAML mapping reader."""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

# A folder that `distill-lab run` and sweeps name to their notebooks' kernels for the length of
# one run: notebooks 02-11 each train the same full baseline (same data, protocol and seeds), and
# the first to finish it leaves it there for the others (`evaluation.run_full`).
RUN_CACHE_ENV = "DISTILL_LAB_RUN_CACHE"


@contextmanager
def atomic_writer(path) -> Iterator[BinaryIO]:
    """Open a temporary file beside `path` for binary writing; when the block ends without an
    error, flush it, `os.fsync` it and `os.replace` it onto `path`. On an error (a failed
    checksum, a Ctrl-C) the temporary file is removed and `path` keeps its previous content.

    The form for writers that stream (`torch.save(obj, fh)`, a download read block by block); the
    temporary file is named .{name}.<random id>.tmp (see `temp_files`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())  # on disk before the rename, so a power cut leaves old or new
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def temp_files(path) -> list[Path]:
    """The temporary files `atomic_writer` creates for `path` that still exist (left by a killed
    process): .{name}.<mkstemp id>.tmp. The id has no dot, so the temporary files of "run.pt.bak"
    are not those of "run.pt"."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pattern = re.compile(re.escape(f".{path.name}.") + r"[^.]+" + re.escape(".tmp"))
    return [p for p in path.parent.iterdir() if pattern.fullmatch(p.name)]


def atomic_write_bytes(path, data: bytes) -> Path:
    with atomic_writer(path) as fh:
        fh.write(data)
    return Path(path)


def atomic_write_text(path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def read_yaml_mapping(path, label: str) -> dict:
    """A YAML file holding a mapping; errors name `label` (e.g. "--params my.yaml") and the fix."""
    import yaml

    try:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise OSError(f"{label} cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{label} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"{label} must hold a YAML mapping of name: value, "
                         f"got {type(loaded).__name__}")
    return loaded


def data_fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    """A short SHA-1 of the training arrays: a checkpoint is never resumed on other data, a
    shared proxy never reused for it."""
    digest = hashlib.sha1()
    digest.update(np.ascontiguousarray(X).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return f"{X.shape}:{digest.hexdigest()[:16]}"
