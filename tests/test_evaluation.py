"""The evaluation protocol behind every number: the step rule, the row arithmetic, the protocols'
settings, and the seed loop shared by selected and synthetic sets."""
import dataclasses

import numpy as np
import pytest

from distill_lab import data
from distill_lab.evaluation import (MIN_FULL_STEPS, ROW_FIELDS, FullBaseline, Protocol,
                                    channel_stats,
                                    default_protocol, distilled_steps, evaluate_selector,
                                    evaluate_synthetic, result_row, run_full)
from distill_lab.training import TrainConfig


@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


def _fake_mnist(n=200):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (n, 784)).astype(np.float32)
    y = np.arange(n) % 10
    return data.Dataset(X, y, X[:50], y[:50], 10, (1, 28, 28), "mnist")


def test_step_rule_for_every_protocol():
    cfg = TrainConfig(epochs=3, batch_size=64)
    compute = Protocol(model="logreg", config=cfg, protocol="compute", r=8)
    assert distilled_steps(compute, 2814, 6000) == 352            # round(2814 / 8)
    assert distilled_steps(compute, 2814, 60) == 352              # size does not matter
    assert distilled_steps(compute, 4, 60) == 1                   # never below one step
    epochs = dataclasses.replace(compute, protocol="epochs")
    assert distilled_steps(epochs, 2814, 600) == 3 * 10           # 3 x ceil(600 / 64)
    assert distilled_steps(epochs, 2814, 10) == 3                 # batch = the whole set
    paper = Protocol(config=TrainConfig(epochs=300, batch_size=256), protocol="paper",
                     synthetic_epochs=1000)
    assert distilled_steps(paper, 0, 100) == 300                  # 1 step per epoch
    assert distilled_steps(paper, 0, 500) == 600                  # ceil(500 / 256) = 2
    assert distilled_steps(paper, 0, 500, synthetic=True) == 2000
    assert distilled_steps(dataclasses.replace(paper, synthetic_epochs=None), 0, 500,
                           synthetic=True) == 600


def test_row_arithmetic_on_hand_made_timings(digits):
    protocol = Protocol(model="logreg", device="cpu")
    full = FullBaseline(accuracies=[0.97, 0.98, 0.99], seconds=[10.0, 8.0, 12.0], steps=100)
    row = result_row(digits, protocol, full, "m", 0.1, 135, [0.90, 0.92, 0.94],
                     [1.0, 2.0, 3.0], [0.5, 0.5, 2.0])
    assert set(ROW_FIELDS) == set(row)
    assert row["accuracy_mean"] == pytest.approx(92.0)
    assert row["accuracy_std"] == pytest.approx(2.0)               # sample std, ddof=1
    assert row["full_accuracy"] == pytest.approx(98.0)
    assert row["drop"] == pytest.approx(6.0)
    assert row["train_time_ratio"] == pytest.approx(10.0 / 2.0)   # medians: 10 s vs 2 s
    assert row["selection_seconds"] == pytest.approx(0.5)
    assert row["end_to_end_ratio"] == pytest.approx(10.0 / 2.5)
    one = result_row(digits, protocol, full, "m", 0.1, 135, [0.9], [1.0], [0.0])
    assert one["accuracy_std"] == 0.0 and one["seeds"] == 1


def test_default_protocols(digits):
    fake = _fake_mnist()
    p = default_protocol(fake)
    assert p.model == "convnet3" and p.width == 32 and p.protocol == "compute"
    assert p.mean == pytest.approx((fake.X_train.mean(),), rel=1e-5)
    assert p.std == pytest.approx((fake.X_train.std(),), rel=1e-5)
    assert p.config.optimizer == "adamw" and p.config.augment is None
    # 3 epochs, or MIN_FULL_STEPS (480) optimizer steps on a small set: 200 samples, 4 batches of
    # 64 an epoch -> 120 epochs; 60,000 samples -> 3 epochs (2,813 steps).
    assert p.config.epochs == 120 and MIN_FULL_STEPS == 480
    rng = np.random.default_rng(0)
    large = data.Dataset(rng.random((60000, 256), dtype=np.float32), np.arange(60000) % 10,
                         np.zeros((10, 256), np.float32), np.arange(10), 10, (1, 16, 16), "l")
    assert default_protocol(large).config.epochs == 3
    paper = default_protocol(fake, "paper", width=128)
    c = paper.config
    assert (c.optimizer, c.lr, c.momentum, c.weight_decay, c.batch_size, c.epochs, c.schedule) \
        == ("sgd", 0.01, 0.9, 5e-4, 256, 300, "step")
    assert paper.synthetic_epochs == 1000 and paper.width == 128
    assert "flip" not in c.augment and "crop" in c.augment      # digits are not mirror-symmetric
    assert default_protocol(digits).model == "logreg"
    assert channel_stats(digits)[0] == pytest.approx([digits.X_train.mean()], rel=1e-5)
    with pytest.raises(ValueError, match="protocol='fast'"):
        Protocol(protocol="fast")
    with pytest.raises(ValueError, match="r=0.5"):
        Protocol(r=0.5)


