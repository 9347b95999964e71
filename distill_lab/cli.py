"""The `distill-lab` command: run the notebook sequence into an HTML report, refresh the committed
notebooks' outputs, or run the benchmark (distill_lab.benchmark)."""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from distill_lab.report import QUICK_PARAMETERS, refresh_notebooks, run_sequence

__all__ = ["main", "default_notebooks_dir"]


def default_notebooks_dir() -> Path:
    """The repository's notebooks/ folder, found next to the package (a source checkout)."""
    path = Path(__file__).resolve().parents[1] / "notebooks"
    if not path.is_dir():
        raise FileNotFoundError(f"no notebooks folder at {path}: the notebooks ship with the "
                                "source repository, not the installed package; pass --notebooks DIR")
    return path


def _parse_only(text):
    return None if text is None else [part for part in text.split(",") if part.strip()]


def _parse_value(text: str):
    """A YAML scalar (0.05, true, digits); YAML 1.1 reads 1e-3 as text, so numbers are retried."""
    value = yaml.safe_load(text) if text.strip() else text
    if isinstance(value, str) and re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", value):
        return float(value)
    return value


def _load_parameters(params_file, pairs) -> dict:
    """QUICK_PARAMETERS, then the YAML file's mapping, then each `-p name value` (a YAML scalar)."""
    parameters = dict(QUICK_PARAMETERS)
    if params_file is not None:
        loaded = yaml.safe_load(Path(params_file).read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError(f"--params {params_file} must hold a YAML mapping of name: value, "
                             f"got {type(loaded).__name__}")
        parameters.update(loaded)
    for name, value in pairs or []:
        if not name.isidentifier():
            raise ValueError(f"-p name {name!r} is not a valid Python identifier")
        parameters[name] = _parse_value(value)
    return parameters


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="distill-lab", description=__doc__.split(":")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute the notebooks into an HTML report")
    run.add_argument("--params", metavar="FILE.yaml", help="YAML mapping of notebook parameters")
    run.add_argument("-p", nargs=2, action="append", metavar=("NAME", "VALUE"),
                     help="set one parameter (value parsed as YAML: 0.05, true, digits)")
    run.add_argument("--only", metavar="IDS", help="comma-separated notebook ids, e.g. 02,04")
    run.add_argument("--out", default="reports/quick", help="report folder (default reports/quick)")
    run.add_argument("--show-code", action="store_true", help="keep the code cells in the HTML")
    run.add_argument("--force", action="store_true", help="re-run notebooks already done")
    run.add_argument("--notebooks", metavar="DIR", help="notebooks folder (default: the repo's)")
    refresh = commands.add_parser("refresh-notebooks",
                                  help="re-execute source notebooks in place in quick mode")
    refresh.add_argument("--only", metavar="IDS", help="comma-separated notebook ids, e.g. 02,04")
    refresh.add_argument("--notebooks", metavar="DIR", help="notebooks folder (default: the repo's)")
    commands.add_parser("benchmark", add_help=False,
                        help="run the benchmark (see `distill-lab benchmark --help`)")
    return parser


def _run(args) -> int:
    notebooks = Path(args.notebooks) if args.notebooks else default_notebooks_dir()
    parameters = _load_parameters(args.params, args.p)
    runs = run_sequence(notebooks, args.out, parameters=parameters, only=_parse_only(args.only),
                        show_code=args.show_code, force=args.force)
    failed = [run for run in runs if run.status == "failed"]
    for run in failed:
        print(f"FAILED {run.name}: {run.error}", file=sys.stderr)
    print((Path(args.out) / "index.html").resolve())
    return 1 if failed else 0


def main(argv=None) -> int:
    """Entry point of the `distill-lab` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["benchmark"]:
        from distill_lab import benchmark  # lazy: only this subcommand needs it

        return benchmark.main(argv[1:]) or 0
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        notebooks = Path(args.notebooks) if args.notebooks else default_notebooks_dir()
        for path in refresh_notebooks(notebooks, _parse_only(args.only)):
            print(f"refreshed {path}")
        return 0
    except (ValueError, FileNotFoundError, RuntimeError) as exc:
        print(f"distill-lab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
