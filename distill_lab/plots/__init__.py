"""Every plot of distill_lab, in one module: image grids (`mosaic` tiles them), score histograms,
reliability diagrams (calibration, Guo et al. 2017, "On Calibration of Modern Neural Networks"),
picks and clusters on a 2-D embedding, the DBSCAN k-distance curve, active-learning curves, and
from evaluation rows accuracy vs budget and the accuracy-cost Pareto front.

Every plot takes `ax=None` (then draws on a new figure), returns the axes and never calls
`plt.show()`.
"""
from __future__ import annotations

import math

import numpy as np

from distill_lab._validation import check_array_2d, check_labels
from distill_lab.evaluation.results import pareto_front, validate_rows

__all__ = ["mosaic", "image_grid", "feature_rows", "score_histogram", "confidence_bins", "reliability_diagram",
           "picks_on_embedding", "plot_clusters", "plot_k_distance", "plot_learning_curves",
           "accuracy_vs_budget", "plot_pareto"]

# The fields accuracy_vs_budget reads: rows built by hand for a plot need no more.
_CURVE_FIELDS = ("method", "budget", "accuracy_mean", "accuracy_std")


def _axes(ax):
    """The axes to draw on: `ax`, or those of a new figure."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _title(ax, title) -> None:
    """Set the title when one is given (a caller's own set_title stays otherwise)."""
    if title is not None:
        ax.set_title(title)


def _colors(names) -> dict:
    """One colour per name: tab10 (matplotlib's default cycle) up to 10 names, tab20 beyond."""
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


# ----------------------------------------------------------------------------- images
def mosaic(X, image_shape, n_cols, pad=1) -> np.ndarray:
    """Flat images X (n, C*H*W) -> one mosaic (rows*(H+pad), n_cols*(W+pad)[, C]), row by row;
    the padding and empty tiles are NaN (drawn blank by imshow)."""
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
    """Show flat images X (n, C*H*W) as one mosaic, `n_cols` per row, `labels` above each tile.
    A table's samples (`image_shape` None) are drawn by `feature_rows` instead."""
    X = check_array_2d(X, name="X")
    if not (isinstance(n_cols, int) and n_cols >= 1):
        raise ValueError(f"n_cols={n_cols!r} must be an int >= 1")
    if image_shape is None:
        return feature_rows(X, labels=labels, ax=ax, title=title)
    n_cols = min(n_cols, len(X))
    ax = _axes(ax)
    ax.imshow(mosaic(X, image_shape, n_cols), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
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


def feature_rows(X, *, labels=None, ax=None, title=None, limit=3.0):
    """A table's samples X (n, d), standardized, as a heat map: one row per sample, one column per
    feature, blue below the training mean and red above, clipped at +-`limit` std; `labels` name
    the rows. The tabular counterpart of `image_grid`."""
    X = check_array_2d(X, name="X")
    ax = _axes(ax)
    ax.imshow(np.clip(X, -limit, limit), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto",
              interpolation="nearest")
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(X):
            raise ValueError(f"labels must hold one entry per sample ({len(X)}), got {len(labels)}")
        ax.set_yticks(range(len(X)), [str(text) for text in labels], fontsize=7)
    else:
        ax.set_yticks([])
    ax.set_xlabel(f"{X.shape[1]} features (standardized)")
    ax.set_xticks([])
    if title is not None:
        ax.set_title(title)
    return ax


def dsa_gallery(X, image_shape, *, random_state=0, ax=None, title=None):
    """Each DSA operation (augment.OPS) applied to the same images: one row per operation, the
    originals on top. Pixels are clipped to [0, 1] for display only."""
    import torch

    from distill_lab import augment

    X = check_array_2d(X, name="X", dtype=np.float32)
    x = torch.as_tensor(X).view(-1, *image_shape)                          # (n, C, H, W)
    gen = torch.Generator().manual_seed(int(random_state))
    rows = [X] + [augment.dsa(x, gen, strategy=op).flatten(1).numpy() for op in augment.OPS]
    ax = image_grid(np.clip(np.concatenate(rows), 0, 1), image_shape, n_cols=len(X), ax=ax,
                    title=title)
    _, h, _ = image_shape
    for r, name in enumerate(("original", *augment.OPS)):
        ax.text(-1.5, r * (h + 1) + h / 2, name, ha="right", va="center", fontsize=8)
    return ax


# ----------------------------------------------------------------------------- scores
def score_histogram(scores, *, selected=None, bins=40, ax=None, xlabel="score",
                    label="all samples", title=None):
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
    _title(ax, title)
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
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfectly calibrated")
    full = bins["count"] > 0
    ax.plot(bins["confidence"][full], bins["accuracy"][full], "o-", label=label)
    ax.set_xlabel("confidence  max$_c$ $p_c$ (bin mean)")
    ax.set_ylabel("accuracy in bin")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    _title(ax, title)
    ax.legend()
    return ax


# ----------------------------------------------------------------------------- embeddings
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


def plot_k_distance(kdist, eps=None, *, min_samples=None, ax=None, title=None):
    """Sorted distances to the min_samples-th neighbour; a horizontal line marks the chosen eps
    (samples above it are not core points)."""
    ax = _axes(ax)
    d = np.sort(np.asarray(kdist, dtype=float))
    label = "k-distance" if min_samples is None else f"distance to neighbour {min_samples}"
    ax.plot(np.arange(len(d)), d, color="C0", label=label)
    if eps is not None:
        n_core = int(np.sum(d <= eps))
        ax.axhline(eps, color="C3", ls="--", label=f"eps = {eps:.3g} ({n_core} core points)")
    ax.set_xlabel("samples sorted by k-distance (rank)")
    ax.set_ylabel("k-distance (feature-space units)")
    _title(ax, title)
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


# ----------------------------------------------------------------------------- curves
def plot_learning_curves(curves: dict, *, ax=None, band="std", title=None):
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
    ax.set_xlabel("labeled-set size (samples)")
    ax.set_ylabel("test accuracy (%)")
    _title(ax, title)
    ax.legend()
    return ax


def accuracy_vs_budget(rows, *, ax=None, methods=None, reference=None, title=None):
    """Test accuracy (mean ± std over seeds) against the budget on a log axis, one line per method,
    from `distill_lab.evaluation` rows (only method, budget, accuracy_mean and accuracy_std are
    read); the row of method "full" is a grey line with its ±std band.

    `methods` picks and orders the lines (default: every method, in order of first appearance);
    `reference` names one of them (e.g. "random") to draw as a thick black dashed baseline.
    """
    rows = validate_rows(list(rows), fields=_CURVE_FIELDS)
    names = methods or list(dict.fromkeys(r["method"] for r in rows if r["method"] != "full"))
    if reference is not None and reference not in names:
        raise ValueError(f"reference={reference!r} must be one of the plotted methods {names}")
    ax = _axes(ax)
    colors = _colors([name for name in names if name != reference])
    for name in names:
        mine = sorted((r for r in rows if r["method"] == name), key=lambda r: r["budget"])
        if not mine:
            raise ValueError(f"methods holds {name!r}, which no row has; rows have "
                             f"{sorted({r['method'] for r in rows})}")
        style = (dict(color="black", ls="--", lw=2.2, zorder=5, label=f"{name} (reference)")
                 if name == reference else dict(color=colors[name], lw=1.2, label=name))
        ax.errorbar([r["budget"] for r in mine], [r["accuracy_mean"] for r in mine],
                    yerr=[r["accuracy_std"] for r in mine], marker="o", ms=4, capsize=3, **style)
    for r in (r for r in rows if r["method"] == "full"):
        ax.axhline(r["accuracy_mean"], color="grey", lw=1.5, label="full data")
        ax.axhspan(r["accuracy_mean"] - r["accuracy_std"], r["accuracy_mean"] + r["accuracy_std"],
                   color="grey", alpha=0.2)
        break
    budgets = sorted({r["budget"] for r in rows if r["method"] in names})
    ax.set_xscale("log")
    ax.set_xticks(budgets, [f"{100 * b:g}%" for b in budgets])  # a budget is a fraction
    ax.minorticks_off()
    ax.set_xlabel("budget (fraction of the training set kept, log scale)")
    ax.set_ylabel("test accuracy (%)")
    _title(ax, title)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return ax


_MARKERS = "osD^vP<>hXpd"  # no "*": that is the full data


def _method_markers(names) -> dict:
    """One marker per method: filled shapes, then the same shapes hollow past len(_MARKERS)."""
    return {name: (_MARKERS[i % len(_MARKERS)], "full" if i < len(_MARKERS) else "none")
            for i, name in enumerate(names)}


def plot_pareto(rows: list, ax=None, cost: str = "train", title=None):
    """Accuracy against cost as a fraction of full training: marker = method, colour = budget,
    the Pareto front circled and stepped in red, the best method at each budget edged in black.

    Every point is named by the legend (outside the axes, right), never by text beside it, so that
    nothing overlaps. cost="train": training time t_S / t_full; cost="end_to_end":
    (t_sel + t_S) / t_full. `title` defaults to "<dataset>: accuracy vs cost".
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if cost not in ("train", "end_to_end"):
        raise ValueError(f"cost={cost!r} must be 'train' or 'end_to_end'")
    validate_rows(rows, ratios_required=True)
    ax = _axes(ax)
    key = "train_time_ratio" if cost == "train" else "end_to_end_ratio"
    x = np.array([1.0 / r[key] for r in rows])
    y = np.array([r["accuracy_mean"] for r in rows])
    front = pareto_front(x, y)
    subset = [i for i, r in enumerate(rows) if r["method"] != "full"]
    methods = list(dict.fromkeys(rows[i]["method"] for i in subset))
    budgets = sorted({rows[i]["budget"] for i in subset}, reverse=True)
    markers, colors = _method_markers(methods), _colors([f"{b}" for b in budgets])
    best = {max((i for i in subset if math.isclose(rows[i]["budget"], b)), key=lambda i: y[i])
            for b in budgets}
    for i in subset:
        marker, fill = markers[rows[i]["method"]]
        color = colors[f"{rows[i]['budget']}"]
        ax.plot(x[i], y[i], ls="none", marker=marker, fillstyle=fill, ms=8 if i in best else 6,
                color=color, mec="black" if i in best else color, mew=1.6 if i in best else 1)
    full = [i for i, r in enumerate(rows) if r["method"] == "full"]
    if full:
        ax.plot(x[full], y[full], ls="none", marker="*", ms=13, color="grey")
    order = np.flatnonzero(front)[np.argsort(x[front])]
    ax.plot(x[order], y[order], color="tab:red", lw=1.5, drawstyle="steps-post", zorder=0)
    ax.scatter(x[order], y[order], s=220, facecolors="none", edgecolors="tab:red", lw=1.2)
    grey = dict(ls="none", color="grey")
    handles = ([Line2D([], [], marker=markers[m][0], fillstyle=markers[m][1], label=m, **grey)
                for m in methods]
               + [Line2D([], [], ls="none", marker="s", color=colors[f"{b}"],
                         label=f"budget {100 * b:g}%") for b in budgets]
               + ([Line2D([], [], marker="*", ms=11, label="full data", **grey)] if full else [])
               + [Line2D([], [], ls="none", marker="o", ms=11, mfc="none", mec="tab:red",
                         label="Pareto front"),
                  Line2D([], [], ls="none", marker="o", mfc="white", mec="black", mew=1.6,
                         label="best at its budget")])
    ax.set_xscale("log")
    if x.max() / x.min() < 100:  # under two decades: label 1, 2, 5 of each, else powers of 10
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())  # labelled minor ticks collide on a log axis
    ax.set_xlabel("training time / full training time (log scale)" if cost == "train" else
                  "(selection + training) time / full training time (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title if title is not None else f"{rows[0]['dataset']}: accuracy vs cost")
    ax.legend(handles=handles, fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0)
    return ax


def gains_over_random_bars(gains: dict, *, ax=None, title=None):
    """Grouped bars: for each setting (label -> {method: gain over random in points}), one bar per
    method; a bar below zero is a method that lost to random there."""
    ax = _axes(ax)
    if not gains or not all(isinstance(g, dict) for g in gains.values()):
        raise ValueError("gains must map each setting's label to a dict {method: gain in points}")
    methods = sorted({m for g in gains.values() for m in g})
    colors = _colors(methods)
    width = 0.8 / max(1, len(methods))
    for j, method in enumerate(methods):
        xs = [i + (j - (len(methods) - 1) / 2) * width for i, g in enumerate(gains.values())
              if method in g]
        ys = [g[method] for g in gains.values() if method in g]
        ax.bar(xs, ys, width=width, color=colors[method], label=method)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(range(len(gains)), list(gains))
    ax.set_ylabel("accuracy gain over random (points)")
    ax.legend(fontsize="small", ncol=2)
    _title(ax, title)
    return ax
