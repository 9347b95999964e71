"""Kernels on feature rows: squared distances, the RBF and cosine similarities in [0, 1], the
median heuristic for the RBF width (Schölkopf & Smola 2002; Gretton et al. 2012) and the biased
MMD^2 between two sets of rows (Gretton et al., JMLR 2012), for numpy arrays and torch tensors.

The representative criteria (`kcenter`, `herding`, `facility_dense`, `knn_graph`) and the subset
problem (`distill_lab.problem`) compute every distance and similarity here.
"""
from __future__ import annotations

import numbers
import sys
import warnings

import numpy as np

from distill_lab._validation import check_array_2d, check_chunk_size, check_random_state

__all__ = ["SIMILARITIES", "as_features", "centered", "unit_rows", "sq_distances",
           "median_gamma", "check_similarity", "similarity_matrix", "self_similarity", "mmd2"]

SIMILARITIES = ("rbf", "cosine")


def as_features(X, name="X") -> np.ndarray:
    """Validated 2-D features; float32 stays float32 (speed, memory), anything else is float64."""
    dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
    return check_array_2d(X, name=name, dtype=dtype)


def centered(X):
    """X minus its column mean, in X's dtype. Distances are translation invariant; centring keeps
    ||a||^2 + ||b||^2 - 2ab accurate in float32."""
    return X - X.mean(axis=0, dtype=np.float64).astype(X.dtype)


def unit_rows(X):
    """Rows scaled to norm 1; zero rows stay zero (cos = 0, cosine similarity 1/2)."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1)


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
    X = as_features(X)
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


def _check_positive(value, name, allowed):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


def check_similarity(similarity, gamma):
    """A kernel name in SIMILARITIES and gamma: None (median heuristic) or a positive number."""
    if similarity not in SIMILARITIES:
        raise ValueError(f"similarity={similarity!r} is not supported; use one of {SIMILARITIES}")
    if gamma is not None:
        _check_positive(gamma, "gamma", "a positive finite number or None (median heuristic)")


def similarity_matrix(A, B=None, *, similarity="rbf", gamma=None) -> np.ndarray:
    """Pairwise similarities in [0, 1], shape (len(A), len(B)); B=None means B = A.

    "rbf": exp(-gamma ||a - b||^2), gamma=None -> `median_gamma(A)`;
    "cosine": (1 + cos(a, b)) / 2 (a zero vector has similarity 1/2 to everything).
    """
    check_similarity(similarity, gamma)
    A = as_features(A, "A")
    B = A if B is None else as_features(B, "B")
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B must have the same number of features, got {A.shape[1]} "
                         f"and {B.shape[1]}")
    if similarity == "cosine":
        return _cosine_block(unit_rows(A), unit_rows(B))
    gamma = median_gamma(A) if gamma is None else gamma
    return _rbf_block(A, B, gamma)


def self_similarity(X, similarity="rbf") -> np.ndarray:
    """sim(i, i) for every row (n,), the largest similarity in row i for both kernels: 1, or 1/2
    for a zero row under "cosine". So F(all samples) = sum_i max_j sim(i, j) = its sum."""
    check_similarity(similarity, None)
    X = as_features(X)
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


def _rbf_mean(P, Q, widths, chunk_size):
    """mean K(P, Q) over row chunks (chunk, len(Q)): the (len(P), len(Q)) block never exists."""
    total = 0.0
    for a in range(0, len(P), chunk_size):
        d2 = sq_distances(P[a:a + chunk_size], Q)                   # (chunk, len(Q))
        total += sum(np.exp(d2 / -w).sum() for w in widths)
    return total / (len(P) * len(Q))


def _rbf_means_torch(A, B, widths):
    """mean K(A, A), mean K(B, B), mean K(A, B) from one pooled block (A and B are small batches
    of embeddings; torch's distances differ in the last bits between blocks and the whole)."""
    import torch  # lazy: the numpy criteria never pay for it

    z = torch.cat([A, B])                                          # (n + m, d)
    d2 = torch.cdist(z, z).pow(2)                                  # (n + m, n + m)
    K = sum(torch.exp(-d2 / w) for w in widths)
    n = len(A)
    return K[:n, :n].mean(), K[n:, n:].mean(), K[:n, n:].mean()


def _is_tensor(x) -> bool:
    torch = sys.modules.get("torch")  # a tensor exists only once torch has been imported
    return torch is not None and isinstance(x, torch.Tensor)


def mmd2(A, B, width, *, chunk_size=2048):
    """Biased (V-statistic) MMD^2 between the rows of A (n, d) and B (m, d) (Gretton et al. 2012):

        MMD^2 = mean K(A, A) + mean K(B, B) - 2 mean K(A, B),  K(a, b) = sum_w exp(-||a - b||^2 / w)

    over `width`: one positive squared width (1 / gamma of `similarity_matrix`'s RBF), or a
    sequence of them for a multi-scale kernel. It is 0 for A = B. numpy arrays give a float,
    summed over row chunks of `chunk_size` (the (n, n) kernel never exists); torch tensors give a
    0-d tensor that gradients flow through (the M3D loss, `generative.matching.mmd2`).
    """
    widths = tuple(width) if isinstance(width, (tuple, list)) else (width,)
    if not widths:
        raise ValueError(f"width must be a positive number or a non-empty sequence of them, got "
                         f"{width!r}")
    tensors = _is_tensor(A) or _is_tensor(B)
    if tensors:
        k_aa, k_bb, k_ab = _rbf_means_torch(A, B, widths)
    else:
        for w in widths:
            _check_positive(w, "width", "a positive finite number")
        chunk_size = check_chunk_size(chunk_size)
        A, B = as_features(A, "A"), as_features(B, "B")
        if A.shape[1] != B.shape[1]:
            raise ValueError(f"A and B must have the same number of features, got "
                             f"{A.shape[1]} and {B.shape[1]}")
        k_aa, k_bb, k_ab = (_rbf_mean(P, Q, widths, chunk_size)
                            for P, Q in ((A, A), (B, B), (A, B)))
    value = k_aa + k_bb - 2 * k_ab
    return value if tensors else float(value)
