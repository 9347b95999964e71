"""K-means as distillation (Lloyd 1982; mini-batch: Sculley 2010): one real sample per cluster, the
member nearest its centroid, weighted by the cluster's size; and the k-medoids medoid of given
clusters (Kaufman & Rousseeuw 1990).

scikit-learn does the clustering; this module turns clusters into a distilled set and makes sure
no cluster comes back empty, even on data with fewer distinct rows than clusters.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import pairwise_distances

from distill_lab._validation import check_array_2d, check_random_state, is_int, split_budget

__all__ = ["FewDistinctRowsWarning", "KMeansResult", "kmeans_medoids", "cluster_medoids",
           "MINIBATCH_THRESHOLD"]

MINIBATCH_THRESHOLD = 10_000  # above this many samples, MiniBatchKMeans (Lloyd is O(n k d) a pass)


class FewDistinctRowsWarning(UserWarning):
    """Fewer distinct rows than clusters: some medoids are copies of one another."""


@dataclass
class KMeansResult:
    """Medoids (indices into X, largest cluster first), centroids (k, d), sizes (k,), labels (n,);
    `n_distinct` is the number of distinct rows when it was below the number of clusters."""

    medoids: np.ndarray
    centroids: np.ndarray
    sizes: np.ndarray
    labels: np.ndarray
    inertia: float
    n_distinct: int | None = None


def kmeans_medoids(X, n_clusters: int, *, random_state=None, n_init: int = 1, max_iter: int = 300,
                   minibatch_threshold: int = MINIBATCH_THRESHOLD) -> KMeansResult:
    """K-means on X; each cluster's medoid is its member nearest the centroid.

    "Medoid" here is meant for the squared distance: the member nearest the centroid minimizes the
    summed *squared* distance to the members. The medoid of the summed distance itself (k-medoids'
    sense) is `cluster_medoids(X, result.labels)`; the two often coincide, not always.

    Minimizes the distortion sum_i min_j ||x_i - c_j||^2. The medoid of cluster j is a real sample,
    argmin over members i of ||x_i - c_j||; `sizes` (members per cluster) are natural weights.
    No cluster is ever empty and no centroid NaN: a cluster K-means leaves empty takes the unused
    sample nearest its centre. With fewer distinct rows than `n_clusters`, every distinct row is
    a cluster and groups of identical rows are split (in proportion to their size) to make up the
    count: the `n_clusters` medoids are still distinct samples, but some are copies of one
    another; a FewDistinctRowsWarning says so and `n_distinct` records the count.
    """
    X = check_array_2d(X, dtype=np.float32)
    n = len(X)
    if not is_int(n_clusters) or not 1 <= n_clusters <= n:
        raise ValueError(f"n_clusters={n_clusters!r} must be an int in [1, n_samples={n}]")
    if n_clusters == n:  # every sample is its own cluster: nothing to cluster
        return KMeansResult(np.arange(n), X.astype(np.float64), np.ones(n), np.arange(n), 0.0)
    # An int goes to scikit-learn unchanged, so results match KMeans(random_state=that int).
    seed = int(random_state) if isinstance(random_state, (int, np.integer)) else \
        int(check_random_state(random_state).randint(2**31 - 1))
    algo = (MiniBatchKMeans(n_clusters, n_init=n_init, max_iter=max_iter, random_state=seed,
                            batch_size=4096)
            if n > minibatch_threshold else
            KMeans(n_clusters, n_init=n_init, max_iter=max_iter, random_state=seed))
    with warnings.catch_warnings():
        # Duplicate samples can leave fewer distinct points than clusters; handled below.
        warnings.filterwarnings("ignore", message="Number of distinct clusters")
        algo.fit(X)
    centroids = algo.cluster_centers_.astype(np.float64)          # (k, d)
    labels = algo.labels_.astype(np.int64)                         # (n,)
    inertia = float(algo.inertia_)
    if np.bincount(labels, minlength=n_clusters).min() == 0:        # an empty cluster
        n_distinct = len(np.unique(X, axis=0))
        if n_distinct < n_clusters:
            warnings.warn(f"X has {n_distinct} distinct rows for n_clusters={n_clusters}: every "
                          f"distinct row is a cluster and {n_clusters - n_distinct} more split "
                          "groups of identical rows, so some medoids are copies of one another",
                          FewDistinctRowsWarning, stacklevel=2)
            return _largest_first(*_split_duplicates(X, n_clusters), 0.0, n_distinct)
    medoids = _medoids(X, centroids, labels)
    return _largest_first(medoids, centroids, labels, inertia)


def _largest_first(medoids, centroids, labels, inertia, n_distinct=None) -> KMeansResult:
    sizes = np.bincount(labels, minlength=len(medoids)).astype(np.float64)
    order = np.argsort(-sizes, kind="stable")                      # largest cluster first
    relabel = np.empty_like(order)
    relabel[order] = np.arange(len(order))
    return KMeansResult(medoids[order], centroids[order], sizes[order], relabel[labels],
                        inertia, n_distinct)


def _split_duplicates(X, n_clusters):
    """Clusters of identical rows: one or more per distinct row, n_clusters in all (>= distinct)."""
    _, group = np.unique(X, axis=0, return_inverse=True)
    group = group.ravel()                                          # (n,) distinct-row id
    labels = np.empty(len(X), dtype=np.int64)
    medoids = []
    for g, m in split_budget(group, n_clusters).items():           # >= 1 cluster per row
        for part in np.array_split(np.flatnonzero(group == g), m):
            labels[part] = len(medoids)
            medoids.append(part[0])
    medoids = np.asarray(medoids, dtype=np.int64)
    return medoids, X[medoids].astype(np.float64), labels


def _medoids(X, centroids, labels) -> np.ndarray:
    """Member of each cluster nearest its centroid. An empty cluster takes the unused sample
    nearest its centroid as its only member (`labels` and `centroids` are updated in place), so
    no cluster is empty: the sample leaves a cluster whose medoid is another sample."""
    medoids = np.full(len(centroids), -1, dtype=np.int64)
    for j, c in enumerate(centroids):
        members = np.flatnonzero(labels == j)
        if members.size:
            medoids[j] = members[np.argmin(((X[members] - c) ** 2).sum(axis=1))]
    for j in np.flatnonzero(medoids < 0):
        d2 = ((X - centroids[j]) ** 2).sum(axis=1)                 # (n,)
        d2[medoids[medoids >= 0]] = np.inf
        medoids[j] = int(np.argmin(d2))
        old = labels[medoids[j]]
        labels[medoids[j]] = j
        centroids[j] = X[medoids[j]]
        centroids[old] = X[labels == old].mean(axis=0)
    return medoids


def cluster_medoids(X, labels) -> np.ndarray:
    """The medoid of each cluster (Kaufman & Rousseeuw 1990): the member whose summed Euclidean
    distance to the other members of its cluster is smallest, ties to the lower index.

    `labels` (n,) holds cluster ids 0..k-1, every one used; returns (k,) indices into X. This is
    the medoid of k-medoids / PAM, not `kmeans_medoids`' member nearest the centroid: that member
    minimizes the summed *squared* distance, since sum_i ||x_i - m||^2 = |C| ||m - c||^2 + const.
    Each cluster's (m, m) distance matrix is built at once, so m should stay in the thousands.
    """
    X = check_array_2d(X, dtype=np.float64)
    labels = np.asarray(labels)
    if labels.shape != (len(X),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be an int array of shape ({len(X)},), got dtype "
                         f"{labels.dtype} and shape {labels.shape}")
    k = int(labels.max()) + 1 if labels.size else 0
    if labels.min() < 0 or np.bincount(labels, minlength=k).min() == 0:
        raise ValueError(f"labels must use every cluster id in 0..{k - 1} (no noise label -1)")
    medoids = np.empty(k, dtype=np.int64)
    for j in range(k):
        members = np.flatnonzero(labels == j)                      # (m,)
        cost = pairwise_distances(X[members]).sum(axis=1)          # (m,) summed distance
        medoids[j] = members[np.argmin(cost)]
    return medoids
