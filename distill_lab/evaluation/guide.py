"""Which method when: the decision guide of notebook 11, read from result rows (the committed
benchmarks and the current run) — where conclusions reverse between data sets, and, for each
data set x budget x selection-cost limit, the best method with the row that is its evidence."""
from __future__ import annotations

import json
import math
from pathlib import Path

from distill_lab.evaluation.results import validate_rows

__all__ = ["one_random_baseline", "load_evidence", "gains_over_random", "reversals",
           "decision_table", "format_decision_table", "COST_LIMITS"]

# "cheap" selection: the whole pipeline (selection + training) at least this much faster than
# training on all the data; "any": no limit on the selection's cost.
COST_LIMITS = {"any": 0.0, "cheap": 6.0}


def one_random_baseline(rows) -> list:
    """Rows with one `random`: the class-balanced one (`RANDOM_BASELINE`). Files written before the
    baseline was unified hold `random` (unbalanced) and `random_balanced`; there the balanced row
    becomes `random` and the other `random_unbalanced`. Rows are copied, never mutated."""
    rows = [dict(r) for r in rows]
    if any(r["method"] == "random_balanced" for r in rows):
        for r in rows:
            if r["method"] == "random":
                r["method"] = "random_unbalanced"
            elif r["method"] == "random_balanced":
                r["method"] = "random"
    return rows


def load_evidence(files: dict) -> list:
    """Rows of several result files (label -> path), each row tagged with its `source` label, with
    one random baseline per file. A missing file is an error that names it."""
    rows = []
    for label, path in files.items():
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"evidence file {label!r}: {str(path)!r} is not a file; the "
                                    "committed results live in benchmarks/results/")
        found = validate_rows(json.loads(path.read_text(encoding="utf-8")),
                              fields=("dataset", "method", "budget", "accuracy_mean", "accuracy_std"))
        rows += [{**r, "source": label} for r in one_random_baseline(found)]
    return rows


def _key(r):
    return r["source"] if "source" in r else "", r["dataset"], r["budget"]


def gains_over_random(rows) -> dict:
    """(source, dataset, budget, method) -> (gain over random in points, random's seed std)."""
    random = {_key(r): r for r in rows if r["method"] == "random"}
    gains = {}
    for r in rows:
        base = random.get(_key(r))
        if base is None or r["method"] in ("random", "full") or r["method"].startswith("random_"):
            continue
        gains[(*_key(r), r["method"])] = (r["accuracy_mean"] - base["accuracy_mean"],
                                          base["accuracy_std"])
    return gains


def reversals(rows, budget, first: str, second: str) -> list:
    """Methods whose gain over random at `budget` has opposite signs on data sets `first` and
    `second`, each gain beyond random's seed std there: (method, gain on first, gain on second)."""
    by = {}
    for (_, dataset, b, method), (gain, std) in gains_over_random(rows).items():
        if math.isclose(b, budget) and dataset in (first, second) and abs(gain) > std:
            by.setdefault(method, {})[dataset] = gain
    return sorted((m, g[first], g[second]) for m, g in by.items()
                  if len(g) == 2 and (g[first] > 0) != (g[second] > 0))


def decision_table(rows, cost_limits=None) -> list:
    """For each (dataset, budget) and each cost limit (name -> the least end-to-end ratio allowed),
    the most accurate selection method and its evidence: random and full are not candidates, and
    a method whose end-to-end ratio is below the limit is out. One dict per cell, with random's
    accuracy beside it; `method` is None where no method passes the limit."""
    cost_limits = COST_LIMITS if cost_limits is None else cost_limits
    cells = []
    # data set, budget (largest first), then source: a set's order follows the string hash seed,
    # so every part of the key is in the sort, and the table is the same in every process
    keys = {_key(r) for r in rows if r["method"] == "random"}
    for key in sorted(keys, key=lambda k: (k[1], -k[2], k[0])):
        at = [r for r in rows if _key(r) == key]
        random = next(r for r in at if r["method"] == "random")
        candidates = [r for r in at if r["method"] not in ("full", "random")
                      and not r["method"].startswith("random_")]
        for cost, least in cost_limits.items():
            ok = [r for r in candidates if (r.get("end_to_end_ratio") or 0.0) >= least]
            best = max(ok, key=lambda r: r["accuracy_mean"], default=None)
            cells.append({"source": key[0], "dataset": key[1], "budget": key[2], "cost": cost,
                          "cost_limit": least,
                          "n_train": _n_train(rows, key), "method": best and best["method"],
                          "accuracy_mean": best and best["accuracy_mean"],
                          "accuracy_std": best and best["accuracy_std"],
                          "end_to_end_ratio": best and best.get("end_to_end_ratio"),
                          "random_mean": random["accuracy_mean"], "random_std": random["accuracy_std"]})
    return cells


def _n_train(rows, key):
    full = [r for r in rows if r["method"] == "full" and r.get("n_selected")
            and _key(r)[:2] == key[:2]]
    return full[0]["n_selected"] if full else None


def format_decision_table(cells) -> str:
    """Markdown: one line per cell of the decision table, its evidence beside it."""
    lines = ["| data (n train) | budget | selection cost | method | accuracy (%) | random (%) | "
             "end-to-end ratio | evidence |", "|---" * 8 + "|"]
    for c in cells:
        n = f" ({c['n_train']:,})" if c["n_train"] else ""
        limit = "any" if not c["cost_limit"] else f"end to end ≥ {c['cost_limit']:g}x"
        if c["method"] is None:
            lines.append(f"| {c['dataset']}{n} | {c['budget']:.0%} | {limit} | — (none passes) | | "
                         f"{c['random_mean']:.1f} ± {c['random_std']:.1f} | | {c['source']} |")
            continue
        ratio = "" if c["end_to_end_ratio"] is None else f"{c['end_to_end_ratio']:.1f}"
        lines.append(f"| {c['dataset']}{n} | {c['budget']:.0%} | {limit} | {c['method']} | "
                     f"{c['accuracy_mean']:.1f} ± {c['accuracy_std']:.1f} | "
                     f"{c['random_mean']:.1f} ± {c['random_std']:.1f} | {ratio} | {c['source']} |")
    return "\n".join(lines)
