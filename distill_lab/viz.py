"""Small plots for the criterion notebooks: image grids of picked samples, score histograms,
reliability diagrams (calibration, Guo et al. 2017, "On Calibration of Modern Neural Networks") and
accuracy vs budget from evaluation rows. Every plot takes `ax=None`, returns the axes, never shows.
"""
from __future__ import annotations

import numpy as np

from distill_lab._validation import check_array_2d, check_labels

__all__ = ["image_grid", "score_histogram", "confidence_bins", "reliability_diagram",
           "accuracy_vs_budget", "picks_on_embedding"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def _mosaic(X, image_shape, n_cols, pad=1):
    """Flat images (n, C*H*W) -> one padded mosaic (rows*(H+pad), n_cols*(W+pad)[, C])."""
    c, h, w = image_shape
    if c * h * w != X.shape[1] or c not in (1, 3):
        raise ValueError(f"image_shape={tuple(image_shape)} must be (1 or 3, H, W) with C*H*W = "
                         f"n_features={X.shape[1]}")
    n_rows = -(-len(X) // n_cols)
    imgs = X.reshape(len(X), c, h, w).transpose(0, 2, 3, 1)  # (n, H, W, C)
    grid = np.full((n_rows * (h + pad), n_cols * (w + pad), c), np.nan)
    for i, img in enumerate(imgs):
        r, col = divmod(i, n_cols)
        grid[r * (h + pad):r * (h + pad) + h, col * (w + pad):col * (w + pad) + w] = img
    return grid[..., 0] if c == 1 else grid


def image_grid(X, image_shape, *, labels=None, n_cols=10, ax=None, title=None, cmap="gray_r"):
    """Show flat images X (n, C*H*W) as one mosaic, `n_cols` per row, `labels` above each tile."""
    X = check_array_2d(X, name="X")
    if not (isinstance(n_cols, int) and n_cols >= 1):
        raise ValueError(f"n_cols={n_cols!r} must be an int >= 1")
    n_cols = min(n_cols, len(X))
    ax = _axes(ax)
    ax.imshow(_mosaic(X, image_shape, n_cols), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(X):
            raise ValueError(f"labels must hold one entry per image ({len(X)}), got {len(labels)}")
        _, h, w = image_shape
        for i, text in enumerate(labels):
            r, col = divmod(i, n_cols)
            ax.text(col * (w + 1) + w / 2 - 0.5, r * (h + 1) - 0.3, str(text), ha="center",
                    va="bottom", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, pad=12 if labels is not None else 6)  # room for the tile labels
    return ax


def score_histogram(scores, *, selected=None, bins=40, ax=None, xlabel="score",
                    label="all samples"):
    """Histogram of one score per sample, with the `selected` indices' scores overlaid."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    ax = _axes(ax)
    edges = np.histogram_bin_edges(scores, bins=bins)
    ax.hist(scores, bins=edges, alpha=0.5, label=f"{label} (n={len(scores)})")
    if selected is not None:
        selected = np.asarray(selected, dtype=np.int64)
        ax.hist(scores[selected], bins=edges, alpha=0.8, label=f"selected (k={len(selected)})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("number of samples")
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


def reliability_diagram(probs, y, *, n_bins=10, ax=None, label="model"):
    """Accuracy vs mean confidence per confidence bin; the diagonal is perfect calibration."""
    bins = confidence_bins(probs, y, n_bins)
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfectly calibrated")
    full = bins["count"] > 0
    ax.plot(bins["confidence"][full], bins["accuracy"][full], "o-", label=label)
    ax.set_xlabel("confidence  max$_c$ $p_c$ (bin mean)")
    ax.set_ylabel("accuracy in bin")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend()
    return ax


def accuracy_vs_budget(rows, *, ax=None, methods=None):
    """Accuracy mean ± std vs budget, one line per method, from `distill_lab.evaluation` rows.

    A row with method "full" is drawn as a horizontal line. `methods` picks and orders the lines.
    """
    rows = list(rows)
    names = methods or list(dict.fromkeys(r["method"] for r in rows if r["method"] != "full"))
    ax = _axes(ax)
    for name in names:
        mine = sorted((r for r in rows if r["method"] == name), key=lambda r: r["budget"])
        if not mine:
            raise ValueError(f"methods holds {name!r}, which no row has; rows have "
                             f"{sorted({r['method'] for r in rows})}")
        ax.errorbar([r["budget"] for r in mine], [r["accuracy_mean"] for r in mine],
                    yerr=[r["accuracy_std"] for r in mine], marker="o", capsize=3, label=name)
    for r in rows:
        if r["method"] == "full":
            ax.axhline(r["accuracy_mean"], color="k", ls="--", lw=1, label="full data")
            break
    ax.set_xscale("log")
    budgets = sorted({r["budget"] for r in rows if r["method"] in names})
    ax.set_xticks(budgets, [f"{b:.0%}" if b < 1 else str(b) for b in budgets])
    ax.minorticks_off()
    ax.set_xlabel("budget (fraction of the training set kept, log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend()
    return ax


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
    ax = _axes(ax)
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
