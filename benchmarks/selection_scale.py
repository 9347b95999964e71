"""Selection at a million samples (issue 19, item 5): k-center, herding and facility location (kNN
graph, stochastic greedy) on n x dim clustered embeddings synthesized with a seed, at `--budget`;
per-class facility location serial vs a `--workers` LocalCluster; and, on MNIST-60k proxy
embeddings, facility location on a kNN graph against the dense engine (objective ratio, time).

    python benchmarks/selection_scale.py [--smoke] [--n 1000000] [--dim 128] [--classes 100]
        [--budget 0.01] [--workers 2] [--parts scale,per_class,mnist] [--out PATH]

Targets (two cores): each method < 10 min serial and < 4 GiB peak; per-class speed-up >= 1.6x;
MNIST kNN objective >= 0.99 of the dense one in < 10 s. Every measurement runs in a fresh process
(peak resident memory is its own, `ru_maxrss`); the serial per-class run is pinned to one thread
per library, as each Dask worker is. Writes --out (default benchmarks/results/selection_scale.json,
relative to the current directory) atomically.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from distill_lab._io import atomic_write_json
from distill_lab.dask_cluster import ONE_THREAD_ENV

FL = "from distill_lab.criteria.facility_sparse import facility_location_knn as f; "
PER_CLASS = ("from distill_lab import make_selector; "
             "from distill_lab.selectors.distributed import fit_pools; "
             "sel = make_selector('facility_location', budget=k, class_balanced=True, "
             "features='raw', graph='knn', index='ivf', optimizer='stochastic', random_state=0); ")
METHODS = {
    "kcenter": "from distill_lab.criteria.chunked import kcenter_chunked as f; "
               "picks = f(E, k, random_state=0)",
    "herding": "from distill_lab.criteria.chunked import herding_chunked as f; picks = f(E, k)",
    "facility_location_knn": FL + "picks, _, objective = f(E, k, index='ivf', "
                             "optimizer='stochastic', random_state=0, return_objective=True)",
    "per_class_serial": PER_CLASS + "picks = fit_pools(sel, E, y).indices_; "
                                    "objective = sel.objective_",
    "per_class_dask": PER_CLASS + "from distill_lab.dask_cluster import connect\n"
                      "with connect(n_workers=WORKERS, verbose=False) as client:\n"
                      "    client.run(__import__, 'distill_lab.selectors.distributed')  # warm, untimed\n"
                      "    client.run(__import__, 'faiss'); start = time.perf_counter()\n"
                      "    picks = fit_pools(sel, E, y, client=client).indices_\n"
                      "    elapsed = time.perf_counter() - start  # not the cluster's start, stop\n"
                      "    objective = sel.objective_",
    "mnist_dense": "from distill_lab.criteria.representative import facility_location as f; "
                   "picks, _, objective = f(E, k, optimizer='stochastic', random_state=0, "
                   "return_objective=True)",
    "mnist_knn": FL + "picks, _, objective = f(E, k, index='flat', optimizer='stochastic', "
                      "random_state=0, return_objective=True)",
}

CHILD = """
import resource, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
import distill_lab, distill_lab.selectors.distributed, faiss  # imports are not timed
E = np.load(sys.argv[1]); y = np.load(sys.argv[2]); k = int(sys.argv[3]); WORKERS = int(sys.argv[4])
usage = resource.getrusage(resource.RUSAGE_SELF)
base, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
start = time.perf_counter()
{call}
seconds = globals().get("elapsed", time.perf_counter() - start)
usage = resource.getrusage(resource.RUSAGE_SELF)
peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime - cpu
np.save(sys.argv[5], np.asarray(picks))
print(seconds, cpu, peak * 1024, (peak - base) * 1024, globals().get("objective", float("nan")))
"""


def clustered_embeddings(n, dim, n_classes, *, seed=0, spread=0.3, chunk=100_000):
    """(E (n, dim) float32, y (n,) int64): class centres ~ N(0, I), samples centre + spread *
    N(0, I), classes drawn uniformly; generated `chunk` rows at a time from one seeded stream."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_classes, dim), dtype=np.float32)
    y = rng.integers(0, n_classes, size=n)
    E = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, chunk):
        E[a:a + chunk] = centres[y[a:a + chunk]]
        E[a:a + chunk] += spread * rng.standard_normal((len(E[a:a + chunk]), dim),
                                                       dtype=np.float32)
    return E, y


