"""Greedy k-center (Sener & Savarese 2018) and herding (Welling 2009) over row chunks: the picks of
`kcenter.kcenter_greedy` and `herding.herding`, with peak memory beyond the input
bounded by `chunk_size` rows of features plus a few (n,) vectors, for millions of samples.

k-center also skips, exactly, the samples a new center cannot come closer to: if the new center q
is at distance >= 2 r from center c, every sample x owned by c (||x - c|| <= r) has
||x - q|| >= ||q - c|| - ||x - c|| >= r, so its distance to the centers does not change (the
triangle-inequality pruning of Elkan 2003). On clustered data a step then touches one cluster.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from distill_lab._validation import (check_array_2d, check_chunk_size, check_random_state,
                                     check_subset, resolve_budget)
from distill_lab.criteria.kernels import sq_distances

__all__ = ["kcenter_chunked", "herding_chunked", "check_chunk_size"]  # the last from _validation

_SLACK = 1e-4   # pruning margin in squared distance, relative to the largest squared norm


class _Rows:
    """Centred rows of X, `chunk_size` at a time (the centred copy of X never exists whole).
    Centring matches `kernels.centered`, so every value is computed as there."""

    def __init__(self, X, chunk_size):
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
        self.X = check_array_2d(X, name="X", dtype=dtype)
        self.mean = self.X.mean(axis=0, dtype=np.float64).astype(self.X.dtype)
        self.chunk = chunk_size
        # one reused buffer: a chunk that fits in cache is centred and multiplied there
        self.buffer = np.empty((min(chunk_size, len(self.X)), self.X.shape[1]), self.X.dtype)
        self.sq = np.empty(len(self.X), dtype=self.X.dtype)                  # (n,)
        for a in range(0, len(self.X), chunk_size):
            Z = self.X[a:a + chunk_size] - self.mean
            self.sq[a:a + chunk_size] = np.einsum("ij,ij->i", Z, Z)

    def take(self, idx):
        return self.X[idx] - self.mean                                       # (len(idx), d)

    def spans(self, idx=None):
        """(positions, centred rows) chunk by chunk, over all rows or the positions `idx`."""
        n = len(self.X) if idx is None else len(idx)
        for a in range(0, n, self.chunk):
            if idx is None:
                Z = self.buffer[:min(self.chunk, n - a)]
                yield slice(a, a + len(Z)), np.subtract(self.X[a:a + len(Z)], self.mean, out=Z)
            else:
                yield idx[a:a + self.chunk], self.take(idx[a:a + self.chunk])


def kcenter_chunked(X, budget, *, initial=None, random_state=None, chunk_size=8192,
                    verbose=False) -> np.ndarray:
    """`kcenter.kcenter_greedy`'s picks (same arguments), holding at most `chunk_size`
    centred rows at once, and skipping the samples a new center cannot reach (module docstring)."""
    rows = _Rows(X, check_chunk_size(chunk_size))
    n, sq = len(rows.X), rows.sq
    k = resolve_budget(budget, n)
    tol = _SLACK * float(sq.max(initial=0.0))
    centers = np.empty((k + (0 if initial is None else len(initial)), rows.X.shape[1]))
    if initial is None:
        first = int(check_random_state(random_state).choice(n))
        seeds = np.array([first])
    else:
        seeds = check_subset(initial, n, name="initial")
        if k > n - len(seeds):
            raise ValueError(f"budget={budget} asks for {k} new centers but only "
                             f"{n - len(seeds)} samples are outside `initial`")
    min_d2 = np.full(n, np.inf, dtype=rows.X.dtype)
    owner = np.zeros(n, dtype=np.int64)                  # which center is nearest so far
    centers[:len(seeds)] = rows.take(seeds)
    for pos, Z in rows.spans():
        for b in range(0, len(seeds), rows.chunk):       # (chunk, chunk) blocks, never (n, m)
            block = seeds[b:b + rows.chunk]
            D = sq_distances(Z, rows.take(block), sq[pos], sq[block])      # (chunk, block)
            near = D.argmin(axis=1)
            d2 = D[np.arange(len(D)), near]
            better = d2 < min_d2[pos]
            owner[pos] = np.where(better, near + b, owner[pos])
            min_d2[pos] = np.where(better, d2, min_d2[pos])
    min_d2[seeds] = -1
    owner[seeds] = np.arange(len(seeds))
    radius2 = np.zeros(len(centers))
    np.maximum.at(radius2, owner, np.maximum(min_d2, 0))
    m = len(seeds)
    picked = [int(seeds[0])] if initial is None else []
    for _ in tqdm(range(k - len(picked)), desc="k-center", disable=not verbose):
        j = int(np.argmax(min_d2))                 # farthest from every center; ties: lowest index
        picked.append(j)
        q = rows.take([j])                                                   # (1, d)
        # Centers whose samples may come closer to q: ||q - c|| < r_c + sqrt(r_c^2 + tol).
        dc = np.sqrt(sq_distances(centers[:m], q.astype(np.float64))[:, 0])
        r = np.sqrt(radius2[:m])
        reach = np.flatnonzero(dc < r + np.sqrt(r * r + tol))
        hit = np.zeros(m, dtype=bool)
        hit[reach] = True
        touched = np.flatnonzero(hit[owner])
        for pos, Z in rows.spans(touched):
            d2 = sq_distances(Z, q, sq[pos], sq[[j]])[:, 0]
            closer = d2 < min_d2[pos]
            owner[pos[closer]] = m
            min_d2[pos] = np.minimum(min_d2[pos], d2)
        min_d2[j], owner[j] = -1, m        # never picked twice, even with duplicates
        centers[m] = q[0]
        radius2[reach] = 0
        radius2[m] = 0
        np.maximum.at(radius2, owner[touched], np.maximum(min_d2[touched], 0))
        m += 1
    return np.asarray(picked, dtype=np.int64)


def herding_chunked(X, budget, *, chunk_size=8192, verbose=False) -> np.ndarray:
    """`herding.herding`'s picks, scoring `chunk_size` centred rows at a time: each step
    adds the sample minimising ||x||^2 + 2 x . total (ties: the lowest index), no repeats."""
    rows = _Rows(X, check_chunk_size(chunk_size))
    n = len(rows.X)
    k = resolve_budget(budget, n)
    total = np.zeros(rows.X.shape[1], dtype=np.float64)     # sum of the picks so far, (d,)
    taken = np.zeros(n, dtype=bool)
    picked = []
    for _ in tqdm(range(k), desc="herding", disable=not verbose):
        t = total.astype(rows.X.dtype)
        best, j = np.inf, -1
        for pos, Z in rows.spans():
            score = rows.sq[pos] + 2 * (Z @ t)                              # (chunk,)
            score[taken[pos]] = np.inf
            i = int(np.argmin(score))
            if score[i] < best:                  # strict: ties keep the earlier chunk
                best, j = score[i], pos.start + i
        picked.append(j)
        taken[j] = True
        total += rows.take(j)
    return np.asarray(picked, dtype=np.int64)
