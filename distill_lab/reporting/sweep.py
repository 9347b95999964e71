"""Parameter sweeps on a Dask cluster (dask.distributed). A spec names notebooks and a grid of
parameters; each cell, one notebook x one combination, is one task: a worker executes the notebook
with papermill in a scratch folder and sends back every file it wrote, which the client writes
atomically under out_dir (no shared filesystem needed). A cell done before with the same parameters
and code is skipped; a failed cell is recorded and the others go on. `run_sequence_on` runs the
ordinary sequence (`distill-lab run --workers N`) on the same engine.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import re
import tempfile
import uuid
from pathlib import Path

import nbformat
import yaml
from tqdm.auto import tqdm

from distill_lab._io import atomic_write_bytes, read_yaml_mapping
from distill_lab.reporting.figures import json_safe
from distill_lab.reporting.notebooks import (QUICK_PARAMETERS, declared_parameters, describe_error,
                                             find_notebooks, injected_parameters, source_hash)
from distill_lab.reporting.applicability import data_facts, requirements, unmet
from distill_lab.reporting.outdir import open_out_dir, out_dir_lock
from distill_lab.reporting.parameters import check_dataset, check_parameters
from distill_lab.reporting.runner import (NotebookRun, cached_run, inapplicable, interrupted,
                                          is_done, load_manifest, plan_sequence, run_cache, run_one,
                                          started, thumbnail_path, write_report)
from distill_lab.reporting.sweep_report import write_sweep_report

__all__ = ["Cell", "MAX_CELLS", "load_spec", "plan_sweep", "package_hash", "execute_cell",
           "run_cells", "run_sweep", "run_sequence_on"]

MAX_CELLS = 1000  # a larger grid needs yes=True (`--yes`): it is more likely a typo than a plan
_SPEC_KEYS = ("notebooks", "grid", "fixed")
_OUTPUTS = (".ipynb", ".html")
_DATA_OPTIONS = ("dataset", "label_column", "image_shape")  # what check_dataset reads


@dataclasses.dataclass(frozen=True)
class Cell:
    """One task: `name` names its files in out_dir, `axes` holds its values of the grid."""
    name: str
    source: Path
    injected: dict
    key: str        # decides re-runs: same key and files present -> skipped
    axes: dict = dataclasses.field(default_factory=dict)
    reason: str | None = None  # why the cell's data set does not fit its notebook: not run


def load_spec(path) -> dict:
    """The YAML mapping of a sweep spec file (checked by plan_sweep)."""
    return read_yaml_mapping(path, f"sweep spec {str(path)!r}")


def package_hash() -> str:
    """sha256 over distill_lab's own source files: a cell's outputs depend on the library too."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".j2")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _check_spec(spec: dict):
    """(notebook ids, grid, fixed) of a spec, or a ValueError naming what is wrong."""
    unknown = sorted(set(spec) - set(_SPEC_KEYS))
    if unknown:
        raise ValueError(f"sweep spec has unknown key(s) {unknown}; allowed: {list(_SPEC_KEYS)}")
    ids, grid, fixed = spec.get("notebooks"), spec.get("grid"), spec.get("fixed") or {}
    if not isinstance(ids, list) or not ids:
        raise ValueError(f"sweep spec 'notebooks' must be a non-empty list of ids such as "
                         f"[\"02\", \"04\"], got {ids!r}")
    if not isinstance(grid, dict) or not grid:
        raise ValueError(f"sweep spec 'grid' must map at least one parameter to a list of values, "
                         f"e.g. {{budget: [0.01, 0.1]}}, got {grid!r}")
    empty = [name for name, values in grid.items() if not isinstance(values, list) or not values]
    if empty:
        raise ValueError(f"sweep spec 'grid' values must be non-empty lists; {empty} are not")
    if not isinstance(fixed, dict):
        raise ValueError(f"sweep spec 'fixed' must be a mapping of name: value, got {fixed!r}")
    both = sorted(set(grid) & set(fixed))
    if both:
        raise ValueError(f"parameters {both} are both in 'grid' and in 'fixed'; keep one")
    for name in [*grid, *fixed]:
        if not isinstance(name, str) or not name.isidentifier() or name == "results_path":
            raise ValueError(f"sweep parameter {name!r} must be a Python identifier other than "
                             "'results_path' (each cell gets its own)")
    try:
        json_safe([grid, fixed])
    except TypeError as exc:
        raise ValueError(f"sweep parameters must be literals papermill can inject: {exc}") from None
    return ids, grid, fixed


