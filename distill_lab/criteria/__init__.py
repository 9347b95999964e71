"""Selection criteria: pure functions that return one score per sample (higher = keep first).

The ordering rule lives here and only here: `rank` sorts by descending score, ties broken by the
lower index (a stable sort), so every selector orders its picks the same way.
"""
from __future__ import annotations

import numpy as np


def rank(scores) -> np.ndarray:
    """Indices that sort `scores` from highest to lowest; ties keep index order."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.argsort(-scores, kind="stable").astype(np.int64)


def top_k(scores, k: int) -> np.ndarray:
    """The `k` highest-scoring indices, best first (see `rank`)."""
    return rank(scores)[:k]
