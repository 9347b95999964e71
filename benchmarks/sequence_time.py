"""Wall time of the quick notebook sequence (`distill-lab run --force`, the README's main job) and
where each notebook's time goes: kernel start and papermill's own work (the notebook's time minus
its cells), the imports (the parameters cell and the imports cell after it, as every notebook
is laid out), and the compute (the other cells). Cell times are the durations papermill records in each executed cell.

    python benchmarks/sequence_time.py              # 2 runs -> benchmarks/results/sequence_time.json
    python benchmarks/sequence_time.py --runs 1 --only 00,01

Run it on a quiet machine: the target (issue 12) is a median total under 4 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from distill_lab._io import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]


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


def one_run(only) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "quick"
        command = [sys.executable, "-m", "distill_lab.cli", "run", "--force", "--out", str(out)]
        if only:
            command += ["--only", only]
        start = time.perf_counter()
        subprocess.run(command, check=True, cwd=ROOT, capture_output=True, text=True)
        total = time.perf_counter() - start
        manifest = json.loads((out / "manifest.json").read_text())
        notebooks = {name: breakdown(out / f"{name}.ipynb", entry["seconds"])
                     for name, entry in sorted(manifest.items())}
    return {"total_s": total, "notebooks": notebooks}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--only", default=None, help="comma-separated notebook ids")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sequence_time.json"))
    args = parser.parse_args(argv)
    runs = []
    for i in range(args.runs):
        runs.append(one_run(args.only))
        print(f"run {i + 1}: {runs[-1]['total_s']:.1f} s", flush=True)
    names = list(runs[0]["notebooks"])
    median = {name: {key: statistics.median(r["notebooks"][name][key] for r in runs)
                     for key in runs[0]["notebooks"][name]} for name in names}
    result = {"command": "distill-lab run --force" + (f" --only {args.only}" if args.only else ""),
              "machine": f"{platform.system()} {platform.machine()}, Python "
                         f"{platform.python_version()}",
              "runs": runs, "median_total_s": statistics.median(r["total_s"] for r in runs),
              "median_per_notebook": median}
    atomic_write_json(args.out, result)
    for name, m in median.items():
        print(f"{name:<22} {m['seconds']:6.1f} s  overhead {m['overhead_s']:5.1f}  imports "
              f"{m['imports_s']:5.1f}  compute {m['compute_s']:5.1f}")
    print(f"median total {result['median_total_s']:.1f} s over {args.runs} run(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
