"""Facility location on all pairs (Mirzasoleiman et al., ICML 2020, CRAIG): maximise
F(S) = sum_i max_{j in S} sim(i, j) with Minoux's lazy greedy (`lazy_greedy`) or the stochastic
greedy (Mirzasoleiman et al., AAAI 2015), on similarity blocks: the n x n matrix never exists.

The engine: `_Kernel` gives similarity blocks from one matrix product, `_initial_pass` sweeps the
pairs once for the singleton gains and each row's strongest similarities, `_Cover` keeps the exact
marginal gains as picks are added. Time grows as n^2; `facility_sparse` is the n * k path on a
k-nearest-neighbour graph.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from distill_lab._validation import check_chunk_size, check_random_state, resolve_budget
from distill_lab.criteria.kernels import (as_features, centered, check_similarity, median_gamma,
                                          unit_rows)
from distill_lab.criteria.lazy_greedy import lazy_greedy
from distill_lab.criteria.stochastic_greedy import sample_size, stochastic_greedy

__all__ = ["facility_location", "check_optimizer", "OPTIMIZERS"]

OPTIMIZERS = ("lazy", "stochastic")
_N_NEIGHBORS = 256  # about this many stored similarities per row once the row is well covered


def check_optimizer(optimizer, epsilon):
    """Facility location's optimizer: "lazy" (exact greedy) or "stochastic" with 0 < epsilon < 1."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is not supported; use one of {OPTIMIZERS}")
    sample_size(1, 1, epsilon)                                      # validates epsilon


class _Kernel:
    """sim(i, j) between rows of one feature matrix, block by block (the n x n matrix never exists).

    Features are augmented with two columns so that one matrix product gives the block directly:
    rbf: left_i . right_j = log sim = 2 gamma z_i.z_j - gamma |z_i|^2 - gamma |z_j|^2;
    cosine: left_i . right_j = sim = (1 + u_i.u_j) / 2. Column d of `left` is the row offset.
    """

    def __init__(self, X, similarity, gamma, random_state):
        self.similarity = similarity
        n, d = X.shape
        self.left = np.empty((n, d + 2), dtype=X.dtype)                 # (n, d + 2)
        self.right = np.empty((n, d + 2), dtype=X.dtype)
        if similarity == "cosine":
            U = unit_rows(X)
            self.left[:, :d], self.left[:, d], self.left[:, d + 1] = U / 2, 0.5, 0
            self.right[:, :d], self.right[:, d], self.right[:, d + 1] = U, 1, 0
        else:
            Z = centered(X)
            gamma = median_gamma(Z, random_state=random_state) if gamma is None else gamma
            neg_sq = -gamma * np.einsum("ij,ij->i", Z, Z, dtype=np.float64)   # (n,)
            Z = Z * np.sqrt(2 * gamma)
            self.left[:, :d], self.left[:, d], self.left[:, d + 1] = Z, neg_sq, 1
            self.right[:, :d], self.right[:, d], self.right[:, d + 1] = Z, 1, neg_sq

    def finish(self, M):
        """Turn a product block into similarities, in place."""
        if self.similarity == "cosine":
            return np.clip(M, 0, 1, out=M)
        M = np.minimum(M, 0, out=M)       # log sim <= 0; rounding can overshoot a little
        return np.exp(M, out=M)

    def __call__(self, rows, cols):
        """Similarities (len(rows), len(cols)); rows/cols are slices or index arrays."""
        return self.finish(self.left[rows] @ self.right[cols].T)


