"""Teaching plots: the DBSCAN k-distance curve with its eps, clusters and picks on a 2-D embedding,
and learning curves with bands over seeds. Every function takes `ax=None`, returns the axes and
never calls `plt.show()`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot_k_distance", "plot_clusters", "plot_learning_curves"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def plot_k_distance(kdist, eps=None, *, min_samples=None, ax=None):
    """Sorted distances to the min_samples-th neighbour; a horizontal line marks the chosen eps
    (samples above it are not core points)."""
    ax = _axes(ax)
    d = np.sort(np.asarray(kdist, dtype=float))
    label = "k-distance" if min_samples is None else f"distance to neighbour {min_samples}"
    ax.plot(np.arange(len(d)), d, color="C0", label=label)
    if eps is not None:
        n_core = int(np.sum(d <= eps))
        ax.axhline(eps, color="C3", ls="--", label=f"eps = {eps:.3g} ({n_core} core points)")
    ax.set_xlabel("samples sorted by k-distance")
    ax.set_ylabel("k-distance")
    ax.legend()
    return ax


def plot_clusters(Z2, labels, picks=None, *, ax=None, title=None):
    """Samples on a 2-D embedding `Z2` (n, 2) colored by cluster (noise, label -1, in grey);
    `picks` (indices) drawn as black-edged stars."""
    ax = _axes(ax)
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


def plot_learning_curves(curves: dict, *, ax=None, band="std"):
    """Accuracy vs labeled-set size, one line per strategy: the mean over seeds with a band of
    +-1 std (band="std") or min-max (band="range"). `curves` maps a name to a list of results
    with `labeled_sizes` and `accuracies` (e.g. `distill_lab.active.compare_strategies`)."""
    if band not in ("std", "range"):
        raise ValueError(f"band={band!r} must be 'std' or 'range'")
    ax = _axes(ax)
    for i, (name, runs) in enumerate(curves.items()):
        runs = runs if isinstance(runs, (list, tuple)) else [runs]
        sizes = np.asarray(runs[0].labeled_sizes)
        acc = 100 * np.stack([r.accuracies for r in runs])        # (n_seeds, n_rounds + 1)
        mean = acc.mean(axis=0)
        lo, hi = ((mean - acc.std(axis=0), mean + acc.std(axis=0)) if band == "std"
                  else (acc.min(axis=0), acc.max(axis=0)))
        style = dict(color="grey", ls="--") if name == "random" else dict(color=f"C{i}")
        ax.plot(sizes, mean, marker="o", ms=3, label=f"{name} (n={len(runs)})", **style)
        ax.fill_between(sizes, lo, hi, alpha=0.2, color=style["color"])
    ax.set_xlabel("labeled-set size")
    ax.set_ylabel("test accuracy (%)")
    ax.legend()
    return ax
