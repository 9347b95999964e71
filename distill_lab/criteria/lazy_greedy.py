"""Minoux's lazy greedy (1978) for a monotone submodular F: old marginal gains stay valid upper
bounds as the set grows, so only the candidates whose bound reaches the top are re-evaluated, and
the picks are exactly those of the plain greedy. The facility-location engines (`facility_dense`,
`facility_sparse`) run on it; `stochastic_greedy` is the sampled alternative.
"""
from __future__ import annotations

import heapq

import numpy as np
from tqdm.auto import tqdm

__all__ = ["lazy_greedy"]

_BATCH, _MAX_BATCH = 32, 1024  # stale candidates re-evaluated in one call of fresh_gains


def lazy_greedy(gains, k, fresh_gains, add, *, verbose=False) -> np.ndarray:
    """Pick k of range(n), n = len(gains): `gains` (n,) the exact initial gains F({j}) - F({}),
    `fresh_gains(batch)` the exact gains F(S + j) - F(S) now, `add(j)` commits a pick. Returns the
    picks (k,) int64 in order.

    A heap holds (-bound, j): the top is the best bound, ties to the lowest index. A top whose gain
    is fresh is the exact greedy choice. Stale bounds are re-evaluated in batches that double
    within a step: early steps re-evaluate thousands, late ones a few dozen.
    """
    gains = np.asarray(gains, dtype=np.float64)
    n = len(gains)
    heap = [(-float(g), j) for j, g in enumerate(gains)]
    heapq.heapify(heap)
    fresh = np.ones(n, dtype=bool)              # the initial gains are exact for S = {}
    picked = []
    for _ in tqdm(range(k), desc="facility location", disable=not verbose):
        size = _BATCH
        while not fresh[heap[0][1]]:
            batch = []
            while heap and len(batch) < size and not fresh[heap[0][1]]:
                batch.append(heapq.heappop(heap)[1])
            for j, g in zip(batch, fresh_gains(np.asarray(batch))):
                heapq.heappush(heap, (-float(g), j))
            fresh[batch] = True
            size = min(2 * size, _MAX_BATCH)
        j = heapq.heappop(heap)[1]
        picked.append(j)
        add(j)
        fresh[:] = False
    return np.asarray(picked, dtype=np.int64)
