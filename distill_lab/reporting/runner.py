"""Run the numbered notebook sequence headless and turn it into a browsable HTML report.

papermill executes each ``NN_name.ipynb`` with the parameters its ``parameters`` cell declares,
nbconvert renders the executed copy to HTML, and ``index.html`` lists every notebook's status,
duration and the headline figures it wrote with `write_results`. ``manifest.json`` records each
run, so that a notebook already done with the same code and parameters is skipped next time.
"""
from __future__ import annotations

import dataclasses
import json
import time
import warnings
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from distill_lab._io import atomic_write_text
from distill_lab.reporting.figures import json_safe, read_results
from distill_lab.reporting.index import render_index
from distill_lab.reporting.notebooks import (declared_parameters, describe_error, execute_notebook,
                                             find_notebooks, injected_parameters, source_hash)

__all__ = ["NotebookRun", "run_sequence", "plan_sequence", "run_one", "cached_run", "render_html",
           "load_manifest", "write_manifest", "write_report", "is_done"]

_MANIFEST = "manifest.json"


@dataclasses.dataclass(frozen=True)
class NotebookRun:
    """The outcome of one notebook: status is "ok", "failed" or "skipped" (done before)."""
    name: str
    status: str
    seconds: float
    parameters: dict
    figures: dict
    error: str | None = None
    key: str = ""          # source_hash of the code and injected parameters: decides re-runs
    show_code: bool = False


def render_html(executed: Path, show_code: bool) -> Path:
    """Render an executed notebook to the .html beside it (code cells only with show_code)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=not show_code, exclude_input_prompt=not show_code,
                            exclude_output_prompt=not show_code)
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    return atomic_write_text(executed.with_suffix(".html"), body)


def run_one(source: Path, out_dir: Path, injected: dict, key: str, show_code,
            kernel_name) -> NotebookRun:
    """Execute one notebook into out_dir and render it; a failure is recorded, not raised."""
    results_file = out_dir / "results" / f"{source.stem}.json"
    results_file.unlink(missing_ok=True)  # no stale figures from an earlier run
    executed = out_dir / source.name
    error, start = None, time.perf_counter()
    try:
        execute_notebook(source, executed, injected, out_dir, kernel_name)
    except Exception as exc:  # noqa: BLE001 (any failure is reported in the index, then we go on)
        error = describe_error(exc)
    seconds = time.perf_counter() - start
    if executed.is_file():  # papermill keeps the partial output of a failing notebook
        render_html(executed, show_code)
    return NotebookRun(source.stem, "failed" if error else "ok", round(seconds, 2), injected,
                       read_results(results_file), error, key, show_code)


def load_manifest(out_dir: Path) -> dict:
    """Name -> NotebookRun fields of every run recorded in out_dir ({} for a new folder)."""
    path = out_dir / _MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_manifest(out_dir: Path, manifest: dict) -> Path:
    """Write out_dir/manifest.json, the record load_manifest reads back."""
    return atomic_write_text(out_dir / _MANIFEST, json.dumps(json_safe(manifest), indent=2) + "\n")


def write_report(out_dir: Path, manifest: dict) -> Path:
    """Write the manifest and an index.html of every run it records."""
    write_manifest(out_dir, manifest)
    runs = [NotebookRun(**manifest[name]) for name in sorted(manifest)]
    return atomic_write_text(out_dir / "index.html", render_index(runs))


def is_done(entry, key, out_dir: Path, name: str) -> bool:
    """Whether a manifest entry is a success with this key whose ipynb and html are in out_dir."""
    return (entry is not None and entry["status"] in ("ok", "skipped") and entry["key"] == key
            and (out_dir / f"{name}.ipynb").is_file() and (out_dir / f"{name}.html").is_file())


def plan_sequence(notebooks_dir, out_dir, parameters: dict, only=None) -> tuple[Path, list]:
    """Check a sequence run's arguments; return the resolved out_dir and, in order, one
    (source, injected parameters, key) per notebook, the key deciding re-runs (see run_sequence)."""
    if "results_path" in parameters:
        raise ValueError("parameters must not set 'results_path': run_sequence gives each notebook "
                         "its own file under out_dir/results/")
    try:
        json_safe(parameters)
    except TypeError as exc:
        raise TypeError(f"parameters must hold literals papermill can inject: {exc}") from None
    notebooks = find_notebooks(notebooks_dir, only)
    out_dir = Path(out_dir).resolve()
    if out_dir == Path(notebooks_dir).resolve():
        raise ValueError(f"out_dir={str(out_dir)!r} is the notebooks folder: the executed copies "
                         "would overwrite the sources; choose another folder, e.g. reports/NAME")
    declared = {nb: declared_parameters(nb) for nb in notebooks}
    unused = sorted(set(parameters) - set().union(*declared.values()))
    if unused:
        warnings.warn(f"parameters {unused} are declared by none of the notebooks "
                      f"{[nb.stem for nb in notebooks]}; they are ignored", UserWarning, stacklevel=3)
    plan = []
    for source in notebooks:
        injected = injected_parameters(source, parameters, declared[source])
        plan.append((source, injected, source_hash(nbformat.read(source, as_version=4), injected)))
    return out_dir, plan


def cached_run(entry: dict, out_dir: Path, show_code: bool) -> NotebookRun:
    """A manifest entry done before, as a skipped run with its figures (re-rendered first when
    only the code view changed)."""
    name = entry["name"]
    if entry.get("show_code") != show_code:  # same run, other view: re-render only
        render_html(out_dir / f"{name}.ipynb", show_code)
    return dataclasses.replace(NotebookRun(**entry), status="skipped", show_code=show_code,
                               figures=read_results(out_dir / "results" / f"{name}.json"))


def run_sequence(notebooks_dir, out_dir, *, parameters: dict, only=None, show_code=False,
                 force=False, kernel_name="python3", verbose=True) -> list[NotebookRun]:
    """Execute the notebooks in order into out_dir (ipynb + html each) and write out_dir/index.html.

    Each notebook gets only the parameters its `parameters` cell declares, plus a results_path in
    out_dir/results/. A notebook already done with the same parameters and code is skipped unless
    force=True. Failures are recorded (cell and error) and the others still run; check `status`.
    """
    out_dir, plan = plan_sequence(notebooks_dir, out_dir, parameters, only)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest, runs = load_manifest(out_dir), []
    bar = tqdm(plan, desc="notebooks", unit="nb", disable=not verbose)
    for source, injected, key in bar:
        bar.set_postfix_str(source.stem)
        entry = manifest.get(source.stem)
        if not force and is_done(entry, key, out_dir, source.stem):
            run = cached_run(entry, out_dir, show_code)
        else:
            run = run_one(source, out_dir, injected, key, show_code, kernel_name)
        manifest[source.stem] = dataclasses.asdict(run)
        write_report(out_dir, manifest)  # after every notebook: a partial report is browsable
        runs.append(run)
    return runs
