"""The headline benchmark (docs/design.md §2): every selector at 10% and 1% against random and
full data, measured in one run under protocol `compute`, written as result rows and a markdown
table.

    distill-lab bench headline --quick      # digits only (about a minute on two CPU cores)
    distill-lab bench headline              # digits and MNIST-60k
    distill-lab bench headline --smoke      # a 300-image digits subsample, two methods: seconds

With `--workers N` or `--scheduler ADDR` the same rows are computed as tasks on a Dask cluster
(`run_benchmark_on`). `--device` is resolved once, before any work; every phase of a row (proxy,
active learning, evaluation training) runs on it, and each row records `device` (evaluation) and
`device_select` (making the set).
"""
from __future__ import annotations

import contextlib
import functools
import time

import numpy as np
from tqdm.auto import tqdm

from distill_lab import data
from distill_lab._validation import resolve_device
from distill_lab.active import active_learning
from distill_lab.evaluation.protocol import (RANDOM_BASELINE, ROW_FIELDS, FullBaseline,
                                              default_protocol, evaluate,
                                              evaluate_selector, evaluate_synthetic, run_full)
from distill_lab.evaluation.results import format_table
from distill_lab.experiments.options import (add_common_options, flat, machine, positive_int,
                                             result_stem, write_rows, write_text)
from distill_lab.selectors.registry import make_selector_on

__all__ = ["benchmark_methods", "run_benchmark", "run_benchmark_on", "add_arguments", "run",
           "DEFAULT_BUDGETS", "EXTRA_METHODS", "SUMMARY"]

SUMMARY = "every selector at 10% and 1% against random and full data (the README's Results)"

DEFAULT_BUDGETS = (0.1, 0.01)
EXTRA_METHODS = ("kmeans_centroids", "active_entropy")  # rows that are not a registered selector


def benchmark_methods(dataset, include=None) -> dict:
    """Row label -> selector spec. Every method is class-balanced, as `random`
    (RANDOM_BASELINE) is; features are raw pixels on digits (64-d) and 128-d proxy embeddings on
    MNIST. K-means and facility location train on their picks unweighted (their cluster-size
    weights cost accuracy in our runs); CRAIG is shown both with its weights, which define the
    method, and without."""
    proxy = {"proxy_model": "mlp", "proxy_epochs": 1.0}
    feats = {"features": "raw" if dataset.X_train.shape[1] <= 64 else "embedding", **proxy}
    cb = {"class_balanced": True}
    specs = {
        "el2n": {"name": "el2n", "skip_top": 0.05, **cb, **proxy},
        "grand": {"name": "grand", "skip_top": 0.05, **cb, **proxy},
        "craig": {"name": "craig", **cb, **proxy},
        "craig_unweighted": {"name": "craig", "use_weights": False, **cb, **proxy},
        "ccs_el2n": {"name": "ccs", "proxy_score": "el2n", **cb, **proxy},
        "entropy": {"name": "entropy", **cb, **proxy},
        "margin": {"name": "margin", **cb, **proxy},
        "least_confidence": {"name": "least_confidence", **cb, **proxy},
        "kcenter": {"name": "kcenter", **cb, **feats},
        "herding": {"name": "herding", **cb, **feats},
        "facility_location": {"name": "facility_location", "use_weights": False, **cb, **feats},
        "moderate": {"name": "moderate", **cb, **feats},
        "kmeans": {"name": "kmeans", "use_weights": False, **cb, **feats},
        "dbscan": {"name": "dbscan", **cb, **feats},
    }
    if include:
        unknown = sorted(set(include) - set(specs) - set(EXTRA_METHODS))
        if unknown:
            raise ValueError(f"--methods {unknown} not known; choose from "
                             f"{sorted(specs) + list(EXTRA_METHODS)}")
        specs = {k: v for k, v in specs.items() if k in include}
    return specs


def kmeans_centroids_set(dataset, budget, seed, features, device):
    """K-means centroids as a synthetic set (labels from their class), timed as selection; a proxy
    for embedding features trains on `device`."""
    sel = make_selector_on("kmeans", device, budget=budget, class_balanced=True,
                           features=features, random_state=seed, image_shape=dataset.image_shape)
    sel.fit(dataset.X_train, dataset.y_train)
    return sel.centroids_.astype(np.float32), sel.centroid_labels_, None


