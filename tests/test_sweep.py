"""distill_lab.reporting.sweep, sweep_report and dask_cluster: spec checks before any work, sweeps
run for real on an embedded LocalCluster and on a cluster of `dask` processes (one killed mid-run),
resume after an interrupted client, `run` on the same engine, and the distributed benchmark equal to
the serial one. Everything listens on loopback (127.0.0.1) only."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from distill_lab import cli
from distill_lab.reporting import run_sequence, sweep
from distill_lab.reporting.sweep import plan_sweep, run_sequence_on, run_sweep
from distill_lab.reporting.sweep_report import (dataset_comparison, dataset_label, rows_to_csv,
                                                summary_axis, summary_figure, varying_keys)

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
SWEEP_FIXTURES = Path(__file__).parent / "fixtures" / "sweep_notebooks"  # 01_budget: sleeps sleep_s


def _spec(tmp_path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def _rows(out: Path) -> list:
    """The cell names linked from index.html, in page order."""
    return re.findall(r'<td><a href="([^"]+)\.html"><b>', (out / "index.html").read_text())


def _no_temp_files(out: Path) -> bool:
    return not list(out.rglob("*.tmp"))


@pytest.fixture(scope="module")
def client(kernel_env):
    """An embedded LocalCluster of 2 single-threaded worker processes, shared by this module."""
    from distill_lab.dask_cluster import connect

    with connect(n_workers=2, verbose=False) as dask_client:
        yield dask_client


# ----------------------------------------------------------------------------- spec checks
@pytest.mark.parametrize("spec, message", [
    ({"notebooks": ["07"], "grid": {"seed": [0]}}, r"unknown notebook id\(s\) \['07'\]"),
    ({"notebooks": ["01"], "grid": {"budget": [0.1]}},
     r"01_pass.ipynb declares no parameter\(s\) \['budget'\].*'dataset', 'quick', 'results_path'"),
    ({"notebooks": ["01", "02"], "grid": {"seed": [0]}}, r"02_fail.ipynb declares no .*\['seed'\]"),
    ({"notebooks": ["01"], "grid": {"seed": [0]}, "fixed": {"lr": 0.1}}, r"no parameter.*\['lr'\]"),
    ({"notebooks": ["01"], "grid": {}}, "'grid' must map at least one parameter"),
    ({"notebooks": ["01"], "grid": {"seed": []}}, r"non-empty lists; \['seed'\]"),
    ({"notebooks": ["01"]}, "'grid' must map"),
    ({"notebooks": [], "grid": {"seed": [0]}}, "'notebooks' must be a non-empty list"),
    ({"notebooks": ["01"], "grid": {"seed": list(range(1001))}}, "1001 cells, more than 1000.*--yes"),
    ({"notebooks": ["01"], "grid": {"seed": [0]}, "fixed": {"seed": 1}}, "both in 'grid' and"),
    ({"notebooks": ["01"], "grid": {"results_path": ["a.json"]}}, "other than 'results_path'"),
    ({"notebooks": ["01"], "grid": {"seed": [0]}, "budget": [1]}, r"unknown key\(s\) \['budget'\]"),
    ({"notebooks": ["01"], "grid": {"seed": [{1, 2}]}}, "literals papermill can inject"),
])
def test_bad_specs_are_refused_before_any_work(spec, message):
    with pytest.raises(ValueError, match=message):
        plan_sweep(spec, FIXTURES)


def test_a_large_grid_runs_with_yes():
    cells = plan_sweep({"notebooks": ["01"], "grid": {"seed": list(range(1001))}}, FIXTURES,
                       yes=True)
    assert len(cells) == 1001 and len({cell.key for cell in cells}) == 1001


def test_cells_get_their_parameters_names_and_keys():
    spec = {"notebooks": ["1"], "grid": {"seed": [0, 1], "dataset": ["digits", "mnist"]},
            "fixed": {"quick": False}}
    cells = plan_sweep(spec, FIXTURES)
    assert [c.name for c in cells] == [
        "01_pass__seed=0__dataset=digits", "01_pass__seed=0__dataset=mnist",
        "01_pass__seed=1__dataset=digits", "01_pass__seed=1__dataset=mnist"]
    assert cells[1].axes == {"seed": 0, "dataset": "mnist"}
    assert cells[1].injected == {"dataset": "mnist", "quick": False, "seed": 0,  # no device
                                 "results_path": "results/01_pass__seed=0__dataset=mnist.json"}
    assert [c.key for c in plan_sweep(spec, FIXTURES)] == [c.key for c in cells]  # stable
    assert len({c.key for c in cells}) == 4


def test_the_key_follows_the_library_code(monkeypatch):
    spec = {"notebooks": ["01"], "grid": {"seed": [0]}}
    before = plan_sweep(spec, FIXTURES)[0].key
    monkeypatch.setattr(sweep, "package_hash", lambda: "another version of distill_lab")
    assert plan_sweep(spec, FIXTURES)[0].key != before


def test_cli_spec_errors_exit_2_without_starting_dask(tmp_path, capsys, monkeypatch):
    import distill_lab.dask_cluster

    monkeypatch.setattr(distill_lab.dask_cluster, "connect", lambda *a, **k: pytest.fail("Dask"))
    out = tmp_path / "out"
    for text, message in [('notebooks: ["09"]\ngrid: {seed: [0]}\n', "unknown notebook id(s)"),
                          ('notebooks: ["01"]\ngrid: {budget: [0.1]}\n', "declares no parameter"),
                          ('notebooks: ["01"]\ngrid: {}\n', "'grid' must map"),
                          ('notebooks: ["01"]\ngrid: {seed: [' + ", ".join(map(str, range(1001)))
                           + "]}\n", "more than 1000"),
                          ("[not, a, mapping]\n", "must hold a YAML mapping"),
                          ("grid: {seed: [0\n", "is not valid YAML")]:
        spec = _spec(tmp_path, text)
        assert cli.main(["sweep", str(spec), "--notebooks", str(FIXTURES), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("distill-lab: error: ") and message in err, err
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["sweep", str(spec), "--workers", "0"])
    assert exit_info.value.code == 2


def test_cli_sweep_checks_each_cell_before_dask(tmp_path, capsys, monkeypatch):
    import distill_lab.dask_cluster

    monkeypatch.setattr(distill_lab.dask_cluster, "connect", lambda *a, **k: pytest.fail("Dask"))
    out = tmp_path / "out"
    spec = _spec(tmp_path, 'notebooks: ["01"]\ngrid: {budget: [0.1, -1], seed: [0, 1]}\n')
    assert cli.main(["sweep", str(spec), "--notebooks", str(SWEEP_FIXTURES), "--out",
                     str(out)]) == 2
    assert capsys.readouterr().err.startswith(
        "distill-lab: error: sweep cell 01_budget__budget=-1__seed=0: parameter budget=-1 is not "
        "allowed")
    assert not out.exists()


def test_connect_checks_its_arguments():
    from distill_lab.dask_cluster import connect

    with pytest.raises(ValueError, match="n_workers=2 sizes the embedded cluster"):
        with connect("tcp://127.0.0.1:1", 2):
            pass
    with pytest.raises(ValueError, match="n_workers=0 must be an int >= 1"):
        with connect(None, 0):
            pass


# ----------------------------------------------------------------------------- sweep_report
def _row(notebook, budget, seed, figures):
    return {"cell": f"{notebook}-{budget}-{seed}", "notebook": notebook, "budget": budget,
            "seed": seed, "status": "ok", "seconds": 1.0, "error": None, "figures": figures}


def test_csv_is_tidy_and_the_summary_plots_what_varies():
    rows = [_row("02_x", b, s, {"acc": b + s / 10, "k": 7, "curve": [1, 2], "budget": b})
            for b in (0.01, 0.1) for s in (0, 1)]
    assert rows_to_csv(rows[:1]).splitlines() == [
        "cell,notebook,budget,seed,status,seconds,error,acc,k,curve",
        '02_x-0.01-0,02_x,0.01,0,ok,1.0,,0.01,7,"[1, 2]"']
    assert summary_axis(["budget", "seed"], rows) == "budget"
    assert summary_axis(["seed"], rows) is None  # seeds are the error bars, never the x axis
    assert varying_keys(rows, "budget", {"budget", "seed"}) == ["acc"]  # k is constant
    figure = summary_figure(rows, ["budget", "seed"])
    (ax,) = [ax for ax in figure.axes if ax.get_visible()]
    assert ax.get_title() == "02_x: acc" and ax.get_xscale() == "log"
    assert summary_figure([{**r, "status": "failed"} for r in rows], ["budget", "seed"]) is None


def test_a_grid_over_data_sets_is_compared_per_data_set():
    """Issue 21, item 5: a sweep's grid may list data sets (paths included); the summary compares
    them, with the notebooks a data set does not fit left out."""
    rows = [{**_row("03_x", 0.1, s, {"acc": acc + s, "k": 7}), "dataset": name}
            for name, acc in (("digits", 90.0), ("wine", 80.0)) for s in (0, 1)]
    rows.append({**_row("07_gan", 0.1, 0, {}), "dataset": "wine", "status": "inapplicable"})
    assert dataset_label("/home/me/data/wine.csv") == "wine" and dataset_label("mnist") == "mnist"
    assert summary_axis(["dataset", "seed"], rows) == "dataset"
    compared = dataset_comparison(rows, ["dataset", "seed"])
    assert [(r["dataset"], r["figure"], r["mean"], r["cells"]) for r in compared] == [
        ("digits", "acc", 90.5, 2), ("digits", "k", 7.0, 2),
        ("wine", "acc", 80.5, 2), ("wine", "k", 7.0, 2)]
    assert np.isclose(compared[0]["std"], np.std([90.0, 91.0], ddof=1))
    assert dataset_comparison(rows, ["budget", "seed"]) == []
    figure = summary_figure(rows, ["dataset", "seed"])
    (ax,) = [ax for ax in figure.axes if ax.get_visible()]
    assert ax.get_title() == "03_x: acc"  # k does not differ between the data sets
    assert [t.get_text() for t in ax.get_xticklabels()] == ["digits", "wine"]
    assert [round(p.get_height(), 1) for p in ax.patches] == [90.5, 80.5]
    # with a budget axis too, one line per data set
    rows = [{**_row("03_x", b, 0, {"acc": b * acc}), "dataset": name}
            for name, acc in (("digits", 90.0), ("wine", 80.0)) for b in (0.01, 0.1)]
    (ax,) = [a for a in summary_figure(rows, ["dataset", "budget"]).axes if a.get_visible()]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["dataset=digits", "dataset=wine"]


# ----------------------------------------------------------------------------- sweeps
def test_cli_sweep_on_an_embedded_cluster_reports_failures_and_resumes(tmp_path, capsys, client,
                                                                       kernel_env):
    spec = _spec(tmp_path, 'notebooks: ["01", "02"]\ngrid: {quick: [true, false]}\n')
    out = tmp_path / "out"
    status = cli.main(["sweep", str(spec), "--notebooks", str(FIXTURES), "--out", str(out),
                       "--workers", "2"])
    assert status == 1
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == str(out / "index.html")
    assert captured.err.count("FAILED 02_fail__quick=") == 2 and "deliberate failure" in captured.err
    names = ["01_pass__quick=True", "01_pass__quick=False", "02_fail__quick=True",
             "02_fail__quick=False"]
    assert _rows(out) == names  # every cell once, in spec order
    index = (out / "index.html").read_text()
    assert index.count('class="badge ok"') == 2 and index.count('class="badge failed"') == 2
    assert "4 cells" in index and 'href="results.csv"' in index
    assert "ValueError: deliberate failure for the report test" in index
    results = json.loads((out / "results.json").read_text())
    assert [r["cell"] for r in results] == names
    assert results[0]["figures"]["accuracy"] == 0.9125 and results[0]["quick"] is True
    assert len((out / "results.csv").read_text().splitlines()) == 5
    assert not (out / "summary.png").exists()  # a boolean axis: nothing to plot against
    assert (out / "02_fail__quick=True.html").is_file()  # the partial output of a failed cell
    assert _no_temp_files(out)
    stamp = (out / "01_pass__quick=True.ipynb").stat().st_mtime_ns

    cells = plan_sweep({"notebooks": ["01", "02"], "grid": {"quick": [True, False]}}, FIXTURES)
    again = {r.name: r.status for r in run_sweep(client, cells, out, verbose=False)}
    assert again == {names[0]: "skipped", names[1]: "skipped", names[2]: "failed",
                     names[3]: "failed"}
    assert (out / "01_pass__quick=True.ipynb").stat().st_mtime_ns == stamp
    assert _rows(out) == names


def test_interrupted_client_resumes_where_it_stopped(tmp_path, client, monkeypatch):
    cells = plan_sweep({"notebooks": ["01"], "grid": {"seed": [0, 1, 2, 3]},
                        "fixed": {"sleep_s": 0.2}}, SWEEP_FIXTURES)
    out = tmp_path / "out"
    calls, write = [], sweep.write_sweep_report

    def interrupt_after_two_cells(*args, **kwargs):
        write(*args, **kwargs)
        calls.append(1)
        if len(calls) == 3:  # the first call reports the skipped cells, before any result
            raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "write_sweep_report", interrupt_after_two_cells)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(client, cells, out, verbose=False)
    monkeypatch.undo()
    manifest = json.loads((out / "manifest.json").read_text())
    statuses = {name: entry["status"] for name, entry in manifest.items()}
    done = [name for name, status in statuses.items() if status == "ok"]
    assert sorted(statuses.values()) == ["interrupted", "interrupted", "ok", "ok"]
    assert len(_rows(out)) == 4 and _no_temp_files(out)  # the cut-short cells shown as such

    runs = run_sweep(client, cells, out, verbose=False)
    assert sorted(r.status for r in runs) == ["ok", "ok", "skipped", "skipped"]
    assert {r.name for r in runs if r.status == "skipped"} == set(done)
    assert _rows(out) == [cell.name for cell in cells]
    assert [r["figures"]["seed"] for r in json.loads((out / "results.json").read_text())] == [
        0, 1, 2, 3]
    assert not (out / "summary.png").exists()  # only the seed varies: no x axis


def test_kernels_started_by_a_worker_get_one_thread_and_glibc_s_default_trimming(client):
    """Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536; kernels inheriting it trained
    torch models 1.3-1.7x slower. The worker's environment, which its kernels inherit, drops it."""
    import os

    from distill_lab.dask_cluster import KERNEL_ENV_DROP, ONE_THREAD_ENV
    envs = client.run(lambda: dict(os.environ))
    assert envs and all(ONE_THREAD_ENV.items() <= env.items() for env in envs.values())
    assert not any(name in env for env in envs.values() for name in KERNEL_ENV_DROP)


