"""The `distill-lab` command: run the notebook sequence into an HTML report, sweep notebooks over a
grid of parameters on a Dask cluster, refresh the committed notebooks' outputs, write the student
release of the notebooks and grade a submission, or run an experiment (`bench NAME`,
distill_lab.experiments).

Over 300 lines and whole on purpose: the parser and each subcommand's handler, a few lines of
library calls apiece, read together; split apart, an option would live away from the code that
reads it."""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import time
import warnings
from pathlib import Path

import yaml

from distill_lab._io import read_yaml_mapping
from distill_lab.reporting import QUICK_PARAMETERS, refresh_notebooks, run_sequence
from distill_lab.reporting.outdir import open_out_dir, out_dir_lock
from distill_lab.reporting.parameters import check_parameters
from distill_lab.reporting.runner import plan_sequence
from distill_lab.reporting.sweep import (MAX_CELLS, load_spec, plan_sweep, run_sequence_on,
                                         run_sweep)

__all__ = ["main", "default_notebooks_dir"]


def default_notebooks_dir() -> Path:
    """The repository's notebooks/ folder, found next to the package (a source checkout)."""
    path = Path(__file__).resolve().parents[1] / "notebooks"
    if not path.is_dir():
        raise FileNotFoundError(f"no notebooks folder at {path}: the notebooks ship with the "
                                "source repository, not the installed package; pass --notebooks DIR")
    return path


def _add_notebooks_option(parser, what: str = "notebooks folder") -> None:
    parser.add_argument("--notebooks", metavar="DIR", help=f"{what} (default: the repo's)")


def _notebooks_dir(args) -> Path:
    return Path(args.notebooks) if args.notebooks else default_notebooks_dir()


def _parse_only(text):
    if text is None:
        return None
    ids = [part for part in text.split(",") if part.strip()]
    if not ids:  # --only "" would run nothing and print the path of an index never written
        raise ValueError(f"--only {text!r} names no notebook id; pass ids such as 02,04, or "
                         "leave --only out to run every notebook")
    return ids


def _parse_value(name: str, text: str):
    """A YAML scalar (0.05, true, digits); YAML 1.1 reads 1e-3 as text, so numbers are retried."""
    try:
        value = yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ValueError(f"-p {name} {text!r} is not a valid YAML value ({problem}); to pass "
                         f"it as text, quote it: -p {name} \"'{text}'\"") from None
    if isinstance(value, str) and re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", value):
        return float(value)
    return value


