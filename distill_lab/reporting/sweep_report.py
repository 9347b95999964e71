"""A sweep's report: index.html with one row per cell (the runner's page), a tidy results.csv and
results.json of every cell, and summary.png: each notebook's numeric headline figures that vary with
the budget (or the first numeric axis), mean and standard deviation over the seeds, one line per
data set; a grid over data sets alone gets one bar per data set. A grid over data sets also gets
comparison.csv: every notebook's numeric figures, mean and std over the seeds, per data set."""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np

from distill_lab._io import atomic_write_bytes, atomic_write_json, atomic_write_text
from distill_lab.reporting.figures import json_safe
from distill_lab.reporting.index import render_index
from distill_lab.reporting.mathjax import copy_mathjax
from distill_lab.reporting.runner import NotebookRun, write_manifest

__all__ = ["SUMMARY", "COMPARISON", "write_sweep_report", "sweep_rows", "rows_to_csv",
           "summary_axis", "dataset_label", "dataset_comparison",
           "varying_keys", "plot_sweep_key", "summary_figure"]

SUMMARY = "summary.png"
COMPARISON = "comparison.csv"
_LINKS = (("results.csv", "results.csv"), ("results.json", "results.json"),
          ("summary figure", SUMMARY), ("data sets compared", COMPARISON))
_NOT_RUN = ("failed", "inapplicable")  # cells without figures to summarize


def sweep_rows(cells, manifest: dict) -> list[dict]:
    """One dict per cell that has run: cell, notebook, its grid values, status, seconds, error and
    its figures (a dict)."""
    rows = []
    for cell in cells:
        entry = manifest[cell.name]
        axes = {k: dataset_label(v) if k == "dataset" else v for k, v in cell.axes.items()}
        rows.append({"cell": cell.name, "notebook": cell.source.stem, **axes,
                     "status": entry["status"], "seconds": entry["seconds"],
                     "error": entry["error"], "figures": entry["figures"]})
    return rows


