"""Density representatives as distillation: DBSCAN (Ester et al. 1996) or HDBSCAN (Campello et al.
2013) clusters, each represented by K-means medoids of its core points, weighted by the members
nearest each pick.

DBSCAN has no "k", so `dbscan_select` searches eps (k-distance heuristic, then bisection) until the
number of clusters fits the budget; HDBSCAN bisects `min_cluster_size` the same way.
"""
from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import DBSCAN, HDBSCAN
from sklearn.metrics import pairwise_distances_argmin
from sklearn.neighbors import NearestNeighbors

from distill_lab._validation import check_array_2d, check_random_state, is_int, split_budget
from distill_lab.selectors.kmeans import kmeans_medoids

__all__ = ["SingleClusterWarning", "k_distance", "knee_eps", "DensityResult", "dbscan_select",
           "check_density_params", "METHODS"]

METHODS = ("dbscan", "hdbscan")
EPS_RTOL = 0.01  # the eps bisection stops once its bracket is this narrow (relative)


class SingleClusterWarning(UserWarning):
    """The density search ended with one cluster: every pick comes from it (K-means medoids)."""


def k_distance(X, min_samples: int) -> np.ndarray:
    """Distance from each sample to its `min_samples`-th nearest neighbour, itself counted (n,).

    With scikit-learn's DBSCAN convention, sample i is a core point exactly when this is <= eps.
    """
    X = check_array_2d(X, dtype=np.float32)
    if not 1 <= min_samples <= len(X):
        raise ValueError(f"min_samples={min_samples} must lie in [1, n_samples={len(X)}]")
    dist, _ = NearestNeighbors(n_neighbors=min_samples).fit(X).kneighbors(X)  # (n, min_samples)
    return dist[:, -1].astype(np.float64)


def knee_eps(kdist) -> float:
    """The knee of the sorted k-distance curve: the point farthest below the chord (Kneedle-style)."""
    d = np.sort(np.asarray(kdist, dtype=np.float64))
    if d[-1] <= d[0]:
        return float(d[0])
    x = np.linspace(0.0, 1.0, len(d))
    yn = (d - d[0]) / (d[-1] - d[0])
    return float(d[int(np.argmax(x - yn))])


@dataclass
class DensityResult:
    """Representatives (indices into X), their weights, and what the search saw."""

    indices: np.ndarray
    weights: np.ndarray
    labels: np.ndarray          # (n,) cluster id, -1 = noise
    n_clusters: int
    n_noise: int
    eps: float | None           # None for HDBSCAN
    min_cluster_size: int | None
    tried: list = field(default_factory=list)   # (eps or min_cluster_size, n_clusters, n_noise)


def dbscan_select(X, budget: int, *, method: str = "dbscan", eps=None, min_samples: int = 5,
                  max_iter: int = 16, noise: str = "exclude", random_state=None) -> DensityResult:
    """Pick `budget` core samples: one per density cluster (the most central), the rest shared
    among clusters in proportion to their size.

    DBSCAN: eps=None searches eps from the k-distance knee, never below the value that makes at
    least `budget` core points, then doubles and bisects it (at most `max_iter` fits) until
    #clusters <= budget. HDBSCAN: bisects `min_cluster_size` the same way. Noise is excluded and
    counted (noise="include" lets noise points fill the budget as one more group).
    """
    X = check_array_2d(X, dtype=np.float32)
    n = len(X)
    check_density_params(method, eps, min_samples, max_iter, noise)
    if not 1 <= budget <= n:
        raise ValueError(f"budget={budget} must lie in [1, n_samples={n}]")
    if min_samples > n:
        raise ValueError(f"budget={budget} is unreachable: min_samples={min_samples} exceeds the "
                         f"{n} samples, so every sample is noise for any eps; lower min_samples")
    if method == "dbscan":
        labels, core, eps_, tried = _search_eps(X, budget, eps, min_samples, max_iter)
        mcs = None
    else:
        labels, core, mcs, tried = _search_min_cluster_size(X, budget, min_samples, max_iter)
        eps_ = None
    n_clusters = int(labels.max()) + 1
    if n_clusters == 1 and budget > 1:
        warnings.warn(f"{method} found a single cluster (tried {_describe(tried, method)}); all "
                      f"{budget} picks are K-means medoids of its core points",
                      SingleClusterWarning, stacklevel=2)
    idx, w = _representatives(X, labels, core, budget, noise, random_state)
    return DensityResult(idx, w, labels, n_clusters, int(np.sum(labels < 0)), eps_, mcs, tried)


