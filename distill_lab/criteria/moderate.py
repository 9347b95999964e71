"""Moderate coreset (Xia et al., ICLR 2023, "Moderate Coreset: A Universal Method of Data Selection
for Real-world Data-efficient Deep Learning"): in feature space, a sample's distance to its class
centre says how typical it is; neither the easiest (nearest) nor the hardest (farthest) samples
are kept first, but those whose distance is closest to the class's median distance.
"""
from __future__ import annotations

import numpy as np

from distill_lab._validation import check_array_2d, check_labels

__all__ = ["center_distances", "moderate"]


def _check(features, y):
    features = check_array_2d(features, name="features", dtype=np.float64)
    y = (np.zeros(len(features), dtype=np.int64) if y is None
         else check_labels(y, n_samples=len(features)))
    return features, y


def center_distances(features, y=None) -> np.ndarray:
    """||x_i - mean of x over i's class||, shape (n,); y=None treats all samples as one class."""
    features, y = _check(features, y)
    dist = np.empty(len(features))
    for c in np.unique(y):
        members = y == c
        center = features[members].mean(axis=0)                        # (d,)
        dist[members] = np.linalg.norm(features[members] - center, axis=1)
    return dist


def moderate(features, y=None) -> np.ndarray:
    """Moderate score -|d_i - median of d over i's class|, d = `center_distances`; shape (n,).

    0 for a sample at exactly the median distance, lower the farther its distance is from it:
    higher = kept first (`distill_lab.criteria.rank`). The authors' code (tmllab/2023_ICLR_
    Moderate-DS, selection.py) differs in two details: its centre is the coordinate-wise median
    feature, and it keeps the middle band of ranks of the distances pooled over classes (the
    same samples as here when the distances are symmetric about the median).
    """
    features, y = _check(features, y)
    dist = center_distances(features, y)
    score = np.empty(len(dist))
    for c in np.unique(y):
        members = y == c
        score[members] = -np.abs(dist[members] - np.median(dist[members]))
    return score
