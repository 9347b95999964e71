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

from distill_lab import data
from distill_lab.evaluation import ROW_FIELDS, default_protocol, evaluate
from distill_lab._io import atomic_write_json, atomic_write_text
from distill_lab.results import format_table

__all__ = ["benchmark_methods", "run_benchmark", "format_table", "main"]

DEFAULT_BUDGETS = (0.1, 0.01)


def benchmark_methods(dataset, include=None) -> dict:
    """Row label -> selector spec. Every method is class-balanced; features are raw pixels on
    digits (64-d) and 128-d proxy embeddings on MNIST. K-means and facility location train on
    their picks unweighted (their cluster-size weights cost accuracy in our runs); CRAIG keeps its
    weights, which define the method."""
    proxy = {"proxy_model": "mlp", "proxy_epochs": 1.0}
    feats = {"features": "raw" if dataset.X_train.shape[1] <= 64 else "embedding", **proxy}
    cb = {"class_balanced": True}
    specs = {
        "random_balanced": {"name": "random", **cb},
        "el2n": {"name": "el2n", "skip_top": 0.05, **cb, **proxy},
        "grand": {"name": "grand", "skip_top": 0.05, **cb, **proxy},
        "craig": {"name": "craig", **cb, **proxy},
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
        unknown = sorted(set(include) - set(specs))
        if unknown:
            raise ValueError(f"--methods {unknown} not known; choose from {sorted(specs)}")
        specs = {k: v for k, v in specs.items() if k in include}
    return specs


def run_benchmark(name: str, *, budgets=DEFAULT_BUDGETS, seeds=(0, 1, 2), device="auto",
                  include=None, n_train=None, verbose=True) -> list:
    dataset = data.load(name)
    if n_train is not None:
        dataset = data.subsample(dataset, n_train, random_state=0)
    protocol = default_protocol(dataset, seeds=seeds, device=device)
    return evaluate(dataset, benchmark_methods(dataset, include), budgets, protocol,
                    verbose=verbose)


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
    args = parser.parse_args(argv)

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