def test_no_more_cells_in_flight_than_the_workers_have_threads(tmp_path, client, monkeypatch):
    """A notebook task submitted early is placed on a worker at once; handing Dask one task per
    free thread keeps a worker from idling while another one's queue waits."""
    cells = plan_sweep({"notebooks": ["01"], "grid": {"seed": [0, 1, 2, 3, 4]},
                        "fixed": {"sleep_s": 0.5}}, SWEEP_FIXTURES)
    in_flight, submitted = [], []
    submit = client.submit

    def spy(*args, **kwargs):
        future = submit(*args, **kwargs)
        submitted.append(future)
        in_flight.append(sum(not f.done() for f in submitted))
        return future

    monkeypatch.setattr(client, "submit", spy)
    runs = run_sweep(client, cells, tmp_path / "out", verbose=False)
    assert [r.status for r in runs] == ["ok"] * 5
    assert len(submitted) == 5 and max(in_flight) <= sum(client.nthreads().values()) == 2


def test_budget_sweep_writes_the_summary_figure(tmp_path, client):
    cells = plan_sweep({"notebooks": ["01"], "grid": {"budget": [0.01, 0.1], "seed": [0, 1]}},
                       SWEEP_FIXTURES)
    out = tmp_path / "out"
    assert {r.status for r in run_sweep(client, cells, out, verbose=False)} == {"ok"}
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'href="summary.png"' in (out / "index.html").read_text()
    csv_lines = (out / "results.csv").read_text().splitlines()
    assert csv_lines[0] == "cell,notebook,budget,seed,status,seconds,error,accuracy,n_selected,label"
    assert csv_lines[1].startswith("01_budget__budget=0.01__seed=0,01_budget,0.01,0,ok,")
    again = run_sweep(client, cells, out, verbose=False)  # nothing to submit: returns at once
    assert {r.status for r in again} == {"skipped"} and (out / "summary.png").is_file()
    assert len((out / "results.csv").read_text().splitlines()) == 5


