"""Coverage-centric coreset selection, CCS (Zheng et al., ICLR 2023, "Coverage-centric Coreset
Selection for High Pruning Rates"): keeping only the hardest samples leaves most of the data
uncovered at small budgets, so CCS drops the hardest `beta` fraction (often mislabeled) and
samples the rest evenly across equal-width strata of the score.

Scores follow the library rule: higher = harder (EL2N, GraNd, entropy, ...).
"""
from __future__ import annotations

import numbers

import numpy as np

from distill_lab._validation import check_random_state, is_int, resolve_budget
from distill_lab.criteria import rank

__all__ = ["strata", "allocate", "ccs", "check_beta", "check_n_strata"]


def _check_scores(scores) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"scores must be a non-empty 1-D array (one score per sample), got "
                         f"shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"scores contains {int(np.sum(~np.isfinite(arr)))} NaN or infinite "
                         "value(s); only finite scores are allowed")
    return arr


def check_n_strata(n_strata) -> int:
    """The number of equal-width score strata: a positive int."""
    if not is_int(n_strata) or n_strata < 1:
        raise ValueError(f"n_strata={n_strata!r} must be a positive int")
    return int(n_strata)


def check_beta(beta) -> float:
    """The hard cutoff: a fraction in [0, 1) of the hardest samples to drop."""
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0.0 <= beta < 1.0:
        raise ValueError(f"beta={beta!r} must be a fraction in [0, 1): the share of the hardest "
                         "samples dropped before stratified sampling")
    return float(beta)


def strata(scores, n_strata: int) -> np.ndarray:
    """The stratum of each score (n,) int64 in [0, n_strata): the range [min, max] cut into
    `n_strata` equal-width intervals, closed on the left (the maximum joins the last one)."""
    scores = _check_scores(scores)
    n_strata = check_n_strata(n_strata)
    lo, hi = scores.min(), scores.max()
    if hi == lo:                                   # one value: a single stratum
        return np.zeros(len(scores), dtype=np.int64)
    ids = np.floor((scores - lo) * n_strata / (hi - lo)).astype(np.int64)
    return np.minimum(ids, n_strata - 1)


def allocate(sizes, budget: int) -> np.ndarray:
    """Per-stratum counts: visit the strata from smallest to largest (ties: lower index) and give
    each min(its size, remaining budget // remaining strata), as in the paper's Algorithm 1.

    The total is exactly min(budget, sum(sizes)): a stratum that takes fewer than its size leaves
    at most (its share + 1) per later stratum, and the later strata are at least that large.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    counts = np.zeros(len(sizes), dtype=np.int64)
    left = int(budget)
    for r, s in enumerate(np.argsort(sizes, kind="stable")):
        counts[s] = min(sizes[s], left // (len(sizes) - r))
        left -= counts[s]
    return counts


def ccs(scores, budget, *, beta: float = 0.1, n_strata: int = 50, random_state=None) -> np.ndarray:
    """Coverage-centric coreset selection (Zheng et al. 2023, Algorithm 1) on one pool.

    Drops the round(beta * n) highest scores (fewer when that would leave less than `budget`
    samples), cuts the remaining score range into `n_strata` equal-width strata, `allocate`s the
    budget across them and samples each stratum's share uniformly without replacement.
    Returns `budget` indices (k,) int64 ordered by score, highest first (`rank`).
    """
    scores = _check_scores(scores)
    beta = check_beta(beta)
    n_strata = check_n_strata(n_strata)
    n = len(scores)
    k = resolve_budget(budget, n)
    rng = check_random_state(random_state)
    order = rank(scores)                                     # hardest first
    kept = order[min(int(round(beta * n)), n - k):]          # (m,) the hard cutoff
    stratum = strata(scores[kept], n_strata)                 # (m,)
    counts = allocate(np.bincount(stratum, minlength=n_strata), k)
    picked = np.concatenate([rng.choice(kept[stratum == b], size=counts[b], replace=False)
                             for b in range(n_strata)])
    return picked[rank(scores[picked])].astype(np.int64)
