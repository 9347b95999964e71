"""Run the numbered notebook sequence headless and turn it into a browsable HTML report.

papermill executes each ``NN_name.ipynb`` with the parameters its ``parameters`` cell declares,
nbconvert renders the executed copy to HTML, and ``index.html`` lists every notebook's status,
duration and the headline figures it wrote with :func:`write_results` (read from JSON, never scraped).
"""
from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import math
import numbers
import re
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
import numpy as np
from tqdm.auto import tqdm

from distill_lab._io import atomic_write_text

__all__ = ["QUICK_PARAMETERS", "NotebookRun", "write_results", "read_results", "find_notebooks",
           "source_hash", "run_sequence", "refresh_notebooks"]

# The embedded defaults of `distill-lab run`: small data, quick mode, CPU only.
QUICK_PARAMETERS = {"dataset": "digits", "quick": True, "device": "cpu"}
_NOTEBOOK_NAME = re.compile(r"^(\d\d)_\w+\.ipynb$")
_MANIFEST = "manifest.json"


# ----------------------------------------------------------------------------- results JSON
def _json_safe(value):
    """Numpy scalars/arrays -> Python, NaN/inf -> None, tuples -> lists, keys -> str."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"figures values must be numbers, strings, None, lists or dicts of those, "
                    f"got {type(value).__name__}: {value!r}")


def write_results(path, figures: dict) -> None:
    """Write a notebook's headline figures as JSON (atomically); the report's index shows them.

    Returns None so that, as a notebook's last expression, it displays nothing (no machine path).
    """
    if not isinstance(figures, dict):
        raise TypeError(f"figures must be a dict of name -> value, got {type(figures).__name__}")
    atomic_write_text(path, json.dumps(_json_safe(figures), indent=2, allow_nan=False) + "\n")


def read_results(path) -> dict:
    """Return the figures a notebook wrote, or {} when it wrote none."""
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


# ----------------------------------------------------------------------------- notebooks
def find_notebooks(notebooks_dir, only=None) -> list[Path]:
    """The `NN_name.ipynb` files of a folder in order, optionally only the ids in `only` ("02")."""
    notebooks_dir = Path(notebooks_dir)
    if not notebooks_dir.is_dir():
        raise FileNotFoundError(f"notebooks_dir={str(notebooks_dir)!r} is not a folder; pass the "
                                "folder that holds the NN_name.ipynb notebooks")
    found = {_NOTEBOOK_NAME.match(p.name).group(1): p for p in sorted(notebooks_dir.iterdir())
             if _NOTEBOOK_NAME.match(p.name)}
    if not found:
        raise FileNotFoundError(f"notebooks_dir={str(notebooks_dir)!r} holds no NN_name.ipynb files")
    if only is None:
        return list(found.values())
    wanted = [str(i).strip().zfill(2) for i in ([only] if isinstance(only, (str, int)) else only)]
    unknown = [i for i in wanted if i not in found]
    if unknown:
        raise ValueError(f"only={list(only) if not isinstance(only, (str, int)) else only!r} names "
                         f"unknown notebook id(s) {unknown}; available: {sorted(found)}")
    return [found[i] for i in sorted(set(wanted))]


def declared_parameters(path) -> dict:
    """Name -> default of the variables a notebook's `parameters`-tagged cell declares."""
    import papermill  # heavy import, only when notebooks actually run

    return {name: p["default"] for name, p in papermill.inspect_notebook(str(path)).items()}


def source_hash(nb, parameters=None) -> str:
    """sha256 over the code cells' sources and the parameters: what the outputs depend on."""
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"
            and "injected-parameters" not in cell.metadata.get("tags", [])]
    payload = json.dumps({"code": code, "parameters": _json_safe(parameters or {})}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


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


def _describe_error(exc) -> str:
    """'cell N: ValueError: message' for a failing cell, else the exception's type and text."""
    from papermill.exceptions import PapermillExecutionError

    if isinstance(exc, PapermillExecutionError):
        first_line = (exc.source or "").strip().splitlines()[:1]
        where = f"cell [{exc.exec_count}]" + (f" `{first_line[0][:80]}`" if first_line else "")
        return f"{where}: {exc.ename}: {exc.evalue}"
    return f"{type(exc).__name__}: {exc}"


def _execute(source, output, parameters, cwd, kernel_name):
    import papermill

    papermill.execute_notebook(str(source), str(output), parameters=parameters, cwd=str(cwd),
                               kernel_name=kernel_name, progress_bar=False, log_output=False)


def _render_html(executed: Path, show_code: bool) -> Path:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=not show_code, exclude_input_prompt=not show_code,
                            exclude_output_prompt=not show_code)
    body, _ = exporter.from_notebook_node(nbformat.read(executed, as_version=4))
    return atomic_write_text(executed.with_suffix(".html"), body)