def test_run_on_the_cluster_matches_the_serial_report(tmp_path, client):
    out = tmp_path / "out"
    parameters = {"dataset": "mnist", "quick": True, "seed": 7}
    runs = run_sequence_on(client, FIXTURES, out, parameters=parameters, only=["01", "03"],
                           verbose=False)
    assert [(r.name, r.status) for r in runs] == [("01_pass", "ok"), ("03_noparams", "ok")]
    assert runs[0].figures["seed"] == 7
    for name in ("01_pass.ipynb", "01_pass.html", "03_noparams.html", "results/01_pass.json",
                 "cwd_marker.txt"):  # files a notebook writes come back from the worker too
        assert (out / name).is_file(), name
    assert _rows(out) == ["01_pass", "03_noparams"]
    serial = run_sequence(FIXTURES, out, parameters=parameters, only=["01", "03"], verbose=False)
    assert [r.status for r in serial] == ["skipped", "skipped"]  # the same keys: one cache


def test_cells_on_the_cluster_share_one_cache_folder_for_the_run(tmp_path, client):
    """Workers on this machine see the run's folder of shared full baselines; it goes at the end."""
    from test_reporting import _cache_probe

    runs = run_sequence_on(client, _cache_probe(tmp_path / "nb"), tmp_path / "out", parameters={},
                           verbose=False)
    seen = [json.loads((tmp_path / "out" / "results" / f"{r.name}.json").read_text())
            for r in runs]
    assert [r.status for r in runs] == ["ok", "ok"]
    assert seen[0]["exists"] and seen[1]["exists"] and seen[0]["folder"] == seen[1]["folder"]
    assert not os.path.exists(seen[0]["folder"])