def _load_parameters(params_file, pairs) -> dict:
    """The parameters given: the YAML file's mapping, then each `-p name value` (a YAML scalar).
    QUICK_PARAMETERS are the defaults under them (passed to the runner as `defaults`)."""
    parameters = {} if params_file is None else read_yaml_mapping(params_file, f"--params {params_file}")
    for name, value in pairs or []:
        if not name.isidentifier():
            raise ValueError(f"-p name {name!r} is not a valid Python identifier")
        parameters[name] = _parse_value(name, value)
    return parameters


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def _add_cluster_options(parser, scheduler_help: str) -> None:
    parser.add_argument("--workers", type=_positive_int, metavar="N",
                        help="worker processes of an embedded Dask cluster (one thread each)")
    parser.add_argument("--scheduler", metavar="ADDR", help=scheduler_help)


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
    run.add_argument("--allow-extra", action="store_true",
                     help="ignore parameters that no selected notebook declares (else an error)")
    _add_notebooks_option(run)
    _add_cluster_options(run, "run the notebooks on an existing Dask cluster, e.g. "
                              "tcp://10.0.0.5:8786 (default: serially, in this process)")
    sweep = commands.add_parser("sweep", help="run notebooks over a grid of parameters on Dask")
    sweep.add_argument("spec", metavar="SPEC.yaml",
                       help="YAML: notebooks: [ids], grid: {name: [values]}, fixed: {name: value}")
    sweep.add_argument("--out", help="report folder (default reports/SPEC, after the file's name)")
    _add_cluster_options(sweep, "an existing Dask cluster, e.g. tcp://10.0.0.5:8786 (default: "
                                "$DISTILL_LAB_SCHEDULER, else an embedded one)")
    sweep.add_argument("--yes", action="store_true",
                       help=f"run a grid of more than {MAX_CELLS} cells")
    sweep.add_argument("--show-code", action="store_true", help="keep the code cells in the HTML")
    sweep.add_argument("--force", action="store_true", help="re-run cells already done")
    _add_notebooks_option(sweep)
    refresh = commands.add_parser("refresh-notebooks",
                                  help="re-execute source notebooks in place in quick mode")
    refresh.add_argument("--only", metavar="IDS", help="comma-separated notebook ids, e.g. 02,04")
    _add_notebooks_option(refresh)
    release = commands.add_parser("assignments", help="write the student release of the notebooks "
                                  "(solutions and hidden tests removed; docs/assignments.md)")
    release.add_argument("out", metavar="OUT", help="folder for the student notebooks")
    release.add_argument("--only", metavar="IDS", help="comma-separated notebook ids, e.g. 02,04")
    _add_notebooks_option(release, "instructor notebooks")
    grade = commands.add_parser("grade", help="autograde students' notebooks against the instructor "
                                "versions (each is executed; written answers are left to you)")
    grade.add_argument("submissions", nargs="+", metavar="NOTEBOOK",
                       help="a student's NN_name.ipynb (matched to the instructor's by file name)")
    _add_notebooks_option(grade, "instructor notebooks")
    grade.add_argument("--json", metavar="FILE", help="also write the grades as JSON")
    explore = commands.add_parser("explore", help="serve the explorer (notebook 10) as a live web "
                                  "app with Voilà: code hidden, widgets live")
    explore.add_argument("--dataset", default="digits", help="the data set it opens with")
    explore.add_argument("--label-column", help="a table's label column (default: label or target)")
    explore.add_argument("--port", type=_positive_int, help="local port (default: a free one)")
    _add_notebooks_option(explore)
    # `bench` hands NAME and its options to distill_lab.experiments.bench, whose parser knows them
    commands.add_parser("bench", add_help=False,
                        help="run an experiment: headline, paper, generative, selection-time, "
                             "sequence-time, sweep-speedup (see `distill-lab bench --help`)")
    commands.add_parser("benchmark", add_help=False, help="the same as `distill-lab bench headline`")
    return parser


def _report(runs, out) -> int:
    """Print each failure to stderr and the index's path; the exit status."""
    failed = [run for run in runs if run.status == "failed"]
    for run in failed:
        print(f"FAILED {run.name}: {run.error}", file=sys.stderr)
    print((Path(out) / "index.html").resolve())
    return 1 if failed else 0


_INTERRUPTED = ("distill-lab: interrupted; the finished {} are saved: run the same command "
                "again to resume")


def _run(args) -> int:
    notebooks = _notebooks_dir(args)
    options = dict(parameters=_load_parameters(args.params, args.p), defaults=QUICK_PARAMETERS,
                   only=_parse_only(args.only), show_code=args.show_code, force=args.force,
                   allow_extra=args.allow_extra)
    try:
        if args.workers is None and args.scheduler is None:
            return _report(run_sequence(notebooks, args.out, **options), args.out)
        return _report(_run_on_dask(args, notebooks, options), args.out)
    except KeyboardInterrupt:
        print(_INTERRUPTED.format("notebooks"), file=sys.stderr)
        return 130


def _run_on_dask(args, notebooks, options):
    """run --workers/--scheduler: every check and the folder's lock before Dask starts."""
    local = args.scheduler is None  # embedded workers: a GPU asked for must be on this machine
    with warnings.catch_warnings():  # run_sequence_on checks again, and warns once
        warnings.simplefilter("ignore")
        plan_sequence(notebooks, options["parameters"], options["only"],
                      defaults=options["defaults"], allow_extra=options["allow_extra"],
                      check_devices=local)
    with out_dir_lock(open_out_dir(args.out, [notebooks])):
        from distill_lab.dask_cluster import connect  # lazy: the serial default needs no Dask

        with connect(args.scheduler, args.workers) as client:
            return run_sequence_on(client, notebooks, args.out, check_devices=local, **options)


