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
                                       "sequence-time", "sweep-speedup", "tabular-model",
                                       "selection-scale"]
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


def test_sequence_time_names_its_file_by_data_set_and_workers(tmp_path, monkeypatch):
    """Issue 21's targets time the sequence on MNIST, serial and on 2 Dask workers: each gets its
    own file; a smoke run records the load average around every run."""
    from distill_lab.experiments import sequence_time

    assert sequence_time.run_arguments("digits", None) == []
    assert sequence_time.run_arguments("/d/wine.csv", 2) == ["-p", "dataset", "/d/wine.csv",
                                                             "--workers", "2"]
    assert sequence_time.result_name("digits", None) == "sequence_time"
    assert sequence_time.result_name("mnist", 2) == "sequence_time_mnist_workers2"
    assert sequence_time.result_name("/d/wine.csv", None) == "sequence_time_wine"
    monkeypatch.chdir(tmp_path)
    assert bench.main(["sequence-time", "--smoke", "--out", "out"]) == 0
    record = json.loads((tmp_path / "out" / "sequence_time_smoke.json").read_text())
    (only_run,) = record["runs"]
    assert only_run["load_before"] >= 0 and only_run["load_after"] >= 0
    assert record["dataset"] == "digits" and record["workers"] is None
    assert list(record["median_per_notebook"]) == ["01_pass"]


def test_selection_scale_smoke_measures_every_method(tmp_path, monkeypatch):
    """`bench selection-scale --smoke`: a row per method with its time, peak memory and sizes,
    facility location's objective, per-class picks identical in one process and on 2 Dask
    workers, the kNN graph's objective against the dense one on digits, and the load average
    around every part. Timing-free: the figures' values are not checked, only their presence."""
    monkeypatch.chdir(tmp_path)
    assert bench.main(["selection-scale", "--smoke", "--device", "cpu", "--out", "out"]) == 0
    doc = json.loads((tmp_path / "out" / "selection_scale_smoke.json").read_text())
    assert doc["command"] == "distill-lab bench selection-scale --smoke --device cpu --out out"
    assert list(doc["parts"]) == ["per_class", "mnist", "scale"]
    assert all(len(p["load_average_start"]) == len(p["load_average_end"]) == 3
               for p in doc["parts"].values())
    rows = {r["method"]: r for r in doc["rows"]}
    assert list(rows) == ["per_class_serial", "per_class_dask", "mnist_dense", "mnist_knn",
                          "mnist_knn_flat", "facility_location_knn", "kcenter", "herding"]
    for r in rows.values():
        assert r["seconds"] > 0 and 0 < r["peak_rss_gib"] < 4 and len(r["load_average_end"]) == 3
        assert r["n_selected"] == round(r["budget"] * r["n"]) > 0
        assert (r["objective"] is None) == (r["method"] in ("kcenter", "herding"))
    assert rows["kcenter"]["n"] == 20_000 and rows["kcenter"]["n_selected"] == 200
    dask = rows["per_class_dask"]
    assert dask["identical_to_serial"] and dask["workers"] == 2 and dask["speedup"] > 0
    assert dask["objective"] == rows["per_class_serial"]["objective"]
    assert len(dask["workers_peak_rss_gib"]) == len(dask["workers_cpu_seconds"]) == 2
    assert dask["cpu_bound_speedup"] > 0
    for knn in (rows["mnist_knn"], rows["mnist_knn_flat"]):       # inverted file, exact
        assert knn["dataset"] == "digits" and knn["budget"] == 0.1
        assert knn["objective_ratio_to_dense"] == \
            knn["objective"] / rows["mnist_dense"]["objective"]
        assert 0.9 < knn["objective_ratio_to_dense"] <= 1.0 + 1e-9   # seeded: 0.997 on digits
