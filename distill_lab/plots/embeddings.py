"""Where a selection lands on a 2-D embedding of the samples: the picks among the classes, DBSCAN
clusters and noise (Ester et al. 1996), and the k-distance curve its eps is read from.
"""
from __future__ import annotations

import numpy as np

from distill_lab._validation import check_array_2d, check_labels
from distill_lab.plots.style import get_axes, set_title

__all__ = ["picks_on_embedding", "plot_k_distance", "plot_clusters"]


def picks_on_embedding(Z2, y, picks, *, ax=None, title=None, label="picks"):
    """Samples on a 2-D embedding `Z2` (n, 2) coloured by class `y`, with the `picks` (indices) drawn
    large and black-edged on top: where a selection method spends its budget."""
    Z2 = check_array_2d(Z2, name="Z2")
    if Z2.shape[1] != 2:
        raise ValueError(f"Z2 must have 2 columns (a 2-D embedding), got shape {Z2.shape}")
    y = check_labels(y, n_samples=len(Z2))
    picks = np.asarray(picks, dtype=np.int64)
    if picks.ndim != 1 or (picks.size and (picks.min() < 0 or picks.max() >= len(Z2))):
        raise ValueError(f"picks must be a 1-D array of indices in [0, {len(Z2)}), got {picks!r}")
    ax = get_axes(ax)
    colors = dict(cmap="tab10", vmin=-0.5, vmax=9.5)  # class c -> the c-th tab10 colour
    ax.scatter(*Z2.T, c=y, s=6, alpha=0.25, label=f"all samples (n={len(Z2)}, colour = class)",
               **colors)
    ax.scatter(*Z2[picks].T, c=y[picks], s=45, edgecolors="black", linewidths=0.8,
               label=f"{label} (k={len(picks)})", **colors)
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_k_distance(kdist, eps=None, *, min_samples=None, ax=None, title=None):
    """Sorted distances to the min_samples-th neighbour; a horizontal line marks the chosen eps
    (samples above it are not core points)."""
    ax = get_axes(ax)
    d = np.sort(np.asarray(kdist, dtype=float))
    label = "k-distance" if min_samples is None else f"distance to neighbour {min_samples}"
    ax.plot(np.arange(len(d)), d, color="C0", label=label)
    if eps is not None:
        n_core = int(np.sum(d <= eps))
        ax.axhline(eps, color="C3", ls="--", label=f"eps = {eps:.3g} ({n_core} core points)")
    ax.set_xlabel("samples sorted by k-distance (rank)")
    ax.set_ylabel("k-distance (feature-space units)")
    set_title(ax, title)
    ax.legend()
    return ax


def plot_clusters(Z2, labels, picks=None, *, ax=None, title=None):
    """Samples on a 2-D embedding `Z2` (n, 2) colored by cluster (noise, label -1, in grey);
    `picks` (indices) drawn as black-edged stars."""
    ax = get_axes(ax)
    Z2 = np.asarray(Z2, dtype=float)
    labels = np.asarray(labels)
    noise = labels < 0
    if noise.any():
        ax.scatter(*Z2[noise].T, s=8, c="lightgrey", label=f"noise ({int(noise.sum())})")
    ax.scatter(*Z2[~noise].T, s=8, c=labels[~noise], cmap="tab10", alpha=0.7,
               label=f"clustered ({int((~noise).sum())})")
    if picks is not None:
        ax.scatter(*Z2[np.asarray(picks)].T, s=90, marker="*", c="gold", edgecolors="black",
                   label=f"picks ({len(picks)})")
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
    if title:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax
