"""The selector contract (DESIGN.md §3): a scikit-learn estimator whose `fit` picks a subset.

`fit` validates the data and the budget, splits the budget across classes when
`class_balanced=True`, and records `indices_` (selection order), `weights_`, `scores_`,
`budget_per_class_` and `selection_seconds_`. Subclasses implement `_prepare` (once, on all data) and `_select` (per pool),
and may record more fitted attributes from the state in `_finish`.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator

from distill_lab._validation import check_random_state, check_X_y, resolve_budget, split_budget
from distill_lab.criteria import rank

__all__ = ["BaseSelector", "ScoreSelector"]


class BaseSelector(BaseEstimator):
    """Base class: subclasses store their arguments in `__init__` and do nothing else there."""

    needs_labels = False

    def _prepare(self, X, y, rng) -> dict:
        """Work done once on all samples (e.g. a proxy model); returns a state dict."""
        return {"X": X, "y": y}

    def _select(self, state: dict, pool: np.ndarray, k: int, rng):
        """Pick `k` indices from `pool` (indices into X), in selection order, and their weights."""
        raise NotImplementedError

    def _finish(self, state: dict) -> None:
        """Record extra fitted attributes (ending in `_`) from the state after selection."""

    def fit(self, X, y=None):
        X, y = check_X_y(X, y)
        if y is None and (self.needs_labels or self.class_balanced):
            raise ValueError(f"{type(self).__name__} needs labels y "
                             f"(class_balanced={self.class_balanced}); got y=None")
        k = resolve_budget(self.budget, len(X))
        per_class = split_budget(y, k) if self.class_balanced else None
        rng = check_random_state(self.random_state)
        start = time.perf_counter()
        state = self._prepare(X, y, rng)
        if per_class is None:
            indices, weights = self._select(state, np.arange(len(X)), k, rng)
        else:
            parts = [self._select(state, np.flatnonzero(y == c), kc, rng)
                     for c, kc in per_class.items()]
            indices = np.concatenate([p[0] for p in parts])
            weights = (None if any(p[1] is None for p in parts)
                       else np.concatenate([p[1] for p in parts]))
            indices, weights = self._order(state, indices, weights)
        self.selection_seconds_ = time.perf_counter() - start
        self.budget_per_class_ = per_class   # {class: count} when class_balanced, else None
        self.indices_ = np.asarray(indices, dtype=np.int64)
        self.weights_ = None if weights is None else np.asarray(weights, dtype=np.float64)
        scores = state.get("scores")
        self.scores_ = None if scores is None else np.asarray(scores, dtype=np.float64)
        self._finish(state)
        self._check_result(len(X), k)
        return self

    def _order(self, state, indices, weights):
        """Order class-balanced picks by score when there are scores (one rule: `rank`)."""
        scores = state.get("scores")
        if scores is None:
            return indices, weights
        order = rank(scores[indices])
        return indices[order], None if weights is None else weights[order]

    def _check_result(self, n, k):
        idx = self.indices_
        if len(idx) != k or len(np.unique(idx)) != k or idx.min() < 0 or idx.max() >= n:
            raise RuntimeError(f"{type(self).__name__} produced an invalid selection "
                               f"({len(idx)} indices for budget {k}); this is a bug")
        if self.weights_ is not None and self.weights_.shape != (k,):
            raise RuntimeError(f"{type(self).__name__} produced {self.weights_.shape} weights "
                               f"for {k} indices; this is a bug")


class ScoreSelector(BaseSelector):
    """Keeps the highest-scoring samples; subclasses implement `_scores(X, y, rng)`.

    `skip_top` drops that fraction of the highest scores first (for EL2N/GraNd: the hardest samples
    are often mislabeled, Paul et al. 2021).
    """

    def _scores(self, X, y, rng) -> np.ndarray:
        raise NotImplementedError

    def _prepare(self, X, y, rng):
        return {"scores": np.asarray(self._scores(X, y, rng), dtype=np.float64)}

    def _select(self, state, pool, k, rng):
        order = pool[rank(state["scores"][pool])]
        skip_top = getattr(self, "skip_top", 0.0)
        if not 0.0 <= skip_top < 1.0:
            raise ValueError(f"skip_top={skip_top!r} must be a fraction in [0, 1)")
        skip = min(int(round(skip_top * len(order))), len(order) - k)
        return order[skip:skip + k], None