def _slug(value) -> str:
    """A value as it reads in a parameters cell (0.05, True, digits), safe in a file name."""
    if isinstance(value, str):
        text = value
    elif value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
    else:
        text = json.dumps(json_safe(value))
    return re.sub(r"[^\w.+-]", "-", text)


def plan_sweep(spec: dict, notebooks_dir, *, yes=False, max_cells=MAX_CELLS,
               defaults=QUICK_PARAMETERS, check_devices=True) -> list[Cell]:
    """Check a spec against the notebooks and return its cells, notebook by notebook in grid order.

    Every grid and fixed parameter must be declared by every named notebook's parameters cell;
    `defaults` (digits, quick, CPU) fill the rest. Each cell's parameters are checked against the
    shared schema (with check_devices, on a cluster of this machine's workers, a 'cuda' or 'mps'
    device must be present here). More than `max_cells` cells need yes=True.
    Nothing runs: every error is raised before any work starts.
    """
    ids, grid, fixed = _check_spec(spec)
    notebooks = find_notebooks(notebooks_dir, [str(i) for i in ids])
    n_cells = len(notebooks) * math.prod(len(values) for values in grid.values())
    if n_cells > max_cells and not yes:
        raise ValueError(f"the sweep has {n_cells} cells, more than {max_cells}; shrink the grid "
                         "or pass --yes (yes=True) to run them all")
    code = package_hash()
    cells, datasets, facts = [], {}, {}  # each data set is read and checked once, not per cell
    for source in notebooks:
        declared, needs = declared_parameters(source), requirements(source)
        missing = [name for name in [*grid, *fixed] if name not in declared]
        if missing:
            raise ValueError(f"{source.name} declares no parameter(s) {missing} in its parameters "
                             f"cell; it declares {sorted(declared)}")
        nb = nbformat.read(source, as_version=4)
        for values in itertools.product(*grid.values()):
            axes = dict(zip(grid, values))
            name = source.stem + "".join(f"__{k}={_slug(v)}" for k, v in axes.items())
            injected = injected_parameters(Path(f"{name}.ipynb"), {**defaults, **fixed, **axes},
                                           declared)
            check_parameters(injected, where=f"sweep cell {name}: ", check_devices=check_devices,
                             check_data=False)
            options = None
            if "dataset" in injected:
                options = json.dumps(json_safe({k: injected.get(k) for k in _DATA_OPTIONS}))
                if options not in datasets:
                    datasets[options] = check_dataset(injected, where=f"sweep cell {name}: ")
                injected["dataset"] = datasets[options]
                if needs and (options, injected.get("quick")) not in facts:
                    facts[options, injected.get("quick")] = data_facts(injected)
            key = hashlib.sha256(f"{source_hash(nb, injected)} {code}".encode()).hexdigest()
            reason = unmet(needs, facts.get((options, injected.get("quick")))) if needs else None
            cells.append(Cell(name, source, injected, key, axes, reason))
    names = [cell.name for cell in cells]
    if len(set(names)) != len(names):
        raise ValueError("two grid values give the same file name; use values that differ in "
                         "letters, digits or '.+-'")
    return cells


