"""Selectors on a proxy model's per-sample scores: the gradient family (EL2N, GraNd; Paul et al.
2021), the uncertainty family (entropy, margin, least confidence), and CCS sampling across their
strata (Zheng et al. 2023). `ProxyMixin` trains the proxy, inside `fit`, so its cost is part of
`selection_seconds_`; `feature_based` builds on it for the proxy's embeddings.
"""
from __future__ import annotations

import numpy as np

from distill_lab._validation import resolve_device
from distill_lab.criteria import coverage
from distill_lab.criteria import entropy as ent
from distill_lab.criteria import gradient as grad
from distill_lab.proxy import check_proxy, proxy_outputs
from distill_lab.selectors.base import BaseSelector, ScoreSelector

__all__ = ["PROXY_SCORES", "ProxyMixin", "ProxyScoreSelector", "EL2NSelector", "GraNdSelector",
           "EntropySelector", "MarginSelector", "LeastConfidenceSelector", "CCSSelector"]


def _el2n(out, y):
    return grad.el2n(out["probs"], y)


def _grand(out, y):
    return grad.grand_last_layer(out["probs"], y, out["embeddings"])


def _entropy(out, y):
    return ent.entropy(out["probs"])


def _margin(out, y):
    return ent.margin(out["probs"])


def _least_confidence(out, y):
    return ent.least_confidence(out["probs"])


# Proxy-model scores by name (higher = harder / more uncertain), shared by their selectors and CCS.
PROXY_SCORES = {"el2n": _el2n, "grand": _grand, "entropy": _entropy, "margin": _margin,
                "least_confidence": _least_confidence}


class ProxyMixin:
    """What a selector that trains a proxy shares (with `feature_based`'s embeddings too): its
    settings checked before any work, its device, its outputs and embeddings."""

    uses_proxy = True   # False where `features="raw"` makes the proxy settings unused

    def _check_params(self, n_features):
        super()._check_params(n_features)
        if self.uses_proxy:
            check_proxy(self.proxy_model, self.proxy_epochs, self.image_shape, n_features,
                        self.device)

    def _device(self) -> str:
        return str(resolve_device(self.device)) if self.uses_proxy else "cpu"

    def _proxy(self, X, y, rng) -> dict:
        return proxy_outputs(X, y, model=self.proxy_model, epochs=self.proxy_epochs,
                             image_shape=self.image_shape, device=self.device_,
                             random_state=rng.randint(2**31 - 1))

    def _features(self, X, y, rng) -> np.ndarray:
        if self.features == "raw":
            return X.astype(np.float32)
        return self._proxy(X, y, rng)["embeddings"].astype(np.float32)


class ProxyScoreSelector(ProxyMixin, ScoreSelector):
    """Scores every sample from a proxy model's outputs; subclasses name their `criterion`."""

    needs_labels = True
    criterion = None  # the key of PROXY_SCORES, set by each subclass

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
        return PROXY_SCORES[self.criterion](self._proxy(X, y, rng), y)


class EL2NSelector(ProxyScoreSelector):
    """Hardest first by EL2N = ||p - onehot(y)|| (Paul et al. 2021)."""

    criterion = "el2n"


class GraNdSelector(ProxyScoreSelector):
    """Hardest first by the last-layer gradient norm, closed form (Paul et al. 2021)."""

    criterion = "grand"


class EntropySelector(ProxyScoreSelector):
    """Most uncertain first by predictive entropy."""

    criterion = "entropy"


class MarginSelector(ProxyScoreSelector):
    """Most uncertain first by 1 - (p_(1) - p_(2))."""

    criterion = "margin"


class LeastConfidenceSelector(ProxyScoreSelector):
    """Most uncertain first by 1 - max p."""

    criterion = "least_confidence"


class CCSSelector(ProxyMixin, BaseSelector):
    """Coverage-centric coreset selection (Zheng et al. 2023): drop the hardest `beta` fraction by
    a proxy `score` (a name in PROXY_SCORES), then sample evenly across `n_strata` equal-width
    score strata (`criteria.coverage.ccs`), per class when `class_balanced`.

    `beta`: the paper picks it per data set and pruning rate by a grid search, larger for higher
    pruning rates (its code's example, CIFAR-10 at 90% pruning, uses 0.3), on scores from a fully
    trained model. There is no rule to carry over to other data sets or to a short proxy's
    scores, so there is no "auto"; the default 0.1 is a mild cutoff for nearly label-clean data
    such as digits and MNIST. Tune it per budget (more for smaller budgets).
    """

    needs_labels = True

    def __init__(self, budget=0.1, random_state=None, class_balanced=False, proxy_score="el2n",
                 beta=0.1, n_strata=50, proxy_model="mlp", proxy_epochs=1.0, image_shape=None,
                 device="auto"):
        self.budget = budget
        self.random_state = random_state
        self.class_balanced = class_balanced
        self.proxy_score = proxy_score
        self.beta = beta
        self.n_strata = n_strata
        self.proxy_model = proxy_model
        self.proxy_epochs = proxy_epochs
        self.image_shape = image_shape
        self.device = device

    def _check_params(self, n_features):
        super()._check_params(n_features)
        if self.proxy_score not in PROXY_SCORES:
            raise ValueError(f"proxy_score={self.proxy_score!r} is not a proxy score; use one of "
                             f"{sorted(PROXY_SCORES)}")
        coverage.check_beta(self.beta)
        coverage.check_n_strata(self.n_strata)

    def _prepare(self, X, y, rng):
        return {"scores": PROXY_SCORES[self.proxy_score](self._proxy(X, y, rng), y)}

    def _select(self, state, pool, k, rng):
        picked = coverage.ccs(state["scores"][pool], k, beta=self.beta, n_strata=self.n_strata,
                              random_state=rng)
        return pool[picked], None, None
