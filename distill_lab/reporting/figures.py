"""A notebook's headline figures: written as JSON by its last cell with `write_results`, read back
by the runner for the report's index (never scraped from the outputs)."""
from __future__ import annotations

import json
import math
import numbers
from pathlib import Path

import numpy as np

from distill_lab._io import atomic_write_text

__all__ = ["json_safe", "write_results", "read_results"]


def json_safe(value):
    """Numpy scalars/arrays -> Python, NaN/inf -> None, tuples -> lists, keys -> str."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"figures values must be numbers, strings, None, lists or dicts of those, "
                    f"got {type(value).__name__}: {value!r}")


def write_results(path, figures: dict) -> None:
    """Write a notebook's headline figures as JSON (atomically); the report's index shows them.

    Returns None so that, as a notebook's last expression, it displays nothing (no machine path).
    """
    if not isinstance(figures, dict):
        raise TypeError(f"figures must be a dict of name -> value, got {type(figures).__name__}")
    atomic_write_text(path, json.dumps(json_safe(figures), indent=2, allow_nan=False) + "\n")


def read_results(path) -> dict:
    """Return the figures a notebook wrote, or {} when it wrote none."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
