"""`distill-lab bench NAME ...`: one parser per experiment, each with the options of
`experiments.options`, and the command line recorded with the results exactly as it was typed."""
from __future__ import annotations

import argparse
import shlex

from distill_lab.experiments import (generative, headline, paper, selection_scale,
                                     selection_time, sequence_time, sweep_speedup, tabular_model)
from distill_lab.experiments.options import set_threads

__all__ = ["EXPERIMENTS", "build_parser", "main"]

# NAME on the command line -> the module that runs it (its SUMMARY, add_arguments and run).
EXPERIMENTS = {"headline": headline, "paper": paper, "generative": generative,
               "selection-time": selection_time, "sequence-time": sequence_time,
               "sweep-speedup": sweep_speedup, "tabular-model": tabular_model,
               "selection-scale": selection_scale}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="distill-lab bench", description="Run one of the project's experiments; its results "
        "go to --out (default benchmarks/results, relative to the current directory).")
    names = parser.add_subparsers(dest="name", required=True, metavar="NAME")
    for name, module in EXPERIMENTS.items():
        sub = names.add_parser(name, help=module.SUMMARY.replace("%", "%%"),  # argparse formats it
                               description=module.__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
    return parser


def main(argv, command: str | None = None) -> int:
    """Run `distill-lab bench` with `argv` (NAME and its options). `command` is the line recorded
    with the results (default: `distill-lab bench` and argv, as a shell would read it back)."""
    argv = list(argv)
    args = build_parser().parse_args(argv)
    set_threads(getattr(args, "threads", None))
    command = command or shlex.join(["distill-lab", "bench", *argv])
    return EXPERIMENTS[args.name].run(args, command) or 0
