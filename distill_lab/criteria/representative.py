"""Representative subsets: pick samples whose set looks like the whole data set in feature space.

Greedy k-center minimises the covering radius (Sener & Savarese 2018); herding makes the running
mean of the picks track the data mean (Welling 2009; Chen et al. 2010); facility location maximises
sum_i max_{j in S} sim(i, j) with Minoux's lazy greedy (Mirzasoleiman et al. 2020, CRAIG) or
stochastic greedy (Mirzasoleiman et al. 2015, "Lazier than Lazy Greedy").
"""
from __future__ import annotations

import heapq
import numbers
import warnings

import numpy as np
from tqdm.auto import tqdm

from distill_lab._validation import check_array_2d, check_random_state, resolve_budget
from distill_lab.criteria.stochastic_greedy import sample_size, stochastic_greedy

__all__ = ["kcenter_greedy", "herding", "facility_location", "similarity_matrix",
           "median_gamma", "sq_distances", "check_subset", "check_optimizer", "check_similarity",
           "self_similarity", "lazy_greedy"]

SIMILARITIES = ("rbf", "cosine")
OPTIMIZERS = ("lazy", "stochastic")
_BATCH, _MAX_BATCH = 32, 1024  # stale candidates re-evaluated in one matrix product (lazy greedy)
_N_NEIGHBORS = 256  # about this many stored similarities per row once the row is well covered


# ----------------------------------------------------------------------------- shared helpers
def _features(X, name="X") -> np.ndarray:
    """Validated 2-D features; float32 stays float32 (speed, memory), anything else is float64."""
    dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
    return check_array_2d(X, name=name, dtype=dtype)


def _check_chunk(chunk_size) -> int:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) \
            or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    return int(chunk_size)


def check_subset(indices, n_samples: int, name: str = "indices") -> np.ndarray:
    """Return `indices` as a non-empty 1-D int64 array of unique positions in [0, n_samples)."""
    arr = np.asarray(indices)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of sample positions, got shape "
                         f"{arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer positions, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() >= n_samples:
        raise ValueError(f"{name} must lie in [0, {n_samples}), got values from {arr.min()} "
                         f"to {arr.max()}")
    if len(np.unique(arr)) != len(arr):
        raise ValueError(f"{name} must not repeat a sample, got {len(arr)} positions of which "
                         f"{len(np.unique(arr))} are distinct")
    return arr


def sq_distances(A, B, sq_A=None, sq_B=None) -> np.ndarray:
    """Squared Euclidean distances (len(A), len(B)) by ||a||^2 + ||b||^2 - 2 a.b, clipped at 0."""
    sq_A = np.einsum("ij,ij->i", A, A) if sq_A is None else sq_A
    sq_B = np.einsum("ij,ij->i", B, B) if sq_B is None else sq_B
    D = A @ B.T                                   # (a, b)
    D *= -2
    D += sq_A[:, None]
    D += sq_B[None, :]
    return np.maximum(D, 0, out=D)


def median_gamma(X, *, n_pairs: int = 20_000, random_state=0) -> float:
    """The median heuristic: 1 / median squared distance between distinct samples.

    Uses every pair when there are at most `n_pairs` of them (exact, deterministic), else a sample
    of `n_pairs` random pairs drawn with `random_state`.
    Degenerate data fall back to gamma = 1 / n_features (scikit-learn's `gamma="auto"`): a single
    sample or identical rows, where the width cannot change any similarity (every one is 1), and,
    with a warning, mostly duplicate rows (median 0 but some distances > 0).
    """
    X = _features(X)
    n = len(X)
    fallback = 1.0 / X.shape[1]
    if n < 2:
        return fallback
    if n * (n - 1) // 2 <= n_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        rng = check_random_state(random_state)
        i = rng.choice(n, size=n_pairs)
        j = (i + 1 + rng.choice(n - 1, size=n_pairs)) % n  # j != i
    d2 = np.einsum("ij,ij->i", X[i] - X[j], X[i] - X[j]).astype(np.float64)
    med = float(np.median(d2))
    if med <= 0:
        if d2.max() > 0:
            warnings.warn(f"the median squared distance between samples is 0 (mostly duplicate "
                          f"rows); using gamma = 1 / n_features = {fallback:.4g}: pass gamma "
                          "explicitly to choose the kernel width", UserWarning, stacklevel=2)
        return fallback
    return 1.0 / med


def check_similarity(similarity, gamma):
    """A kernel name in SIMILARITIES and gamma: None (median heuristic) or a positive number."""
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity={similarity!r} is not supported; use one of {SIMILARITIES}")
    if gamma is not None and (isinstance(gamma, bool) or not isinstance(gamma, numbers.Real)
                              or not np.isfinite(gamma) or gamma <= 0):
        raise ValueError(f"gamma must be a positive finite number or None (median heuristic), "
                         f"got {gamma!r}")