def active_entropy_set(dataset, budget, seed, device, rounds: int = 8):
    """Entropy-driven active learning with an MLP learner on `device`: a class-balanced start of
    a fifth of the budget, then `rounds` batches; the whole loop is selection time."""
    k = max(1, round(budget * len(dataset.y_train)))
    k0 = max(dataset.n_classes, k // 5)
    batch = max(1, -(-(k - k0) // rounds))
    result = active_learning(dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test,
                             budget=k, initial_size=k0, batch_size=batch, strategy="entropy",
                             model="mlp", n_classes=dataset.n_classes, device=device,
                             random_state=seed, verbose=False)
    idx = result.indices
    return dataset.X_train[idx], dataset.y_train[idx], None


def extra_row(label: str, dataset, budget, protocol, full) -> dict:
    """The row of one of EXTRA_METHODS at `budget`, its set made on the protocol's device (k-means
    on raw pixels runs on numpy: 'cpu')."""
    device = protocol.device
    if label == "kmeans_centroids":
        features = benchmark_methods(dataset)["kmeans"]["features"]
        make_set = functools.partial(kmeans_centroids_set, dataset, budget, features=features,
                                     device=device)
        used = device if features == "embedding" else "cpu"
    else:
        make_set = functools.partial(active_entropy_set, dataset, budget, device=device)
        used = device
    return evaluate_synthetic(dataset, label, make_set, protocol, full, budget=budget,
                              device_select=used)


def load_dataset(name: str, n_train=None):
    """The benchmark's data set: `name`, optionally a stratified subsample of n_train."""
    dataset = data.load(name)
    return dataset if n_train is None else data.subsample(dataset, n_train, random_state=0)


def run_benchmark(name: str, *, budgets=DEFAULT_BUDGETS, seeds=(0, 1, 2), device="auto",
                  include=None, n_train=None, verbose=True, client=None) -> list:
    """Rows for full, random, every method x budget and EXTRA_METHODS, in this process; or, given
    a dask.distributed `client`, as tasks on its cluster (run_benchmark_on: same rows and order)."""
    device = str(resolve_device(device))  # before any work: a missing GPU fails here
    if client is not None:
        return run_benchmark_on(client, name, budgets=budgets, seeds=seeds, device=device,
                                include=include, n_train=n_train, verbose=verbose)
    dataset = load_dataset(name, n_train)
    protocol = default_protocol(dataset, seeds=seeds, device=device)
    full = run_full(dataset, protocol, verbose=verbose)
    rows = evaluate(dataset, benchmark_methods(dataset, include), budgets, protocol, full=full,
                    verbose=verbose)
    for label in EXTRA_METHODS:
        if include and label not in include:
            continue
        for b in budgets:
            rows.append(extra_row(label, dataset, b, protocol, full))
    return rows


# A worker process loads each data set once (from its own data/ or $DISTILL_LAB_DATA), not per task.
_worker_dataset = functools.lru_cache(maxsize=2)(load_dataset)


def method_labels(name: str, n_train, include) -> list:
    """The selector rows' labels, in benchmark_methods' order (a Dask task: it needs the data)."""
    return list(benchmark_methods(_worker_dataset(name, n_train), include))


def full_task(name: str, n_train, seed: int, device) -> FullBaseline:
    """The full-data baseline for one seed (a Dask task)."""
    dataset = _worker_dataset(name, n_train)
    return run_full(dataset, default_protocol(dataset, seeds=(seed,), device=device))


def row_task(name: str, n_train, seeds, device, include, label: str, budget,
             full: FullBaseline) -> dict:
    """One result row, every seed inside, against the shared baseline (a Dask task)."""
    dataset = _worker_dataset(name, n_train)
    protocol = default_protocol(dataset, seeds=seeds, device=device)
    if label == "full":  # evaluate over no budgets is the baseline's own row alone
        return evaluate(dataset, {}, (), protocol, full=full, verbose=False)[0]
    if label in EXTRA_METHODS:
        return extra_row(label, dataset, budget, protocol, full)
    spec = dict({"random": RANDOM_BASELINE, **benchmark_methods(dataset, include)}[label])
    return evaluate_selector(dataset, spec.pop("name"), budget, protocol, full, label=label,
                             **spec)


def run_benchmark_on(client, name: str, *, budgets=DEFAULT_BUDGETS, seeds=(0, 1, 2),
                     device="auto", include=None, n_train=None, verbose=True) -> list:
    """run_benchmark as tasks on a Dask cluster: the full baseline first, one task per seed, then
    one task per (method, budget) sharing it. Same rows in the same order, the same accuracies
    for the same seeds (and thread count); only the times differ."""
    from distributed import as_completed  # lazy: the serial benchmark needs no Dask

    device = str(resolve_device(device))  # here, before any task; the workers get the name
    labels = client.submit(method_labels, name, n_train, include, pure=False).result()
    fulls = client.gather([client.submit(full_task, name, n_train, seed, device, pure=False)
                           for seed in seeds])
    full = FullBaseline([f.accuracies[0] for f in fulls], [f.seconds[0] for f in fulls],
                        fulls[0].steps)
    jobs = ([("full", 1.0)] + [(label, b) for b in budgets for label in ["random", *labels]]
            + [(label, b) for label in EXTRA_METHODS if not include or label in include
               for b in budgets])
    futures = [client.submit(row_task, name, n_train, tuple(seeds), device, include, label, b,
                             full, pure=False) for label, b in jobs]
    for _ in tqdm(as_completed(futures), total=len(futures), desc=f"benchmark {name}",
                  unit="row", disable=not verbose):
        pass
    return client.gather(futures)


SMOKE = {"datasets": ["digits"], "n_train": 300, "budgets": [0.1], "methods": ["kcenter", "el2n"]}


def add_arguments(parser) -> None:
    parser.add_argument("--datasets", nargs="+", default=None, metavar="NAME",
                        help="digits, mnist (default: both; --quick: digits)")
    parser.add_argument("--quick", action="store_true", help="digits only, for CI and a first look")
    parser.add_argument("--budgets", nargs="+", default=None, metavar="FRACTION",
                        help="fractions of the training set (default: 0.1 0.01)")
    parser.add_argument("--methods", nargs="+", default=None, metavar="LABEL",
                        help="a subset of the methods' row labels (default: all)")
    parser.add_argument("--n-train", type=positive_int, default=None,
                        help="stratified training subsample")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="run as tasks on an embedded Dask cluster of N worker processes")
    parser.add_argument("--scheduler", metavar="ADDR", default=None,
                        help="run as tasks on an existing Dask cluster, e.g. tcp://host:8786")
    add_common_options(parser)


def run(args, command: str) -> int:
    """`distill-lab bench headline`: OUT/<dataset>.json (rows) and OUT/<dataset>.md (the table
    and how it was measured) for each data set."""
    smoke = SMOKE if args.smoke else {}
    names = flat(args.datasets or smoke.get("datasets") or
                 (["digits"] if args.quick else ["digits", "mnist"]))
    budgets = tuple(flat(args.budgets or smoke.get("budgets") or DEFAULT_BUDGETS, float))
    include = flat(args.methods or smoke.get("methods") or []) or None
    n_train = args.n_train or smoke.get("n_train")
    with contextlib.ExitStack() as stack:
        client = None
        if args.workers is not None or args.scheduler is not None:
            from distill_lab.dask_cluster import connect  # lazy: the serial default needs no Dask

            client = stack.enter_context(connect(args.scheduler, args.workers))
        for name in names:
            start = time.perf_counter()
            rows = run_benchmark(name, budgets=budgets, seeds=tuple(args.seeds),
                                 device=args.device, include=include, n_train=n_train,
                                 client=client)
            rows = [{k: r[k] for k in ROW_FIELDS} for r in rows]  # device_select included
            minutes = (time.perf_counter() - start) / 60
            table = format_table(rows)
            stem = result_stem(name, args.smoke)
            write_rows(args.out, stem, rows)
            note = f"\n\nMeasured with `{command}` on {machine()} in {minutes:.1f} min.\n"
            write_text(args.out, f"{stem}.md", f"### {name}\n\n{table}{note}")
            print(f"\n### {name}\n\n{table}{note}")
    return 0
