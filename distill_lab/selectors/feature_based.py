"""Selectors on features, raw pixels or a proxy's embeddings: greedy subset objectives (k-center,
herding, facility location; criteria.representative and its large-scale engines), CRAIG on the
proxy's last-layer gradients (Mirzasoleiman et al. 2020), and the moderate coreset (distance to
the class centre; Xia et al. 2023).
"""
from __future__ import annotations

import numpy as np

from distill_lab.criteria import chunked, top_k
from distill_lab.criteria import facility_sparse as fsp
from distill_lab.criteria import gradient as grad
from distill_lab.criteria import knn_graph as knn
from distill_lab.criteria import moderate as mod
from distill_lab.criteria import representative as rep
from distill_lab.selectors.base import BaseSelector
from distill_lab.selectors.proxy_scores import ProxyMixin

__all__ = ["FEATURES", "GRAPHS", "FeatureSelector", "ModerateSelector", "KCenterSelector",
           "HerdingSelector", "FacilityLocationSelector", "CraigSelector"]

FEATURES = ("embedding", "raw")
GRAPHS = ("dense", "knn")   # facility location's similarities: all pairs, or a k-NN graph


class FeatureSelector(ProxyMixin, BaseSelector):
    """Greedy representative subsets on raw pixels or proxy embeddings."""

    def __init__(self, budget=0.1, random_state=None, class_balanced=False, features="embedding",
                 proxy_model="mlp", proxy_epochs=1.0, image_shape=None, device="auto"):
        self.budget = budget
        self.random_state = random_state
        self.class_balanced = class_balanced
        self.features = features
        self.proxy_model = proxy_model
        self.proxy_epochs = proxy_epochs
        self.image_shape = image_shape
        self.device = device

    @property
    def uses_proxy(self):
        return self.features != "raw"

    @property
    def needs_labels(self):   # the proxy that makes the embedding trains on the labels
        return self.uses_proxy

    def _check_params(self, n_features):
        if self.features not in FEATURES:
            raise ValueError(f"features={self.features!r} must be one of {list(FEATURES)}")
        super()._check_params(n_features)

    def _prepare(self, X, y, rng):
        return {"features": self._features(X, y, rng)}


class ModerateSelector(FeatureSelector):
    """Moderate coreset (Xia et al. 2023): the samples whose distance to their class centre (mean
    feature) is closest to the class's median distance, on raw pixels or proxy embeddings."""

    needs_labels = True

    def _prepare(self, X, y, rng):
        return {"scores": mod.moderate(self._features(X, y, rng), y)}

    def _select(self, state, pool, k, rng):
        return pool[top_k(state["scores"][pool], k)], None, None


class _ChunkedSelector(FeatureSelector):
    """`chunk_size=None` holds a centred copy of the features; an int holds that many rows at
    a time (`criteria.chunked`: the same picks, peak memory bounded, for millions of samples)."""

    def __init__(self, budget=0.1, random_state=None, class_balanced=False, features="embedding",
                 chunk_size=None, proxy_model="mlp", proxy_epochs=1.0, image_shape=None,
                 device="auto"):
        super().__init__(budget=budget, random_state=random_state, class_balanced=class_balanced,
                         features=features, proxy_model=proxy_model, proxy_epochs=proxy_epochs,
                         image_shape=image_shape, device=device)
        self.chunk_size = chunk_size

    def _check_params(self, n_features):
        super()._check_params(n_features)
        if self.chunk_size is not None:
            chunked.check_chunk_size(self.chunk_size)


class KCenterSelector(_ChunkedSelector):
    """Greedy k-center: minimizes the covering radius (Sener & Savarese 2018)."""

    def _select(self, state, pool, k, rng):
        if self.chunk_size is None:
            picked = rep.kcenter_greedy(state["features"][pool], k, random_state=rng)
        else:
            picked = chunked.kcenter_chunked(state["features"][pool], k, random_state=rng,
                                             chunk_size=self.chunk_size)
        return pool[picked], None, None


class HerdingSelector(_ChunkedSelector):
    """Kernel herding: the running mean of the picks tracks the data mean (Welling 2009)."""

    def _select(self, state, pool, k, rng):
        if self.chunk_size is None:
            return pool[rep.herding(state["features"][pool], k)], None, None
        picked = chunked.herding_chunked(state["features"][pool], k, chunk_size=self.chunk_size)
        return pool[picked], None, None


