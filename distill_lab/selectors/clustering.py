"""Clustering selectors: K-means medoids/centroids and DBSCAN/HDBSCAN core representatives, per
class by default, on raw features or proxy embeddings (the algorithms are in `kmeans` and
`density`).
"""
from __future__ import annotations

import warnings

import numpy as np

from distill_lab._validation import is_int
from distill_lab.selectors import density, kmeans
from distill_lab.selectors.feature_based import FeatureSelector


class _ClusterSelector(FeatureSelector):
    """Shared plumbing: every pool's `_select` returns its extras (centroids, noise counts) as
    its info, and `_finish` turns them into fitted attributes."""

    def _prepare(self, X, y, rng):
        state = super()._prepare(X, y, rng)
        state.update(X=X, y=y)
        return state


class KMeansSelector(_ClusterSelector):
    """K-means per class (default) or globally: `indices_` are medoids (the real sample nearest
    each centroid), `weights_` cluster sizes, `centroids_` / `centroid_labels_` the synthetic
    prototypes in input space (the mean of each cluster's members), aligned with `indices_`.
    MiniBatchKMeans is used for pools larger than `minibatch_threshold`.

    A pool with fewer distinct rows than its share of the budget still gets its share of distinct
    samples: each distinct row is a cluster and groups of identical rows are split to make up the
    count, so some picks are copies of one another (one FewDistinctRowsWarning per fit; the pools
    are listed in `few_distinct_pools_`). No centroid is ever NaN and no weight 0."""

    def __init__(self, budget=0.1, random_state=None, class_balanced=True, features="raw",
                 n_init=1, minibatch_threshold=kmeans.MINIBATCH_THRESHOLD,
                 proxy_model="mlp", proxy_epochs=1.0, image_shape=None, device="auto"):
        super().__init__(budget=budget, random_state=random_state, class_balanced=class_balanced,
                         features=features, proxy_model=proxy_model, proxy_epochs=proxy_epochs,
                         image_shape=image_shape, device=device)
        self.n_init = n_init
        self.minibatch_threshold = minibatch_threshold

    def _check_params(self, n_features):
        super()._check_params(n_features)
        if self.n_init != "auto" and (not is_int(self.n_init) or self.n_init < 1):
            raise ValueError(f"n_init={self.n_init!r} must be an int >= 1 or 'auto'")
        if not is_int(self.minibatch_threshold) or self.minibatch_threshold < 1:
            raise ValueError(f"minibatch_threshold={self.minibatch_threshold!r} must be an int "
                             ">= 1 (pools larger than this use MiniBatchKMeans)")

    def _select(self, state, pool, k, rng):
        with warnings.catch_warnings():   # one summary warning per fit, see _finish
            warnings.simplefilter("ignore", kmeans.FewDistinctRowsWarning)
            km = kmeans.kmeans_medoids(state["features"][pool], k, n_init=self.n_init,
                                       random_state=rng.randint(2**31 - 1),
                                       minibatch_threshold=self.minibatch_threshold)
        X, y = state["X"], state["y"]
        members = [pool[km.labels == j] for j in range(k)]                  # never empty
        # Centroids in input space, so they can be trained on even when clustering embeddings.
        centroids = np.stack([X[m].mean(axis=0) for m in members])            # (k, d)
        labels = None if y is None else np.array([np.bincount(y[m]).argmax() for m in members])
        info = {"indices": pool[km.medoids], "centroids": centroids, "labels": labels,
                "inertia": km.inertia, "n_distinct": km.n_distinct,
                "class": None if y is None or not self.class_balanced else int(y[pool[0]])}
        return pool[km.medoids], km.sizes, info

    def _finish(self, state, infos):
        by_index = {int(i): (p, r) for p in infos for r, i in enumerate(p["indices"])}
        rows = [by_index[int(i)] for i in self.indices_]          # align with indices_ order
        self.centroids_ = np.stack([p["centroids"][r] for p, r in rows])
        self.centroid_labels_ = (None if infos[0]["labels"] is None else
                                 np.array([p["labels"][r] for p, r in rows], dtype=np.int64))
        self.inertia_ = float(sum(p["inertia"] for p in infos))
        few = [p for p in infos if p["n_distinct"] is not None]
        self.few_distinct_pools_ = [p["class"] for p in few]
        if few:
            where = (f"class(es) {self.few_distinct_pools_}" if self.class_balanced
                     else "the data")
            warnings.warn(f"{where} hold fewer distinct rows than their share of the budget: "
                          "every distinct row is picked and the rest of the share are copies of "
                          "them (other samples with identical features)",
                          kmeans.FewDistinctRowsWarning, stacklevel=3)


class DBSCANSelector(_ClusterSelector):
    """Density representatives per class (default) or globally: one core sample per DBSCAN (or
    HDBSCAN, method="hdbscan") cluster, the rest shared by cluster size; eps=None searches eps.
    Noise is excluded by default and counted in `n_noise_`; `weights_` count the members each pick
    stands for. `eps_` / `min_cluster_size_` and `search_` (every fit tried) are per pool.

    A class no larger than its share keeps every sample (weight 1). With class_balanced=True, a
    class with fewer than `min_samples` samples has no core point for any eps: its picks are
    K-means medoids instead (weights: cluster sizes), with a warning, and such classes are listed
    in `small_classes_`."""

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

    def _check_params(self, n_features):
        super()._check_params(n_features)
        density.check_density_params(self.method, self.eps, self.min_samples, self.max_iter,
                                     self.noise)

    def _select(self, state, pool, k, rng):
        features, small = state["features"][pool], False
        if k == len(pool):   # a class no larger than its share: every sample is kept, weight 1
            res = density.DensityResult(np.arange(k), np.ones(k), np.arange(k), k, 0, None, None,
                                        [])
        elif self.class_balanced and len(pool) < self.min_samples:   # no core point possible
            km = kmeans.kmeans_medoids(features, k, random_state=rng.randint(2**31 - 1))
            res = density.DensityResult(km.medoids, km.sizes, km.labels, k, 0, None, None, [])
            small = True
        else:
            with warnings.catch_warnings():   # one summary warning per fit, see _finish
                warnings.simplefilter("ignore", density.SingleClusterWarning)
                res = density.dbscan_select(features, k, method=self.method, eps=self.eps,
                                            min_samples=self.min_samples, max_iter=self.max_iter,
                                            noise=self.noise, random_state=rng.randint(2**31 - 1))
        cls = int(state["y"][pool[0]]) if self.class_balanced else None
        return pool[res.indices], res.weights, (res, small, cls)

    def _finish(self, state, infos):
        pools = [res for res, _, _ in infos]
        self.n_noise_ = int(sum(r.n_noise for r in pools))
        self.n_clusters_ = int(sum(r.n_clusters for r in pools))
        self.eps_ = [r.eps for r in pools]
        self.min_cluster_size_ = [r.min_cluster_size for r in pools]
        self.search_ = [r.tried for r in pools]
        self.small_classes_ = [cls for _, small, cls in infos if small]
        if self.small_classes_:
            warnings.warn(f"class(es) {self.small_classes_} have fewer samples than min_samples="
                          f"{self.min_samples}, so {self.method} finds no core point there; their "
                          "picks are K-means medoids (see small_classes_)", UserWarning,
                          stacklevel=3)
        single = [r for r in pools if r.n_clusters == 1 and len(r.indices) > 1]
        if single:
            warnings.warn(f"{self.method} found a single density cluster in {len(single)} of "
                          f"{len(pools)} pool(s); their picks are K-means medoids of its core "
                          "points (see search_ for every fit tried)",
                          density.SingleClusterWarning, stacklevel=3)
