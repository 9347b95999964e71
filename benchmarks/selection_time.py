"""Selection time and peak memory of the representative and clustering selectors on MNIST-60k
128-dimensional proxy embeddings (issue targets: k-center, herding, facility location < 60 s each
and < 4 GiB; K-means < 120 s; the DBSCAN eps search < 300 s).

    python benchmarks/selection_time.py [--budgets 0.1,0.01] [--repeats 3] [--dataset digits]

Each measurement runs in a fresh process, so its peak resident memory is its own; the embeddings
are computed once (the proxy's cost is reported separately) and passed through a temporary file.
Facility location runs with the lazy and the stochastic greedy (epsilon 0.01); both rows carry the
objective F(S) they reach, and the stochastic row its ratio to the lazy one.
Writes benchmarks/results/selection_time_<dataset>.json; quote the medians.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from distill_lab import data
from distill_lab._io import atomic_write_json
from distill_lab.proxy import proxy_outputs

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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="0.1,0.01")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--dataset", default="mnist", help="mnist (the issue targets) or digits")
    parser.add_argument("--out", default=None,
                        help="JSON path (default benchmarks/results/selection_time_<dataset>.json)")
    args = parser.parse_args(argv)
    out_path = args.out or f"benchmarks/results/selection_time_{args.dataset}.json"

    ds = data.load(args.dataset)
    start = time.perf_counter()
    E = proxy_outputs(ds.X_train, ds.y_train, random_state=0, device="cpu")["embeddings"]
    proxy_seconds = time.perf_counter() - start
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        E_path, y_path = str(Path(tmp) / "E.npy"), str(Path(tmp) / "y.npy")
        np.save(E_path, E.astype(np.float32))
        np.save(y_path, ds.y_train)
        for method in args.methods.split(","):
            for budget in (float(b) for b in args.budgets.split(",")):
                k = round(budget * len(E))
                runs = [measure(method, E_path, y_path, k) for _ in range(args.repeats)]
                row = {"method": method, "budget": budget, "k": k, "n": len(E), "dim": E.shape[1],
                       "scope": "per class" if method in ("kmeans", "dbscan") else "global",
                       "seconds_median": float(np.median([r["seconds"] for r in runs])),
                       "seconds": [r["seconds"] for r in runs],
                       "peak_rss_gib_max": max(r["peak_rss_gib"] for r in runs),
                       "objective": runs[0]["objective"],   # the same in every repeat (seeded)
                       "proxy_seconds": proxy_seconds}
                rows.append(row)
                print(json.dumps(row), flush=True)
    atomic_write_json(out_path, add_objective_ratios(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