def check_optimizer(optimizer, epsilon):
    """Facility location's optimizer: "lazy" (exact greedy) or "stochastic" with 0 < epsilon < 1."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is not supported; use one of {OPTIMIZERS}")
    sample_size(1, 1, epsilon)                                      # validates epsilon


def _unit_rows(X):
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1)  # zero rows stay zero: cos = 0, similarity 1/2


def similarity_matrix(A, B=None, *, similarity="rbf", gamma=None) -> np.ndarray:
    """Pairwise similarities in [0, 1], shape (len(A), len(B)); B=None means B = A.

    "rbf": exp(-gamma ||a - b||^2), gamma=None -> `median_gamma(A)`;
    "cosine": (1 + cos(a, b)) / 2 (a zero vector has similarity 1/2 to everything).
    """
    check_similarity(similarity, gamma)
    A = _features(A, "A")
    B = A if B is None else _features(B, "B")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B must have the same number of features, got {A.shape[1]} "
                         f"and {B.shape[1]}")
    if similarity == "cosine":
        return _cosine_block(_unit_rows(A), _unit_rows(B))
    gamma = median_gamma(A) if gamma is None else gamma
    return _rbf_block(A, B, gamma)


def self_similarity(X, similarity="rbf") -> np.ndarray:
    """sim(i, i) for every row (n,), the largest similarity in row i for both kernels: 1, or 1/2
    for a zero row under "cosine". So F(all samples) = sum_i max_j sim(i, j) = its sum."""
    check_similarity(similarity, None)
    X = _features(X)
    if similarity == "rbf":
        return np.ones(len(X))
    return np.where(np.linalg.norm(X, axis=1) > 0, 1.0, 0.5)


def _rbf_block(A, B, gamma, sq_A=None, sq_B=None):
    S = sq_distances(A, B, sq_A, sq_B)
    S *= -gamma
    return np.exp(S, out=S)


def _cosine_block(U, V):
    S = U @ V.T
    S += 1
    S *= 0.5
    return np.clip(S, 0, 1, out=S)


# ----------------------------------------------------------------------------- k-center, herding
def kcenter_greedy(X, budget, *, initial=None, random_state=None, chunk_size=2048,
                   verbose=False) -> np.ndarray:
    """Greedy k-center (Sener & Savarese 2018): repeatedly add the sample farthest from the
    centers so far; a 2-approximation of the minimal covering radius max_i min_{j in S} ||x_i - x_j||.

    The first center is drawn with `random_state` unless `initial` (already chosen positions, e.g.
    a labelled pool) is given; `initial` is not part of the returned `budget` new indices.
    """
    X = _centered(_features(X))
    n = len(X)
    k = resolve_budget(budget, n)
    chunk_size = _check_chunk(chunk_size)
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


def herding(X, budget, *, verbose=False) -> np.ndarray:
    """Herding with the linear kernel: each step adds the sample that brings the mean of the picks
    closest to the data mean, i.e. greedily minimises MMD^2 = ||mean_S x - mean_D x||^2
    (Welling 2009; Chen et al. 2010; the greedy form of Rebuffi et al. 2017). No repeats.
    """
    X = _centered(_features(X))                     # the data mean is now 0
    n = len(X)
    k = resolve_budget(budget, n)
    sq = np.einsum("ij,ij->i", X, X)                              # (n,)
    total = np.zeros(X.shape[1], dtype=np.float64)  # sum of the picks so far, (d,)
    taken = np.zeros(n, dtype=bool)
    picked = []
    for _ in tqdm(range(k), desc="herding", disable=not verbose):
        # ||(total + x) / t||^2 ranks like ||x||^2 + 2 x . total  (the mean is 0)
        score = sq + 2 * (X @ total.astype(X.dtype))
        score[taken] = np.inf
        j = int(np.argmin(score))
        picked.append(j)
        taken[j] = True
        total += X[j]
    return np.asarray(picked, dtype=np.int64)


def _centered(X):
    # Distances are translation invariant; centring keeps ||a||^2 + ||b||^2 - 2ab accurate in float32.
    return X - X.mean(axis=0, dtype=np.float64).astype(X.dtype)


# ----------------------------------------------------------------------------- facility location
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
            U = _unit_rows(X)
            self.left[:, :d], self.left[:, d], self.left[:, d + 1] = U / 2, 0.5, 0
            self.right[:, :d], self.right[:, d], self.right[:, d + 1] = U, 1, 0
        else:
            Z = _centered(X)
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


def _lazy_greedy(gains, k, fresh_gains, add, verbose):
    """Minoux's lazy greedy on upper bounds `gains`, re-evaluating stale bounds in batches.

    A heap holds (-bound, j): the top is the best bound, ties to the lowest index. Submodularity
    keeps old gains valid upper bounds, so a top whose gain is fresh is the exact greedy choice.
    Batches double within a step: early steps re-evaluate thousands, late ones a few dozen.
    """
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


def lazy_greedy(gains, k, fresh_gains, add, *, verbose=False) -> np.ndarray:
    """Minoux's lazy greedy (`_lazy_greedy`) for other facility-location engines: `gains` (n,)
    the exact initial gains, `fresh_gains(batch)` exact gains now, `add(j)` commits a pick."""
    return _lazy_greedy(np.asarray(gains, dtype=np.float64), k, fresh_gains, add, verbose)


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
    X = _features(X)
    check_similarity(similarity, gamma)
    check_optimizer(optimizer, epsilon)
    n = len(X)
    k = resolve_budget(budget, n)
    chunk_size = _check_chunk(chunk_size)
    kernel = _Kernel(X, similarity, gamma, random_state)
    gains, *lists = _initial_pass(kernel, n, chunk_size, _N_NEIGHBORS, verbose)
    cover = _Cover(kernel, *lists)
    if optimizer == "lazy":
        indices = _lazy_greedy(gains, k, cover.gains, cover.add, verbose)
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
