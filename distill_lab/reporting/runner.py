"""Run the numbered notebook sequence headless and turn it into a browsable HTML report.

papermill executes each ``NN_name.ipynb`` with the parameters its ``parameters`` cell declares,
nbconvert renders the executed copy to HTML, and ``index.html`` lists every notebook's status,
duration and the headline figures it wrote with `write_results`. ``manifest.json`` records each
run, so that a notebook already done with the same code and parameters is skipped next time.

A run writes its executed notebook, HTML and results under ``out_dir/.running/`` and moves them
into place only once it has finished, and the manifest says "running" until then: a run cut short
(Ctrl-C, a crash) leaves the previous run's files whole and is never taken for done.
"""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import tempfile
import time
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from distill_lab._io import RUN_CACHE_ENV, atomic_write_bytes, atomic_write_text
from distill_lab.reporting.applicability import data_facts, requirements, unmet
from distill_lab.reporting.figures import json_safe, read_results
from distill_lab.reporting.index import render_index
from distill_lab.reporting.mathjax import MATHJAX_URL, copy_mathjax
from distill_lab.reporting.notebooks import (declared_parameters, describe_error, execute_notebook,
                                             find_notebooks, injected_parameters, source_hash)
from distill_lab.reporting.outdir import open_out_dir, out_dir_lock
from distill_lab.reporting.parameters import check_declared, check_parameters

__all__ = ["NotebookRun", "run_sequence", "plan_sequence", "run_one", "cached_run", "render_html",
           "load_manifest", "write_manifest", "write_report", "is_done", "started", "interrupted",
           "key_figure", "thumbnail_path", "inapplicable", "KEY_FIGURE_TAG"]

_MANIFEST = "manifest.json"
_STAGING = ".running"  # a run's files until it has finished
KEY_FIGURE_TAG = "key-figure"  # a notebook cell's tag: its last image is the index's thumbnail


@dataclasses.dataclass(frozen=True)
class NotebookRun:
    """The outcome of one notebook: status is "ok", "failed", "skipped" (done before) or
    "inapplicable" (the data set does not fit it: `reason` says why), and in the manifest
    "running" while it runs, "interrupted" when the run was cut short."""
    name: str
    status: str
    seconds: float
    parameters: dict
    figures: dict
    error: str | None = None
    key: str = ""          # source_hash of the code and injected parameters: decides re-runs
    show_code: bool = False
    thumbnail: str | None = None  # the key figure's PNG, relative to the report folder
    reason: str | None = None     # why an inapplicable notebook did not run


def render_html(executed: Path, show_code: bool) -> Path:
    """Render an executed notebook to the .html beside it (code cells only with show_code)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=not show_code, exclude_input_prompt=not show_code,
                            exclude_output_prompt=not show_code,
                            mathjax_url=MATHJAX_URL)  # the report's copy: see write_report
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    return atomic_write_text(executed.with_suffix(".html"), body)


def key_figure(executed: Path) -> bytes | None:
    """The PNG that stands for a notebook in the index: the last image of the cell tagged
    `key-figure`, else the notebook's first image; None when it shows none."""
    nb = nbformat.read(executed, as_version=4)

    def pngs(cells):
        return [out.data["image/png"] for cell in cells if cell.cell_type == "code"
                for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]

    found = pngs([c for c in nb.cells if KEY_FIGURE_TAG in c.metadata.get("tags", [])])[-1:]
    found = found or pngs(nb.cells)[:1]
    return base64.b64decode(found[0]) if found else None


def thumbnail_path(name: str) -> str:
    """Where a notebook's key figure lands, relative to the report folder."""
    return f"figures/{name}.png"


def _staged(out_dir: Path, name: str) -> dict:
    """Each output of a notebook's run -> where the run writes it until it has finished."""
    staging = out_dir / _STAGING
    return {out_dir / f"{name}.ipynb": staging / f"{name}.ipynb",
            out_dir / f"{name}.html": staging / f"{name}.html",
            out_dir / "results" / f"{name}.json": staging / "results" / f"{name}.json",
            out_dir / thumbnail_path(name): staging / thumbnail_path(name)}


def _discard(paths) -> None:
    """Remove the staged files, then their folders once empty."""
    for path in paths:
        path.unlink(missing_ok=True)
    for folder in sorted({path.parent for path in paths}, key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):  # not empty: another notebook's staged files
            folder.rmdir()


