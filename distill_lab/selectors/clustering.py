"""Clustering selectors: K-means medoids/centroids and DBSCAN/HDBSCAN core representatives, per
class by default, on raw features or proxy embeddings (the algorithms are in `kmeans_dbscan`).
"""
from __future__ import annotations

import warnings

import numpy as np

from distill_lab.selectors import kmeans_dbscan
from distill_lab.selectors.model_based import FeatureSelector


class _ClusterSelector(FeatureSelector):
    """Shared plumbing: `fit` collects per-pool extras (centroids, noise counts) into state."""

    def _prepare(self, X, y, rng):
        if self.features == "embedding" and y is None:
            raise ValueError(f"features='embedding' trains a proxy model and needs labels y; got "
                             f"y=None (use features='raw' for unlabeled data)")
        state = super()._prepare(X, y, rng)
        state.update(X=X, y=y, pools=[])   # pools: one dict of extras per _select call
        self._fit_state = state
        return state

    def fit(self, X, y=None):
        self._fit_state = None
        super().fit(X, y)
        pools, self._fit_state = self._fit_state["pools"], None
        self._collect(pools)
        return self


class KMeansSelector(_ClusterSelector):
    """K-means per class (default) or globally: `indices_` are medoids (the real sample nearest
    each centroid), `weights_` cluster sizes, `centroids_` / `centroid_labels_` the synthetic
    prototypes in input space (the mean of each cluster's members), aligned with `indices_`.
    MiniBatchKMeans is used for pools larger than `minibatch_threshold`."""

    def __init__(self, budget=0.1, random_state=None, class_balanced=True, features="raw",
                 n_init=1, minibatch_threshold=kmeans_dbscan.MINIBATCH_THRESHOLD,
                 proxy_model="mlp", proxy_epochs=1.0, image_shape=None, device="auto"):
        super().__init__(budget=budget, random_state=random_state, class_balanced=class_balanced,
                         features=features, proxy_model=proxy_model, proxy_epochs=proxy_epochs,
                         image_shape=image_shape, device=device)
        self.n_init = n_init
        self.minibatch_threshold = minibatch_threshold

    def _select(self, state, pool, k, rng):
        km = kmeans_dbscan.kmeans_medoids(state["features"][pool], k, n_init=self.n_init,
                                       random_state=rng.randint(2**31 - 1),
                                       minibatch_threshold=self.minibatch_threshold)
        X, y = state["X"], state["y"]
        # Centroids in input space, so they can be trained on even when clustering embeddings.
        centroids = np.stack([X[pool[km.labels == j]].mean(axis=0) for j in range(k)])  # (k, d)
        labels = (None if y is None else
                  np.array([np.bincount(y[pool[km.labels == j]]).argmax() for j in range(k)]))
        state["pools"].append({"indices": pool[km.medoids], "centroids": centroids,
                               "labels": labels, "inertia": km.inertia})
        return pool[km.medoids], km.sizes

    def _collect(self, pools):
        by_index = {int(i): (p, r) for p in pools for r, i in enumerate(p["indices"])}
        rows = [by_index[int(i)] for i in self.indices_]          # align with indices_ order
        self.centroids_ = np.stack([p["centroids"][r] for p, r in rows])
        self.centroid_labels_ = (None if pools[0]["labels"] is None else
                                 np.array([p["labels"][r] for p, r in rows], dtype=np.int64))
        self.inertia_ = float(sum(p["inertia"] for p in pools))


class DBSCANSelector(_ClusterSelector):
    """Density representatives per class (default) or globally: one core sample per DBSCAN (or
    HDBSCAN, method="hdbscan") cluster, the rest shared by cluster size; eps=None searches eps.
    Noise is excluded by default and counted in `n_noise_`; `weights_` count the members each pick
    stands for. `eps_` / `min_cluster_size_` and `search_` (every fit tried) are per pool."""

    def __init__(self, budget=0.1, random_state=None, class_balanced=True, features="raw",
                 method="dbscan", eps=None, min_samples=5, max_iter=16, noise="exclude",
                 proxy_model="mlp", proxy_epochs=1.0, image_shape=None, device="auto"):
        super().__init__(budget=budget, random_state=random_state, class_balanced=class_balanced,
                         features=features, proxy_model=proxy_model, proxy_epochs=proxy_epochs,
                         image_shape=image_shape, device=device)
        self.method = method
        self.eps = eps
        self.min_samples = min_samples
        self.max_iter = max_iter
        self.noise = noise

    def _select(self, state, pool, k, rng):
        if k == len(pool):   # a class no larger than its share: every sample is kept, weight 1
            res = kmeans_dbscan.DensityResult(np.arange(k), np.ones(k), np.arange(k), k, 0, None,
                                           None, [])
        else:
            with warnings.catch_warnings():   # one summary warning per fit, see _collect
                warnings.simplefilter("ignore", kmeans_dbscan.SingleClusterWarning)
                res = kmeans_dbscan.dbscan_select(state["features"][pool], k, method=self.method,
                                               eps=self.eps, min_samples=self.min_samples,
                                               max_iter=self.max_iter, noise=self.noise,
                                               random_state=rng.randint(2**31 - 1))
        state["pools"].append(res)
        return pool[res.indices], res.weights

    def _collect(self, pools):
        self.n_noise_ = int(sum(r.n_noise for r in pools))
        self.n_clusters_ = int(sum(r.n_clusters for r in pools))
        self.eps_ = [r.eps for r in pools]
        self.min_cluster_size_ = [r.min_cluster_size for r in pools]
        self.search_ = [r.tried for r in pools]
        single = [r for r in pools if r.n_clusters == 1 and len(r.indices) > 1]
        if single:
            warnings.warn(f"{self.method} found a single density cluster in {len(single)} of "
                          f"{len(pools)} pool(s); their picks are K-means medoids of its core "
                          "points (see search_ for every fit tried)",
                          kmeans_dbscan.SingleClusterWarning, stacklevel=3)
