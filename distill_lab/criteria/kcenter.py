"""Greedy k-center (Sener & Savarese, ICLR 2018, the core-set approach): repeatedly add the sample
farthest from the centers so far, a 2-approximation of the minimal covering radius
max_i min_{j in S} ||x_i - x_j|| (Gonzalez 1985). `chunked.kcenter_chunked` gives the same picks
with bounded memory for millions of samples.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from distill_lab._validation import (check_chunk_size, check_random_state, check_subset,
                                     resolve_budget)
from distill_lab.criteria.kernels import as_features, centered, sq_distances

__all__ = ["kcenter_greedy"]


def kcenter_greedy(X, budget, *, initial=None, random_state=None, chunk_size=2048,
                   verbose=False) -> np.ndarray:
    """Greedy k-center (Sener & Savarese 2018): repeatedly add the sample farthest from the
    centers so far; a 2-approximation of the minimal covering radius max_i min_{j in S} ||x_i - x_j||.

    The first center is drawn with `random_state` unless `initial` (already chosen positions, e.g.
    a labelled pool) is given; `initial` is not part of the returned `budget` new indices.
    """
    X = centered(as_features(X))
    n = len(X)
    k = resolve_budget(budget, n)
    chunk_size = check_chunk_size(chunk_size)
    sq = np.einsum("ij,ij->i", X, X)                              # (n,)
    picked = []
    if initial is None:
        first = int(check_random_state(random_state).choice(n))
        picked.append(first)
        min_d2 = sq_distances(X, X[[first]], sq, sq[[first]])[:, 0]
    else:
        initial = check_subset(initial, n, name="initial")
        if k > n - len(initial):
            raise ValueError(f"budget={budget} asks for {k} new centers but only "
                             f"{n - len(initial)} samples are outside `initial`")
        min_d2 = np.full(n, np.inf, dtype=X.dtype)
        for start in range(0, len(initial), chunk_size):      # (n, chunk) blocks, never (n, m)
            block = initial[start:start + chunk_size]
            np.minimum(min_d2, sq_distances(X, X[block], sq, sq[block]).min(1), out=min_d2)
        min_d2[initial] = -1
    if picked:
        min_d2[picked] = -1
    for _ in tqdm(range(k - len(picked)), desc="k-center", disable=not verbose):
        j = int(np.argmax(min_d2))                 # farthest from every center; ties: lowest index
        picked.append(j)
        np.minimum(min_d2, sq_distances(X, X[[j]], sq, sq[[j]])[:, 0], out=min_d2)
        min_d2[j] = -1                              # never picked twice, even with duplicates
    return np.asarray(picked, dtype=np.int64)