def run_one(source: Path, out_dir: Path, injected: dict, key: str, show_code,
            kernel_name, run_cache=None) -> NotebookRun:
    """Execute one notebook into out_dir and render it; a failure is recorded, not raised.
    `run_cache`: the folder of the run's shared full baselines (`run_cache`), if any.

    The executed notebook, its HTML and its results are written under out_dir/.running/ and replace
    the previous run's files only once this run has finished (failed included, with its partial
    output); an interruption (KeyboardInterrupt, raised) leaves the previous files untouched.
    """
    staged = _staged(out_dir, source.stem)
    executed, _, results, thumbnail = staged.values()
    _discard(staged.values())  # left by a run killed before it could clean up
    results.parent.mkdir(parents=True, exist_ok=True)
    run_parameters = dict(injected)
    if "results_path" in injected:  # the notebook writes its figures beside its other outputs
        run_parameters["results_path"] = results.relative_to(out_dir).as_posix()
    error, start = None, time.perf_counter()
    try:
        try:
            execute_notebook(source, executed, run_parameters, out_dir, kernel_name,
                             env={RUN_CACHE_ENV: run_cache} if run_cache else None)
        except Exception as exc:  # noqa: BLE001 (reported in the index, then we go on)
            error = describe_error(exc)
        seconds = time.perf_counter() - start
        if executed.is_file():  # papermill keeps the partial output of a failing notebook
            try:
                render_html(executed, show_code)  # -> html, beside it
            except Exception as exc:  # noqa: BLE001
                error = error or f"HTML export: {describe_error(exc)}"
            try:
                png = key_figure(executed)
                if png is not None:
                    atomic_write_bytes(thumbnail, png)
            except Exception as exc:  # noqa: BLE001 (a broken image output: said, not hidden)
                error = error or f"key figure: {describe_error(exc)}"
        figures = read_results(results)
        for final, path in staged.items():  # the finished run's files, and only those
            if path.is_file():
                final.parent.mkdir(exist_ok=True)
                os.replace(path, final)
            else:
                final.unlink(missing_ok=True)
    finally:
        _discard(staged.values())
    has_thumbnail = (out_dir / thumbnail_path(source.stem)).is_file()
    return NotebookRun(source.stem, "failed" if error else "ok", round(seconds, 2), injected,
                       figures, error, key, show_code,
                       thumbnail_path(source.stem) if has_thumbnail else None)


def load_manifest(out_dir: Path) -> dict:
    """Name -> NotebookRun fields of every run recorded in out_dir ({} for a new folder)."""
    path = out_dir / _MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def write_manifest(out_dir: Path, manifest: dict) -> Path:
    """Write out_dir/manifest.json, the record load_manifest reads back."""
    return atomic_write_text(out_dir / _MANIFEST, json.dumps(json_safe(manifest), indent=2) + "\n")


def write_report(out_dir: Path, manifest: dict) -> Path:
    """Write the manifest and an index.html of every run it records (and, once, the MathJax
    that the notebooks' pages load)."""
    write_manifest(out_dir, manifest)
    copy_mathjax(out_dir)
    runs = [NotebookRun(**manifest[name]) for name in sorted(manifest)]
    return atomic_write_text(out_dir / "index.html", render_index(runs))


def started(name: str, injected: dict, key: str, show_code: bool) -> dict:
    """The manifest entry of a run under way, written before it starts: never taken for done."""
    return dataclasses.asdict(NotebookRun(name, "running", 0.0, injected, {}, None, key, show_code))


def interrupted(entry: dict) -> dict:
    """A "running" entry whose run was cut short."""
    return {**entry, "status": "interrupted",
            "error": "interrupted before it finished; run the same command again to redo it"}


def is_done(entry, key, injected: dict, out_dir: Path, name: str) -> bool:
    """Whether a manifest entry records a finished success with this key (code and parameters)
    and these injected parameters, whose ipynb and html are in out_dir."""
    return (entry is not None and entry["status"] in ("ok", "skipped") and entry["key"] == key
            and entry["parameters"] == json_safe(injected)
            and (out_dir / f"{name}.ipynb").is_file() and (out_dir / f"{name}.html").is_file())