def test_the_longest_notebook_is_submitted_first(tmp_path, client, monkeypatch):
    """Priority = the last run's seconds in the folder, else the notebook's declared cost_s."""
    src = tmp_path / "nbs"
    src.mkdir()
    for name in ("01_pass.ipynb", "03_noparams.ipynb"):
        nb = json.loads((FIXTURES / name).read_text())
        if name.startswith("03"):
            nb["metadata"].setdefault("distill_lab", {})["cost_s"] = 40
        (src / name).write_text(json.dumps(nb))
    seen = {}
    submit = client.submit

    def spy(fn, name, *args, priority=0, **kwargs):
        seen[name] = priority
        return submit(fn, name, *args, priority=priority, **kwargs)

    monkeypatch.setattr(client, "submit", spy)
    out = tmp_path / "out"
    run_sequence_on(client, src, out, parameters={"quick": True}, verbose=False)
    assert seen == {"01_pass": 0, "03_noparams": 40}
    manifest = json.loads((out / "manifest.json").read_text())
    run_sequence_on(client, src, out, parameters={"quick": True}, force=True, verbose=False)
    assert seen == {name: int(round(manifest[name]["seconds"])) for name in seen}
    interrupted_entry = {"status": "interrupted", "seconds": 9.0}
    assert sweep.expected_seconds(interrupted_entry, src / "01_pass.ipynb") == 0