def _initial_pass(kernel, n, chunk_size, n_neighbors, verbose):
    """One sweep over the upper block triangle (sim is symmetric), never holding n x n.

    Returns F({j}) = sum_i sim(i, j) for every j, a per-row threshold tau (n,), and, grouped by
    candidate j (CSC-like: indptr (n+1,), rows, vals), every entry sim(i, j) > tau_i. tau_i is about
    the `n_neighbors`-th largest sim of row i, estimated on a fixed column sample; the lists are
    exact for whatever tau is used: a j missing from row i's list has sim(i, j) <= tau_i.
    """
    sample = np.unique(np.linspace(0, n - 1, min(n, 2048)).astype(np.int64))
    q = min(len(sample), max(1, int(round(n_neighbors * len(sample) / n))))
    tau = np.empty(n, dtype=kernel.left.dtype)
    for a in range(0, n, chunk_size):
        S = kernel(slice(a, a + chunk_size), sample)                # (chunk, |sample|)
        tau[a:a + chunk_size] = -np.partition(-S, q - 1, axis=1)[:, q - 1]
    sums = np.zeros(n, dtype=np.float64)
    R, C, V = [], [], []
    starts = range(0, n, chunk_size)
    for a in tqdm(starts, desc="facility location: gains", disable=not verbose):
        rows = slice(a, min(a + chunk_size, n))
        for b in starts[a // chunk_size:]:
            cols = slice(b, min(b + chunk_size, n))
            S = kernel(rows, cols)                                  # (chunk, chunk)
            sums[cols] += S.sum(axis=0, dtype=np.float64)
            i, j = np.nonzero(S > tau[rows][:, None])               # entries of rows i, cand. j
            R.append(i + a), C.append(j + b), V.append(S[i, j])
            if b != a:                                              # the mirrored block
                sums[rows] += S.sum(axis=1, dtype=np.float64)
                i, j = np.nonzero(S > tau[cols][None, :])
                R.append(j + b), C.append(i + a), V.append(S[i, j])
    R, C, V = np.concatenate(R), np.concatenate(C), np.concatenate(V)
    order = np.argsort(C, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(C, minlength=n))])
    return sums, tau, indptr, R[order].astype(np.int64), V[order]


class _Cover:
    """cover_i = max_{j in S} sim(i, j) and exact marginal gains F(S + j) - F(S).

    A row i is *dense* while cover_i < tau_i: any j may still raise it, so it is computed from
    features. Once cover_i >= tau_i only the j in its neighbour list can, and the stored
    similarities suffice. Dense rows live in a compact cache, rebuilt as they drain away.
    In the cache the offset column folds the cover in: rbf gives log(sim / cover), so
    max(sim - cover, 0) = cover * expm1(max(., 0)); cosine gives sim - cover directly.
    """

    _TINY = 1e-30        # cover floor inside log(); changes a gain by at most this much
    _OFF = -1e4          # offset that switches a (sparse) cached row off

    def __init__(self, kernel, tau, indptr, rows, vals):
        self.kernel, self.tau, self.indptr, self.rows, self.vals = kernel, tau, indptr, rows, vals
        n = len(tau)
        self.cover = np.zeros(n, dtype=tau.dtype)
        self.dense = np.ones(n, dtype=bool)
        self.cover_sparse = np.full(n, np.inf, dtype=tau.dtype)  # +inf on dense rows: no gain
        self._rebuild()

    def _rebuild(self):
        self.cached = np.flatnonzero(self.dense)                    # (m,) dense row ids
        self.plain = self.kernel.left[self.cached]                  # (m, d + 2)
        self.relative = self.plain.copy()                           # offset column: see above
        self._update_offsets()

    def _update_offsets(self):
        d, c = self.plain.shape[1] - 2, self.cover[self.cached]
        live = self.dense[self.cached]
        if self.kernel.similarity == "cosine":
            offset, self.weight = self.plain[:, d] - c, live.astype(c.dtype)
        else:
            offset = self.plain[:, d] - np.log(np.maximum(c, self._TINY))
            self.weight = np.where(live, np.maximum(c, self._TINY), 0).astype(c.dtype)
        self.relative[:, d] = np.where(live, offset, self._OFF)

    def _segments(self, batch):
        """Positions of the stored entries of every candidate in batch, and their batch slot."""
        starts, lens = self.indptr[batch], self.indptr[batch + 1] - self.indptr[batch]
        slot = np.repeat(np.arange(len(batch)), lens)
        pos = np.arange(lens.sum()) + np.repeat(starts - np.cumsum(lens) + lens, lens)
        return pos, slot

    def gains(self, batch):
        """F(S + j) - F(S) for every j in batch, (B,) float64."""
        out = np.zeros(len(batch), dtype=np.float64)
        if len(self.cached):
            M = self.relative @ self.kernel.right[batch].T         # (m, B)
            np.maximum(M, 0, out=M)
            if self.kernel.similarity == "rbf":
                np.expm1(M, out=M)
            out += self.weight @ M
        pos, slot = self._segments(batch)
        gain = self.vals[pos] - self.cover_sparse[self.rows[pos]]
        return out + np.bincount(slot, weights=np.maximum(gain, 0), minlength=len(batch))

    def add(self, j):
        if len(self.cached):
            sims = self.kernel.finish(self.plain @ self.kernel.right[j])   # (m,)
            self.cover[self.cached] = np.maximum(self.cover[self.cached], sims)
        pos = np.arange(self.indptr[j], self.indptr[j + 1])
        rows = self.rows[pos]                                       # unique within one j
        self.cover[rows] = np.maximum(self.cover[rows], self.vals[pos])
        np.less(self.cover, self.tau, out=self.dense)
        self.cover_sparse = np.where(self.dense, np.inf, self.cover).astype(self.tau.dtype)
        if self.dense[self.cached].sum() < 0.7 * len(self.cached):
            self._rebuild()
        elif len(self.cached):
            self._update_offsets()


