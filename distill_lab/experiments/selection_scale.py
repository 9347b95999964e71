"""Selection at a million samples (issue 19, item 5): k-center, herding and facility location (kNN
graph, stochastic greedy) on n x dim clustered embeddings synthesized with a seed, at `--budget`;
per-class facility location in one process vs on a Dask cluster (the speed-up, and whether the
picks are identical); and, on MNIST-60k proxy embeddings, facility location on a kNN graph against
the dense engine (objective ratio, seconds).

    distill-lab bench selection-scale [--n 1000000] [--dim 128] [--classes 100] [--budget 0.01]
        [--workers 2 | --scheduler tcp://HOST:8786] [--parts scale per_class mnist]
    distill-lab bench selection-scale --smoke    # 20,000 x 32, 10 classes, digits: seconds

Targets (two cores): each method < 10 min serial and < 4 GiB peak; per-class speed-up >= 1.6x on
2 workers; MNIST kNN objective >= 0.99 of the dense one in < 10 s. Every measurement runs in a
fresh process (its peak resident memory is its own: VmHWM on Linux, not `ru_maxrss`, which a
forked child starts at its parent's size; the Dask row adds its workers' peaks); the serial per-class run is pinned to one thread per library, as each Dask worker is.
Other work on the machine slows every figure and makes ratios noisy, so each part and each row
records `os.getloadavg()` at its start and end. Writes OUT/selection_scale.json (smoke:
selection_scale_smoke.json) after every row: rows with method, scope (global or per class), n,
dim, budget (a fraction), n_selected, seconds, cpu_seconds, peak_rss_gib, objective (F(S) of
facility location, else None), and ratios where they apply (speedup, identical_to_serial,
objective_ratio_to_dense).
"""
from __future__ import annotations

import contextlib
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
from distill_lab.experiments.options import (add_common_options, flat, machine, positive_int,
                                             result_stem)

__all__ = ["METHODS", "PARTS", "SUMMARY", "clustered_embeddings", "measure", "add_arguments",
           "run"]

SUMMARY = "k-center, herding and facility location at 1,000,000 x 128; per-class on Dask"
PARTS = ("per_class", "mnist", "scale")   # run in this order: the ratios first
GLOBAL_METHODS = ("facility_location_knn", "kcenter", "herding")

FL = "from distill_lab.criteria.facility_sparse import facility_location_knn as f; "
PER_CLASS = ("from distill_lab import make_selector; "
             "from distill_lab.selectors.distributed import fit_pools; "
             "sel = make_selector('facility_location', budget=k, class_balanced=True, "
             "features='raw', graph='knn', index='ivf', optimizer='stochastic', random_state=0); ")
# The Dask child: the cluster's start and the workers' imports are not timed; the workers' own
# peak memory is read before the cluster closes.
DASK = ("from distill_lab.dask_cluster import connect\n"
        "with connect(SCHEDULER, None if SCHEDULER else WORKERS, verbose=False) as client:\n"
        "    client.run(__import__, 'distill_lab.selectors.distributed')\n"
        "    client.run(__import__, 'faiss')\n"
        "    cpu0 = client.run(cpu_seconds); start = time.perf_counter()\n"
        "    picks = fit_pools(sel, E, y, client=client).indices_\n"
        "    elapsed = time.perf_counter() - start\n"
        "    workers_cpu = [v - cpu0[w] for w, v in client.run(cpu_seconds).items()]\n"
        "    objective = sel.objective_\n"
        "    workers_peak = list(client.run(peak_bytes).values())")
METHODS = {
    "kcenter": "from distill_lab.criteria.chunked import kcenter_chunked as f; "
               "picks = f(E, k, random_state=0)",
    "herding": "from distill_lab.criteria.chunked import herding_chunked as f; picks = f(E, k)",
    "facility_location_knn": FL + "picks, _, objective = f(E, k, index='ivf', "
                             "optimizer='stochastic', random_state=0, return_objective=True)",
    "per_class_serial": PER_CLASS + "picks = fit_pools(sel, E, y).indices_; "
                                    "objective = sel.objective_",
    "per_class_dask": PER_CLASS + DASK,
    "mnist_dense": "from distill_lab.criteria.facility_dense import facility_location as f; "
                   "picks, _, objective = f(E, k, optimizer='stochastic', random_state=0, "
                   "return_objective=True)",
    "mnist_knn": FL + "picks, _, objective = f(E, k, index='ivf', optimizer='stochastic', "
                      "random_state=0, return_objective=True)",
    "mnist_knn_flat": FL + "picks, _, objective = f(E, k, index='flat', optimizer='stochastic', "
                           "random_state=0, return_objective=True)",
}

