"""The selector contract (docs/design.md §3): a scikit-learn estimator whose `fit` picks a subset.

`fit` validates the data, the budget and every parameter before any work (no proxy is trained
for a bad setting), splits the budget across classes when `class_balanced=True`, and records
`indices_` (selection order), `weights_`, `scores_`, `budget_per_class_`, `n_features_in_`,
`selection_seconds_` and `device_` (the torch device of its proxy; 'cpu' where it runs on
numpy). Subclasses implement `_check_params` (the checks of their own parameters), `_prepare`
(once, on all data) and `_select` (per pool), and may record more fitted attributes in `_finish`
from what each pool's `_select` returned.
"""
from __future__ import annotations

import numbers
import time

import numpy as np
from sklearn.base import BaseEstimator

from distill_lab._validation import check_random_state, check_X_y, resolve_budget, split_budget
from distill_lab.proxy import billed_seconds
from distill_lab.criteria import rank

__all__ = ["BaseSelector", "ScoreSelector"]


class BaseSelector(BaseEstimator):
    """Base class: subclasses store their arguments in `__init__` and do nothing else there."""

    needs_labels = False

    def _check_params(self, n_features: int) -> None:
        """Check every parameter except budget and random_state (checked in `fit`); no work."""
        if not isinstance(self.class_balanced, (bool, np.bool_)):
            raise TypeError(f"class_balanced must be True or False, got "
                            f"{self.class_balanced!r}")

    def _device(self) -> str:
        """The device the selection runs on (resolved in `fit`): numpy here, so 'cpu'."""
        return "cpu"

    def _prepare(self, X, y, rng) -> dict:
        """Work done once on all samples (e.g. a proxy model); returns a state dict."""
        return {"X": X, "y": y}

    def _select(self, state: dict, pool: np.ndarray, k: int, rng):
        """Pick `k` indices from `pool` (indices into X), in selection order.

        Returns (indices, weights or None, info): `info` is whatever this pool's fit found (None
        if nothing); `_finish` gets them all, in pool order.
        """
        raise NotImplementedError

    def _finish(self, state: dict, infos: list) -> None:
        """Record extra fitted attributes (ending in `_`) from the pools' infos."""

    def fit(self, X, y=None):
        X, y = check_X_y(X, y)
        if y is None and (self.needs_labels or self.class_balanced):
            why = ("class_balanced=True splits the budget by class" if self.class_balanced else
                   "its selection uses the labels")
            hint = ("; use features='raw' for unlabeled data"
                    if getattr(self, "features", None) == "embedding" else "")
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             f"is None: {why} (integer class labels 0..C-1){hint}")
        k = resolve_budget(self.budget, len(X))
        self._check_params(X.shape[1])
        self.device_ = self._device()
        rng = check_random_state(self.random_state)
        per_class = split_budget(y, k) if self.class_balanced else None
        pools = ([(np.arange(len(X)), k)] if per_class is None else
                 [(np.flatnonzero(y == c), kc) for c, kc in per_class.items()])
        start, billed = time.perf_counter(), billed_seconds()
        state = self._prepare(X, y, rng)
        # selectors.distributed sets `_select_pools(state, pools, rng)` for one fit: the pools'
        # `_select` calls as tasks; otherwise they run here in turn
        select_pools = self.__dict__.get("_select_pools")
        parts = ([self._select(state, pool, kp, rng) for pool, kp in pools]
                 if select_pools is None else select_pools(state, pools, rng))
        indices = np.concatenate([p[0] for p in parts])
        weights = (None if any(p[1] is None for p in parts)
                   else np.concatenate([p[1] for p in parts]))
        if per_class is not None:
            indices, weights = self._order(state, indices, weights)
        # a proxy reused from `shared_proxies` is billed what training it took
        self.selection_seconds_ = time.perf_counter() - start + billed_seconds() - billed
        self.n_features_in_ = X.shape[1]
        self.budget_per_class_ = per_class   # {class: count} when class_balanced, else None
        self.indices_ = np.asarray(indices, dtype=np.int64)
        self.weights_ = None if weights is None else np.asarray(weights, dtype=np.float64)
        scores = state.get("scores")
        self.scores_ = None if scores is None else np.asarray(scores, dtype=np.float64)
        self._finish(state, [p[2] for p in parts])
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

    def _check_params(self, n_features):
        super()._check_params(n_features)
        skip_top = getattr(self, "skip_top", 0.0)
        if isinstance(skip_top, bool) or not isinstance(skip_top, numbers.Real) \
                or not 0.0 <= skip_top < 1.0:
            raise ValueError(f"skip_top={skip_top!r} must be a fraction in [0, 1)")

    def _prepare(self, X, y, rng):
        return {"scores": np.asarray(self._scores(X, y, rng), dtype=np.float64)}

    def _select(self, state, pool, k, rng):
        order = pool[rank(state["scores"][pool])]
        skip = min(int(round(getattr(self, "skip_top", 0.0) * len(order))), len(order) - k)
        return order[skip:skip + k], None, None
