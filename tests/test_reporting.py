"""distill_lab.reporting: results JSON, the source hash, and the sequence run for real with papermill on
tiny fixture notebooks (one passing, one failing on purpose, one without a parameters cell)."""
import hashlib
import json
import math
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from distill_lab.reporting import (QUICK_PARAMETERS, NotebookRun, find_notebooks, read_results,
                                   refresh_notebooks, run_sequence, source_hash, write_results)
from distill_lab.reporting.index import render_index

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
PARAMS = {"dataset": "mnist", "quick": True, "device": "cpu", "seed": 7}
DECLARED = {"dataset": "mnist", "quick": True, "seed": 7}  # PARAMS less device, which no fixture declares


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# ----------------------------------------------------------------------------- write_results
def test_write_results_is_json_safe_and_creates_folders(tmp_path):
    path = tmp_path / "a" / "b" / "r.json"
    write_results(path, {"acc": np.float32(0.5), "n": np.int64(3), "ok": np.bool_(True),
                         "curve": np.array([1.0, np.nan]), "inf": math.inf, 1: (2, "x")})
    assert json.loads(path.read_text()) == {"acc": 0.5, "n": 3, "ok": True, "curve": [1.0, None],
                                            "inf": None, "1": [2, "x"]}
    assert read_results(path)["n"] == 3 and read_results(tmp_path / "missing.json") == {}
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temp file left behind


def test_write_results_rejects_what_json_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="figures must be a dict"):
        write_results(tmp_path / "r.json", [1, 2])
    with pytest.raises(TypeError, match="object"):
        write_results(tmp_path / "r.json", {"model": object()})
    assert not (tmp_path / "r.json").exists()


# ----------------------------------------------------------------------------- find / hash
def test_find_notebooks_orders_and_filters(tmp_path):
    assert [p.name for p in find_notebooks(FIXTURES)] == ["01_pass.ipynb", "02_fail.ipynb",
                                                          "03_noparams.ipynb"]
    assert [p.stem for p in find_notebooks(FIXTURES, only=["3", "01"])] == ["01_pass", "03_noparams"]
    assert [p.stem for p in find_notebooks(FIXTURES, only=2)] == ["02_fail"]
    with pytest.raises(ValueError, match=r"unknown notebook id\(s\) \['07'\].*'01', '02', '03'"):
        find_notebooks(FIXTURES, only=["07"])
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        find_notebooks(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="holds no NN_name.ipynb"):
        find_notebooks(tmp_path)


def test_source_hash_tracks_code_and_parameters_only():
    nb = nbformat.read(FIXTURES / "01_pass.ipynb", as_version=4)
    h = source_hash(nb, QUICK_PARAMETERS)
    assert h == hashlib.sha256(json.dumps(
        {"code": [c.source for c in nb.cells if c.cell_type == "code"],
         "parameters": QUICK_PARAMETERS}, sort_keys=True).encode()).hexdigest()
    nb.cells[0].source += "\nmore prose"
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="x")]
    assert source_hash(nb, QUICK_PARAMETERS) == h  # prose and outputs do not make outputs stale
    assert source_hash(nb, {**QUICK_PARAMETERS, "quick": False}) != h
    nb.cells[3].source += "\nprint(1)"
    assert source_hash(nb, QUICK_PARAMETERS) != h


# ----------------------------------------------------------------------------- the sequence
@pytest.fixture(scope="module")
def report(tmp_path_factory, kernel_env):
    out = tmp_path_factory.mktemp("report")
    before = _digest(FIXTURES)
    with pytest.warns(UserWarning, match=r"\['device'\] are declared by none"):
        runs = run_sequence(FIXTURES, out, parameters=PARAMS, verbose=False)
    return out, {run.name: run for run in runs}, before


def test_every_notebook_gets_ipynb_html_and_a_row(report):
    out, runs, _ = report
    assert list(runs) == ["01_pass", "02_fail", "03_noparams"]
    for name in runs:
        assert (out / f"{name}.ipynb").is_file() and (out / f"{name}.html").is_file()
    index = (out / "index.html").read_text()
    for name, run in runs.items():
        assert f'href="{name}.html"' in index and f"{run.seconds:.1f} s" in index
    assert index.count('class="badge ok"') == 2 and index.count('class="badge failed"') == 1


def test_figures_come_from_the_results_json(report):
    out, runs, _ = report
    ok = runs["01_pass"]
    assert ok.status == "ok" and ok.error is None
    assert ok.figures == read_results(out / "results" / "01_pass.json")
    assert ok.figures == {"accuracy": 0.9125, "n_selected": 3, "dataset": "mnist", "quick": True,
                          "seed": 7}
    index = (out / "index.html").read_text()
    assert "<dt>accuracy</dt><dd><code>0.9125</code>" in index
    assert "<dt>n_selected</dt><dd><code>3</code>" in index


def test_parameters_are_injected_only_where_declared(report):
    out, runs, _ = report
    # 01 declares dataset, quick, seed, results_path (not device: its assert cell checks that)
    assert runs["01_pass"].parameters == {"dataset": "mnist", "quick": True, "seed": 7,
                                          "results_path": "results/01_pass.json"}
    assert runs["02_fail"].parameters == {"quick": True}
    assert runs["03_noparams"].parameters == {}
    executed = nbformat.read(out / "03_noparams.ipynb", as_version=4)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert (out / "cwd_marker.txt").is_file()  # notebooks run with the report folder as cwd