def execute_cell(name: str, notebook: str, injected: dict, key: str, show_code: bool,
                 kernel_name: str, run_cache: str | None = None) -> tuple[dict, dict]:
    """The task a worker runs: execute `notebook` (its JSON text) as `name`.ipynb in a scratch
    folder and return (the NotebookRun's fields, {relative path: bytes} of every file written).
    `run_cache`: the run's folder of shared full baselines (used where it exists: a worker on
    this machine)."""
    with tempfile.TemporaryDirectory(prefix="distill-lab-cell-") as tmp:
        source, out = Path(tmp, "source", f"{name}.ipynb"), Path(tmp, "out")
        source.parent.mkdir()
        out.mkdir()
        source.write_text(notebook, encoding="utf-8")
        run = run_one(source, out, injected, key, show_code, kernel_name, run_cache)
        files = {p.relative_to(out).as_posix(): p.read_bytes()
                 for p in sorted(out.rglob("*")) if p.is_file()}
    return dataclasses.asdict(run), files


def _save_cell(out_dir: Path, name: str, files: dict) -> None:
    """Write a cell's files atomically, and drop its outputs that this run did not produce."""
    for relative, data in files.items():
        atomic_write_bytes(out_dir / relative, data)
    for stale in ([f"{name}{suffix}" for suffix in _OUTPUTS]
                  + [f"results/{name}.json", thumbnail_path(name)]):
        if stale not in files:
            (out_dir / stale).unlink(missing_ok=True)


def _notebook_text(source: Path) -> str:
    """The source without outputs: what the workers need, a fraction of a refreshed notebook."""
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nbformat.writes(nb)


def expected_seconds(entry, source, _declared=None) -> int:
    """How long a cell is expected to run, to start the longest first: its last finished run's
    seconds in this folder, else the notebook's declared `cost_s` (metadata
    `{"distill_lab": {"cost_s": N}}`: seconds of a quick MNIST run on two cores), else 0.
    `_declared` caches each notebook's declaration (a sweep has many cells per notebook)."""
    if entry and entry.get("status") in ("ok", "failed") and entry.get("seconds", 0) > 0:
        return int(round(entry["seconds"]))
    declared = {} if _declared is None else _declared
    if source not in declared:
        nb = json.loads(Path(source).read_text(encoding="utf-8"))
        declared[source] = int(nb.get("metadata", {}).get("distill_lab", {}).get("cost_s", 0))
    return declared[source]


