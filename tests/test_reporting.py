"""distill_lab.reporting: results JSON, the source hash, and the sequence run for real with papermill on
tiny fixture notebooks (one passing, one failing on purpose, one without a parameters cell)."""
import contextlib
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from distill_lab.reporting import (QUICK_PARAMETERS, NotebookRun, find_notebooks, read_results,
                                   refresh_notebooks, run_sequence, source_hash, write_results)
from distill_lab import cli
from distill_lab.reporting.index import render_index
from distill_lab.reporting.outdir import OutDirInUse, out_dir_lock
from distill_lab.reporting.parameters import check_parameters
from distill_lab.reporting.runner import plan_sequence

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
SWEEP_FIXTURES = Path(__file__).parent / "fixtures" / "sweep_notebooks"  # 01_budget: sleeps sleep_s
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
        runs = run_sequence(FIXTURES, out, parameters=PARAMS, allow_extra=True, verbose=False)
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


# ----------------------------------------------------------------------------- runs cut short
def _done_rows_are_whole(out):
    """Every row the manifest and index call done has its executed notebook (every code cell
    run), HTML and results from one completed run: all three carry the row's seed."""
    manifest = json.loads((out / "manifest.json").read_text())
    done = [name for name, entry in manifest.items() if entry["status"] in ("ok", "skipped")]
    index = (out / "index.html").read_text()
    assert index.count('class="badge ok"') + index.count('class="badge skipped"') == len(done)
    for name in done:
        seed = manifest[name]["parameters"]["seed"]
        executed = nbformat.read(out / f"{name}.ipynb", as_version=4)
        assert all(c.execution_count for c in executed.cells if c.cell_type == "code"), name
        assert executed.metadata.papermill.parameters["seed"] == seed
        assert f"mnist True {seed} 0.912" in (out / f"{name}.html").read_text()
        assert read_results(out / "results" / f"{name}.json")["seed"] == seed
    return {name: entry["status"] for name, entry in manifest.items()}


@pytest.fixture(scope="module")
def done_once(tmp_path_factory, kernel_env):
    """A report folder where 01_pass ran to the end with DECLARED (seed 7)."""
    out = tmp_path_factory.mktemp("done") / "out"
    assert run_sequence(FIXTURES, out, parameters=DECLARED, only=["01"], verbose=False)[0].status \
        == "ok"
    return out


def _cut_short(point, monkeypatch):
    """Make the next run raise KeyboardInterrupt (Ctrl-C) at `point`."""
    from distill_lab.reporting import runner

    def before_the_kernel(*args, **kwargs):
        raise KeyboardInterrupt

    def mid_notebook(source, output, parameters, cwd, kernel_name, env=None):
        nb = nbformat.read(source, as_version=4)  # the kernel runs the first 2 code cells,
        nb.cells = nb.cells[:3]                   # papermill saves them to `output`, then Ctrl-C
        partial = Path(cwd) / "partial_source.ipynb"
        nbformat.write(nb, partial)
        execute(partial, output, parameters, cwd, kernel_name, env=env)
        partial.unlink()
        raise KeyboardInterrupt

    def during_html_export(*args):
        raise KeyboardInterrupt

    execute = runner.execute_notebook
    if point == "HTML export":
        monkeypatch.setattr(runner, "render_html", during_html_export)
    else:
        monkeypatch.setattr(runner, "execute_notebook",
                            before_the_kernel if point == "kernel start" else mid_notebook)


@pytest.mark.parametrize("point, seed", [
    ("kernel start", 7), ("mid-notebook", 7), ("mid-notebook", 8), ("HTML export", 7),
    ("HTML export", 8)], ids=lambda v: {7: "force", 8: "other-parameters"}.get(v, v))
