"""distill_lab.experiments: one option convention for every experiment, the headline's smoke run
end to end (rows checked, written where --out says, relative to the current directory), and the
generative benchmark's set makers as plain functions."""
import json

import numpy as np
import pytest

from distill_lab import data
from distill_lab.evaluation import validate_rows
from distill_lab.experiments import bench, generative

TRAINS = {"headline", "paper", "generative"}   # --seeds and --device: they train models


@pytest.mark.parametrize("name", list(bench.EXPERIMENTS))
def test_every_experiment_takes_the_common_options(name):
    parser = bench.build_parser()
    args = parser.parse_args([name, "--out", "elsewhere", "--smoke"])
    assert args.name == name and args.out == "elsewhere" and args.smoke
    assert parser.parse_args([name]).out == "benchmarks/results"
    if name in TRAINS:
        args = parser.parse_args([name, "--seeds", "0", "1", "2", "--device", "cpu",
                                  "--threads", "1"])
        assert (args.seeds, args.device, args.threads) == ([0, 1, 2], "cpu", 1)


def test_the_names_of_the_cli():
    assert list(bench.EXPERIMENTS) == ["headline", "paper", "generative", "selection-time",
                                       "sequence-time", "sweep-speedup", "tabular-model"]
    assert all(module.SUMMARY and module.__doc__ for module in bench.EXPERIMENTS.values())


def test_headline_smoke_writes_checked_rows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert bench.main(["headline", "--smoke", "--seeds", "0", "--device", "cpu",
                       "--out", "out"]) == 0
    rows = validate_rows(json.loads((tmp_path / "out" / "digits_smoke.json").read_text()))
    assert [r["method"] for r in rows] == ["full", "random", "el2n", "kcenter"]
    assert rows[0]["budget"] == 1.0 and rows[0]["n_selected"] == 300
    assert all(r["budget"] == 0.1 and r["n_selected"] == 30 for r in rows[1:])
    md = (tmp_path / "out" / "digits_smoke.md").read_text()
    assert "`distill-lab bench headline --smoke --seeds 0 --device cpu --out out`" in md


def test_generative_sets_are_plain_functions():
    ds = data.subsample(data.load("digits"), 200, random_state=0)
    X, y, w = generative.random_set(ds, 3, seed=1)
    assert w is None and np.bincount(y).tolist() == [3] * ds.n_classes
    np.testing.assert_array_equal(X, generative.random_set(ds, 3, seed=1)[0])
    calls = []
    cached = generative.SeedCache(lambda seed: calls.append(seed) or (seed,))
    assert [cached(0), cached(1), cached(0)] == [(0,), (1,), (0,)] and calls == [0, 1]
    makers = generative.set_makers(ds, 3, None, None, None, 0.0, generative.SIZES["smoke"], {})
    assert [(m, cost) for m, _, cost in makers] == [("random", 0.0), ("dm", 0.0)]
    with pytest.raises(ValueError, match="'vae'"):
        generative.check_methods(["random", "vae"])


def test_tabular_model_compares_the_candidates_on_a_users_csv_path():
    """`distill-lab bench tabular-model`: every table is written to CSV and read back as a user's
    table; one full and one random row per candidate, the candidate named in `model`."""
    from distill_lab.evaluation import validate_rows
    from distill_lab.evaluation.protocol import TABULAR_CONFIG
    from distill_lab.experiments import tabular_model

    assert tabular_model.CANDIDATES["mlp"] == ("mlp", TABULAR_CONFIG)
    rows = tabular_model.measure(("iris",), {k: tabular_model.CANDIDATES[k]
                                             for k in ("logreg", "mlp")}, seeds=(0,), verbose=False)
    validate_rows(rows)
    assert [(r["dataset"], r["model"], r["method"]) for r in rows] == [
        ("iris", "logreg", "full"), ("iris", "logreg", "random"),
        ("iris", "mlp", "full"), ("iris", "mlp", "random")]
    assert all(r["n_selected"] == 12 for r in rows if r["method"] == "random")  # 10% of 120
