"""Herding (Welling, ICML 2009; Chen, Welling & Smola, UAI 2010) with the linear kernel: pick the
samples one by one so that the running mean of the picks tracks the data mean, the greedy form
used by iCaRL (Rebuffi et al., CVPR 2017). `chunked.herding_chunked` gives the same picks with
bounded memory for millions of samples.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from distill_lab._validation import resolve_budget
from distill_lab.criteria.kernels import as_features, centered

__all__ = ["herding"]


def herding(X, budget, *, verbose=False) -> np.ndarray:
    """Herding with the linear kernel: each step adds the sample that brings the mean of the picks
    closest to the data mean, i.e. greedily minimises MMD^2 = ||mean_S x - mean_D x||^2
    (Welling 2009; Chen et al. 2010; the greedy form of Rebuffi et al. 2017). No repeats.
    """
    X = centered(as_features(X))                    # the data mean is now 0
    n = len(X)
    k = resolve_budget(budget, n)
    sq = np.einsum("ij,ij->i", X, X)                              # (n,)
    total = np.zeros(X.shape[1], dtype=np.float64)  # sum of the picks so far, (d,)
    taken = np.zeros(n, dtype=bool)
    picked = []
    for _ in tqdm(range(k), desc="herding", disable=not verbose):
        # ||(total + x) / t||^2 ranks like ||x||^2 + 2 x . total  (the mean is 0)
        score = sq + 2 * (X @ total.astype(X.dtype))
        score[taken] = np.inf
        j = int(np.argmin(score))
        picked.append(j)
        taken[j] = True
        total += X[j]
    return np.asarray(picked, dtype=np.int64)
