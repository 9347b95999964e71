"""Selectors built on criteria: scores from a proxy model (gradient and entropy families) and
greedy subset objectives on features (representative family, CRAIG).

The proxy is trained inside `fit`, so its cost is part of `selection_seconds_`.
"""
from __future__ import annotations

import numpy as np

from distill_lab.criteria import entropy as ent
from distill_lab.criteria import gradient as grad
from distill_lab.criteria import representative as rep
from distill_lab.proxy import proxy_outputs
from distill_lab.selectors.base import BaseSelector, ScoreSelector

FEATURES = ("embedding", "raw")


class _ProxyMixin:
    def _proxy(self, X, y, rng) -> dict:
        return proxy_outputs(X, y, model=self.proxy_model, epochs=self.proxy_epochs,
                             image_shape=self.image_shape, device=self.device,
                             random_state=rng.randint(2**31 - 1))

    def _features(self, X, y, rng) -> np.ndarray:
        if self.features not in FEATURES:
            raise ValueError(f"features={self.features!r} must be one of {list(FEATURES)}")
        if self.features == "raw":
            return X.astype(np.float32)
        return self._proxy(X, y, rng)["embeddings"].astype(np.float32)


class ProxyScoreSelector(_ProxyMixin, ScoreSelector):
    """Scores every sample from a proxy model's outputs; subclasses define `_criterion`."""

    needs_labels = True

    def __init__(self, budget=0.1, random_state=None, class_balanced=False, skip_top=0.0,
                 proxy_model="mlp", proxy_epochs=1.0, image_shape=None, device="auto"):
        self.budget = budget
        self.random_state = random_state
        self.class_balanced = class_balanced
        self.skip_top = skip_top
        self.proxy_model = proxy_model
        self.proxy_epochs = proxy_epochs
        self.image_shape = image_shape
        self.device = device

    def _scores(self, X, y, rng):
        return self._criterion(self._proxy(X, y, rng), y)


class EL2NSelector(ProxyScoreSelector):
    """Hardest first by EL2N = ||p - onehot(y)|| (Paul et al. 2021)."""

    def _criterion(self, out, y):
        return grad.el2n(out["probs"], y)


class GraNdSelector(ProxyScoreSelector):
    """Hardest first by the last-layer gradient norm, closed form (Paul et al. 2021)."""

    def _criterion(self, out, y):
        return grad.grand_last_layer(out["probs"], y, out["embeddings"])


class EntropySelector(ProxyScoreSelector):
    """Most uncertain first by predictive entropy."""

    def _criterion(self, out, y):
        return ent.entropy(out["probs"])


class MarginSelector(ProxyScoreSelector):
    """Most uncertain first by 1 - (p_(1) - p_(2))."""

    def _criterion(self, out, y):
        return ent.margin(out["probs"])


class LeastConfidenceSelector(ProxyScoreSelector):
    """Most uncertain first by 1 - max p."""

    def _criterion(self, out, y):
        return ent.least_confidence(out["probs"])


class FeatureSelector(_ProxyMixin, BaseSelector):
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

    def _prepare(self, X, y, rng):
        return {"features": self._features(X, y, rng)}


class KCenterSelector(FeatureSelector):
    """Greedy k-center: minimizes the covering radius (Sener & Savarese 2018)."""

    def _select(self, state, pool, k, rng):
        picked = rep.kcenter_greedy(state["features"][pool], k, random_state=rng)
        return pool[picked], None


class HerdingSelector(FeatureSelector):
    """Kernel herding: the running mean of the picks tracks the data mean (Welling 2009)."""

    def _select(self, state, pool, k, rng):
        return pool[rep.herding(state["features"][pool], k)], None


class FacilityLocationSelector(FeatureSelector):
    """Lazy-greedy facility location; weights = how many samples each pick represents."""

    def __init__(self, budget=0.1, random_state=None, class_balanced=False, features="embedding",
                 similarity="rbf", proxy_model="mlp", proxy_epochs=1.0, image_shape=None,
                 device="auto"):
        super().__init__(budget=budget, random_state=random_state, class_balanced=class_balanced,
                         features=features, proxy_model=proxy_model, proxy_epochs=proxy_epochs,
                         image_shape=image_shape, device=device)
        self.similarity = similarity

    def _select(self, state, pool, k, rng):
        picked, weights = rep.facility_location(state["features"][pool], k,
                                                similarity=self.similarity, random_state=rng)
        return pool[picked], weights


class CraigSelector(FacilityLocationSelector):
    """CRAIG: facility location on last-layer gradient features, with weights (Mirzasoleiman
    et al. 2020); trains on the picks weighted by the samples they stand for."""

    needs_labels = True

    def _prepare(self, X, y, rng):
        out = self._proxy(X, y, rng)
        return {"features": grad.gradient_features(out["probs"], y).astype(np.float32)}

    def _select(self, state, pool, k, rng):
        picked, weights = grad.craig(state["features"][pool], k, similarity=self.similarity,
                                     random_state=rng)
        return pool[picked], weights
