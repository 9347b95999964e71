"""Sweep speed-up on Dask: the same quick cells of one notebook (seeds 0..5 of notebook 01 by
default, `--seeds`) run one after another in this process, then as a sweep on an embedded
LocalCluster of 2 workers; and the overhead a cell pays on the Dask path beyond papermill's own
(kernel start and cells), measured with a trivial notebook (the fixture
tests/fixtures/notebooks/01_pass).

    distill-lab bench sweep-speedup               # -> OUT/sweep_speedup.json
    distill-lab bench sweep-speedup --smoke       # 2 cells of the fixture: sweep_speedup_smoke.json

Both paths run every kernel on one BLAS/torch thread (as the Dask workers do), so the ratio
measures the parallelism alone. Serial cells go through `execute_cell`, the very function a
worker runs (papermill, HTML rendering, collecting the files), without Dask. The overhead is a
cell's latency through `run_sweep` (submitted alone, the cluster idle) minus a bare
`papermill.execute_notebook` of it; `dask_scheduling_per_cell_s` leaves out the HTML rendering and
file handling too (latency minus `execute_cell` in this process). Quote medians; the cluster's
start-up is reported apart and once with the ratio.
"""
from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from distill_lab._io import atomic_write_json
from distill_lab.dask_cluster import ONE_THREAD_ENV, connect
from distill_lab.experiments.options import (REPO_ROOT, add_common_options, machine, positive_int,
                                             repo_path, result_stem)
from distill_lab.reporting.notebooks import execute_notebook
from distill_lab.reporting.sweep import execute_cell, plan_sweep, run_sweep

__all__ = ["serial_seconds", "papermill_seconds", "dask_latency_seconds", "measure_speedup",
           "add_arguments", "run", "SUMMARY"]

SUMMARY = "a notebook sweep on 2 Dask workers against the same cells one after another"


def serial_seconds(cells) -> list:
    """Each cell's task run in this process, one after another."""
    times = []
    for cell in cells:
        start = time.perf_counter()
        fields, _ = execute_cell(cell.name, cell.source.read_text(encoding="utf-8"),
                                 cell.injected, cell.key, False, "python3")
        times.append(time.perf_counter() - start)
        if fields["status"] != "ok":
            raise RuntimeError(f"{cell.name} failed: {fields['error']}")
    return times


def papermill_seconds(cells) -> list:
    """Each cell as a bare papermill call: kernel start and the cells, nothing else."""
    times = []
    for cell in cells:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            execute_notebook(cell.source, Path(tmp) / f"{cell.name}.ipynb", cell.injected, tmp,
                             "python3")
            times.append(time.perf_counter() - start)
    return times


def dask_latency_seconds(client, cells, out: Path) -> list:
    """Each cell alone through run_sweep on an idle cluster: its latency, report writes included."""
    times = []
    for cell in cells:
        start = time.perf_counter()
        run_sweep(client, [cell], out, force=True, verbose=False)
        times.append(time.perf_counter() - start)
    return times


def measure_speedup(notebooks: Path, notebook: str, seeds, workers: int) -> dict:
    """The figures of the record: serial and Dask times of the cells, and the per-cell overhead."""
    fixtures = repo_path("tests", "fixtures", "notebooks")
    cells = plan_sweep({"notebooks": [notebook], "grid": {"seed": list(seeds)}}, notebooks)
    trivial = plan_sweep({"notebooks": ["01"], "grid": {"seed": list(seeds)}}, fixtures)
    load = os.getloadavg()[0]
    papermill_seconds(trivial[:1])  # warm-up: first imports and kernel start fill the OS caches
    serial = serial_seconds(cells)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        with connect(n_workers=workers, verbose=False) as client:
            startup = time.perf_counter() - start
            start = time.perf_counter()
            runs = run_sweep(client, cells, Path(tmp) / "sweep", force=True, verbose=False)
            parallel = time.perf_counter() - start
            latency = dask_latency_seconds(client, trivial, Path(tmp) / "trivial")
    failed = [run.name for run in runs if run.status == "failed"]
    if failed:
        raise RuntimeError(f"cells failed on the cluster: {failed}")
    bare, in_process = papermill_seconds(trivial), serial_seconds(trivial)
    median = statistics.median
    return {
        "load_average_at_start": round(load, 2),
        "notebook": cells[0].source.stem, "cells": len(cells), "workers": workers,
        "threads_per_kernel": 1,
        "serial_seconds": round(sum(serial), 2),
        "serial_per_cell_s": [round(t, 2) for t in serial],
        "dask_seconds": round(parallel, 2),
        "dask_startup_seconds": round(startup, 2),
        "speedup": round(sum(serial) / parallel, 3),
        "speedup_with_startup": round(sum(serial) / (parallel + startup), 3),
        "overhead": {
            "notebook": f"{trivial[0].source.stem} (tests/fixtures/notebooks)", "cells": len(cells),
            "papermill_per_cell_s": round(median(bare), 3),
            "task_in_process_per_cell_s": round(median(in_process), 3),
            "dask_latency_per_cell_s": round(median(latency), 3),
            "overhead_per_cell_s": round(median(latency) - median(bare), 3),
            "dask_scheduling_per_cell_s": round(median(latency) - median(in_process), 3),
        },
    }


def add_arguments(parser) -> None:
    parser.add_argument("--notebook", default="01", help="notebook id in notebooks/ (default 01)")
    parser.add_argument("--workers", type=positive_int, default=2)
    add_common_options(parser, seeds=range(6), device=False, threads=False)


def run(args, command: str) -> int:
    """`distill-lab bench sweep-speedup`: OUT/sweep_speedup.json."""
    # Kernels and workers import this checkout's distill_lab, on one thread each, like the workers.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT),
                                                             os.environ.get("PYTHONPATH")]))
    os.environ.update(ONE_THREAD_ENV)
    notebooks, notebook, seeds = repo_path("notebooks"), args.notebook, args.seeds
    if args.smoke:
        notebooks, notebook, seeds = repo_path("tests", "fixtures", "notebooks"), "01", seeds[:2]
    result = {"command": command, "machine": machine(),
              **measure_speedup(notebooks, notebook, seeds, args.workers)}
    print(json.dumps(result, indent=2))
    atomic_write_json(Path(args.out) / f"{result_stem('sweep_speedup', args.smoke)}.json", result)
    return 0
