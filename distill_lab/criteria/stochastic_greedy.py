"""Stochastic greedy (Mirzasoleiman et al., AAAI 2015, "Lazier than Lazy Greedy"): each step
evaluates the marginal gain of only a random sample of s = ceil((n / k) log(1 / epsilon))
candidates and adds the best of them.

For a monotone submodular F the picks are within (1 - 1/e - epsilon) of the optimum in
expectation, after O(n log(1 / epsilon)) gain evaluations in all (greedy needs O(n k)).
"""
from __future__ import annotations

import math
import numbers

import numpy as np
from tqdm.auto import tqdm

from distill_lab._validation import check_random_state

__all__ = ["sample_size", "stochastic_greedy"]


def sample_size(n: int, k: int, epsilon: float) -> int:
    """Candidates per step, ceil((n / k) log(1 / epsilon)), at most n."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) \
            or not 0.0 < epsilon < 1.0:
        raise ValueError(f"epsilon={epsilon!r} must be a number in (0, 1): the accuracy of "
                         "stochastic greedy, (1 - 1/e - epsilon) of the optimum in expectation")
    return min(n, math.ceil(n / k * math.log(1.0 / epsilon)))


def _distinct(rng, m: int, s: int) -> np.ndarray:
    """s distinct positions of range(m), a uniform random subset, sorted. Rejection draws cost
    O(s) where a permutation would cost O(m) per step (60k-sample pools)."""
    if 3 * s >= m:
        return np.sort(rng.permutation(m)[:s])
    out = np.unique(rng.randint(0, m, size=s))
    while len(out) < s:          # the first s distinct values of an i.i.d. sequence: uniform
        out = np.unique(np.concatenate([out, rng.randint(0, m, size=s - len(out))]))
    return out


def stochastic_greedy(n: int, k: int, gains, add, *, epsilon: float = 0.01, random_state=None,
                      verbose: bool = False) -> np.ndarray:
    """Pick k of range(n): each step draws `sample_size(n, k, epsilon)` not-yet-picked candidates
    uniformly, asks `gains(candidates)` for their exact marginal gains F(S + j) - F(S) and calls
    `add(j)` for the best (ties: the lowest index). Returns the picks (k,) int64 in order.
    """
    rng = check_random_state(random_state)
    s = sample_size(n, k, epsilon)
    remaining = np.arange(n, dtype=np.int64)     # remaining[:n - step] are not picked yet
    picked = []
    for step in tqdm(range(k), desc="stochastic greedy", disable=not verbose):
        m = n - step
        pos = _distinct(rng, m, min(s, m))       # (s,) positions in remaining
        ids = remaining[pos]
        g = np.asarray(gains(ids), dtype=np.float64)
        best = np.flatnonzero(g == g.max())
        b = best[np.argmin(ids[best])]
        picked.append(int(ids[b]))
        add(int(ids[b]))
        remaining[pos[b]] = remaining[m - 1]      # swap-remove: O(1)
    return np.asarray(picked, dtype=np.int64)