def test_failing_notebook_is_reported_with_its_cell_and_partial_output(report):
    out, runs, _ = report
    failed = runs["02_fail"]
    assert failed.status == "failed" and failed.figures == {}
    assert failed.error.startswith("cell [")
    assert "ValueError: deliberate failure for the report test" in failed.error
    executed = (out / "02_fail.ipynb").read_text()
    assert "before the failure" in executed and "never reached\\n\"" not in executed
    assert "deliberate failure" in (out / "02_fail.html").read_text()
    assert "ValueError: deliberate failure for the report test" in (out / "index.html").read_text()
    assert runs["03_noparams"].status == "ok"  # the notebook after the failure still ran


def test_code_is_hidden_by_default_and_sources_untouched(report):
    out, _, before = report
    assert "write_results" not in (out / "01_pass.html").read_text()
    assert _digest(FIXTURES) == before


def test_rerun_skips_done_notebooks_and_force_reruns(report):
    out, _, before = report
    stamp = (out / "01_pass.ipynb").stat().st_mtime_ns
    again = {r.name: r for r in run_sequence(FIXTURES, out, parameters=DECLARED,
                                             only=["01", "02"], verbose=False)}
    assert again["01_pass"].status == "skipped"
    assert again["01_pass"].figures["seed"] == 7  # the cached row still shows its figures
    assert again["02_fail"].status == "failed"  # failures are never treated as done
    assert (out / "01_pass.ipynb").stat().st_mtime_ns == stamp
    assert "done (cached)" in (out / "index.html").read_text()

    shown = run_sequence(FIXTURES, out, parameters=DECLARED, only=["01"], show_code=True,
                         verbose=False)
    assert shown[0].status == "skipped" and (out / "01_pass.ipynb").stat().st_mtime_ns == stamp
    assert "write_results" in (out / "01_pass.html").read_text()  # re-rendered with the code

    forced = run_sequence(FIXTURES, out, parameters=DECLARED, only=["01"], force=True,
                          verbose=False)
    assert forced[0].status == "ok" and (out / "01_pass.ipynb").stat().st_mtime_ns != stamp
    assert "write_results" not in (out / "01_pass.html").read_text()

    changed = run_sequence(FIXTURES, out, parameters={**DECLARED, "seed": 8}, only=["01"],
                           verbose=False)
    assert changed[0].status == "ok" and changed[0].figures["seed"] == 8
    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest) == ["01_pass", "02_fail", "03_noparams"]  # rows accumulate
    assert _digest(FIXTURES) == before


def test_bad_arguments_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="results_path"):
        run_sequence(FIXTURES, tmp_path, parameters={"results_path": "x.json"}, verbose=False)
    with pytest.raises(TypeError, match="literals papermill can inject.*set"):
        run_sequence(FIXTURES, tmp_path, parameters={"seed": {1, 2}}, verbose=False)
    with pytest.raises(ValueError, match="would overwrite the sources"):
        run_sequence(FIXTURES, FIXTURES, parameters={}, verbose=False)
    with pytest.raises(ValueError, match=r"unknown notebook id\(s\) \['42'\]"):
        run_sequence(FIXTURES, tmp_path, parameters={}, only=["42"], verbose=False)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- refresh
def test_refresh_executes_in_place_and_stores_the_hash(tmp_path, kernel_env):
    shutil.copy(FIXTURES / "01_pass.ipynb", tmp_path / "01_pass.ipynb")
    original = nbformat.read(tmp_path / "01_pass.ipynb", as_version=4)
    assert refresh_notebooks(tmp_path, verbose=False) == [tmp_path / "01_pass.ipynb"]
    nb = nbformat.read(tmp_path / "01_pass.ipynb", as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in original.cells]  # no injected cell
    assert nb.metadata["distill_lab"]["source_hash"] == source_hash(original, QUICK_PARAMETERS)
    assert [c.execution_count for c in nb.cells if c.cell_type == "code"] == [1, 2, 3, 4, 5]
    assert nb.cells[3].outputs[0]["text"] == "digits True 0 0.912\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01_pass.ipynb"]  # no results/ left


def test_refresh_leaves_a_failing_notebook_unchanged(tmp_path, kernel_env):
    shutil.copy(FIXTURES / "02_fail.ipynb", tmp_path / "02_fail.ipynb")
    before = _digest(tmp_path)
    with pytest.raises(RuntimeError, match="02_fail.ipynb failed.*deliberate failure"):
        refresh_notebooks(tmp_path, verbose=False)
    assert _digest(tmp_path) == before


# ----------------------------------------------------------------------------- index.html
def test_templates_ship_as_package_data():
    """The index is rendered from files, not code: each template must be in the wheel."""
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[1]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["distill_lab.reporting"]
    package = root / "distill_lab" / "reporting"
    templates = sorted(p.relative_to(package) for p in (package / "templates").iterdir())
    assert templates and all(any(t.match(g) for g in globs) for t in templates)


def test_index_escapes_and_formats_values():
    runs = [NotebookRun("01_a", "ok", 1.25, {"quick": True, "budget": 0.05, "x": None},
                        {"curve": [1, 2]}),
            NotebookRun("02_b", "failed", 2.0, {}, {}, "cell [3]: ValueError: <bad> & 'q'")]
    page = render_index(runs)
    assert "2 notebooks &middot; 1 ok &middot; 1 failed &middot; 3.2 s of execution" in page
    assert "<dt>quick</dt><dd><code>True</code></dd><dt>budget</dt><dd><code>0.05</code></dd>" \
           "<dt>x</dt><dd><code>None</code></dd>" in page
    assert "<dd><code>[1, 2]</code></dd>" in page and '<span class="none">none</span>' in page
    assert "ValueError: &lt;bad&gt; &amp; &#39;q&#39;</pre>" in page