def test_a_run_cut_short_is_never_shown_done(done_once, tmp_path, monkeypatch, point, seed):
    """A --force re-run (seed 7) or a run with other parameters (seed 8) is interrupted; the
    folder must then show 01_pass as interrupted, and a plain run with the first parameters
    must run it again rather than take the leftovers for done."""
    out = tmp_path / "out"
    shutil.copytree(done_once, out)
    _cut_short(point, monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        run_sequence(FIXTURES, out, parameters={**DECLARED, "seed": seed}, only=["01"],
                     force=True, verbose=False)
    monkeypatch.undo()
    assert _done_rows_are_whole(out) == {"01_pass": "interrupted"}
    assert "interrupted before it finished" in (out / "index.html").read_text()
    assert _done_rows_are_whole(done_once) == {"01_pass": "ok"}  # untouched by the copy's runs

    again = run_sequence(FIXTURES, out, parameters=DECLARED, only=["01"], verbose=False)
    assert again[0].status == "ok" and again[0].figures["seed"] == 7  # ran again, whole
    assert _done_rows_are_whole(out) == {"01_pass": "ok"}
    assert not (out / ".running").exists() and not list(out.rglob("*.tmp"))


def test_a_failure_in_html_export_is_recorded_not_done(done_once, tmp_path, monkeypatch):
    from distill_lab.reporting import runner

    out = tmp_path / "out"
    shutil.copytree(done_once, out)

    def broken_exporter(*args):
        raise RuntimeError("no template")

    monkeypatch.setattr(runner, "render_html", broken_exporter)
    run = run_sequence(FIXTURES, out, parameters=DECLARED, only=["01"], force=True,
                       verbose=False)[0]
    assert run.status == "failed" and run.error == "HTML export: RuntimeError: no template"
    assert not (out / "01_pass.html").exists()  # no HTML of an earlier run beside this run's
    monkeypatch.undo()
    assert _done_rows_are_whole(out) == {"01_pass": "failed"}
    assert run_sequence(FIXTURES, out, parameters=DECLARED, only=["01"],
                        verbose=False)[0].status == "ok"


@pytest.mark.slow  # about 20 s on a busy 2-core machine; the tests above inject the same faults
def test_sigint_mid_notebook_then_a_plain_run(tmp_path, kernel_env):
    """A real Ctrl-C (SIGINT to the process group) while `distill-lab run` executes a notebook
    that sleeps: exit 130, the row says interrupted, and the next plain run redoes it."""
    out = tmp_path / "out"
    first = run_sequence(SWEEP_FIXTURES, out, parameters={"seed": 1}, verbose=False)
    assert first[0].status == "ok"
    command = [sys.executable, "-m", "distill_lab.cli", "run", "--notebooks", str(SWEEP_FIXTURES),
               "--out", str(out), "-p", "seed", "2", "-p", "sleep_s", "30"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _wait_for(lambda: _cells_run(out / ".running" / "01_budget.ipynb") >= 3, proc)
        time.sleep(0.5)  # the kernel is in time.sleep(30), the next cell
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        _end_group(proc)
    assert proc.returncode == 130 and "interrupted" in err, err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["01_budget"]["status"] == "interrupted"
    assert read_results(out / "results" / "01_budget.json")["seed"] == 1  # the whole first run
    again = run_sequence(SWEEP_FIXTURES, out, parameters={"seed": 1}, verbose=False)
    assert again[0].status == "ok" and again[0].figures["seed"] == 1
    assert "badge interrupted" not in (out / "index.html").read_text()


def _cells_run(path) -> int:
    """How many code cells of a notebook papermill is writing have run (0 while unreadable)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 (absent, or caught half-written)
        return 0
    return sum(c.cell_type == "code" and c.execution_count is not None for c in nb.cells)


def _wait_for(condition, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _end_group(proc):
    """End what is left of a process started in its own session (its kernel, if orphaned)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


# ----------------------------------------------------------------------------- one run at a time
def test_the_folder_lock_is_per_run(tmp_path):
    errors = []

    def another_run():
        try:
            with out_dir_lock(tmp_path):
                pass
        except OutDirInUse as exc:
            errors.append(str(exc))

    with out_dir_lock(tmp_path):
        with out_dir_lock(tmp_path):  # the same run, nested (the command, then the engine)
            pass
        thread = threading.Thread(target=another_run)
        thread.start()
        thread.join()
    assert errors == [f"{str(tmp_path.resolve())!r} is in use by another run "
                      f"(pid {os.getpid()}); wait for it to finish, or pass another --out (out_dir)"]
    another_run()  # released
    assert len(errors) == 1


def test_a_second_run_into_a_busy_folder_is_refused_and_rows_add_up(tmp_path, capsys,
                                                                     monkeypatch, kernel_env):
    """While `distill-lab run` runs into a folder, run, run --workers and sweep into it are
    refused at once (exit 2, the folder and the pid named, no Dask started); afterwards a run
    adds its row to the first run's."""
    import distill_lab.dask_cluster

    monkeypatch.setattr(distill_lab.dask_cluster, "connect", lambda *a, **k: pytest.fail("Dask"))
    out = tmp_path / "out"
    command = [sys.executable, "-m", "distill_lab.cli", "run", "--notebooks", str(SWEEP_FIXTURES),
               "--out", str(out), "-p", "sleep_s", "4"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    spec = tmp_path / "spec.yaml"
    spec.write_text('notebooks: ["01"]\ngrid: {seed: [0]}\n')
    try:
        _wait_for(lambda: (out / ".distill-lab.pid").is_file(), proc)
        busy = (f"distill-lab: error: {str(out.resolve())!r} is in use by another run "
                f"(pid {proc.pid})")
        for argv in (["run", "--only", "03"], ["run", "--only", "03", "--workers", "2"]):
            assert cli.main([*argv, "--notebooks", str(FIXTURES), "--out", str(out)]) == 2
            assert capsys.readouterr().err.startswith(busy)
        assert cli.main(["sweep", str(spec), "--notebooks", str(FIXTURES), "--out", str(out)]) == 2
        assert busy in capsys.readouterr().err
        _, err = proc.communicate(timeout=120)
    finally:
        _end_group(proc)
    assert proc.returncode == 0, err
    assert cli.main(["run", "--only", "03", "--notebooks", str(FIXTURES), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert {name: entry["status"] for name, entry in manifest.items()} == {
        "01_budget": "ok", "03_noparams": "ok"}


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("values", [
    {"dataset": "digits", "budget": 10, "seed": 0, "device": "auto", "quick": False},
    {"dataset": "mnist", "budget": 1.0, "seed": 2**32 - 1, "device": "cpu", "quick": True},
    {"dataset": "fashion_mnist"}, {"dataset": "kmnist"},
    {"budget": 0.05, "device": "cpu", "n_per_class": "anything: the notebook checks it"},
])
def test_the_schema_accepts_what_the_notebooks_take(values):
    check_parameters(values)


@pytest.mark.parametrize("values, message", [
    ({"dataset": "cifar"}, r"dataset='cifar' is not allowed: dataset must be one of \['digits', "
                           r"'mnist', 'fashion_mnist', 'kmnist'\], or a path to a \.npz, \.csv, "
                           r"\.parquet file or to a folder"),
    ({"dataset": 3}, r"dataset=3 is not allowed"),
    ({"budget": -1}, r"budget=-1 is not allowed: budget must be an int >= 1 .* or a float in "
                     r"\(0, 1\]"),
    ({"budget": 0}, "budget=0 is not allowed"),
    ({"budget": 1.5}, "budget=1.5 is not allowed"),
    ({"budget": True}, "budget=True is not allowed"),
    ({"budget": "10%"}, "budget='10%' is not allowed"),
    ({"seed": 1.5}, r"seed=1.5 is not allowed: seed must be an int in \[0, 2\*\*32\)"),
    ({"seed": -1}, "seed=-1 is not allowed"),
    ({"device": "tpu"}, r"device='tpu' is not allowed: device must be one of \['auto', 'cpu', "
                        r"'cuda', 'mps'\]"),
    ({"quick": "yes please"}, "quick='yes please' is not allowed: quick must be true or false"),
])
def test_the_schema_names_the_bad_parameter(values, message):
    with pytest.raises(ValueError, match=message):
        check_parameters(values)


def test_a_missing_gpu_is_named_with_the_devices_found(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='cuda' asks for a device this machine does not "
                                         r"have \(devices found: cpu\)"):
        check_parameters({"device": "cuda"})
    with pytest.raises(ValueError, match=r"device='mps'.*devices found: cpu"):
        check_parameters({"device": "mps"})
    check_parameters({"device": "cuda"}, check_devices=False)  # workers on other machines
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    check_parameters({"device": "cuda"})


def test_parameters_no_notebook_declares_are_refused_unless_allowed():
    with pytest.raises(ValueError, match=r"parameter\(s\) \['buget'\] are declared by none of "
                                         r"the notebooks \['01_pass', '02_fail'\].*--allow-extra"):
        plan_sequence(FIXTURES, {"buget": 0.1}, only=["01", "02"])
    with pytest.warns(UserWarning, match=r"\['buget'\] are declared by none.*ignored"):
        plan = plan_sequence(FIXTURES, {"buget": 0.1}, only=["01"], allow_extra=True)
    assert "buget" not in plan[0][1]
    # defaults are injected where declared and never an error (device: declared by no fixture)
    (_, injected, _, _), = plan_sequence(FIXTURES, {"seed": 3}, only=["01"],
                                      defaults=QUICK_PARAMETERS)
    assert injected == {"dataset": "digits", "quick": True, "seed": 3,
                        "results_path": "results/01_pass.json"}


# ----------------------------------------------------------------------------- the kernel
def test_kernels_run_over_ipc_without_the_tcp_warning(tmp_path, capfd, kernel_env):
    """ipykernel warns, on the terminal, once per notebook, when it listens on TCP unencrypted."""
    runs = run_sequence(FIXTURES, tmp_path, parameters={}, only=["03"], verbose=False)
    assert runs[0].status == "ok"
    captured = capfd.readouterr()
    assert "without encryption" not in captured.err + captured.out


def _cache_probe(folder: Path) -> Path:
    """Two notebooks that record the run cache folder their kernel was given."""
    folder.mkdir()
    for name in ("01_probe", "02_probe"):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(f'results_path = "results/{name}.json"',
                                              metadata={"tags": ["parameters"]}),
                    nbformat.v4.new_code_cell(
                        "import os\nfrom distill_lab.reporting import write_results\n"
                        "folder = os.environ.get('DISTILL_LAB_RUN_CACHE')\n"
                        "write_results(results_path, {'folder': folder, "
                        "'exists': bool(folder) and os.path.isdir(folder)})")]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def test_a_run_gives_its_kernels_one_cache_folder_removed_at_its_end(tmp_path, kernel_env):
    """The full baselines notebooks share (`evaluation.run_full`) live for one run only."""
    from distill_lab._io import RUN_CACHE_ENV

    runs = run_sequence(_cache_probe(tmp_path / "nb"), tmp_path / "out", parameters={},
                        verbose=False)
    seen = [json.loads((tmp_path / "out" / "results" / f"{r.name}.json").read_text())
            for r in runs]
    assert [r.status for r in runs] == ["ok", "ok"]
    assert seen[0]["exists"] and seen[0]["folder"] == seen[1]["folder"]
    assert not os.path.exists(seen[0]["folder"]) and RUN_CACHE_ENV not in os.environ
    assert not Path(seen[0]["folder"]).is_relative_to(tmp_path / "out")   # nothing left in --out


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