def check_density_params(method, eps, min_samples, max_iter, noise) -> None:
    """The settings of `dbscan_select`, checked before any work."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} must be one of {list(METHODS)}")
    if noise not in ("exclude", "include"):
        raise ValueError(f"noise={noise!r} must be 'exclude' or 'include'")
    if not is_int(max_iter) or max_iter < 1:
        raise ValueError(f"max_iter={max_iter!r} must be an int >= 1")
    if not is_int(min_samples) or min_samples < 1:
        raise ValueError(f"min_samples={min_samples!r} must be an int >= 1")
    if eps is not None and (isinstance(eps, bool) or not isinstance(eps, numbers.Real)
                            or not np.isfinite(eps) or eps <= 0):
        raise ValueError(f"eps={eps!r} must be a positive number, or None to search for it")


def _describe(tried, method) -> str:
    name = "eps" if method == "dbscan" else "min_cluster_size"
    vals = [t[0] for t in tried]
    return f"{name} in [{min(vals):.4g}, {max(vals):.4g}] over {len(vals)} fit(s)"


def _fit_dbscan(X, eps, min_samples):
    db = DBSCAN(eps=max(float(eps), 1e-12), min_samples=min_samples).fit(X)
    core = np.zeros(len(X), dtype=bool)
    core[db.core_sample_indices_] = True
    return db.labels_.astype(np.int64), core


def _search_eps(X, budget, eps, min_samples, max_iter):
    """Smallest tried eps with 1 <= #clusters <= budget and >= budget core points."""
    tried = []

    def fit(e):
        labels, core = _fit_dbscan(X, e, min_samples)
        tried.append((float(e), int(labels.max()) + 1, int(np.sum(labels < 0))))
        return labels, core

    if eps is not None:   # fixed eps: check it, no search
        labels, core = fit(eps)
        if tried[-1][1] > budget or core.sum() < budget:
            raise ValueError(f"eps={eps} gives {tried[-1][1]} clusters and {int(core.sum())} core "
                             f"points; budget={budget} needs at most {budget} clusters and at "
                             "least as many core points: use eps=None to search for eps")
        return labels, core, float(eps), tried
    kdist = k_distance(X, min_samples)
    eps_core = float(np.sort(kdist)[budget - 1])   # core iff kdist <= eps: >= budget core points
    lo = max(knee_eps(kdist), eps_core)
    res = fit(lo)
    if tried[-1][1] <= budget:
        return res[0], res[1], lo, tried
    # Double until few enough clusters (bounded: at eps >= the data's diameter there is 1 cluster).
    diameter = 2.0 * float(np.sqrt(((X - X.mean(axis=0)) ** 2).sum(axis=1).max())) + 1e-12
    hi, found = lo, None
    for _ in range(max_iter):
        hi = min(2.0 * hi if hi > 0 else diameter, diameter)
        res = fit(hi)
        if tried[-1][1] <= budget:
            found = (hi, *res)
            break
        lo = hi
    if found is None:
        raise ValueError(f"budget={budget} is unreachable: every eps tried gave more clusters "
                         f"than the budget ({_describe(tried, 'dbscan')}); raise max_iter")
    for _ in range(max_iter - len(tried) + 1):   # bisection: lo has too many clusters, hi fits
        if found[0] - lo <= EPS_RTOL * found[0]:
            break                                 # bracket within 1%: more fits change little
        mid = 0.5 * (lo + found[0])
        res = fit(mid)
        if tried[-1][1] <= budget:
            found = (mid, *res)
        else:
            lo = mid
    return found[1], found[2], found[0], tried


def _search_min_cluster_size(X, budget, min_samples, max_iter):
    """Smallest tried min_cluster_size with 1 <= #clusters <= budget and >= budget members."""
    tried, best = [], None
    lo, hi = max(2, min_samples), len(X)
    for _ in range(max_iter):
        if lo > hi:
            break
        m = lo if not tried else (lo + hi) // 2
        hd = HDBSCAN(min_cluster_size=m, min_samples=min_samples, copy=True).fit(X)
        labels = hd.labels_.astype(np.int64)
        k, members = int(labels.max()) + 1, int(np.sum(labels >= 0))
        tried.append((m, k, len(X) - members))
        if k > budget:
            lo = m + 1                       # too many clusters: demand bigger ones
        elif k == 0 or members < budget:
            hi = m - 1                       # all noise or too few members: smaller clusters
        else:
            best = (m, labels)
            hi = m - 1                       # feasible: look for more, smaller clusters
    if best is None:
        raise ValueError(f"budget={budget} is unreachable with HDBSCAN: no min_cluster_size gave "
                         f"between 1 and {budget} clusters holding >= {budget} samples "
                         f"({_describe(tried, 'hdbscan')}); try method='dbscan' or noise='include'")
    labels = best[1]
    return labels, labels >= 0, best[0], tried


def _representatives(X, labels, core, budget, noise, random_state):
    """Share `budget` over clusters (>= 1 each, proportional to candidates), then K-means medoids
    of each cluster's candidates; weights count the members nearest each pick."""
    groups = labels.copy()
    cand = core & (labels >= 0)
    if noise == "include" and budget > labels.max() + 1:
        groups[labels < 0] = labels.max() + 1        # noise as one more group (if budget allows)
        cand = cand | (labels < 0)
    alloc = split_budget(groups[cand], budget)
    rng = check_random_state(random_state)
    idx, w = [], []
    for g, m in alloc.items():
        pool = np.flatnonzero(cand & (groups == g))
        km = kmeans_medoids(X[pool], m, random_state=rng.randint(2**31 - 1))
        picks = pool[km.medoids]
        members = np.flatnonzero(groups == g)
        nearest = pairwise_distances_argmin(X[members], X[picks])   # (n_members,)
        idx.append(picks)
        w.append(np.bincount(nearest, minlength=m).astype(np.float64))
    order = np.argsort(-np.array([len(i) for i in idx]), kind="stable")  # largest clusters first
    return (np.concatenate([idx[o] for o in order]).astype(np.int64),
            np.concatenate([w[o] for o in order]))
