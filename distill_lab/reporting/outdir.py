"""The report folder (`out_dir`, `--out`): checked and created before a run starts, then held by one
run at a time through a lock file (the filelock package), because a run rewrites the folder's
manifest whole and a second run at the same time would drop the first one's rows."""
from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from pathlib import Path

from distill_lab._io import atomic_write_text

__all__ = ["OutDirInUse", "open_out_dir", "out_dir_lock"]

_LOCK, _OWNER = ".distill-lab.lock", ".distill-lab.pid"
# (folder, thread) -> depth: a run nested in another run of the same thread (the command takes the
# lock before starting Dask, the engine then takes it again) reuses the lock it holds.
_HELD: dict = {}


class OutDirInUse(RuntimeError):
    """Another run, in this process or another one, holds the report folder."""


def open_out_dir(out_dir, sources=()) -> Path:
    """out_dir, resolved and created, once it is known to be a folder this process can write and
    none of the notebooks folders `sources` (the executed copies would overwrite the sources)."""
    out_dir = Path(out_dir).resolve()
    if any(out_dir == Path(source).resolve() for source in sources):
        raise ValueError(f"out_dir={str(out_dir)!r} is the notebooks folder: the executed copies "
                         "would overwrite the sources; choose another folder, e.g. reports/NAME")
    existing = next(p for p in [out_dir, *out_dir.parents] if p.exists())
    if not existing.is_dir():
        raise ValueError(f"out_dir={str(out_dir)!r} cannot be a report folder: {str(existing)!r} "
                         "is a file; choose a folder, e.g. reports/NAME")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):  # mkdir succeeds on a read-only folder
            pass
    except OSError as exc:
        raise OSError(f"out_dir={str(out_dir)!r} cannot be written: "
                      f"{exc.strerror or exc}; choose a folder you can write to") from None
    return out_dir


def _owner(out_dir: Path) -> str:
    try:
        return f"pid {int((out_dir / _OWNER).read_text(encoding='utf-8'))}"
    except (OSError, ValueError):  # it has just started or is ending: no pid file yet or any more
        return "pid unknown"


@contextlib.contextmanager
def out_dir_lock(out_dir):
    """Hold out_dir (a folder) for this run; raise OutDirInUse at once, naming the folder and the
    holder's pid, when another run holds it."""
    from filelock import FileLock, Timeout  # lazy: a dependency of the runner only

    out_dir = Path(out_dir).resolve()
    key = (out_dir, threading.get_ident())
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    lock = FileLock(str(out_dir / _LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise OutDirInUse(f"{str(out_dir)!r} is in use by another run ({_owner(out_dir)}); wait "
                          "for it to finish, or pass another --out (out_dir)") from None
    _HELD[key] = 1
    try:
        atomic_write_text(out_dir / _OWNER, f"{os.getpid()}\n")
        yield
    finally:
        del _HELD[key]
        (out_dir / _OWNER).unlink(missing_ok=True)
        lock.release()
