"""What every experiment of `distill-lab bench` shares: the options (`--seeds 0 1 2`, `--device`,
`--threads`, `--out`, `--smoke`), the command line recorded with the results, and the writing of
result rows (checked against docs/design.md §3 before anything is written)."""
from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

from distill_lab._io import atomic_write_json, atomic_write_text
from distill_lab._validation import resolve_device
from distill_lab.evaluation.results import validate_rows

__all__ = ["DEFAULT_OUT", "REPO_ROOT", "add_common_options", "positive_int", "device_name",
           "flat", "set_threads", "result_stem", "write_rows", "write_text", "machine", "repo_path"]

DEFAULT_OUT = "benchmarks/results"
# The source checkout (notebooks/, tests/fixtures/): the timing experiments run its notebooks.
REPO_ROOT = Path(__file__).resolve().parents[2]


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def device_name(text: str) -> str:
    """--device, checked as it is parsed (a GPU this machine lacks fails before any work, naming
    the devices found) and kept as typed: each experiment's protocol resolves it."""
    try:
        resolve_device(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def flat(values, type=str) -> list:
    """A list option's values, space- or comma-separated alike: ['a,b', 'c'] -> ['a', 'b', 'c']."""
    return [type(part.strip()) for value in values for part in str(value).split(",")
            if part.strip()]


def add_common_options(parser, *, seeds=(0, 1, 2), device: bool = True,
                       threads: bool = True) -> None:
    """The options every experiment takes; `seeds=None`, `device=False`, `threads=False` where
    they mean nothing (an experiment that trains no model, or whose thread count is fixed)."""
    if seeds is not None:
        parser.add_argument("--seeds", type=int, nargs="+", default=list(seeds), metavar="SEED",
                            help=f"the seeds, a list (default: {' '.join(map(str, seeds))})")
    if device:
        parser.add_argument("--device", default="auto", type=device_name,
                            help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps "
                                 "(default: auto)")
    if threads:
        parser.add_argument("--threads", type=positive_int, default=None,
                            help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"folder for the results, relative to the current directory "
                             f"(default: {DEFAULT_OUT})")
    parser.add_argument("--smoke", action="store_true",
                        help="toy sizes, seconds to minutes: checks the wiring, not the numbers; "
                             "its files are named *_smoke.json so that no result is overwritten")


def set_threads(threads) -> None:
    """torch's CPU threads in this process (None: torch's choice)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def result_stem(stem: str, smoke: bool) -> str:
    """A smoke run's files carry `_smoke`: never mistaken for (or written over) a result."""
    return f"{stem}_smoke" if smoke else stem


def write_rows(out, stem: str, rows: list) -> Path:
    """Check result rows (every docs/design.md §3 field, budget a fraction, n_selected a count)
    and write them to OUT/STEM.json."""
    validate_rows(rows)
    return atomic_write_json(Path(out) / f"{stem}.json", rows)


def write_text(out, name: str, text: str) -> Path:
    return atomic_write_text(Path(out) / name, text)


def machine() -> str:
    import torch

    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, "
            f"Python {platform.python_version()}, torch {torch.__version__}")


def repo_path(*parts) -> Path:
    """A folder of the source checkout (notebooks, test fixtures), or an error saying so."""
    path = REPO_ROOT.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: this experiment runs the notebooks of a "
                                "source checkout, not of the installed package")
    return path