def _run_one(source: Path, out_dir: Path, injected: dict, key: str, show_code,
             kernel_name) -> NotebookRun:
    """Execute one notebook into out_dir and render it; a failure is recorded, not raised."""
    results_file = out_dir / "results" / f"{source.stem}.json"
    results_file.unlink(missing_ok=True)  # no stale figures from an earlier run
    executed = out_dir / source.name
    error, start = None, time.perf_counter()
    try:
        _execute(source, executed, injected, out_dir, kernel_name)
    except Exception as exc:  # noqa: BLE001 (any failure is reported in the index, then we go on)
        error = _describe_error(exc)
    seconds = time.perf_counter() - start
    if executed.is_file():  # papermill keeps the partial output of a failing notebook
        _render_html(executed, show_code)
    return NotebookRun(source.stem, "failed" if error else "ok", round(seconds, 2), injected,
                       read_results(results_file), error, key, show_code)


def _load_manifest(out_dir: Path) -> dict:
    path = out_dir / _MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _write_report(out_dir: Path, manifest: dict) -> Path:
    atomic_write_text(out_dir / _MANIFEST, json.dumps(_json_safe(manifest), indent=2) + "\n")
    runs = [NotebookRun(**manifest[name]) for name in sorted(manifest)]
    return atomic_write_text(out_dir / "index.html", _render_index(runs))


def _is_done(entry, key, out_dir: Path, name: str) -> bool:
    return (entry is not None and entry["status"] in ("ok", "skipped") and entry["key"] == key
            and (out_dir / f"{name}.ipynb").is_file() and (out_dir / f"{name}.html").is_file())


def run_sequence(notebooks_dir, out_dir, *, parameters: dict, only=None, show_code=False,
                 force=False, kernel_name="python3", verbose=True) -> list[NotebookRun]:
    """Execute the notebooks in order into out_dir (ipynb + html each) and write out_dir/index.html.

    Each notebook gets only the parameters its `parameters` cell declares, plus a results_path in
    out_dir/results/. A notebook already done with the same parameters and code is skipped unless
    force=True. Failures are recorded (cell and error) and the others still run; check `status`.
    """
    if "results_path" in parameters:
        raise ValueError("parameters must not set 'results_path': run_sequence gives each notebook "
                         "its own file under out_dir/results/")
    try:
        _json_safe(parameters)
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
                      f"{[nb.stem for nb in notebooks]}; they are ignored", UserWarning, stacklevel=2)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest, runs = _load_manifest(out_dir), []
    bar = tqdm(notebooks, desc="notebooks", unit="nb", disable=not verbose)
    for source in bar:
        bar.set_postfix_str(source.stem)
        injected = {k: v for k, v in parameters.items() if k in declared[source]}
        if "results_path" in declared[source]:
            injected["results_path"] = f"results/{source.stem}.json"
        key = source_hash(nbformat.read(source, as_version=4), injected)
        entry = manifest.get(source.stem)
        if not force and _is_done(entry, key, out_dir, source.stem):
            if entry.get("show_code") != show_code:  # same run, other view: re-render only
                _render_html(out_dir / source.name, show_code)
            run = dataclasses.replace(NotebookRun(**entry), status="skipped", show_code=show_code,
                                      figures=read_results(out_dir / "results" / f"{source.stem}.json"))
        else:
            run = _run_one(source, out_dir, injected, key, show_code, kernel_name)
        manifest[source.stem] = dataclasses.asdict(run)
        _write_report(out_dir, manifest)  # after every notebook: a partial report is browsable
        runs.append(run)
    return runs


# ----------------------------------------------------------------------------- index.html
_CSS = """
body{font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1f2328;margin:0;background:#f6f8fa}
main{max-width:1100px;margin:2em auto;padding:0 1.5em}
h1{font-size:1.6em;margin:0 0 .2em} .summary{color:#57606a;margin:0 0 1.2em}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #d0d7de}
th,td{text-align:left;vertical-align:top;padding:.55em .8em;border-bottom:1px solid #d0d7de}
th{background:#f0f3f6;font-weight:600} td.num{text-align:right;white-space:nowrap}
dl{display:grid;grid-template-columns:auto 1fr;gap:0 .8em;margin:0} dt{color:#57606a} dd{margin:0}
code,pre{font:13px ui-monospace,SFMono-Regular,Menlo,monospace}
pre.error{white-space:pre-wrap;background:#fff1f0;border-left:4px solid #cf222e;padding:.5em .8em;margin:.4em 0 0}
.badge{display:inline-block;white-space:nowrap;padding:0 .6em;border-radius:1em;font-size:.85em;font-weight:600;color:#fff}
.ok{background:#1a7f37} .failed{background:#cf222e} .skipped{background:#6e7781}
a{color:#0969da} .files a{font-size:.8em;color:#57606a;white-space:nowrap} .none{color:#8c959f}
"""