def facility_location(X, budget, *, similarity="rbf", gamma=None, chunk_size=2048,
                      optimizer="lazy", epsilon=0.01, random_state=None, verbose=False,
                      return_objective=False):
    """Greedy facility location: maximise F(S) = sum_i max_{j in S} sim(i, j), |S| = budget.

    F is monotone submodular, so greedy is within (1 - 1/e) of the optimum (Nemhauser et al.
    1978). `optimizer="lazy"`: Minoux's lazy evaluation (1978) gives exactly the plain greedy's
    picks; `"stochastic"`: stochastic greedy, (1 - 1/e - epsilon) in expectation, each step
    evaluating ceil((n / k) log(1 / epsilon)) candidates drawn with `random_state`. Both work on
    similarity blocks of `chunk_size` rows; the n x n matrix never exists.
    `similarity`: "rbf" exp(-gamma ||a - b||^2) with gamma=None -> 1 / median squared distance
    over a sample of pairs drawn with `random_state`; or "cosine" (1 + cos) / 2.
    Returns (indices (k,) int64 in selection order, weights (k,) float64) where weights[j] counts
    the samples whose most similar pick is indices[j] (sum = n), the CRAIG weights; with
    `return_objective=True` also F(indices), a float.
    """
    X = as_features(X)
    check_similarity(similarity, gamma)
    check_optimizer(optimizer, epsilon)
    n = len(X)
    k = resolve_budget(budget, n)
    chunk_size = check_chunk_size(chunk_size)
    kernel = _Kernel(X, similarity, gamma, random_state)
    gains, *lists = _initial_pass(kernel, n, chunk_size, _N_NEIGHBORS, verbose)
    cover = _Cover(kernel, *lists)
    if optimizer == "lazy":
        indices = lazy_greedy(gains, k, cover.gains, cover.add, verbose=verbose)
    else:
        indices = stochastic_greedy(n, k, cover.gains, cover.add, epsilon=epsilon,
                                    random_state=check_random_state(random_state),
                                    verbose=verbose)
    counts, objective = _assignment(kernel, indices, chunk_size)
    return (indices, counts, objective) if return_objective else (indices, counts)


def _assignment(kernel, indices, chunk_size):
    """How many samples have indices[j] as their most similar pick (ties: the earlier pick), and
    F(indices) = sum_i max_j sim(i, indices[j])."""
    n = len(kernel.left)
    counts = np.zeros(len(indices), dtype=np.float64)
    objective = 0.0
    for a in range(0, n, chunk_size):
        # argmax of the product block (log sim for rbf) cannot underflow the way exp() can
        M = kernel.left[a:a + chunk_size] @ kernel.right[indices].T           # (chunk, k)
        nearest = np.argmax(M, axis=1)
        counts += np.bincount(nearest, minlength=len(indices))
        best = kernel.finish(M[np.arange(len(M)), nearest])                   # (chunk,)
        objective += float(best.sum(dtype=np.float64))
    return counts, objective