def test_selected_and_synthetic_sets_share_one_seed_loop(digits):
    ds = data.subsample(digits, 300, random_state=0)
    protocol = Protocol(model="logreg", config=TrainConfig(epochs=2, lr=0.05), seeds=(0, 1),
                        device="cpu")
    full = run_full(ds, protocol)
    row = evaluate_selector(ds, "random", 30, protocol, full, class_balanced=True)
    assert row["n_selected"] == 30 and row["seeds"] == 2 and row["method"] == "random"
    # the same picks handed over as a "synthetic" set give the same accuracies
    from distill_lab import make_selector

    def picks(seed):
        idx = make_selector("random", budget=30, class_balanced=True,
                            random_state=seed).fit(ds.X_train, ds.y_train).indices_
        return ds.X_train[idx], ds.y_train[idx], None

    twin = evaluate_synthetic(ds, "random-twin", picks, protocol, full, budget=30)
    assert row["budget"] == twin["budget"] == 30 / 300   # a count becomes a fraction in the row
    assert twin["accuracy_mean"] == row["accuracy_mean"]
    assert twin["accuracy_std"] == row["accuracy_std"]


def test_evaluate_trains_one_proxy_per_seed_and_gives_the_rows_of_separate_runs(digits,
                                                                               monkeypatch):
    from distill_lab import proxy
    from distill_lab.evaluation import evaluate
    sub = data.subsample(digits, 300, random_state=0)
    protocol = dataclasses.replace(default_protocol(sub, seeds=(0, 1), device="cpu"),
                                   config=TrainConfig(epochs=2, batch_size=32, lr=5e-2))
    full = run_full(sub, protocol)
    spec = {"class_balanced": True, "proxy_epochs": 0.5}
    alone = {(name, b): evaluate_selector(sub, name, b, protocol, full, **spec)
             for name in ("el2n", "margin") for b in (0.1, 0.2)}
    calls = []
    original = proxy.fit_proxy
    monkeypatch.setattr(proxy, "fit_proxy",
                        lambda *a, **k: calls.append(1) or original(*a, **k))
    rows = evaluate(sub, {"el2n": {"name": "el2n", **spec}, "margin": {"name": "margin", **spec}},
                    [0.1, 0.2], protocol, full=full, verbose=False)
    assert len(calls) == 2                                   # 2 methods x 2 budgets, 2 seeds
    for row in rows:
        if row["method"] in ("el2n", "margin"):
            ref = alone[(row["method"], row["budget"])]
            assert row["accuracy_mean"] == ref["accuracy_mean"]
            # billed: each row's selection includes its proxy's training, as if run alone
            assert row["selection_seconds"] > 0.3 * ref["selection_seconds"]


def test_run_full_shares_a_baseline_within_a_run_only(digits, tmp_path, monkeypatch):
    from distill_lab.evaluation import protocol as protocol_module
    from distill_lab.evaluation.protocol import RUN_CACHE_ENV

    sub = data.subsample(digits, 200, random_state=0)
    protocol = dataclasses.replace(default_protocol(sub, seeds=(0, 1), device="cpu"),
                                   config=TrainConfig(epochs=2, batch_size=32, lr=5e-2))
    trained = []
    original = protocol_module.train_and_score
    monkeypatch.setattr(protocol_module, "train_and_score",
                        lambda d, X, *a, **k: trained.append(len(X)) or original(d, X, *a, **k))
    monkeypatch.setenv(RUN_CACHE_ENV, str(tmp_path))
    first = run_full(sub, protocol)
    assert trained == [64, 200, 200] and len(list(tmp_path.glob("full-*.json"))) == 1
    trained.clear()
    again = run_full(sub, protocol)                          # another notebook of the same run
    assert trained == [64]                                   # the warm-up only
    assert (again.accuracies, again.seconds, again.steps) == (first.accuracies, first.seconds,
                                                              first.steps)
    trained.clear()
    other_seeds = dataclasses.replace(protocol, seeds=(2,))
    run_full(sub, other_seeds)                                # protocol in the key
    other_test = dataclasses.replace(sub, X_test=sub.X_test[:100], y_test=sub.y_test[:100])
    run_full(other_test, protocol)                            # test set in the key
    assert trained == [64, 200, 64, 200, 200]
    trained.clear()
    monkeypatch.setenv(RUN_CACHE_ENV, str(tmp_path / "gone"))  # a remote worker: no such folder
    alone = run_full(sub, protocol)
    assert trained == [64, 200, 200] and alone.accuracies == first.accuracies
    assert not (tmp_path / "gone").exists()
    trained.clear()
    monkeypatch.delenv(RUN_CACHE_ENV)                         # outside a run: nothing shared
    run_full(sub, protocol)
    assert trained == [64, 200, 200]