def _sweep(args) -> int:
    notebooks = _notebooks_dir(args)
    cells = plan_sweep(load_spec(args.spec), notebooks, yes=args.yes,  # every check, before Dask
                       check_devices=False)
    out = args.out or str(Path("reports") / Path(args.spec).stem)
    from distill_lab.dask_cluster import SCHEDULER_ENV, connect  # after the checks: a slow import

    scheduler = args.scheduler
    if scheduler is None and args.workers is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    if scheduler is None:  # embedded workers: a GPU asked for must be on this machine
        for device in sorted({cell.injected["device"] for cell in cells
                              if "device" in cell.injected}):
            check_parameters({"device": device})
    out_dir = open_out_dir(out, [notebooks])
    print(f"{len(cells)} cells -> {out_dir}", file=sys.stderr)
    try:
        with out_dir_lock(out_dir), connect(scheduler, args.workers) as client:
            runs = run_sweep(client, cells, out, show_code=args.show_code, force=args.force)
    except KeyboardInterrupt:
        print(_INTERRUPTED.format("cells"), file=sys.stderr)
        return 130
    return _report(runs, out)


def _assignments(args) -> int:
    from distill_lab.reporting.assignments import exercises, write_release

    notebooks = _notebooks_dir(args)
    written = write_release(notebooks, args.out, _parse_only(args.only))
    import nbformat

    found = [e for path in written for e in exercises(nbformat.read(path, as_version=4), path.name)]
    auto = [e for e in found if e.kind == "autograded"]
    print(f"{len(written)} student notebooks -> {Path(args.out).resolve()}: {len(auto)} autograded "
          f"exercises ({sum(e.points for e in auto):g} points), {len(found) - len(auto)} written "
          f"answers ({sum(e.points for e in found if e.kind != 'autograded'):g} points)")
    return 0


def _grade(args) -> int:
    from distill_lab._io import atomic_write_json
    from distill_lab.reporting.assignments import grade_notebook

    notebooks = _notebooks_dir(args)
    pairs = []
    for submission in map(Path, args.submissions):  # every file checked before the first kernel
        instructor = notebooks / submission.name
        if not submission.is_file():
            raise ValueError(f"submission {str(submission)!r} is not a file")
        if not instructor.is_file():
            raise ValueError(f"submission {submission.name!r} matches no instructor notebook in "
                             f"{notebooks}; keep the released file's name (NN_name.ipynb)")
        pairs.append((submission, instructor))
    report = {}
    for submission, instructor in pairs:
        grade = grade_notebook(submission, instructor)
        for grade_id, (score, points) in grade.scores.items():
            shown = "to grade by hand" if score is None else f"{score:g}"
            print(f"{submission.name}  {grade_id:<32} {shown} / {points:g}")
        got, of = grade.autograded
        print(f"{submission.name}  autograded total {got:g} / {of:g}")
        for index, error in grade.other_errors:
            print(f"{submission.name}  cell {index} (not a test cell) raised {error}", file=sys.stderr)
        report[submission.name] = {"scores": {k: {"score": s, "points": p}
                                              for k, (s, p) in grade.scores.items()},
                                   "autograded": {"score": got, "points": of},
                                   "other_errors": [e for _, e in grade.other_errors]}
    if args.json:
        atomic_write_json(args.json, report)
    return 0


def _explore(args) -> int:
    from distill_lab.reporting.explore import serve
    from distill_lab.reporting.notebooks import find_notebooks
    from distill_lab.reporting.parameters import check_parameters

    notebooks = _notebooks_dir(args)
    (explorer,) = find_notebooks(notebooks, ["10"])
    given = {"dataset": args.dataset, "label_column": args.label_column}
    checked = check_parameters({k: v for k, v in given.items() if v is not None})  # read, checked
    with serve(explorer, checked, args.port, quiet=False) as url:
        print(f"the explorer is at {url} (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def main(argv=None) -> int:
    """Entry point of the `distill-lab` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("bench", "benchmark"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        if args.command in ("bench", "benchmark"):
            from distill_lab.experiments import bench  # lazy: torch, Dask, the generators

            names = rest if args.command == "bench" else ["headline", *rest]
            return bench.main(names, command=shlex.join(["distill-lab", *argv]))
        if args.command == "run":
            return _run(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "assignments":
            return _assignments(args)
        if args.command == "grade":
            return _grade(args)
        if args.command == "explore":
            return _explore(args)
        notebooks = _notebooks_dir(args)
        for path in refresh_notebooks(notebooks, _parse_only(args.only)):
            print(f"refreshed {path}")
        return 0
    except (ValueError, OSError, RuntimeError) as exc:  # OSError: files, the Dask scheduler
        print(f"distill-lab: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