def _format_value(value) -> str:
    """Python spelling (True, None, 'digits'), as in the notebooks' parameters cells."""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, bool) or value is None:
        return repr(value)
    return value if isinstance(value, str) else json.dumps(value)


def _definition_list(values: dict) -> str:
    if not values:
        return '<span class="none">none</span>'
    rows = "".join(f"<dt>{html.escape(str(k))}</dt><dd><code>{html.escape(_format_value(v))}"
                   f"</code></dd>" for k, v in values.items())
    return f"<dl>{rows}</dl>"


def _index_row(run: NotebookRun) -> str:
    name = html.escape(run.name)
    label = "done (cached)" if run.status == "skipped" else run.status
    error = f'<pre class="error">{html.escape(run.error)}</pre>' if run.error else ""
    return (f'<tr><td><a href="{name}.html"><b>{name}</b></a><div class="files">'
            f'<a href="{name}.ipynb">{name}.ipynb</a></div></td>'
            f'<td><span class="badge {run.status}">{label}</span></td>'
            f'<td class="num">{run.seconds:.1f} s</td><td>{_definition_list(run.parameters)}</td>'
            f"<td>{_definition_list(run.figures)}{error}</td></tr>")


def _render_index(runs: list[NotebookRun]) -> str:
    """A self-contained page: one row per notebook with status, duration, parameters, figures."""
    failed = sum(run.status == "failed" for run in runs)
    summary = (f"{len(runs)} notebooks &middot; {len(runs) - failed} ok &middot; {failed} failed "
               f"&middot; {sum(run.seconds for run in runs):.1f} s of execution &middot; "
               f"generated {time.strftime('%Y-%m-%d %H:%M')}")
    rows = "".join(_index_row(run) for run in runs)
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>distill_lab report</title><style>{_CSS}</style></head><body><main>"
            f'<h1>distill_lab report</h1><p class="summary">{summary}</p><table><thead><tr>'
            "<th>notebook</th><th>status</th><th>duration</th><th>parameters</th>"
            f"<th>headline figures</th></tr></thead><tbody>{rows}</tbody></table></main></body></html>\n")


# ----------------------------------------------------------------------------- stale outputs
def refresh_notebooks(notebooks_dir, only=None, *, kernel_name="python3", verbose=True) -> list[Path]:
    """Re-execute source notebooks in place in quick mode and store their source hash (dev tool).

    Only outputs and execution counts are copied back, so the committed sources stay clean (no
    injected cell, no papermill metadata). tests/test_notebooks.py compares the stored hash with
    `source_hash(nb, QUICK_PARAMETERS)` to catch outputs that are stale relative to the code.
    """
    refreshed = []
    for source in tqdm(find_notebooks(notebooks_dir, only), desc="refresh", unit="nb",
                       disable=not verbose):
        declared = declared_parameters(source)
        injected = {k: v for k, v in QUICK_PARAMETERS.items() if k in declared}
        if "results_path" in declared:
            injected["results_path"] = f"results/{source.stem}.json"
        with tempfile.TemporaryDirectory() as tmp:  # cwd: nothing lands beside the sources
            executed = Path(tmp) / source.name
            try:
                _execute(source, executed, injected, tmp, kernel_name)
            except Exception as exc:
                raise RuntimeError(f"{source.name} failed in quick mode, left unchanged: "
                                   f"{_describe_error(exc)}") from exc
            run_nb = nbformat.read(executed, as_version=4)
        nb = nbformat.read(source, as_version=4)
        _copy_outputs(run_nb, nb)
        nb.metadata.setdefault("distill_lab", {})["source_hash"] = source_hash(nb, QUICK_PARAMETERS)
        atomic_write_text(source, nbformat.writes(nb) + "\n")
        refreshed.append(source)
    return refreshed


def _copy_outputs(executed, nb) -> None:
    """Copy outputs cell by cell (skipping papermill's injected cell) and renumber executions."""
    cells = [c for c in executed.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    if len(cells) != len(nb.cells):
        raise RuntimeError(f"executed notebook has {len(cells)} cells, the source {len(nb.cells)}")
    count = 0
    for ran, cell in zip(cells, nb.cells):
        if cell.cell_type != "code":
            continue
        count += ran.execution_count is not None
        cell.execution_count = count if ran.execution_count is not None else None
        cell.outputs = ran.outputs
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = cell.execution_count
