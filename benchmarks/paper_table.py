"""The paper table (protocol `paper`): random, herding, k-center, DM and DM-MMD on MNIST at 1, 10
and 50 images per class, each beside the DM paper's figure (Zhao & Bilen, WACV 2023, Table 1).

    python benchmarks/paper_table.py                 # CPU configuration (width 32) -> results/
    python benchmarks/paper_table.py --config gpu --device cuda    # width 128, 20k DM iterations
    python benchmarks/paper_table.py --config smoke --n-train 600  # seconds: checks the wiring

Writes benchmarks/results/paper_mnist.json (rows, with the configuration and wall time in each)
and paper_mnist.md (the table, ours beside the papers').
"""
import argparse
import dataclasses
import sys
import time
from pathlib import Path

from distill_lab import data
from distill_lab._io import atomic_write_json, atomic_write_text
from distill_lab.evaluation.paper import (CPU_CONFIG, GPU_CONFIG, SMOKE_CONFIG, format_paper_table,
                                          paper_rows)

CONFIGS = {"cpu": CPU_CONFIG, "gpu": GPU_CONFIG, "smoke": SMOKE_CONFIG}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="cpu")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--methods", default=None, help="comma-separated subset of methods")
    parser.add_argument("--ipcs", default=None, help="comma-separated images per class")
    parser.add_argument("--dm-iterations", type=int, default=None)
    parser.add_argument("--n-train", type=int, default=None, help="stratified training subsample")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", default="benchmarks/results")
    args = parser.parse_args(argv)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    config = dataclasses.replace(CONFIGS[args.config], device=args.device)
    if args.methods:
        config = dataclasses.replace(config, methods=tuple(args.methods.split(",")))
    if args.ipcs:
        config = dataclasses.replace(config, ipcs=tuple(int(k) for k in args.ipcs.split(",")))
    if args.dm_iterations is not None:
        config = dataclasses.replace(config, dm_iterations=args.dm_iterations)
    dataset = data.load("mnist")
    if args.n_train is not None:
        dataset = data.subsample(dataset, args.n_train, random_state=0)
    start = time.perf_counter()
    rows = paper_rows(dataset, config)
    minutes = (time.perf_counter() - start) / 60
    command = " ".join(["python benchmarks/paper_table.py"] + (argv or sys.argv[1:]))
    for row in rows:
        row.update(config=args.config, wall_minutes=round(minutes, 2), command=command)
    name = "paper_mnist" if args.config != "smoke" else "paper_mnist_smoke"
    out = Path(args.out)
    atomic_write_json(out / f"{name}.json", rows)
    note = (f"\n\nMeasured with `{command}` in {minutes:.1f} min; configuration "
            f"{dataclasses.asdict(config)}.\n")
    atomic_write_text(out / f"{name}.md", f"### MNIST, protocol `paper`\n\n"
                                          f"{format_paper_table(rows)}{note}")
    print(format_paper_table(rows) + note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
