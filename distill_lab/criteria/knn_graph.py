"""Sparse k-nearest-neighbour similarity graphs: each sample keeps its own similarity and those of
its `n_neighbors` most similar samples, found with faiss (Johnson et al. 2019) by an exact
`IndexFlat` search or an inverted-file `IndexIVFFlat` one, so memory and time grow as n * k, not
n^2 (the sparse facility location of Wei et al. 2014 and Mirzasoleiman et al. 2020, §5).

Neighbours are found by faiss in float32; the similarities on the graph's edges are then computed
again exactly from the features (in their own dtype), with the kernels of `kernels`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from distill_lab._validation import check_random_state, is_int
from distill_lab.criteria.kernels import check_similarity, median_gamma, self_similarity

__all__ = ["INDEXES", "KNNGraph", "check_knn", "knn_graph", "edge_similarities", "nearest"]

INDEXES = ("flat", "ivf")


@dataclass(frozen=True)
class KNNGraph:
    """neighbors[i, 0] = i; neighbors[i, 1:] its nearest others, most similar first; -1 where
    an approximate index found fewer. sims[i, t] = sim(i, neighbors[i, t]) (0 where -1)."""

    neighbors: np.ndarray    # (n, k + 1) int64
    sims: np.ndarray         # (n, k + 1) float, the features' dtype
    similarity: str
    gamma: float | None      # the rbf width used (None for cosine)


def check_knn(n_neighbors, index, n_probe=8):
    """`n_neighbors` an int >= 1, `index` one of INDEXES, `n_probe` an int >= 1."""
    if not is_int(n_neighbors) or n_neighbors < 1:
        raise ValueError(f"n_neighbors={n_neighbors!r} must be an int >= 1 (the neighbours each "
                         "sample keeps in the k-nearest-neighbour graph)")
    if index not in INDEXES:
        raise ValueError(f"index={index!r} is not supported; use one of {INDEXES} (exact search, "
                         "or an inverted-file index for millions of samples)")
    if not is_int(n_probe) or n_probe < 1:
        raise ValueError(f"n_probe={n_probe!r} must be an int >= 1 (inverted lists searched per "
                         "query with index='ivf')")


def _search_space(X, similarity):
    """float32 rows faiss searches: centred for rbf (L2 keeps its accuracy), unit for cosine."""
    if similarity == "cosine":
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        Z = X / np.where(norms > 0, norms, 1)
    else:
        Z = X - X.mean(axis=0, dtype=np.float64).astype(X.dtype)
    return np.ascontiguousarray(Z, dtype=np.float32)


def _faiss_index(Z, similarity, index, n_probe, random_state):
    import faiss  # only the knn graph needs it

    n, d = Z.shape
    metric = faiss.METRIC_INNER_PRODUCT if similarity == "cosine" else faiss.METRIC_L2
    if index == "flat":
        flat = faiss.IndexFlatIP(d) if similarity == "cosine" else faiss.IndexFlatL2(d)
        flat.add(Z)
        return flat, None
    n_lists = max(1, min(int(round(np.sqrt(n))), n // 39))   # faiss wants >= 39 points per list
    quantizer = faiss.IndexFlatIP(d) if similarity == "cosine" else faiss.IndexFlatL2(d)
    ivf = faiss.IndexIVFFlat(quantizer, d, n_lists, metric)
    ivf.cp.seed = int(check_random_state(random_state).randint(2**31 - 1))
    ivf.cp.niter = 10            # coarse cells only route the search: a rough k-means will do
    train = Z if n <= 40 * n_lists else Z[np.sort(check_random_state(ivf.cp.seed).choice(
        n, 40 * n_lists, replace=False))]                       # k-means on a sample, (40 L, d)
    ivf.train(train)
    ivf.add(Z)
    ivf.nprobe = min(n_probe, n_lists)
    return ivf, quantizer        # the index does not own its quantizer: keep both alive


def edge_similarities(X, rows, cols, similarity, gamma, chunk_size=65536) -> np.ndarray:
    """sim(rows[t], cols[t]) for every pair, exactly from the features X (rbf with width gamma,
    or cosine (1 + cos) / 2), `chunk_size` pairs at a time; (len(rows),) in X's dtype."""
    out = np.empty(len(rows), dtype=X.dtype)
    for a in range(0, len(rows), chunk_size):
        A, B = X[rows[a:a + chunk_size]], X[cols[a:a + chunk_size]]          # (c, d) each
        if similarity == "rbf":
            diff = A - B
            out[a:a + chunk_size] = np.exp(-gamma * np.einsum("ij,ij->i", diff, diff))
        else:
            na, nb = np.linalg.norm(A, axis=1), np.linalg.norm(B, axis=1)
            cos = np.einsum("ij,ij->i", A, B) / np.where(na * nb > 0, na * nb, 1)
            out[a:a + chunk_size] = np.clip((1 + cos) / 2, 0, 1)
    return out


