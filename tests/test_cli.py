"""The `distill-lab` command: argument parsing (against a recording stand-in for run_sequence), one
real run on the fixture notebooks, error exits, and the benchmark delegation."""
import json
import os
from pathlib import Path

import pytest

from distill_lab import cli
from distill_lab.reporting import QUICK_PARAMETERS, NotebookRun

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"


@pytest.fixture
def recorded(monkeypatch):
    """Replace run_sequence by a recorder returning one run with the status in calls['status']."""
    calls = {"status": "ok"}

    def fake_run_sequence(notebooks_dir, out_dir, **kwargs):
        calls.update(notebooks_dir=notebooks_dir, out_dir=out_dir, **kwargs)
        return [NotebookRun("01_x", calls["status"], 1.0, {}, {}, "boom" if calls["status"] ==
                            "failed" else None)]

    monkeypatch.setattr(cli, "run_sequence", fake_run_sequence)
    return calls


def test_run_defaults(recorded, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run"]) == 0
    assert recorded["parameters"] == {}  # given: none; the quick defaults fill in
    assert recorded["defaults"] == {"dataset": "digits", "quick": True, "device": "cpu"}
    assert not recorded["allow_extra"]
    assert recorded["notebooks_dir"] == Path(cli.__file__).resolve().parents[1] / "notebooks"
    assert recorded["out_dir"] == "reports/quick"
    assert recorded["only"] is None and not recorded["show_code"] and not recorded["force"]
    assert capsys.readouterr().out.strip() == str(tmp_path / "reports" / "quick" / "index.html")


def test_run_options_and_parameter_precedence(recorded, tmp_path):
    params = tmp_path / "study.yaml"
    params.write_text("dataset: mnist\nbudget: 0.05\nseed: 1\n")
    status = cli.main(["run", "--params", str(params), "-p", "seed", "3", "-p", "quick", "false",
                       "-p", "lr", "1e-3", "-p", "method", "el2n", "--only", "02,04",
                       "--out", str(tmp_path / "r"), "--show-code", "--force",
                       "--notebooks", str(FIXTURES), "--allow-extra"])
    assert status == 0
    assert recorded["parameters"] == {"dataset": "mnist", "quick": False, "budget": 0.05,
                                      "seed": 3, "lr": 1e-3, "method": "el2n"}
    assert recorded["defaults"] == QUICK_PARAMETERS and recorded["allow_extra"]
    assert recorded["only"] == ["02", "04"] and recorded["notebooks_dir"] == FIXTURES
    assert recorded["show_code"] and recorded["force"]


def test_run_exits_nonzero_when_a_notebook_fails(recorded, capsys, tmp_path):
    recorded["status"] = "failed"
    assert cli.main(["run", "--out", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "FAILED 01_x: boom" in captured.err and captured.out.strip().endswith("index.html")


def test_bad_parameters_are_clear_errors(tmp_path, capsys):
    params = tmp_path / "bad.yaml"
    params.write_text("- a list\n")
    assert cli.main(["run", "--params", str(params)]) == 2
    assert "must hold a YAML mapping" in capsys.readouterr().err
    assert cli.main(["run", "-p", "not-a-name", "1"]) == 2
    assert "not a valid Python identifier" in capsys.readouterr().err
    assert QUICK_PARAMETERS == {"dataset": "digits", "quick": True, "device": "cpu"}  # untouched


def test_unknown_only_and_missing_folder_exit_2(tmp_path, capsys):
    assert cli.main(["run", "--notebooks", str(FIXTURES), "--only", "01,09"]) == 2
    assert "unknown notebook id(s) ['09']" in capsys.readouterr().err
    assert cli.main(["run", "--notebooks", str(tmp_path / "none")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert cli.main(["refresh-notebooks", "--notebooks", str(tmp_path / "none")]) == 2


@pytest.fixture
def no_kernel(monkeypatch):
    """Fail the test if a notebook is executed (a kernel started)."""
    from distill_lab.reporting import refresh, runner

    def fail(*args, **kwargs):
        pytest.fail("a kernel was started")

    monkeypatch.setattr(runner, "execute_notebook", fail)
    monkeypatch.setattr(refresh, "execute_notebook", fail)


@pytest.mark.parametrize("argv, message", [
    (["-p", "budget", "-1"], "parameter budget=-1 is not allowed: budget must be an int >= 1"),
    (["-p", "budget", "0.0"], "parameter budget=0.0 is not allowed"),
    (["-p", "dataset", "cifar"], "parameter dataset='cifar' is not allowed"),
    (["-p", "seed", "one"], "parameter seed='one' is not allowed"),
    (["-p", "device", "gpu"], "parameter device='gpu' is not allowed"),
    (["-p", "quick", "2"], "parameter quick=2 is not allowed: quick must be true or false"),
    (["-p", "seed", "1", "-p", "buget", "0.1"],
     "parameter(s) ['buget'] are declared by none of the notebooks ['01_pass', '02_fail', "
     "'03_noparams']; check the spelling, or pass --allow-extra"),
])
def test_a_bad_parameter_fails_at_once_without_a_kernel(argv, message, tmp_path, capsys,
                                                        no_kernel):
    assert cli.main(["run", *argv, "--notebooks", str(FIXTURES), "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err.startswith(f"distill-lab: error: {message}")
    assert not (tmp_path / "r").exists()


def test_cuda_without_a_gpu_fails_at_once_naming_the_devices(tmp_path, capsys, monkeypatch,
                                                            no_kernel):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert cli.main(["run", "-p", "device", "cuda", "--notebooks", str(FIXTURES),
                     "--out", str(tmp_path)]) == 2
    assert "device='cuda' asks for a device this machine does not have (devices found: cpu)" in \
        capsys.readouterr().err


def test_refresh_checks_its_parameters_before_any_kernel(tmp_path, capsys, monkeypatch,
                                                         no_kernel):
    from distill_lab.reporting import refresh

    (tmp_path / "01_pass.ipynb").write_bytes((FIXTURES / "01_pass.ipynb").read_bytes())
    monkeypatch.setattr(refresh, "QUICK_PARAMETERS", {**QUICK_PARAMETERS, "dataset": "cifar"})
    assert cli.main(["refresh-notebooks", "--notebooks", str(tmp_path)]) == 2
    assert "01_pass.ipynb: parameter dataset='cifar' is not allowed" in capsys.readouterr().err


@pytest.mark.parametrize("setup, argv, message", [
    ("file", ["--out", "{tmp}/afile"], "out_dir='{tmp}/afile' cannot be a report folder: "
                                       "'{tmp}/afile' is a file"),
    ("file", ["--out", "{tmp}/afile/sub"], "out_dir='{tmp}/afile/sub' cannot be a report folder: "
                                           "'{tmp}/afile' is a file"),
    ("yaml", ["--params", "{tmp}/bad.yaml"], "--params {tmp}/bad.yaml is not valid YAML"),
    ("", ["--params", "{tmp}/missing.yaml"], "--params {tmp}/missing.yaml cannot be read: "
                                              "No such file or directory"),
    ("", ["-p", "budget", "[1"], "-p budget '[1' is not a valid YAML value"),
    ("", ["--only", ""], "--only '' names no notebook id"),
    ("", ["--only", " , "], "--only ' , ' names no notebook id"),
])
def test_bad_paths_and_values_are_messages_not_tracebacks(setup, argv, message, tmp_path,
                                                          capsys, no_kernel):
    tmp = str(tmp_path.resolve())
    (tmp_path / "afile").write_text("not a folder")
    (tmp_path / "bad.yaml").write_text("budget: [0.1\nseed: 1\n")
    argv = [arg.format(tmp=tmp) for arg in argv]
    out = [] if "--out" in argv else ["--out", f"{tmp}/r"]
    assert cli.main(["run", *argv, *out, "--notebooks", str(FIXTURES)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"distill-lab: error: {message.format(tmp=tmp)}"), captured.err
    assert "Traceback" not in captured.err and captured.out == ""  # no index path printed


def test_an_unwritable_out_is_named(tmp_path, capsys, no_kernel):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        out = locked / "r"
        if os.access(locked, os.W_OK):  # root writes anywhere: use a folder no one can create
            out = Path("/proc/distill-lab-test/r")
            if not Path("/proc").is_dir():
                pytest.skip("no read-only folder to write to")
        assert cli.main(["run", "--notebooks", str(FIXTURES), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"distill-lab: error: out_dir={str(out)!r} cannot be written: "), err
    finally:
        locked.chmod(0o700)


def test_real_run_on_fixtures(tmp_path, capsys, kernel_env):
    out = tmp_path / "report"
    # the defaults (dataset, quick, device) go only where declared, with no warning
    status = cli.main(["run", "--notebooks", str(FIXTURES), "--only", "2,3", "--out", str(out)])
    assert status == 1
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == str(out / "index.html")
    assert "FAILED 02_fail: cell [" in captured.err
    index = (out / "index.html").read_text()
    assert "02_fail" in index and "03_noparams" in index and "01_pass" not in index


def test_bench_delegates_every_argument(monkeypatch, tmp_path, capsys):
    """`distill-lab bench headline ...` goes through the experiment's real parser (a stand-in
    module accepted options that parser rejects); only the work, run_benchmark, is recorded, and
    the files name the command exactly as it was typed."""
    from result_rows import make_rows  # tests/result_rows.py

    from distill_lab.experiments import headline

    seen = []

    def fake_run_benchmark(name, **kwargs):
        seen.append((name, kwargs))
        return make_rows()

    monkeypatch.setattr(headline, "run_benchmark", fake_run_benchmark)
    argv = ["bench", "headline", "--datasets", "digits", "--budgets", "0.1", "0.01", "--seeds",
            "0", "1", "--methods", "kmeans,el2n", "--n-train", "500", "--device", "cpu",
            "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    assert [name for name, _ in seen] == ["digits"]
    kwargs = seen[0][1]
    assert (kwargs["budgets"], kwargs["seeds"], kwargs["include"], kwargs["n_train"],
            kwargs["device"]) == ((0.1, 0.01), (0, 1), ["kmeans", "el2n"], 500, "cpu")
    assert json.loads((tmp_path / "digits.json").read_text()) == make_rows()
    assert f"Measured with `distill-lab {' '.join(argv[:-1])} {tmp_path}` on" in \
        (tmp_path / "digits.md").read_text()
    assert "### digits" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:   # the real parser rejects unknown options
        cli.main(["bench", "headline", "--dataset", "digits", "--only", "1"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err and len(seen) == 1


def test_benchmark_is_bench_headline_and_records_what_was_typed(monkeypatch, tmp_path):
    from result_rows import make_rows

    from distill_lab.experiments import headline

    seen = []
    monkeypatch.setattr(headline, "run_benchmark",
                        lambda name, **kw: seen.append(name) or make_rows())
    monkeypatch.chdir(tmp_path)     # --out is relative to the current directory
    assert cli.main(["benchmark", "--quick"]) == 0
    assert seen == ["digits"]
    note = (tmp_path / "benchmarks" / "results" / "digits.md").read_text()
    assert "Measured with `distill-lab benchmark --quick` on" in note
    assert cli.main(["bench", "headline", "--smoke", "--out", "smoke"]) == 0
    assert (tmp_path / "smoke" / "digits_smoke.json").is_file()   # never over a result
    assert "`distill-lab bench headline --smoke --out smoke`" in \
        (tmp_path / "smoke" / "digits_smoke.md").read_text()


def test_bench_help_lists_every_experiment(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in ("headline", "paper", "generative", "selection-time", "sequence-time",
                 "sweep-speedup"):
        assert name in out
    with pytest.raises(SystemExit):
        cli.main(["bench", "paper", "--help"])
    out = capsys.readouterr().out
    for option in ("--seeds", "--device", "--threads", "--out", "--smoke", "--ipcs"):
        assert option in out
    assert cli.main(["bench", "generative", "--methods", "vae", "--out", "x"]) == 2
    assert "'vae'" in capsys.readouterr().err   # a ValueError, said as an error


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "run" in out and "refresh-notebooks" in out and "bench" in out and "benchmark" in out


# ---------------------------------------------------------------- a user's data set as `dataset`
def _bad_data(tmp_path, case):
    """A bad data set of the given kind in tmp_path: (its path, what the error must say)."""
    import numpy as np
    from user_files import image_folder, table, write_csv, write_png  # tests/user_files.py

    if case == "missing file":
        return tmp_path / "gone.csv", "gone.csv does not exist"
    if case == "unknown extension":
        (tmp_path / "t.xlsx").write_bytes(b"PK")
        return tmp_path / "t.xlsx", "has the extension '.xlsx'"
    if case == "no label column":
        return table(tmp_path / "t.csv", label="kind"), "neither a 'label' nor a 'target' column"
    if case == "non-numeric":
        rows = [[1, "red", 0], [2, "blue", 1], [3, "red", 0], [4, "red", 1]]
        return (write_csv(tmp_path / "t.csv", ["x", "colour", "label"], rows),
                "feature column(s) 'colour' (row 1: 'red') are not numeric")
    if case == "nan":
        rows = [[1, 0], [2, 1], ["nan", 0], [4, 1], ["", 1]]
        return (write_csv(tmp_path / "t.csv", ["x", "label"], rows),
                "holds 2 NaN, inf or empty value(s); the first is at row 3, column 'x'")
    if case == "small class":
        return table(tmp_path / "t.csv", n_per_class=(4, 1)), "class(es) 'b' (1) have fewer than 2"
    if case == "one class":
        return table(tmp_path / "t.csv", n_per_class=(4,)), "has one class only ('a')"
    root = image_folder(tmp_path / "imgs")
    if case == "sizes":
        write_png(root / "dog" / "9.png", size=(3, 3))
        return root, f"images differ in size: {root / 'cat' / '0.png'} is 5x4 but"
    if case == "non-image":
        (root / "cat" / "labels.csv").write_text("x")
        return root, "are not PNG or JPEG images (labels.csv)"
    if case == "empty folder":
        (tmp_path / "empty").mkdir()
        return tmp_path / "empty", "holds no class sub-folders"
    if case == "corrupt png":
        (root / "dog" / "2.png").write_bytes((root / "dog" / "2.png").read_bytes()[:40])
        return root, f"{root / 'dog' / '2.png'} is not a readable image"
    assert case == "too large"
    np.savez(tmp_path / "big.npz", X=np.zeros((10, 4, 4), np.uint8), y=np.arange(10) % 2)
    return tmp_path / "big.npz", "would need about"


BAD_DATA = ["missing file", "unknown extension", "no label column", "non-numeric", "nan",
            "small class", "one class", "sizes", "non-image", "empty folder", "corrupt png",
            "too large"]


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_data_exits_2_before_any_kernel_and_writes_nothing(case, tmp_path, capsys, no_kernel,
                                                               monkeypatch):
    from distill_lab import user_data

    if case == "too large":  # 160 pixels need more than half of 1 kB
        monkeypatch.setattr(user_data, "_available_memory", lambda: 1000)
    path, message = _bad_data(tmp_path, case)
    out = tmp_path / "r"
    assert cli.main(["run", "-p", "dataset", str(path), "--notebooks", str(FIXTURES),
                     "--only", "01", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"distill-lab: error: parameter dataset={str(path)!r} cannot "
                                   "be used: "), captured.err
    assert message in captured.err and "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()  # not even the report folder or its lock


def test_bad_data_stops_run_on_dask_and_sweep_before_the_cluster(tmp_path, capsys, monkeypatch,
                                                                  no_kernel):
    from distill_lab import dask_cluster

    monkeypatch.setattr(dask_cluster, "connect", lambda *a, **k: pytest.fail("Dask started"))
    path, message = _bad_data(tmp_path, "one class")
    out = tmp_path / "r"
    assert cli.main(["run", "--workers", "1", "-p", "dataset", str(path), "--notebooks",
                     str(FIXTURES), "--only", "01", "--out", str(out)]) == 2
    assert message in capsys.readouterr().err and not out.exists()
    spec = tmp_path / "s.yaml"
    spec.write_text(f"notebooks: ['01']\ngrid: {{dataset: [digits, '{path}']}}\n")
    assert cli.main(["sweep", str(spec), "--notebooks", str(FIXTURES), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("distill-lab: error: sweep cell 01_pass__dataset=") and message in err
    assert not out.exists()


def test_a_data_path_is_checked_once_and_injected_absolute(tmp_path, monkeypatch):
    from user_files import table

    from distill_lab import user_data
    from distill_lab.reporting.runner import plan_sequence
    from distill_lab.reporting.sweep import plan_sweep

    table(tmp_path / "t.csv")
    monkeypatch.chdir(tmp_path)  # notebooks run in the report folder: "t.csv" must not reach them
    loads, real = [], user_data.load_path
    monkeypatch.setattr(user_data, "load_path", lambda *a, **k: loads.append(a) or real(*a, **k))
    [(_, injected, _, _)] = plan_sequence(FIXTURES, {"dataset": "t.csv"}, ["01"])
    assert injected["dataset"] == str(tmp_path / "t.csv") and len(loads) == 1
    cells = plan_sweep({"notebooks": ["01"], "grid": {"seed": [0, 1, 2], "dataset": ["t.csv"]}},
                       FIXTURES)
    assert {c.injected["dataset"] for c in cells} == {str(tmp_path / "t.csv")} and len(loads) == 2


def test_run_on_a_csv_end_to_end(tmp_path, capsys, kernel_env, monkeypatch):
    """A notebook that loads `dataset` gets the user's table from the report folder's kernel."""
    import json

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    from user_files import table

    notebooks = tmp_path / "nbs"
    notebooks.mkdir()
    nb = new_notebook(cells=[
        new_code_cell('dataset = "digits"\nresults_path = "results/01_data.json"',
                      metadata={"tags": ["parameters"]}),
        new_code_cell("from distill_lab.data import load\nfrom distill_lab.reporting import "
                      "write_results\nds = load(dataset)\nwrite_results(results_path, "
                      "{'classes': list(ds.class_names), 'n_test': len(ds.y_test)})"),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, notebooks / "01_data.ipynb")
    table(tmp_path / "t.csv", n_per_class=(5, 5, 10))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "-p", "dataset", "t.csv", "--notebooks", str(notebooks),
                     "--out", "r"]) == 0, capsys.readouterr().err
    results = json.loads((tmp_path / "r" / "results" / "01_data.json").read_text())
    assert results == {"classes": ["a", "b", "c"], "n_test": 4}  # 20% held out, stratified