def measure(method, E_path, y_path, k, workers, tmp, *, one_thread=False) -> dict:
    env = {**os.environ, **(ONE_THREAD_ENV if one_thread else {})}
    picks_path = str(Path(tmp) / f"{method}.npy")
    out = subprocess.run([sys.executable, "-c", CHILD.format(call=METHODS[method]), E_path,
                          y_path, str(k), str(workers), picks_path],
                         capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"{method} failed:\n{out.stderr[-3000:]}")
    seconds, cpu, peak, extra, objective = (float(v) for v in out.stdout.split()[-5:])
    return {"method": method, "seconds": seconds, "cpu_seconds_this_process": cpu,
            "peak_rss_gib": peak / 2**30,
            "extra_rss_gib": extra / 2**30,
            "objective": None if np.isnan(objective) else objective, "picks": picks_path}


def _save(tmp, E, y):
    E_path, y_path = str(Path(tmp) / "E.npy"), str(Path(tmp) / "y.npy")
    np.save(E_path, E)
    np.save(y_path, y)
    return E_path, y_path


def run_scale(args, tmp, log) -> None:
    """Per-class facility location serial vs Dask (first), then each global method."""
    E, y = clustered_embeddings(args.n, args.dim, args.classes, seed=args.seed)
    E_path, y_path = _save(tmp, E, y)
    del E, y
    k = round(args.budget * args.n)
    shape = {"n": args.n, "dim": args.dim, "k": k, "budget": args.budget}
    if "per_class" in args.parts:
        serial = measure("per_class_serial", E_path, y_path, k, args.workers, tmp,
                         one_thread=True)
        dask = measure("per_class_dask", E_path, y_path, k, args.workers, tmp)
        same = bool(np.array_equal(np.load(serial["picks"]), np.load(dask["picks"])))
        log({**serial, **shape, "scope": "per class", "workers": 1})
        log({**dask, **shape, "scope": "per class", "workers": args.workers,
             "speedup": serial["seconds"] / dask["seconds"], "identical_to_serial": same})
    for method in args.methods.split(",") if "scale" in args.parts else []:
        log({**measure(method, E_path, y_path, k, args.workers, tmp), **shape, "scope": "global"})


def run_mnist(args, tmp, log) -> None:
    from distill_lab import data
    from distill_lab.proxy import proxy_outputs

    ds = data.load("digits" if args.smoke else "mnist")
    E = proxy_outputs(ds.X_train, ds.y_train, random_state=0, device="cpu")["embeddings"]
    E_path, y_path = _save(tmp, E.astype(np.float32), ds.y_train)
    for budget in args.mnist_budgets:
        k = round(budget * len(E))
        shape = {"n": len(E), "dim": E.shape[1], "k": k, "budget": budget, "scope": "global",
                 "dataset": "digits" if args.smoke else "mnist"}
        dense = measure("mnist_dense", E_path, y_path, k, args.workers, tmp)
        knn = measure("mnist_knn", E_path, y_path, k, args.workers, tmp)
        log({**dense, **shape})
        log({**knn, **shape, "objective_ratio_to_dense": knn["objective"] / dense["objective"]})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="20,000 x 32, 10 classes, digits")
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--budget", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", default="scale,per_class,mnist")
    parser.add_argument("--methods", default="facility_location_knn,kcenter,herding")
    parser.add_argument("--out", default="benchmarks/results/selection_scale.json")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.dim, args.classes = 20_000, 32, 10
    args.mnist_budgets = (0.1, 0.01)
    rows, start = [], time.perf_counter()
    command = "python benchmarks/selection_scale.py " + " ".join(
        sys.argv[1:] if argv is None else argv)

    def log(row):   # every row is written as it comes: a long run keeps what it measured
        row = {k: v for k, v in row.items() if k != "picks"}
        rows.append(row)
        print(json.dumps(row), flush=True)
        atomic_write_json(args.out, {"command": command, "load_average": os.getloadavg(),
                                     "cpu_count": os.cpu_count(), "rows": rows,
                                     "total_seconds": time.perf_counter() - start})

    with tempfile.TemporaryDirectory() as tmp:
        synthetic = False
        for part in args.parts.split(","):
            if part == "mnist":
                run_mnist(args, tmp, log)
            elif part in ("scale", "per_class") and not synthetic:
                run_scale(args, tmp, log)       # both parts share the synthesized data
                synthetic = True
    return 0


if __name__ == "__main__":
    sys.exit(main())
