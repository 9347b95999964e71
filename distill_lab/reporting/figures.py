"""A notebook's figures: written as JSON by its last cell with `write_results`, read back by the
runner for the report's index (never scraped from the outputs). A notebook names the few figures
its index row leads with, in words and with units (`headline=`); the rest stay one click away."""
from __future__ import annotations

import json
import math
import numbers
from pathlib import Path

import numpy as np

from distill_lab._io import atomic_write_text

__all__ = ["json_safe", "write_results", "read_results", "headline_entries", "HEADLINE_KEY",
           "MAX_HEADLINE"]

HEADLINE_KEY = "headline"  # reserved in a results file: [{"key", "label", "unit"}, ...]
MAX_HEADLINE = 6


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


def headline_entries(figures: dict, headline: dict) -> list:
    """`headline` (figure key -> (label, unit)) checked against `figures`, as stored in the file:
    at most MAX_HEADLINE entries, each naming a number or a string that `figures` holds."""
    if not isinstance(headline, dict) or not 1 <= len(headline) <= MAX_HEADLINE:
        raise ValueError(f"headline must be a dict of 1 to {MAX_HEADLINE} figure keys -> (label, "
                         f"unit), got {headline!r}")
    entries = []
    for key, spec in headline.items():
        if key not in figures:
            raise ValueError(f"headline names {key!r}, which figures does not hold; figures has "
                             f"{sorted(figures)}")
        if isinstance(figures[key], (dict, list)):
            raise ValueError(f"headline figure {key!r} must be a number or a string, got "
                             f"{type(figures[key]).__name__}")
        if (not isinstance(spec, (tuple, list)) or len(spec) != 2
                or not all(isinstance(part, str) for part in spec) or not spec[0]):
            raise ValueError(f"headline[{key!r}]={spec!r} must be (label, unit), two strings, the "
                             "label non-empty: ('random accuracy', '%'), ('k', '')")
        entries.append({"key": key, "label": spec[0], "unit": spec[1]})
    return entries


def write_results(path, figures: dict, headline: dict | None = None) -> None:
    """Write a notebook's figures as JSON (atomically) for the report's index.

    `headline` maps the keys of the figures that the index shows first to (label, unit), in
    order, at most six: `{"random_accuracy": ("random, 10% budget", "%")}`. Without it the index
    shows the first six numbers under their keys.
    Returns None so that, as a notebook's last expression, it displays nothing (no machine path).
    """
    if not isinstance(figures, dict):
        raise TypeError(f"figures must be a dict of name -> value, got {type(figures).__name__}")
    if HEADLINE_KEY in figures:
        raise ValueError(f"figures must not use the key {HEADLINE_KEY!r}: pass headline= instead")
    figures = json_safe(figures)
    if headline is not None:
        figures[HEADLINE_KEY] = headline_entries(figures, headline)
    atomic_write_text(path, json.dumps(figures, indent=2, allow_nan=False) + "\n")


def read_results(path) -> dict:
    """Return the figures a notebook wrote, or {} when it wrote none."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