def run_cells(client, cells, out_dir, manifest: dict, *, on_update, show_code=False, force=False,
              kernel_name="python3", verbose=True) -> list[NotebookRun]:
    """Skip the cells done before, run the others as tasks on `client`'s cluster, write each
    result as it arrives and call on_update(manifest) after it. Returns the runs in cell order.

    A task that fails (worker lost too often, ...) is a failed cell; on interruption the pending
    tasks are cancelled and what has arrived is on disk and in the manifest.
    """
    from distributed import as_completed  # lazy: importing the reporting layer needs no Dask

    out_dir = Path(out_dir)
    runs, todo, expected, declared = {}, [], {}, {}
    for cell in cells:
        entry = manifest.get(cell.name)
        expected[cell.name] = expected_seconds(entry, cell.source, declared)
        if cell.reason:
            runs[cell.name] = inapplicable(out_dir, cell.name, cell.injected, cell.key,
                                           cell.reason, show_code)
            manifest[cell.name] = dataclasses.asdict(runs[cell.name])
        elif not force and is_done(entry, cell.key, cell.injected, out_dir, cell.name):
            runs[cell.name] = cached_run(entry, out_dir, show_code)
            manifest[cell.name] = dataclasses.asdict(runs[cell.name])
        else:  # "running" until its files are written: a sweep cut short redoes it
            manifest[cell.name] = started(cell.name, cell.injected, cell.key, show_code)
            todo.append(cell)
    on_update(manifest)
    # Each task carries its notebook's text (outputs stripped: tens of kB). Not scattered: data
    # scattered to a worker dies with it, and every cell still to run would fail with "lost
    # dependencies"; at most one task per worker thread is in flight, so little is in transit.
    texts = {source: _notebook_text(source) for source in {cell.source for cell in todo}}
    # Longest first, and no more tasks handed to Dask than its workers have threads: a task
    # submitted early is placed on a worker at once (one notebook is not a "root" task Dask
    # would hold back), and a worker could then sit idle while another one's queue waits.
    # Submitting as threads free up keeps every worker busy and ends near total / N.
    waiting = sorted(todo, key=lambda c: -expected[c.name])   # stable: notebook order on ties
    futures, done, finished = {}, as_completed(), set()
    cache = run_cache()

    def submit_more():
        slots = max(1, sum(client.nthreads().values()))   # read again: workers may come and go
        while waiting and len(futures) - len(finished) < slots:
            cell = waiting.pop(0)
            future = client.submit(execute_cell, cell.name, texts[cell.source], cell.injected,
                                   cell.key, show_code, kernel_name, cache.name, pure=False,
                                   key=f"{cell.name}-{uuid.uuid4().hex[:8]}",
                                   priority=expected[cell.name])
            futures[future] = cell
            done.add(future)

    bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc="cells", unit="cell",
               disable=not verbose)
    try:
        submit_more()
        for future in done:
            cell = futures[future]
            finished.add(future.key)
            try:
                fields, files = future.result()
            except Exception as exc:  # noqa: BLE001 (reported in the index, the others go on)
                fields = dataclasses.asdict(NotebookRun(cell.name, "failed", 0.0, cell.injected,
                                                        {}, describe_error(exc), cell.key,
                                                        show_code))
                files = {}
            _save_cell(out_dir, cell.name, files)
            runs[cell.name] = NotebookRun(**fields)
            manifest[cell.name] = fields
            on_update(manifest)
            bar.set_postfix_str(cell.name)
            bar.update()
            submit_more()
    finally:
        bar.close()
        client.cancel(list(futures))
        cache.cleanup()
        cut_short = [cell.name for cell in todo if cell.name not in runs]
        for name in cut_short:
            manifest[name] = interrupted(manifest[name])
        if cut_short:
            on_update(manifest)
    return [runs[cell.name] for cell in cells]


def run_sweep(client, cells, out_dir, *, show_code=False, force=False, kernel_name="python3",
              verbose=True) -> list[NotebookRun]:
    """Run `cells` (from plan_sweep) on `client`'s cluster into out_dir: per cell an executed
    .ipynb and .html, then index.html (one row per cell), results.csv, results.json and
    summary.png (see sweep_report). Check each run's `status`."""
    out_dir = open_out_dir(out_dir, {cell.source.parent for cell in cells})
    with out_dir_lock(out_dir):
        manifest = load_manifest(out_dir)
        runs = run_cells(client, cells, out_dir, manifest, show_code=show_code, force=force,
                         kernel_name=kernel_name, verbose=verbose,
                         on_update=lambda m: write_sweep_report(out_dir, cells, m))
        write_sweep_report(out_dir, cells, manifest, final=True)
    return runs


def run_sequence_on(client, notebooks_dir, out_dir, *, parameters: dict, defaults=None,
                    only=None, show_code=False, force=False, allow_extra=False,
                    check_devices=True, kernel_name="python3", verbose=True) -> list[NotebookRun]:
    """run_sequence with the notebooks as tasks on `client`'s cluster: the same checks, report,
    manifest, lock and skip rules, the notebooks running side by side. check_devices=False when
    the workers run on other machines (a GPU there, none here)."""
    plan = plan_sequence(notebooks_dir, parameters, only, defaults=defaults,
                         allow_extra=allow_extra, check_devices=check_devices)
    cells = [Cell(source.stem, source, injected, key, reason=reason)
             for source, injected, key, reason in plan]
    out_dir = open_out_dir(out_dir, [notebooks_dir])
    with out_dir_lock(out_dir):
        return run_cells(client, cells, out_dir, load_manifest(out_dir), show_code=show_code,
                         force=force, kernel_name=kernel_name, verbose=verbose,
                         on_update=lambda m: write_report(out_dir, m))