def knn_graph(X, n_neighbors, *, similarity="rbf", gamma=None, index="flat", n_probe=8,
              random_state=None, chunk_size=65536) -> KNNGraph:
    """The k-nearest-neighbour similarity graph of the rows of X (n, d), k = min(n_neighbors, n-1).

    `index="flat"`: exact search (time n^2 d, memory n d); `"ivf"`: an inverted file of
    about sqrt(n) lists (k-means on a sample drawn with `random_state`), `n_probe` of them searched
    per query: approximate, time about n^1.5 d. Neighbours are by Euclidean distance for "rbf"
    (gamma=None: the median heuristic on the centred features, drawn with `random_state`, as
    the dense engine does) and by cosine for "cosine"; a row is never its own neighbour (column 0
    holds it, with `self_similarity`).
    """
    check_similarity(similarity, gamma)
    check_knn(n_neighbors, index, n_probe)
    n = len(X)
    k = min(n_neighbors, n - 1)
    Z = _search_space(X, similarity)
    if similarity == "rbf" and gamma is None:
        gamma = median_gamma(X - X.mean(axis=0, dtype=np.float64).astype(X.dtype),
                             random_state=random_state)
    found = np.empty((n, 0), dtype=np.int64)
    if k > 0:
        searcher, _quantizer = _faiss_index(Z, similarity, index, n_probe, random_state)
        found = np.empty((n, k), dtype=np.int64)
        for a in range(0, n, chunk_size):
            _, I = searcher.search(Z[a:a + chunk_size], k + 1)               # (c, k + 1)
            own = I == np.arange(a, a + len(I))[:, None]
            own[~own.any(axis=1), -1] = True       # self not found (duplicates): drop the last
            found[a:a + len(I)] = I[~own].reshape(len(I), k)
        del searcher, _quantizer, Z
    neighbors = np.concatenate([np.arange(n, dtype=np.int64)[:, None], found], axis=1)
    sims = np.zeros(neighbors.shape, dtype=X.dtype)
    sims[:, 0] = self_similarity(X, similarity)
    if k > 0:
        rows, cols = np.nonzero(found >= 0)
        sims[rows, cols + 1] = edge_similarities(X, rows, found[rows, cols], similarity, gamma,
                                                 chunk_size)
    return KNNGraph(neighbors, sims, similarity, None if similarity == "cosine" else float(gamma))


def nearest(X, indices, queries, similarity, chunk_size=65536):
    """For each row in `queries`, the position in `indices` of its most similar sample among
    X[indices] (exact faiss search), (len(queries),) int64."""
    import faiss

    picks = X[indices]                                                       # (k, d)
    offset = picks.mean(axis=0, dtype=np.float64).astype(X.dtype)   # L2 accuracy in float32

    def space(rows):
        return _search_space(rows, "cosine") if similarity == "cosine" else \
            np.ascontiguousarray(rows - offset, dtype=np.float32)

    flat = faiss.IndexFlatIP(X.shape[1]) if similarity == "cosine" else faiss.IndexFlatL2(
        X.shape[1])
    flat.add(space(picks))
    out = np.empty(len(queries), dtype=np.int64)
    for a in range(0, len(queries), chunk_size):
        _, I = flat.search(space(X[queries[a:a + chunk_size]]), 1)
        out[a:a + len(I)] = I[:, 0]
    return out
