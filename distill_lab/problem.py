"""The formal subset problem of data distillation, its surrogates and exact optima for tiny n.

Distillation is the bilevel problem: minimize over S (|S| <= k) Loss(S) = Risk_D(theta_S) -
Risk_D(theta_D), where theta_S is trained on S. Its surrogates facility location and k-center are
NP-hard (a reduction from dominating set), and so is the problem itself for learners that reduce to
them, such as the nearest-prototype learner (notebook 01); for logistic regression no hardness proof
is claimed. Each family of methods optimizes a computable surrogate: gradient discrepancy, k-center
radius, facility location, MMD^2. `brute_force` finds the exact optimum of any of them for
n <= 20 and is the test oracle for the greedy methods.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from distill_lab._validation import check_array_2d, check_labels, check_subset, is_int
from distill_lab.criteria import kernels
from distill_lab.criteria.kernels import median_gamma, similarity_matrix, sq_distances

__all__ = ["gradient_discrepancy", "kcenter_radius", "facility_location_value", "mmd2",
           "bilevel_loss", "brute_force", "greedy"]

MAX_N = 20                # brute force refuses larger ground sets ...
MAX_SUBSETS = 200_000     # ... and more subsets than this (C(20, 10) = 184,756 fits)


def gradient_discrepancy(G, indices, weights=None) -> float:
    """|| (1/n) sum_i G_i - sum_{j in S} w_j G_j ||, G (n, p) per-sample gradients; w = 1/|S|.

    The gradient-matching surrogate (CRAIG, Mirzasoleiman et al. 2020): 0 when the weighted
    subset reproduces the full-data gradient.
    """
    G = check_array_2d(G, name="G")
    indices = check_subset(indices, len(G))
    if weights is None:
        weights = np.full(len(indices), 1.0 / len(indices))
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != indices.shape or not np.all(np.isfinite(weights)):
        raise ValueError(f"weights must be {len(indices)} finite numbers, one per index, got "
                         f"shape {weights.shape}")
    return float(np.linalg.norm(G.mean(axis=0) - weights @ G[indices]))


def kcenter_radius(X, indices) -> float:
    """Covering radius max_i min_{j in S} ||x_i - x_j|| (what greedy k-center minimizes)."""
    X = check_array_2d(X)
    indices = check_subset(indices, len(X))
    d2 = sq_distances(X, X[indices]).min(axis=1)                  # (n,)
    return float(np.sqrt(d2.max()))


def facility_location_value(X, indices, *, similarity="rbf", gamma=None) -> float:
    """F(S) = sum_i max_{j in S} sim(i, j).

    `similarity` is "rbf" (gamma=None: the median heuristic `median_gamma(X)`), "cosine", or
    "precomputed": X is then an (n, n) similarity matrix. Same kernels as
    `criteria.facility_dense.facility_location`, which maximizes F greedily.
    """
    if similarity == "precomputed":
        S = check_array_2d(X, name="X")
        if S.shape[0] != S.shape[1]:
            raise ValueError(f"with similarity='precomputed' X must be square (n, n), got "
                             f"shape {S.shape}")
        indices = check_subset(indices, len(S))
        return float(S[:, indices].max(axis=1).sum())
    X = check_array_2d(X)
    indices = check_subset(indices, len(X))
    if similarity == "rbf" and gamma is None:
        gamma = median_gamma(X)
    S = similarity_matrix(X, X[indices], similarity=similarity, gamma=gamma)   # (n, |S|)
    return float(S.max(axis=1).sum())


def mmd2(X, indices, gamma=None, *, chunk_size=2048) -> float:
    """Biased (V-statistic) MMD^2 between the data and the subset with an RBF kernel.

    MMD^2 = mean K(D, D) + mean K(S, S) - 2 mean K(D, S), K = exp(-gamma ||a - b||^2), gamma=None:
    the median heuristic (as in facility location). Herding minimizes it greedily (with a linear
    kernel); it is 0 for S = D. Computed by `criteria.kernels.mmd2` over row chunks.
    """
    X = check_array_2d(X)
    indices = check_subset(indices, len(X))
    kernels.check_similarity("rbf", gamma)
    gamma = median_gamma(X) if gamma is None else gamma
    return kernels.mmd2(X, X[indices], 1.0 / gamma, chunk_size=chunk_size)


def _mean_log_loss(model, classes, X, y) -> float:
    """Mean -log p(y | x); classes unseen in training get probability 0 (loss +inf)."""
    probs = np.zeros((len(X), int(max(y.max(), classes.max())) + 1))
    if model is None:                      # one class seen: the constant predictor p(c) = 1
        probs[:, classes[0]] = 1.0
    else:
        probs[:, classes] = model.predict_proba(X)
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log(probs[np.arange(len(y)), y])))


def _fit_logreg(X, y, C):
    from sklearn.linear_model import LogisticRegression

    classes = np.unique(y)
    if len(classes) == 1:
        return None, classes
    return LogisticRegression(C=C, max_iter=5000).fit(X, y), classes


def bilevel_loss(X, y, indices, X_eval=None, y_eval=None, C=1.0) -> float:
    """The true objective Risk(theta_S) - Risk(theta_D) for scikit-learn LogisticRegression.

    Risk is the mean log-loss on (X_eval, y_eval), by default on D = (X, y) itself. A subset that
    misses a class of the evaluation data yields +inf: the regularized fit on S leaves that class's
    intercept unpenalized, so its probability goes to 0 (a single-class S is the constant predictor
    p(c) = 1). Negative values are possible: a subset can beat the full data on held-out data.
    For tiny n (it refits a model per call).
    """
    X, y = check_array_2d(X), check_labels(y, n_samples=len(np.asarray(X)))
    indices = check_subset(indices, len(X))
    if (X_eval is None) != (y_eval is None):
        raise ValueError("X_eval and y_eval must be given together (or neither, to use X, y)")
    if X_eval is None:
        X_eval, y_eval = X, y
    else:
        X_eval = check_array_2d(X_eval, name="X_eval")
        y_eval = check_labels(y_eval, n_samples=len(X_eval), name="y_eval")
    risk_S = _mean_log_loss(*_fit_logreg(X[indices], y[indices], C), X_eval, y_eval)
    risk_D = _mean_log_loss(*_fit_logreg(X, y, C), X_eval, y_eval)
    return risk_S - risk_D


def _check_search(objective, n, k, maximize):
    if not callable(objective):
        raise TypeError(f"objective must be a callable f(indices) -> float, got "
                        f"{type(objective).__name__}")
    for name, value in (("n", n), ("k", k)):
        if not is_int(value):
            raise TypeError(f"{name} must be an int, got {value!r}")
    if n < 1 or not 1 <= k <= n:
        raise ValueError(f"need n >= 1 and 1 <= k <= n, got n={n}, k={k}")
    if not isinstance(maximize, bool):
        raise TypeError(f"maximize must be True or False, got {maximize!r}")


def _value(objective, subset) -> float:
    value = float(objective(np.asarray(subset, dtype=np.int64)))
    if np.isnan(value):
        raise ValueError(f"objective returned NaN for the subset {list(subset)}")
    return value


def brute_force(objective, n, k, *, maximize):
    """Exact optimum of `objective` over all subsets of size k of range(n) (n <= 20).

    `objective(indices) -> float` gets a sorted int64 array. Returns (best indices (k,) sorted,
    best value); ties go to the first subset in lexicographic order.
    """
    _check_search(objective, n, k, maximize)
    n_subsets = math.comb(n, k)
    if n > MAX_N or n_subsets > MAX_SUBSETS:
        raise ValueError(f"brute force over C(n={n}, k={k}) = {n_subsets} subsets is too "
                         f"expensive; it is meant for n <= {MAX_N} and at most {MAX_SUBSETS} "
                         "subsets: use greedy or a library criterion")
    sign = 1.0 if maximize else -1.0
    best, best_value = None, -np.inf
    for subset in itertools.combinations(range(n), k):
        value = sign * _value(objective, subset)
        if best is None or value > best_value:
            best, best_value = subset, value
    return np.asarray(best, dtype=np.int64), sign * best_value


def greedy(objective, n, k, *, maximize):
    """Plain greedy for a set function: add the element with the best objective, k times.

    Returns (indices (k,) in selection order, values (k,) of the objective after each step);
    ties go to the lowest index. For monotone submodular objectives (facility location) the
    result is within (1 - 1/e) of the optimum (Nemhauser, Wolsey & Fisher 1978).
    """
    _check_search(objective, n, k, maximize)
    sign = 1.0 if maximize else -1.0
    picked, values = [], []
    for _ in range(k):
        rest = [j for j in range(n) if j not in picked]
        scores = [sign * _value(objective, picked + [j]) for j in rest]
        best = int(np.argmax(scores))                 # first maximum: lowest index
        picked.append(rest[best])
        values.append(sign * scores[best])
    return np.asarray(picked, dtype=np.int64), np.asarray(values, dtype=np.float64)