def rows_to_csv(rows) -> str:
    """The rows as CSV, figures spread into columns (lists and dicts as JSON text); a figure
    named like a column already there (a parameter echoed back) is left out."""
    columns = [k for k in (rows[0] if rows else {}) if k != "figures"]
    for row in rows:
        columns += [k for k in row["figures"] if k not in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        flat = {**row["figures"], **{k: v for k, v in row.items() if k != "figures"}}
        writer.writerow(["" if flat.get(c) is None else json.dumps(flat[c])
                         if isinstance(flat[c], (list, dict)) else flat[c] for c in columns])
    return buffer.getvalue()


def _is_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def dataset_label(value) -> str:
    """A data set as the summary names it: a built-in name, or a path's file or folder name."""
    text = str(value)
    return Path(text).stem if ("/" in text or "\\" in text or "." in text) else text


def summary_axis(axes, rows) -> str | None:
    """The summary's x: `budget` when the grid sweeps it, else the first other numeric axis with
    two values or more (never `seed`, which the error bars run over), else `dataset` when it has
    two values or more; None when there is none."""
    for axis in ["budget"] * ("budget" in axes) + [a for a in axes if a not in ("budget", "seed")]:
        values = {row[axis] for row in rows}
        if len(values) > 1 and all(_is_number(v) for v in values):
            return axis
    if "dataset" in axes and len({row["dataset"] for row in rows}) > 1:
        return "dataset"
    return None


def dataset_comparison(rows, axes) -> list[dict]:
    """Per notebook, data set and value of the other non-seed axes: every figure numeric in all
    its cells, mean, std (ddof 1) and the number of cells; [] when the grid has no `dataset`."""
    if "dataset" not in axes:
        return []
    others = [a for a in axes if a not in ("dataset", "seed")]
    done = [row for row in rows if row["status"] not in _NOT_RUN]
    out = []
    for group in dict.fromkeys((row["notebook"], row["dataset"], *(row[a] for a in others))
                               for row in done):
        mine = [row for row in done
                if (row["notebook"], row["dataset"], *(row[a] for a in others)) == group]
        for key in mine[0]["figures"]:
            values = [row["figures"].get(key) for row in mine]
            if all(_is_number(v) for v in values):
                out.append({"notebook": group[0], "dataset": group[1],
                            **dict(zip(others, group[2:])), "figure": key,
                            "mean": float(np.mean(values)),
                            "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0,
                            "cells": len(values)})
    return out


def varying_keys(rows, x: str, exclude=()) -> list[str]:
    """Figures numeric in every row whose mean changes with `x`, in the order the notebook wrote
    them (keys in `exclude`, the parameters, left out)."""
    keys = [k for k in rows[0]["figures"] if k not in exclude
            and all(_is_number(row["figures"].get(k)) for row in rows)]
    if x == "dataset":  # categories: a figure that differs between data sets
        return [k for k in keys if len({np.mean([r["figures"][k] for r in rows if r[x] == v])
                                        for v in {row[x] for row in rows}}) > 1]
    varying = []
    for key in keys:
        means = [np.mean([r["figures"][key] for r in rows if r[x] == v])
                 for v in {row[x] for row in rows}]
        if np.ptp(means) > 0:
            varying.append(key)
    return varying


def plot_sweep_key(rows, x: str, key: str, axes=(), ax=None):
    """Figure `key` against axis `x`, mean +- std over seeds, one line per value of the other
    `axes` of the grid; returns the matplotlib axes."""
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure().subplots()
    if x == "dataset":  # categories: one bar per data set, mean +- std over the other cells
        names = list(dict.fromkeys(row[x] for row in rows))
        values = [[r["figures"][key] for r in rows if r[x] == v] for v in names]
        ax.bar(names, [np.mean(v) for v in values], capsize=3, color="#0969da",
               yerr=[np.std(v, ddof=1) if len(v) > 1 else 0.0 for v in values])
        ax.set(xlabel=x, ylabel=key)
        return ax
    others = [a for a in axes if a not in (x, "seed")]
    for group in dict.fromkeys(tuple(row[a] for a in others) for row in rows):
        mine = [row for row in rows if tuple(row[a] for a in others) == group]
        xs = sorted({row[x] for row in mine})
        values = [[r["figures"][key] for r in mine if r[x] == v] for v in xs]  # seeds per x
        ax.errorbar(xs, [np.mean(v) for v in values], capsize=3, marker="o",
                    yerr=[np.std(v, ddof=1) if len(v) > 1 else 0.0 for v in values],
                    label=", ".join(f"{a}={v}" for a, v in zip(others, group)) or None)
    lo, hi = min(row[x] for row in rows), max(row[x] for row in rows)
    if 0 < lo and hi >= 10 * lo:  # budgets such as 0.01, 0.05, 0.1
        ax.set_xscale("log")
    if others:
        ax.legend(fontsize="small")
    ax.set(xlabel=x, ylabel=key)
    return ax


def summary_figure(rows, axes, max_keys: int = 2):
    """A matplotlib Figure of up to `max_keys` varying figures per notebook (plot_sweep_key),
    from the cells that did not fail; None when no axis or figure lends itself to a plot."""
    done = [row for row in rows if row["status"] not in _NOT_RUN]
    x = summary_axis(axes, done) if done else None
    if x is None:
        return None
    panels = []
    for notebook in dict.fromkeys(row["notebook"] for row in done):
        mine = [row for row in done if row["notebook"] == notebook]
        panels += [(notebook, mine, key) for key in varying_keys(mine, x, set(axes))[:max_keys]]
    if not panels:
        return None
    from matplotlib.figure import Figure  # no pyplot: nothing global, no display needed

    ncols = min(len(panels), 2)
    nrows = -(-len(panels) // ncols)
    fig = Figure(figsize=(5 * ncols, 3.4 * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, (notebook, mine, key) in zip(grid, panels):
        plot_sweep_key(mine, x, key, axes, ax=ax).set_title(f"{notebook}: {key}", fontsize="medium")
    for ax in grid[len(panels):]:
        ax.set_visible(False)
    return fig


def write_sweep_report(out_dir, cells, manifest: dict, *, final: bool = False) -> Path:
    """Write the manifest and index.html (one row per cell of `cells` that has run); with `final`,
    first results.csv, results.json and summary.png (removed when nothing can be plotted)."""
    out_dir = Path(out_dir)
    write_manifest(out_dir, manifest)
    copy_mathjax(out_dir)  # the cells' pages load it
    done = [cell for cell in cells if cell.name in manifest]
    if final:
        rows = sweep_rows(done, manifest)
        atomic_write_json(out_dir / "results.json", json_safe(rows))
        atomic_write_text(out_dir / "results.csv", rows_to_csv(rows))
        axes = list(cells[0].axes) if cells else []
        comparison = dataset_comparison(rows, axes)
        if comparison:
            atomic_write_text(out_dir / COMPARISON, rows_to_csv(
                [{**row, "figures": {}} for row in comparison]))
        else:
            (out_dir / COMPARISON).unlink(missing_ok=True)
        figure = summary_figure(rows, axes)
        if figure is None:
            (out_dir / SUMMARY).unlink(missing_ok=True)
        else:
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=100)
            atomic_write_bytes(out_dir / SUMMARY, buffer.getvalue())
    links = [(label, href) for label, href in _LINKS if (out_dir / href).is_file()]
    runs = [NotebookRun(**manifest[cell.name]) for cell in done]
    return atomic_write_text(out_dir / "index.html", render_index(
        runs, title="distill_lab sweep", unit="cells", links=links))
