"""Wall time of the quick notebook sequence (`distill-lab run --force`, the README's main job) and
where each notebook's time goes: kernel start and papermill's own work (the notebook's time minus
its cells), the imports (the parameters cell and the imports cell after it, as every notebook is
laid out), and the compute (the other cells). Cell times are the durations papermill records in
each executed cell.

    distill-lab bench sequence-time                   # 2 runs -> OUT/sequence_time.json
    distill-lab bench sequence-time --runs 1 --only 00 01
    distill-lab bench sequence-time --threads 1       # every kernel on one BLAS/torch thread
    distill-lab bench sequence-time --smoke           # one run of a trivial test fixture
    distill-lab bench sequence-time --datasets mnist --workers 2   # -> sequence_time_mnist_workers2.json

`--datasets` times the sequence on each data set (a built-in name or a path; default digits, whose
file keeps the name sequence_time.json; others add _<name>); `--workers N` runs the notebooks on
an embedded Dask cluster of N workers (`distill-lab run --workers N`). Each run records the load
average before and after it: a run on a busy machine is slower than the target means.

Run it on a quiet machine: the target (issue 12) is a median total under 4 minutes on 2 cores.
The record holds `command` (what was typed) and `measured` (the `distill-lab run` it timed).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from distill_lab._io import atomic_write_json
from distill_lab.experiments.options import (REPO_ROOT, add_common_options, flat, machine,
                                             positive_int, repo_path, result_stem)

__all__ = ["breakdown", "run_arguments", "one_run", "sequence_record", "result_name",
           "add_arguments", "run", "SUMMARY"]

SUMMARY = "wall time of the quick notebook sequence, per notebook: start-up, imports, compute"


def breakdown(executed: Path, seconds: float) -> dict:
    """One executed notebook's time: overhead (kernel start, papermill), imports, compute."""
    nb = nbformat.read(executed, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]  # papermill's injected cell included
    durations = [float(c.metadata.get("papermill", {}).get("duration") or 0.0) for c in cells]
    first = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    injected = int("injected-parameters" in cells[first + 1].metadata.get("tags", []))
    imports = sum(durations[first:first + 2 + injected])  # parameters (+ injected), imports
    cells_s = sum(durations)
    return {"seconds": seconds, "overhead_s": max(0.0, seconds - cells_s), "imports_s": imports,
            "compute_s": cells_s - imports}


def run_arguments(dataset: str | None, workers: int | None) -> list:
    """The `distill-lab run` options a timed run adds: the data set, the Dask workers."""
    extra = [] if dataset in (None, "digits") else ["-p", "dataset", str(dataset)]
    return extra + ([] if workers is None else ["--workers", str(workers)])


def one_run(notebooks: Path, only, env=None, extra=()) -> dict:
    """`distill-lab run --force` once (with `extra` options), in a fresh process, into a
    temporary folder; a notebook that failed is an error naming it."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "quick"
        command = [sys.executable, "-m", "distill_lab.cli", "run", "--force", "--out", str(out),
                   "--notebooks", str(notebooks), *extra]
        if only:
            command += ["--only", ",".join(only)]
        load_before, start = os.getloadavg()[0], time.perf_counter()
        done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=env)
        total = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[2:])} exited with status {done.returncode}: "
                               f"{done.stderr.strip()[-2000:]}")
        manifest = json.loads((out / "manifest.json").read_text())
        notebooks = {name: breakdown(out / f"{name}.ipynb", entry["seconds"])
                     for name, entry in sorted(manifest.items()) if entry["status"] == "ok"}
        skipped = {name: entry["reason"] for name, entry in sorted(manifest.items())
                   if entry["status"] == "inapplicable"}
    return {"total_s": total, "load_before": load_before, "load_after": os.getloadavg()[0],
            "notebooks": notebooks, **({"not_applicable": skipped} if skipped else {})}


def sequence_record(runs: list) -> dict:
    """Medians over runs: the total and each notebook's parts."""
    names = list(runs[0]["notebooks"])
    median = {name: {key: statistics.median(r["notebooks"][name][key] for r in runs)
                     for key in runs[0]["notebooks"][name]} for name in names}
    return {"runs": runs, "median_total_s": statistics.median(r["total_s"] for r in runs),
            "median_per_notebook": median}


def add_arguments(parser) -> None:
    parser.add_argument("--runs", type=positive_int, default=2)
    parser.add_argument("--only", nargs="+", default=None, metavar="ID", help="notebook ids")
    parser.add_argument("--datasets", nargs="+", default=["digits"], metavar="NAME",
                        help="data sets, built-in names or paths (default: digits)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="run the notebooks on an embedded Dask cluster of N workers")
    add_common_options(parser, seeds=None, device=False)


def result_name(dataset: str, workers: int | None) -> str:
    """sequence_time[_<data set>][_workers<N>]: digits serial keeps the historical name."""
    from distill_lab.reporting.sweep_report import dataset_label

    name = "sequence_time" + ("" if dataset == "digits" else f"_{dataset_label(dataset)}")
    return name + ("" if workers is None else f"_workers{workers}")


def run(args, command: str) -> int:
    """`distill-lab bench sequence-time`: OUT/sequence_time.json."""
    only = flat(args.only) if args.only else None
    notebooks, runs = repo_path("notebooks"), args.runs
    if args.smoke:
        notebooks, only, runs = repo_path("tests", "fixtures", "notebooks"), ["01"], 1
    env = None
    if args.threads is not None:  # the kernels' threads, not this process's
        env = {**os.environ, **{k: str(args.threads) for k in
                                ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}
    for dataset in flat(args.datasets):
        extra = run_arguments(dataset, args.workers)
        results = []
        for i in range(runs):
            results.append(one_run(notebooks, only, env, extra))
            print(f"{dataset} run {i + 1}: {results[-1]['total_s']:.1f} s (load average "
                  f"{results[-1]['load_before']:.1f} before, {results[-1]['load_after']:.1f} "
                  "after)", flush=True)
        measured = " ".join(["distill-lab run --force", *extra]
                            + ([f"--only {','.join(only)}"] if only else []))
        record = {"command": command, "measured": measured, "dataset": dataset,
                  "workers": args.workers, "machine": machine(), "threads": args.threads,
                  **sequence_record(results)}
        name = result_stem(result_name(dataset, args.workers), args.smoke)
        atomic_write_json(Path(args.out) / f"{name}.json", record)
        for nb, m in record["median_per_notebook"].items():
            print(f"{nb:<22} {m['seconds']:6.1f} s  overhead {m['overhead_s']:5.1f}  imports "
                  f"{m['imports_s']:5.1f}  compute {m['compute_s']:5.1f}")
        print(f"{dataset}: median total {record['median_total_s']:.1f} s over {runs} run(s)")
    return 0
