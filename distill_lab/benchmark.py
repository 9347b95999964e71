"""The headline benchmark: every selector at 10% and 1% against random and full data, measured in
one run under the protocol of DESIGN.md §2, written as JSON rows and a markdown table.

`distill-lab benchmark --quick` runs digits only (about a minute on two CPU cores);
`python benchmarks/headline.py` runs digits and MNIST-60k.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np

from distill_lab import data
from distill_lab._io import atomic_write_json, atomic_write_text
from distill_lab.active import active_learning
from distill_lab.evaluation import (ROW_FIELDS, default_protocol, evaluate, evaluate_synthetic,
                                     run_full)
from distill_lab.selectors.registry import make_selector
from distill_lab.results import format_table

__all__ = ["benchmark_methods", "run_benchmark", "format_table", "main"]

DEFAULT_BUDGETS = (0.1, 0.01)


def benchmark_methods(dataset, include=None) -> dict:
    """Row label -> selector spec. Every method is class-balanced; features are raw pixels on
    digits (64-d) and 128-d proxy embeddings on MNIST. K-means and facility location train on
    their picks unweighted (their cluster-size weights cost accuracy in our runs); CRAIG is shown
    both with its weights, which define the method, and without."""
    proxy = {"proxy_model": "mlp", "proxy_epochs": 1.0}
    feats = {"features": "raw" if dataset.X_train.shape[1] <= 64 else "embedding", **proxy}
    cb = {"class_balanced": True}
    specs = {
        "random_balanced": {"name": "random", **cb},
        "el2n": {"name": "el2n", "skip_top": 0.05, **cb, **proxy},
        "grand": {"name": "grand", "skip_top": 0.05, **cb, **proxy},
        "craig": {"name": "craig", **cb, **proxy},
        "craig_unweighted": {"name": "craig", "use_weights": False, **cb, **proxy},
        "entropy": {"name": "entropy", **cb, **proxy},
        "margin": {"name": "margin", **cb, **proxy},
        "least_confidence": {"name": "least_confidence", **cb, **proxy},
        "kcenter": {"name": "kcenter", **cb, **feats},
        "herding": {"name": "herding", **cb, **feats},
        "facility_location": {"name": "facility_location", "use_weights": False, **cb, **feats},
        "kmeans": {"name": "kmeans", "use_weights": False, **cb, **feats},
        "dbscan": {"name": "dbscan", **cb, **feats},
    }
    if include:
        unknown = sorted(set(include) - set(specs) - {"kmeans_centroids", "active_entropy"})
        if unknown:
            raise ValueError(f"--methods {unknown} not known; choose from {sorted(specs)}")
        specs = {k: v for k, v in specs.items() if k in include}
    return specs


def kmeans_centroids_set(dataset, budget, seed, features):
    """K-means centroids as a synthetic set (labels from their class), timed as selection."""
    sel = make_selector("kmeans", budget=budget, class_balanced=True, features=features,
                        random_state=seed, image_shape=dataset.image_shape)
    sel.fit(dataset.X_train, dataset.y_train)
    return sel.centroids_.astype(np.float32), sel.centroid_labels_, None


def active_entropy_set(dataset, budget, seed, rounds: int = 8):
    """Entropy-driven active learning with an MLP learner: a class-balanced start of a fifth of
    the budget, then `rounds` batches; the whole loop is selection time."""
    k = max(1, round(budget * len(dataset.y_train)))
    k0 = max(dataset.n_classes, k // 5)
    batch = max(1, -(-(k - k0) // rounds))
    result = active_learning(dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test,
                             budget=k, initial_size=k0, batch_size=batch, strategy="entropy",
                             model="mlp", n_classes=dataset.n_classes, random_state=seed,
                             verbose=False)
    idx = result.indices
    return dataset.X_train[idx], dataset.y_train[idx], None


def run_benchmark(name: str, *, budgets=DEFAULT_BUDGETS, seeds=(0, 1, 2), device="auto",
                  include=None, n_train=None, verbose=True) -> list:
    dataset = data.load(name)
    if n_train is not None:
        dataset = data.subsample(dataset, n_train, random_state=0)
    protocol = default_protocol(dataset, seeds=seeds, device=device)
    full = run_full(dataset, protocol, verbose=verbose)
    rows = evaluate(dataset, benchmark_methods(dataset, include), budgets, protocol, full=full,
                    verbose=verbose)
    features = benchmark_methods(dataset)["kmeans"]["features"]
    extra = {
        "kmeans_centroids": lambda b: lambda seed: kmeans_centroids_set(dataset, b, seed, features),
        "active_entropy": lambda b: lambda seed: active_entropy_set(dataset, b, seed),
    }
    for label, make in extra.items():
        if include and label not in include:
            continue
        for b in budgets:
            rows.append(evaluate_synthetic(dataset, label, make(b), protocol, full, budget=b))
    return rows


def _machine() -> str:
    import os

    import torch

    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"Python {platform.python_version()}, torch {torch.__version__}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="distill-lab benchmark", description=__doc__)
    parser.add_argument("--datasets", default=None,
                        help="comma-separated: digits,mnist (default: both; --quick: digits)")
    parser.add_argument("--quick", action="store_true", help="digits only, for CI and a first look")
    parser.add_argument("--budgets", default=",".join(str(b) for b in DEFAULT_BUDGETS))
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (>= 3 for reports)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--methods", default=None, help="comma-separated subset of methods")
    parser.add_argument("--n-train", type=int, default=None, help="stratified training subsample")
    parser.add_argument("--out", default="benchmarks/results", help="folder for JSON and tables")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's choice); 1 is fastest for the "
                             "tiny digits models on a busy machine")
    args = parser.parse_args(argv)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)

    names = (args.datasets or ("digits" if args.quick else "digits,mnist")).split(",")
    budgets = tuple(float(b) for b in args.budgets.split(","))
    include = args.methods.split(",") if args.methods else None
    out = Path(args.out)
    for name in names:
        start = time.perf_counter()
        rows = run_benchmark(name, budgets=budgets, seeds=tuple(range(args.seeds)),
                             device=args.device, include=include, n_train=args.n_train)
        rows = [{k: r[k] for k in ROW_FIELDS} for r in rows]
        minutes = (time.perf_counter() - start) / 60
        table = format_table(rows)
        atomic_write_json(out / f"{name}.json", rows)
        note = (f"\n\nMeasured with `{' '.join(['distill-lab benchmark'] + (argv or sys.argv[1:]))}`"
                f" on {_machine()} in {minutes:.1f} min.\n")
        atomic_write_text(out / f"{name}.md", f"### {name}\n\n{table}{note}")
        print(f"\n### {name}\n\n{table}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
