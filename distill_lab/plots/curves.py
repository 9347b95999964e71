"""Accuracy as a curve and a trade-off: active-learning curves, accuracy vs budget and the
accuracy-cost Pareto front from `distill_lab.evaluation` rows, and each method's gain over random.
"""
from __future__ import annotations

import math

import numpy as np

from distill_lab.evaluation.results import pareto_front, validate_rows
from distill_lab.plots.style import get_axes, name_colors, set_title

__all__ = ["plot_learning_curves", "accuracy_vs_budget", "plot_pareto", "gains_over_random_bars"]

# The fields accuracy_vs_budget reads: rows built by hand for a plot need no more.
_CURVE_FIELDS = ("method", "budget", "accuracy_mean", "accuracy_std")


def plot_learning_curves(curves: dict, *, ax=None, band="std", title=None):
    """Accuracy vs labeled-set size, one line per strategy: the mean over seeds with a band of
    +-1 std (band="std") or min-max (band="range"). `curves` maps a name to a list of results
    with `labeled_sizes` and `accuracies` (e.g. `distill_lab.active.compare_strategies`)."""
    if band not in ("std", "range"):
        raise ValueError(f"band={band!r} must be 'std' or 'range'")
    ax = get_axes(ax)
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
    set_title(ax, title)
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
    ax = get_axes(ax)
    colors = name_colors([name for name in names if name != reference])
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
    set_title(ax, title)
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
    ax = get_axes(ax)
    key = "train_time_ratio" if cost == "train" else "end_to_end_ratio"
    x = np.array([1.0 / r[key] for r in rows])
    y = np.array([r["accuracy_mean"] for r in rows])
    front = pareto_front(x, y)
    subset = [i for i, r in enumerate(rows) if r["method"] != "full"]
    methods = list(dict.fromkeys(rows[i]["method"] for i in subset))
    budgets = sorted({rows[i]["budget"] for i in subset}, reverse=True)
    markers, colors = _method_markers(methods), name_colors([f"{b}" for b in budgets])
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
    ax = get_axes(ax)
    if not gains or not all(isinstance(g, dict) for g in gains.values()):
        raise ValueError("gains must map each setting's label to a dict {method: gain in points}")
    methods = sorted({m for g in gains.values() for m in g})
    colors = name_colors(methods)
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
    set_title(ax, title)
    return ax