def plan_sequence(notebooks_dir, parameters: dict, only=None, *, defaults=None,
                  allow_extra=False, check_devices=True) -> list:
    """Check a sequence run's arguments before anything runs; return, in order, one (source,
    injected parameters, key, reason) per notebook, the key deciding re-runs (see run_sequence),
    the reason saying why the data set does not fit the notebook (None: it does; see
    `applicability`). A notebook named in `only` that does not fit is an error.

    `parameters` override `defaults`; both are checked against the shared schema (with
    check_devices, a 'cuda' or 'mps' device must be present), and a name in `parameters` that
    no selected notebook declares is an error unless allow_extra. A `dataset` path is read and
    checked last, and injected as an absolute path (notebooks run in out_dir).
    """
    given = {**(defaults or {}), **parameters}
    if "results_path" in given:
        raise ValueError("parameters must not set 'results_path': run_sequence gives each notebook "
                         "its own file under out_dir/results/")
    try:
        json_safe(given)
    except TypeError as exc:
        raise TypeError(f"parameters must hold literals papermill can inject: {exc}") from None
    check_parameters(given, check_devices=check_devices, check_data=False)
    notebooks = find_notebooks(notebooks_dir, only)
    declared = {nb: declared_parameters(nb) for nb in notebooks}
    check_declared(parameters, {nb.stem: names for nb, names in declared.items()},
                   allow_extra=allow_extra)
    given = check_parameters(given, check_devices=False)  # the data, once the cheap checks pass
    needs = {nb: requirements(nb) for nb in notebooks}
    facts = data_facts(given) if any(needs.values()) else None
    plan = []
    for source in notebooks:
        injected = injected_parameters(source, given, declared[source])
        reason = unmet(needs[source], facts)
        if reason and only is not None:
            raise ValueError(f"{source.stem} cannot run on dataset={given['dataset']!r}: it "
                             f"{reason}; leave it out of --only")
        plan.append((source, injected,
                     source_hash(nbformat.read(source, as_version=4), injected), reason))
    return plan


def inapplicable(out_dir: Path, name: str, injected: dict, key: str, reason: str,
                 show_code: bool) -> NotebookRun:
    """The record of a notebook the data set does not fit; an earlier run's files of it (other
    parameters) are removed, so that the report shows no stale outputs."""
    for final in _staged(out_dir, name):
        final.unlink(missing_ok=True)
    return NotebookRun(name, "inapplicable", 0.0, injected, {}, None, key, show_code,
                       reason=reason)


def cached_run(entry: dict, out_dir: Path, show_code: bool) -> NotebookRun:
    """A manifest entry done before, as a skipped run with its figures (re-rendered first when
    only the code view changed)."""
    name = entry["name"]
    if entry.get("show_code") != show_code:  # same run, other view: re-render only
        render_html(out_dir / f"{name}.ipynb", show_code)
    return dataclasses.replace(NotebookRun(**entry), status="skipped", show_code=show_code,
                               figures=read_results(out_dir / "results" / f"{name}.json"))


def run_sequence(notebooks_dir, out_dir, *, parameters: dict, defaults=None, only=None,
                 show_code=False, force=False, allow_extra=False, kernel_name="python3",
                 verbose=True) -> list[NotebookRun]:
    """Execute the notebooks in order into out_dir (ipynb + html each) and write out_dir/index.html.

    Each notebook gets only the parameters its `parameters` cell declares (`parameters` over
    `defaults`, all checked first: see plan_sequence), plus a results_path in out_dir/results/. A
    notebook already done with the same parameters and code is skipped unless force=True.
    Failures are recorded (cell and error) and the others still run; check `status`. One run at
    a time holds out_dir: another raises OutDirInUse.
    """
    plan = plan_sequence(notebooks_dir, parameters, only, defaults=defaults,
                         allow_extra=allow_extra)
    out_dir = open_out_dir(out_dir, [notebooks_dir])
    with out_dir_lock(out_dir), run_cache() as cache:
        manifest, runs = load_manifest(out_dir), []
        bar = tqdm(plan, desc="notebooks", unit="nb", disable=not verbose)
        for source, injected, key, reason in bar:
            bar.set_postfix_str(source.stem)
            entry = manifest.get(source.stem)
            if reason:
                run = inapplicable(out_dir, source.stem, injected, key, reason, show_code)
            elif not force and is_done(entry, key, injected, out_dir, source.stem):
                run = cached_run(entry, out_dir, show_code)
            else:
                run = _run_recorded(manifest, source, out_dir, injected, key, show_code,
                                    kernel_name, cache)
            manifest[source.stem] = dataclasses.asdict(run)
            write_report(out_dir, manifest)  # after every notebook: a partial report is browsable
            runs.append(run)
    return runs


def run_cache():
    """A temporary folder for one run's shared full baselines (`evaluation.run_full`), removed
    when the run ends: never reused by a later run, whose library may have changed."""
    return tempfile.TemporaryDirectory(prefix="distill-lab-run-")


def _run_recorded(manifest, source, out_dir, injected, key, show_code, kernel_name, cache=None):
    """run_one with the manifest saying "running" first and "interrupted" if it is cut short."""
    manifest[source.stem] = started(source.stem, injected, key, show_code)
    write_report(out_dir, manifest)
    try:
        return run_one(source, out_dir, injected, key, show_code, kernel_name, cache)
    except BaseException:
        manifest[source.stem] = interrupted(manifest[source.stem])
        write_report(out_dir, manifest)
        raise