def test_cli_run_with_workers_uses_the_engine(monkeypatch, tmp_path, capsys):
    import contextlib

    import torch

    import distill_lab.dask_cluster

    seen = {}

    @contextlib.contextmanager
    def fake_connect(scheduler, n_workers):
        seen.update(scheduler=scheduler, n_workers=n_workers)
        yield "client"

    def fake_run_sequence_on(client, notebooks_dir, out_dir, **kwargs):
        seen.update(client=client, **kwargs)
        return []

    monkeypatch.setattr(distill_lab.dask_cluster, "connect", fake_connect)
    monkeypatch.setattr(cli, "run_sequence_on", fake_run_sequence_on)
    monkeypatch.setattr(cli, "run_sequence", lambda *a, **k: pytest.fail("serial run"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    options = ["--notebooks", str(FIXTURES), "--out", str(tmp_path)]
    assert cli.main(["run", "--workers", "3", "--only", "01", *options]) == 0
    assert seen["n_workers"] == 3 and seen["scheduler"] is None and seen["client"] == "client"
    assert seen["only"] == ["01"] and seen["defaults"]["dataset"] == "digits"
    assert seen["check_devices"]  # embedded workers: this machine's devices
    seen.clear()
    assert cli.main(["run", "--workers", "3", "-p", "device", "cuda", "--only", "01",
                     *options]) == 2
    assert not seen and "devices found: cpu" in capsys.readouterr().err  # before Dask starts
    assert cli.main(["run", "--scheduler", "tcp://127.0.0.1:8786", "-p", "seed", "1",
                     "-p", "device", "cuda", "--allow-extra", "--only", "01",
                     *options]) == 0  # a GPU out there: not checked here
    assert seen["scheduler"] == "tcp://127.0.0.1:8786" and seen["n_workers"] is None
    assert not seen["check_devices"] and seen["parameters"] == {"seed": 1, "device": "cuda"}


# ----------------------------------------------------------------------------- a real cluster
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dask_processes(kernel_env):
    """`dask scheduler` and two `dask worker` processes (no nanny: the PID is the worker's own) on
    loopback; yields (address, {worker name: Popen}). Every process is ended at teardown."""
    dask = str(Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    procs = []

    def start(*args):
        procs.append(subprocess.Popen([dask, *args], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True))
        return procs[-1]

    try:
        start("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
              "--no-dashboard")
        workers = {name: start("worker", address, "--name", name, "--nthreads", "1",
                               "--no-nanny", "--host", "127.0.0.1", "--no-dashboard")
                   for name in ("w0", "w1")}
        yield address, workers
    finally:
        for proc in reversed(procs):  # workers first: they would wait for a scheduler gone
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # its own session: the worker and its kernel
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.mark.slow  # about 35 s on a busy 2-core machine: 3 dask processes, 6 kernels
def test_sweep_survives_a_worker_killed_mid_run(tmp_path, dask_processes):
    from distributed import Client

    address, workers = dask_processes
    cells = plan_sweep({"notebooks": ["01"], "grid": {"seed": [0, 1, 2, 3, 4, 5]},
                        "fixed": {"sleep_s": 1.0}}, SWEEP_FIXTURES)
    out = tmp_path / "out"
    killed = []
    with Client(address, timeout=60) as dask_client:
        dask_client.wait_for_workers(2, timeout=60)

        def kill_a_busy_worker():
            deadline = time.monotonic() + 60
            while not killed and time.monotonic() < deadline:
                time.sleep(0.2)
                manifest = (json.loads((out / "manifest.json").read_text())
                            if (out / "manifest.json").is_file() else {})
                if "ok" not in {entry["status"] for entry in manifest.values()}:
                    continue  # wait for a first result: the sweep is well under way
                info = dask_client.scheduler_info()["workers"]
                busy = [info[a]["name"] for a, keys in dask_client.processing().items() if keys]
                if busy:
                    os.kill(workers[busy[0]].pid, signal.SIGKILL)
                    killed.append(busy[0])

        watcher = threading.Thread(target=kill_a_busy_worker, daemon=True)
        watcher.start()
        runs = run_sweep(dask_client, cells, out, verbose=False)
        watcher.join()
    assert len(killed) == 1 and workers[killed[0]].wait(timeout=10) == -signal.SIGKILL
    assert [r.status for r in runs] == ["ok"] * 6, [r.error for r in runs]
    assert _rows(out) == [cell.name for cell in cells]  # every cell exactly once
    assert sorted(json.loads((out / "manifest.json").read_text())) == sorted(c.name for c in cells)
    for cell in cells:
        assert json.loads((out / "results" / f"{cell.name}.json").read_text())["seed"] == \
            cell.axes["seed"]
    assert _no_temp_files(out)


# ----------------------------------------------------------------------------- the benchmark
def test_distributed_benchmark_equals_the_serial_one(client):
    from distill_lab.experiments.headline import run_benchmark

    options = dict(budgets=(0.1,), seeds=(0, 1), device="cpu",
                   include=["herding", "kcenter"], verbose=False)
    serial = run_benchmark("digits", **options)
    distributed = run_benchmark("digits", client=client, **options)
    timing = {"train_time_ratio", "selection_seconds", "end_to_end_ratio"}
    assert [r["method"] for r in distributed] == ["full", "random", "kcenter", "herding"]
    for ours, theirs in zip(distributed, serial, strict=True):
        assert {k: v for k, v in ours.items() if k not in timing} == \
            {k: v for k, v in theirs.items() if k not in timing}


def test_benchmark_cli_goes_to_dask_only_when_asked(monkeypatch, tmp_path, capsys):
    import contextlib

    import distill_lab.dask_cluster
    from distill_lab.experiments import bench, headline
    from result_rows import make_rows

    seen = []

    @contextlib.contextmanager
    def fake_connect(scheduler, n_workers):
        seen.append(("connect", scheduler, n_workers))
        yield "client"

    def fake_run_benchmark(name, **kwargs):
        seen.append(("run", name, kwargs["client"]))
        return make_rows()

    monkeypatch.setattr(distill_lab.dask_cluster, "connect", fake_connect)
    monkeypatch.setattr(headline, "run_benchmark", fake_run_benchmark)
    assert bench.main(["headline", "--quick", "--out", str(tmp_path)]) == 0
    assert seen == [("run", "digits", None)]  # serial by default
    assert bench.main(["headline", "--quick", "--workers", "2", "--out", str(tmp_path)]) == 0
    assert seen[1:] == [("connect", None, 2), ("run", "digits", "client")]
    assert bench.main(["headline", "--datasets", "digits", "mnist", "--scheduler",
                       "tcp://127.0.0.1:8786", "--out", str(tmp_path)]) == 0
    assert seen[3:] == [("connect", "tcp://127.0.0.1:8786", None), ("run", "digits", "client"),
                        ("run", "mnist", "client")]  # one cluster for every data set
    assert (tmp_path / "mnist.json").is_file()


def test_cli_sweep_options_and_the_scheduler_variable(monkeypatch, tmp_path, capsys):
    import contextlib

    import distill_lab.dask_cluster

    seen = []

    @contextlib.contextmanager
    def fake_connect(scheduler, n_workers):
        seen.append((scheduler, n_workers))
        yield "client"

    def fake_run_sweep(client, cells, out, **kwargs):
        seen.append((len(cells), Path(out).name, kwargs))
        if kwargs["force"]:
            raise KeyboardInterrupt
        return []

    monkeypatch.setattr(distill_lab.dask_cluster, "connect", fake_connect)
    monkeypatch.setattr(cli, "run_sweep", fake_run_sweep)
    monkeypatch.setenv("DISTILL_LAB_SCHEDULER", "tcp://127.0.0.1:8786")
    monkeypatch.chdir(tmp_path)
    spec = _spec(tmp_path, 'notebooks: ["01"]\ngrid: {seed: [0, 1, 2]}\n')
    assert cli.main(["sweep", str(spec), "--notebooks", str(FIXTURES), "--show-code"]) == 0
    assert seen == [("tcp://127.0.0.1:8786", None),  # the variable, when no option says otherwise
                    (3, "spec", {"show_code": True, "force": False})]  # out: reports/<spec name>
    assert capsys.readouterr().out.strip() == str(tmp_path / "reports" / "spec" / "index.html")
    assert cli.main(["sweep", str(spec), "--notebooks", str(FIXTURES), "--workers", "3",
                     "--force"]) == 130
    assert seen[2] == (None, 3) and "run the same command again" in capsys.readouterr().err
