"""Selection time and peak memory of the representative and clustering selectors on MNIST-60k
128-dimensional proxy embeddings (issue targets: k-center, herding, facility location < 60 s each
and < 4 GiB; K-means < 120 s; the DBSCAN eps search < 300 s).

    distill-lab bench selection-time [--budgets 0.1 0.01] [--repeats 3] [--dataset digits]
    distill-lab bench selection-time --smoke     # digits, 10%, one repeat

Each measurement runs in a fresh process, so its peak resident memory is its own; the embeddings
are computed once (the proxy's cost is reported separately) and passed through a temporary file.
Facility location runs with the lazy and the stochastic greedy (epsilon 0.01); both rows carry the
objective F(S) they reach, and the stochastic row its ratio to the lazy one.
Writes OUT/selection_time_<dataset>.json: timing rows with budget (a fraction) and n_selected;
quote the medians.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from distill_lab import data
from distill_lab._io import atomic_write_json
from distill_lab.evaluation.results import validate_rows
from distill_lab.experiments.options import add_common_options, flat, positive_int, result_stem
from distill_lab.proxy import proxy_outputs

__all__ = ["METHODS", "measure", "selection_rows", "add_objective_ratios", "add_arguments", "run",
           "SUMMARY"]

SUMMARY = "selection time and peak memory of the representative and clustering selectors"

METHODS = {
    "kcenter": "from distill_lab.criteria.representative import kcenter_greedy as f; f(E, k, random_state=0)",
    "herding": "from distill_lab.criteria.representative import herding as f; f(E, k)",
    "facility_location": "from distill_lab.criteria.representative import facility_location as f; "
                         "objective = f(E, k, random_state=0, return_objective=True)[2]",
    "facility_location_stochastic": "from distill_lab.criteria.representative import "
                                    "facility_location as f; objective = f(E, k, random_state=0, "
                                    "optimizer='stochastic', return_objective=True)[2]",
    "kmeans": "from distill_lab import make_selector as m; "
              "m('kmeans', budget=k, class_balanced=True, random_state=0).fit(E, y)",
    "dbscan": "from distill_lab import make_selector as m; "
              "m('dbscan', budget=k, class_balanced=True, random_state=0).fit(E, y)",
}

CHILD = """
import resource, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
E = np.load(sys.argv[1]); y = np.load(sys.argv[2]); k = int(sys.argv[3])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
{call}
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, peak * 1024, (peak - base) * 1024, globals().get("objective", float("nan")))
"""


def measure(method: str, E_path: str, y_path: str, k: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(call=METHODS[method]), E_path, y_path,
                          str(k)], capture_output=True, text=True, check=True)
    seconds, peak, extra, objective = (float(v) for v in out.stdout.split())
    return {"seconds": seconds, "peak_rss_gib": peak / 2**30, "extra_rss_gib": extra / 2**30,
            "objective": None if np.isnan(objective) else objective}   # F(S): facility location


def add_objective_ratios(rows: list) -> list:
    """Stochastic facility-location rows get objective / the lazy row's objective (same budget)."""
    lazy = {r["budget"]: r["objective"] for r in rows if r["method"] == "facility_location"}
    for r in rows:
        if r["method"] == "facility_location_stochastic" and r["budget"] in lazy:
            r["objective_ratio_to_lazy"] = r["objective"] / lazy[r["budget"]]
    return rows


def selection_rows(E, y, methods, budgets, repeats: int, proxy_seconds: float,
                   dataset: str) -> list:
    """One timing row per method x budget, `repeats` fresh processes each."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        E_path, y_path = str(Path(tmp) / "E.npy"), str(Path(tmp) / "y.npy")
        np.save(E_path, E.astype(np.float32))
        np.save(y_path, y)
        for method in methods:
            for budget in budgets:
                k = round(budget * len(E))
                runs = [measure(method, E_path, y_path, k) for _ in range(repeats)]
                row = {"dataset": dataset, "method": method, "budget": budget, "n_selected": k,
                       "n": len(E), "dim": E.shape[1],
                       "scope": "per class" if method in ("kmeans", "dbscan") else "global",
                       "seconds_median": float(np.median([r["seconds"] for r in runs])),
                       "seconds": [r["seconds"] for r in runs],
                       "peak_rss_gib_max": max(r["peak_rss_gib"] for r in runs),
                       "objective": runs[0]["objective"],   # the same in every repeat (seeded)
                       "proxy_seconds": proxy_seconds}
                rows.append(row)
                print(json.dumps(row), flush=True)
    return add_objective_ratios(rows)


def add_arguments(parser) -> None:
    parser.add_argument("--dataset", default="mnist", help="mnist (the issue targets) or digits")
    parser.add_argument("--budgets", nargs="+", default=["0.1", "0.01"], metavar="FRACTION")
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), metavar="NAME",
                        help=f"from {' '.join(METHODS)} (default: all)")
    add_common_options(parser, seeds=None)


def run(args, command: str) -> int:
    """`distill-lab bench selection-time`: OUT/selection_time_<dataset>.json."""
    dataset = "digits" if args.smoke else args.dataset
    budgets = [0.1] if args.smoke else flat(args.budgets, float)
    repeats = 1 if args.smoke else args.repeats
    methods = flat(args.methods)
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"--methods {unknown} not known; choose from {list(METHODS)}")
    ds = data.load(dataset)
    start = time.perf_counter()
    E = proxy_outputs(ds.X_train, ds.y_train, random_state=0, device=args.device)["embeddings"]
    proxy_seconds = time.perf_counter() - start
    rows = selection_rows(E, ds.y_train, methods, budgets, repeats, proxy_seconds, ds.name)
    for row in rows:
        row["command"] = command
    validate_rows(rows, fields=("method", "budget", "n_selected"))
    stem = result_stem(f"selection_time_{dataset}", args.smoke)
    atomic_write_json(Path(args.out) / f"{stem}.json", rows)
    return 0
