"""The `distill-lab` command: argument parsing (against a recording stand-in for run_sequence), one
real run on the fixture notebooks, error exits, and the benchmark delegation."""
import sys
import types
from pathlib import Path

import pytest

from distill_lab import cli
from distill_lab.report import QUICK_PARAMETERS, NotebookRun

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
    assert recorded["parameters"] == {"dataset": "digits", "quick": True, "device": "cpu"}
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
                       "--notebooks", str(FIXTURES)])
    assert status == 0
    assert recorded["parameters"] == {"dataset": "mnist", "quick": False, "device": "cpu",
                                      "budget": 0.05, "seed": 3, "lr": 1e-3, "method": "el2n"}
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


def test_real_run_on_fixtures(tmp_path, capsys, kernel_env):
    out = tmp_path / "report"
    with pytest.warns(UserWarning, match=r"\['dataset', 'device'\] are declared by none"):
        status = cli.main(["run", "--notebooks", str(FIXTURES), "--only", "2,3", "--out", str(out)])
    assert status == 1
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines()[-1] == str(out / "index.html")
    assert "FAILED 02_fail: cell [" in captured.err
    index = (out / "index.html").read_text()
    assert "02_fail" in index and "03_noparams" in index and "01_pass" not in index


def test_benchmark_delegates_every_argument(monkeypatch):
    seen = []
    fake = types.ModuleType("distill_lab.benchmark")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "distill_lab.benchmark", fake)
    import distill_lab
    monkeypatch.setattr(distill_lab, "benchmark", fake, raising=False)
    assert cli.main(["benchmark", "--dataset", "digits", "--only", "1", "--help"]) == 0
    assert seen == [["--dataset", "digits", "--only", "1", "--help"]]


def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "run" in out and "refresh-notebooks" in out and "benchmark" in out