class FacilityLocationSelector(FeatureSelector):
    """Greedy facility location; weights = how many samples each pick represents.

    `optimizer="lazy"` is the exact greedy (Minoux), `"stochastic"` stochastic greedy with
    `epsilon` (Mirzasoleiman et al. 2015). `similarity="rbf"` has width `gamma`: None is the
    median heuristic per pool, falling back to 1 / n_features where it degenerates (one sample,
    identical rows; see `criteria.representative.median_gamma`). A pool no larger than its share
    of the budget (e.g. a class of one sample under class_balanced) keeps every sample, each with
    weight 1. Fitted: `optimizer_`, and `objective_` = F(picks), summed over the pools (the
    classes when class_balanced).

    `graph="dense"` scores every pair (time n^2, for up to about 10^5 samples a pool);
    `graph="knn"` keeps each sample's `n_neighbors` most similar samples, found by an exact
    (`index="flat"`) or inverted-file (`"ivf"`) faiss search: time and memory n * n_neighbors
    (`criteria.facility_sparse`), for millions of samples.
    """

    def __init__(self, budget=0.1, random_state=None, class_balanced=False, features="embedding",
                 similarity="rbf", gamma=None, optimizer="lazy", epsilon=0.01, graph="dense",
                 n_neighbors=10, index="flat", proxy_model="mlp", proxy_epochs=1.0,
                 image_shape=None, device="auto"):
        super().__init__(budget=budget, random_state=random_state, class_balanced=class_balanced,
                         features=features, proxy_model=proxy_model, proxy_epochs=proxy_epochs,
                         image_shape=image_shape, device=device)
        self.similarity = similarity
        self.gamma = gamma
        self.optimizer = optimizer
        self.epsilon = epsilon
        self.graph = graph
        self.n_neighbors = n_neighbors
        self.index = index

    def _check_params(self, n_features):
        super()._check_params(n_features)
        rep.check_similarity(self.similarity, self.gamma)
        rep.check_optimizer(self.optimizer, self.epsilon)
        if self.graph not in GRAPHS:
            raise ValueError(f"graph={self.graph!r} is not supported; use one of {GRAPHS} (all "
                             "pairs, or a k-nearest-neighbour graph for large pools)")
        knn.check_knn(self.n_neighbors, self.index)

    def _solve(self, features, k, rng):
        if self.graph == "knn":   # CRAIG too: facility location on its gradient features
            return fsp.facility_location_knn(
                features, k, n_neighbors=self.n_neighbors, index=self.index,
                similarity=self.similarity, gamma=self.gamma, optimizer=self.optimizer,
                epsilon=self.epsilon, random_state=rng, return_objective=True)
        return rep.facility_location(features, k, similarity=self.similarity, gamma=self.gamma,
                                     optimizer=self.optimizer, epsilon=self.epsilon,
                                     random_state=rng, return_objective=True)

    def _select(self, state, pool, k, rng):
        features = state["features"][pool]
        if k == len(pool):   # no larger than its share: all kept, F = sum_i sim(i, i)
            objective = float(rep.self_similarity(features, self.similarity).sum())
            return pool, np.ones(k), objective
        picked, weights, objective = self._solve(features, k, rng)
        return pool[picked], weights, objective

    def _finish(self, state, infos):
        self.optimizer_ = self.optimizer
        self.objective_ = float(sum(infos))


class CraigSelector(FacilityLocationSelector):
    """CRAIG: facility location on last-layer gradient features, with weights (Mirzasoleiman
    et al. 2020); trains on the picks weighted by the samples they stand for. `gamma`, tiny pools
    and the fitted attributes as in FacilityLocationSelector (`features` is unused: always the
    proxy's gradients; `graph`, `n_neighbors` and `index` as there too)."""

    needs_labels = True
    uses_proxy = True

    def _prepare(self, X, y, rng):
        out = self._proxy(X, y, rng)
        return {"features": grad.gradient_features(out["probs"], y).astype(np.float32)}

    def _solve(self, G, k, rng):
        if self.graph == "knn":
            return super()._solve(G, k, rng)
        return grad.craig(G, k, similarity=self.similarity, gamma=self.gamma,
                          optimizer=self.optimizer, epsilon=self.epsilon, random_state=rng,
                          return_objective=True)
