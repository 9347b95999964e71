"""Uncertainty criteria: how much a model's predicted distribution still hesitates.

Entropy (Shannon 1948), margin and least confidence are the classic uncertainty-sampling scores of
active learning (Settles 2009, "Active Learning Literature Survey", section 3.1). Each takes class
probabilities `probs` of shape (n_samples, n_classes) and returns one score per sample, oriented so
that **higher = more uncertain = kept first** (see `distill_lab.criteria.rank`).
"""
from __future__ import annotations

import numpy as np

from distill_lab._validation import check_array_2d, check_labels, is_int

__all__ = ["check_probs", "entropy", "margin", "least_confidence", "expected_calibration_error"]

PROBS_ATOL = 1e-4  # rows of a softmax output in float32 sum to 1 only up to rounding


def check_probs(probs, name: str = "probs") -> np.ndarray:
    """Return `probs` as a float64 array (n, C) of finite, non-negative rows that sum to 1.

    Raises a ValueError naming `name`, the offending row and what is allowed; logits or
    unnormalised scores are the usual mistake, so the message says to apply a softmax first.
    """
    probs = check_array_2d(probs, name=name, dtype=np.float64)  # 2-D, non-empty, finite
    if probs.min() < 0:
        row = int(np.argmin(probs.min(axis=1)))
        raise ValueError(f"{name} must be non-negative class probabilities, got {probs.min():.4g} "
                         f"in row {row}; apply a softmax to logits first")
    sums = probs.sum(axis=1)  # (n,)
    bad = np.flatnonzero(np.abs(sums - 1.0) > PROBS_ATOL)
    if bad.size:
        raise ValueError(f"each row of {name} must sum to 1 (within {PROBS_ATOL:g}), got row "
                         f"{int(bad[0])} summing to {sums[bad[0]]:.6g} ({bad.size} bad row(s) in "
                         "all); apply a softmax to logits first")
    return probs


def entropy(probs) -> np.ndarray:
    """Predictive entropy H(p_i) = -sum_c p_ic log p_ic in nats, with 0 log 0 = 0.

    Ranges from 0 (one-hot, certain) to log C (uniform, most uncertain). Returns shape (n,).
    """
    probs = check_probs(probs)
    # log(0) would give 0 * -inf = nan; the limit p log p -> 0 is what entropy means.
    plogp = np.where(probs > 0, probs * np.log(np.where(probs > 0, probs, 1.0)), 0.0)  # (n, C)
    return -plogp.sum(axis=1)


def margin(probs) -> np.ndarray:
    """Margin uncertainty 1 - (p_(1) - p_(2)), with p_(1) >= p_(2) the two largest probabilities.

    Settles' margin sampling keeps the samples with the *smallest* gap p_(1) - p_(2); we return
    1 minus that gap so the score follows the library rule (higher = more uncertain = kept first).
    Ranges from 0 (one-hot) to 1 (a tie between the top two classes). Needs C >= 2. Shape (n,).
    """
    probs = check_probs(probs)
    if probs.shape[1] < 2:
        raise ValueError(f"margin needs at least 2 classes, got probs with shape {probs.shape}")
    top2 = np.partition(probs, -2, axis=1)[:, -2:]  # (n, 2): [p_(2), p_(1)]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def least_confidence(probs) -> np.ndarray:
    """Least confidence 1 - max_c p_ic: 0 when certain, 1 - 1/C when uniform. Shape (n,)."""
    probs = check_probs(probs)
    return 1.0 - probs.max(axis=1)


def expected_calibration_error(probs, y, n_bins: int = 10) -> float:
    """Expected calibration error (Guo et al. 2017, "On Calibration of Modern Neural Networks"):
    ECE = sum_b |B_b| / n * |acc(B_b) - conf(B_b)| over `n_bins` equal-width confidence bins.

    A sample's confidence is max_c p_ic; bin b holds confidences in (b/n_bins, (b+1)/n_bins]
    (a confidence of 0 goes to bin 0), the bins of `distill_lab.plots.reliability_diagram`.
    Empty bins count 0. Returns a float in [0, 1]; 0 is perfectly calibrated.
    """
    probs = check_probs(probs)
    y = check_labels(y, n_samples=len(probs))
    if not is_int(n_bins) or n_bins < 1:
        raise ValueError(f"n_bins={n_bins!r} must be an int >= 1")
    conf = probs.max(axis=1)                                        # (n,)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)        # (n,)
    b = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    gap = np.bincount(b, weights=correct - conf, minlength=n_bins)  # per bin: sum(acc - conf)
    return float(np.abs(gap).sum() / len(y))