CHILD = """
import json, resource, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
import distill_lab, distill_lab.selectors.distributed, faiss  # imports are not timed
E = np.load(sys.argv[1]); y = np.load(sys.argv[2]); k = int(sys.argv[3])
WORKERS, SCHEDULER = int(sys.argv[4]), sys.argv[5] or None
def peak_bytes():
    # Linux: VmHWM is this program's own high-water mark (ru_maxrss of a forked child starts at
    # its parent's resident size); elsewhere ru_maxrss (bytes on macOS, KiB on the BSDs)
    try:
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (
            1 if sys.platform == "darwin" else 1024)
def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
cpu = cpu_seconds()
start = time.perf_counter()
{call}
seconds = globals().get("elapsed", time.perf_counter() - start)
peak = peak_bytes()
np.save(sys.argv[6], np.asarray(picks))
print(json.dumps({{"seconds": seconds, "cpu_seconds": cpu_seconds() - cpu,
                  "peak_rss_gib": peak / 2**30,
                  "workers_cpu_seconds": globals().get("workers_cpu"),
                  "workers_peak_rss_gib": [v / 2**30 for v in globals().get("workers_peak", [])]
                  or None, "objective": globals().get("objective")}}))
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


def measure(method, E_path, y_path, k, tmp, *, workers=2, scheduler=None, one_thread=False,
            time_limit=None) -> dict:
    """One measurement in a fresh process: seconds, cpu_seconds, peak_rss_gib, objective, the
    load average at its start and end, and `picks` (the path of the saved indices). A process
    still running after `time_limit` seconds is stopped: its row says `timed_out`."""
    env = {**os.environ, **(ONE_THREAD_ENV if one_thread else {})}
    picks = str(Path(tmp) / f"{method}_{k}.npy")
    load_start = os.getloadavg()
    try:
        out = subprocess.run([sys.executable, "-c", CHILD.format(call=METHODS[method]), E_path,
                              y_path, str(k), str(workers), scheduler or "", picks],
                             capture_output=True, text=True, env=env, timeout=time_limit)
    except subprocess.TimeoutExpired:
        return {"method": method, "timed_out": True, "seconds": None, "time_limit": time_limit,
                "load_average_start": load_start, "load_average_end": os.getloadavg()}
    if out.returncode:
        raise RuntimeError(f"{method} failed:\n{out.stderr[-3000:]}")
    return {"method": method, **json.loads(out.stdout.splitlines()[-1]),
            "load_average_start": load_start, "load_average_end": os.getloadavg(),
            "picks": picks}


def _save(tmp, name, E, y):
    E_path, y_path = str(Path(tmp) / f"{name}_E.npy"), str(Path(tmp) / f"{name}_y.npy")
    np.save(E_path, E)
    np.save(y_path, y)
    return E_path, y_path


def _same_picks(a, b) -> bool:
    return bool(np.array_equal(np.load(a["picks"]), np.load(b["picks"])))


def synthetic(args, tmp) -> tuple:
    """The synthesized set saved under `tmp`: (E_path, y_path, the rows' shape fields)."""
    E, y = clustered_embeddings(args.n, args.dim, args.classes, seed=args.seed)
    E_path, y_path = _save(tmp, "synthetic", E, y)
    shape = {"n": args.n, "dim": args.dim, "classes": args.classes, "budget": args.budget,
             "n_selected": round(args.budget * args.n)}
    return E_path, y_path, shape


def _ratio(a, b):
    return None if a is None or b is None else a / b


def run_per_class(args, paths, tmp, log) -> None:
    """Per-class facility location in one single-threaded process, then on the Dask cluster."""
    E_path, y_path, shape = paths
    k = shape["n_selected"]
    serial = measure("per_class_serial", E_path, y_path, k, tmp, one_thread=True,
                     time_limit=args.time_limit)
    dask = measure("per_class_dask", E_path, y_path, k, tmp, workers=args.workers,
                   scheduler=args.scheduler, time_limit=args.time_limit)
    log({**serial, **shape, "scope": "per class", "workers": 1})
    log({**dask, **shape, "scope": "per class", "workers": None if args.scheduler else
         args.workers, "scheduler": args.scheduler,
         "speedup": _ratio(serial["seconds"], dask["seconds"]),
         # what the speed-up would be if each process had a core to itself (no other load):
         # the serial CPU seconds over the busiest worker's (transfers and waits not counted)
         "cpu_bound_speedup": _ratio(serial.get("cpu_seconds"),
                                     max(dask.get("workers_cpu_seconds") or [None])),
         "identical_to_serial": "picks" in serial and "picks" in dask and
         _same_picks(serial, dask)})


def run_scale(args, paths, tmp, log) -> None:
    """Each global method on the whole synthesized set, one process each."""
    E_path, y_path, shape = paths
    for method in args.methods:
        log({**measure(method, E_path, y_path, shape["n_selected"], tmp,
                       time_limit=args.time_limit), **shape, "scope": "global"})


def run_mnist(args, paths, tmp, log) -> None:
    """Facility location on MNIST-60k proxy embeddings (digits in smoke): dense vs kNN graph."""
    from distill_lab import data
    from distill_lab.proxy import proxy_outputs

    ds = data.load("digits" if args.smoke else "mnist")
    start = time.perf_counter()
    E = proxy_outputs(ds.X_train, ds.y_train, random_state=0, device=args.device)[
        "embeddings"]
    proxy_seconds = time.perf_counter() - start
    E_path, y_path = _save(tmp, ds.name, E.astype(np.float32), ds.y_train)
    for budget in args.mnist_budgets:
        k = round(budget * len(E))
        shape = {"dataset": ds.name, "n": len(E), "dim": E.shape[1], "budget": budget,
                 "n_selected": k, "scope": "global", "proxy_seconds": proxy_seconds}
        dense = measure("mnist_dense", E_path, y_path, k, tmp, time_limit=args.time_limit)
        log({**dense, **shape})
        for method in ("mnist_knn", "mnist_knn_flat"):     # inverted file, exact
            knn = measure(method, E_path, y_path, k, tmp, time_limit=args.time_limit)
            log({**knn, **shape, "objective_ratio_to_dense": _ratio(knn.get("objective"),
                                                                    dense.get("objective"))})


RUNS = {"per_class": run_per_class, "mnist": run_mnist, "scale": run_scale}


class _Log:
    """Rows and parts, written to `path` after every row: a long run keeps what it measured."""

    def __init__(self, path, command):
        self.path, self.start = path, time.perf_counter()
        self.doc = {"command": command, "machine": machine(), "cpu_count": os.cpu_count(),
                    "parts": {}, "rows": []}

    def __call__(self, row):
        row = {key: value for key, value in row.items() if key != "picks"}
        self.doc["rows"].append(row)
        print(json.dumps(row), flush=True)
        self.write()

    def write(self):
        self.doc["total_seconds"] = time.perf_counter() - self.start
        atomic_write_json(self.path, self.doc)

    @contextlib.contextmanager
    def part(self, name):
        """The part's seconds and the load average at its start and end."""
        start = time.perf_counter()
        self.doc["parts"][name] = {"load_average_start": os.getloadavg()}
        try:
            yield
        finally:
            self.doc["parts"][name].update(load_average_end=os.getloadavg(),
                                           seconds=time.perf_counter() - start)
            self.write()


def add_arguments(parser) -> None:
    parser.add_argument("--n", type=positive_int, default=1_000_000, help="samples (1,000,000)")
    parser.add_argument("--dim", type=positive_int, default=128, help="features (128)")
    parser.add_argument("--classes", type=positive_int, default=100, help="classes (100)")
    parser.add_argument("--budget", type=float, default=0.01, help="fraction selected (0.01)")
    parser.add_argument("--workers", type=positive_int, default=2,
                        help="workers of the embedded LocalCluster for the per-class part (2)")
    parser.add_argument("--scheduler", default=None,
                        help="an existing Dask scheduler's address (tcp://HOST:8786) for the "
                             "per-class part instead of the embedded cluster")
    parser.add_argument("--parts", nargs="+", default=list(PARTS), metavar="PART",
                        help=f"from {' '.join(PARTS)} (default: all)")
    parser.add_argument("--methods", nargs="+", default=list(GLOBAL_METHODS), metavar="NAME",
                        help=f"the scale part's methods, from {' '.join(GLOBAL_METHODS)}")
    parser.add_argument("--seed", type=int, default=0, help="the synthesized data's seed (0)")
    parser.add_argument("--time-limit", type=positive_int, default=1200, metavar="SECONDS",
                        help="stop a measurement after this long; its row says timed_out (1200)")
    add_common_options(parser, seeds=None, threads=False)


def run(args, command: str) -> int:
    """`distill-lab bench selection-scale`: OUT/selection_scale.json."""
    parts, args.methods = flat(args.parts), flat(args.methods)
    for name, given, allowed in (("--parts", parts, PARTS),
                                 ("--methods", args.methods, GLOBAL_METHODS)):
        if set(given) - set(allowed):
            raise ValueError(f"{name} {sorted(set(given) - set(allowed))} not known; choose "
                             f"from {list(allowed)}")
    if not 0 < args.budget < 1:
        raise ValueError(f"--budget {args.budget} must be a fraction in (0, 1)")
    if args.smoke:
        args.n, args.dim, args.classes = 20_000, 32, 10
    args.mnist_budgets = (0.1,) if args.smoke else (0.1, 0.01)
    # a run of some parts only is its own file: selection_scale_mnist.json never overwrites all
    some = [] if set(parts) == set(PARTS) else [name for name in PARTS if name in parts]
    stem = "_".join(["selection_scale", *some])
    log = _Log(Path(args.out) / f"{result_stem(stem, args.smoke)}.json", command)
    with tempfile.TemporaryDirectory() as tmp:
        paths = synthetic(args, tmp) if {"scale", "per_class"} & set(parts) else None
        for name in (name for name in PARTS if name in parts):
            with log.part(name):
                RUNS[name](args, paths, tmp, log)
    return 0
