"""One score per sample: its histogram with the selected samples' overlaid, and the reliability
diagram of a model's confidences (Guo et al. 2017, "On Calibration of Modern Neural Networks").
"""
from __future__ import annotations

import numpy as np

from distill_lab._validation import check_array_2d, check_labels
from distill_lab.plots.style import get_axes, set_title

__all__ = ["score_histogram", "confidence_bins", "reliability_diagram"]


def score_histogram(scores, *, selected=None, bins=40, ax=None, xlabel="score",
                    label="all samples", title=None):
    """Histogram of one score per sample, with the `selected` indices' scores overlaid."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    ax = get_axes(ax)
    edges = np.histogram_bin_edges(scores, bins=bins)
    ax.hist(scores, bins=edges, alpha=0.5, label=f"{label} (n={len(scores)})")
    if selected is not None:
        selected = np.asarray(selected, dtype=np.int64)
        ax.hist(scores[selected], bins=edges, alpha=0.8, label=f"selected (k={len(selected)})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("number of samples")
    set_title(ax, title)
    ax.legend()
    return ax


def confidence_bins(probs, y, n_bins=10) -> dict:
    """Bin samples by confidence max_c p_ic into `n_bins` equal-width bins of [0, 1].

    Returns arrays of length n_bins: mean `confidence`, `accuracy` (NaN in empty bins) and `count`.
    The expected calibration error is sum(count * |accuracy - confidence|) / n over non-empty bins.
    """
    probs = check_array_2d(probs, name="probs")
    y = check_labels(y, n_samples=len(probs))
    if not (isinstance(n_bins, int) and n_bins >= 1):
        raise ValueError(f"n_bins={n_bins!r} must be an int >= 1")
    conf = probs.max(axis=1)  # (n,)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    # bin b holds conf in (b/n_bins, (b+1)/n_bins]; conf = 0 goes to bin 0
    b = np.clip(np.ceil(conf * n_bins).astype(int) - 1, 0, n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(b, weights=conf, minlength=n_bins) / count
        acc = np.bincount(b, weights=correct, minlength=n_bins) / count
    return {"confidence": mean_conf, "accuracy": acc, "count": count}


def reliability_diagram(probs, y, *, n_bins=10, ax=None, label="model", title=None):
    """Accuracy vs mean confidence per confidence bin; the diagonal is perfect calibration."""
    bins = confidence_bins(probs, y, n_bins)
    ax = get_axes(ax)
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfectly calibrated")
    full = bins["count"] > 0
    ax.plot(bins["confidence"][full], bins["accuracy"][full], "o-", label=label)
    ax.set_xlabel("confidence  max$_c$ $p_c$ (bin mean)")
    ax.set_ylabel("accuracy in bin")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    set_title(ax, title)
    ax.legend()
    return ax
