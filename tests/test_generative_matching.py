"""Distribution matching, generate-then-select and the quality measures."""
import math

import numpy as np
import pytest
import scipy.linalg
import torch

from distill_lab.generative import (ConditionalGAN, DistributionMatching, break_even,
                                    frechet_distance, generate_then_select, label_fidelity)
from distill_lab.generative.matching import matching_loss, mmd2, random_embedder


def _digits_subset(per_class=20):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    keep = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)])
    return (X[keep] / 16).astype(np.float32), y[keep]


def _eval_loss(X, y, X_syn, k, n_nets=5):
    # The matching loss averaged over fixed random nets, without augmentation: (real, syn) sets.
    real = [torch.tensor(X[y == c]).view(-1, 1, 8, 8) for c in range(10)]
    syn = torch.tensor(X_syn).view(-1, 1, 8, 8).split(k)
    nets = [random_embedder((1, 8, 8), 16, 100 + s) for s in range(n_nets)]
    return float(np.mean([matching_loss(net, real, syn).item() for net in nets]))


def test_dm_reduces_its_own_matching_loss():
    X, y = _digits_subset()
    kw = dict(n_per_class=2, image_shape=(1, 8, 8), n_classes=10, width=16, batch_real=20,
              init="noise", augment=False, device="cpu", verbose=False, random_state=0)
    start = DistributionMatching(iterations=0, **kw).fit(X, y)
    end = DistributionMatching(iterations=40, **kw).fit(X, y)
    np.testing.assert_array_equal(start.y_syn_, end.y_syn_)
    assert _eval_loss(X, y, end.X_syn_, 2) < 0.5 * _eval_loss(X, y, start.X_syn_, 2)
    assert len(end.loss_history_) == 40 and end.seconds_ > 0
    assert np.isfinite(end.X_syn_).all()
    # learned in standardized space, returned in pixel scale: iterations=0 gives the init back
    np.testing.assert_allclose(start.X_syn_, DistributionMatching(iterations=0, **kw).fit(X, y).X_syn_)
    np.testing.assert_allclose(start.mean_, X.mean(), rtol=1e-5)


def test_dm_mmd_variant_reduces_mmd_and_differs_from_mean():
    X, y = _digits_subset()
    kw = dict(n_per_class=2, image_shape=(1, 8, 8), n_classes=10, width=16, batch_real=20,
              init="noise", augment=False, device="cpu", verbose=False, random_state=0)
    start = DistributionMatching(iterations=0, **kw).fit(X, y)
    mmd = DistributionMatching(iterations=30, variant="mmd", **kw).fit(X, y)
    mean = DistributionMatching(iterations=30, **kw).fit(X, y)
    net = random_embedder((1, 8, 8), 16, 7)

    def total_mmd(X_syn):
        syn = torch.tensor(X_syn).view(-1, 1, 8, 8).split(2)
        return sum(float(mmd2(net.embed(torch.tensor(X[y == c]).view(-1, 1, 8, 8)),
                              net.embed(s))) for c, s in enumerate(syn))

    # two images per class cannot reach MMD 0 against 20 real ones (only the mean can match)
    assert total_mmd(mmd.X_syn_) < 0.75 * total_mmd(start.X_syn_)
    assert not np.allclose(mmd.X_syn_, mean.X_syn_)
    with pytest.raises(ValueError, match="variant='kl'"):
        DistributionMatching(variant="kl", **kw).fit(X, y)


def test_mmd2_closed_forms():
    a = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    assert float(mmd2(a, a)) == pytest.approx(0.0, abs=1e-6)
    assert float(mmd2(a, a + 5.0)) > float(mmd2(a, a + 0.5)) > 0


def test_dm_siamese_dsa_on_28x28_is_deterministic():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (40, 784)).astype(np.float32)
    y = np.repeat(np.arange(4), 10)
    kw = dict(n_per_class=1, image_shape=(1, 28, 28), n_classes=4, width=4, batch_real=5,
              iterations=3, device="cpu", verbose=False, random_state=3)
    a = DistributionMatching(**kw).fit(X, y)
    b = DistributionMatching(**kw).fit(X, y)
    np.testing.assert_array_equal(a.X_syn_, b.X_syn_)
    assert a._use_augment() and np.isfinite(a.X_syn_).all()


def test_dm_init_from_real_or_given_samples_and_determinism():
    X, y = _digits_subset()
    kw = dict(n_per_class=3, image_shape=(1, 8, 8), n_classes=10, width=8, batch_real=10,
              device="cpu", verbose=False)
    dm0 = DistributionMatching(iterations=0, random_state=0, **kw).fit(X, y)
    # iterations=0 returns the seeded real picks (up to the round trip through standardized
    # pixels): each is a training image of its class
    for x, c in zip(dm0.X_syn_, dm0.y_syn_):
        assert np.any(np.all(np.abs(X[y == c] - x) < 1e-6, axis=1))
    a = DistributionMatching(iterations=3, random_state=1, **kw).fit(X, y)
    b = DistributionMatching(iterations=3, random_state=1, **kw).fit(X, y)
    np.testing.assert_array_equal(a.X_syn_, b.X_syn_)
    X_init = np.full((30, 64), 0.5, np.float32)
    y_init = np.tile(np.arange(10), 3)  # any order: sorted by class inside
    c = DistributionMatching(iterations=0, **kw).fit(X, y, X_init=X_init, y_init=y_init)
    np.testing.assert_allclose(c.X_syn_, X_init, atol=1e-6)
    with pytest.raises(ValueError, match="exactly n_per_class=3"):
        DistributionMatching(iterations=0, **kw).fit(X, y, X_init=X_init[:20], y_init=y_init[:20])
    with pytest.raises(ValueError, match="init="):
        DistributionMatching(iterations=0, init="zeros", **kw).fit(X, y)
    with pytest.raises(ValueError, match="n_per_class"):
        DistributionMatching(**{**kw, "n_per_class": 0}).fit(X, y)
    with pytest.raises(ValueError, match=r"class\(es\) \[0\]"):
        DistributionMatching(**kw).fit(X[y > 0], y[y > 0])


def test_frechet_distance_closed_forms():
    assert frechet_distance([0, 0], np.eye(2), [0, 0], np.eye(2)) == pytest.approx(0, abs=1e-12)
    # diagonal covariances: |mu1 - mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2
    d = frechet_distance([1, 2], np.diag([4.0, 9.0]), [0, 0], np.diag([1.0, 1.0]))
    assert d == pytest.approx(5 + (2 - 1) ** 2 + (3 - 1) ** 2)
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    S1, S2 = A @ A.T, B @ B.T
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    ref = (np.sum((mu1 - mu2) ** 2) + np.trace(S1) + np.trace(S2)
           - 2 * np.trace(scipy.linalg.sqrtm(S1 @ S2)).real)
    assert frechet_distance(mu1, S1, mu2, S2) == pytest.approx(ref, rel=1e-8)
    with pytest.raises(ValueError, match="shapes"):
        frechet_distance([0], np.eye(2), [0, 0], np.eye(2))


def test_break_even_hand_values():
    assert break_even(100.0, 10.0, 2.0) == 13      # 100 / 8 = 12.5 -> 13 trainings
    assert break_even(80.0, 10.0, 2.0) == 10
    assert break_even(0.0, 10.0, 2.0) == 1
    assert break_even(5.0, 2.0, 2.0) == math.inf  # no saving per run: never pays off
    with pytest.raises(ValueError, match="t_full"):
        break_even(1.0, -1.0, 0.5)


def test_label_fidelity_and_generate_then_select():
    from distill_lab.models import make_model
    from distill_lab.training import TrainConfig, train

    X, y = _digits_subset()
    clf = make_model("logreg", 64, 10, random_state=0)
    train(clf, X, y, config=TrainConfig(epochs=20, lr=0.05), device="cpu", random_state=0)
    assert label_fidelity(clf, X, y) > 0.9
    gan = ConditionalGAN((1, 8, 8), 10, z_dim=8, width=8, batch_size=16, device="cpu",
                         verbose=False, random_state=0).fit(X, y, steps=2)
    Xs, ys = generate_then_select(gan, 2, n_candidates_per_class=6, random_state=0)
    assert Xs.shape == (20, 64) and np.array_equal(np.bincount(ys), [2] * 10)
    # every kept image is a candidate of its own class, as the generator draws them with seed 0
    y_cand = np.repeat(np.arange(10), 6)
    cand = gan.sample(y_cand, random_state=np.random.RandomState(0))
    for x, c in zip(Xs, ys):
        assert np.any(np.all(cand[y_cand == c] == x, axis=1))
    Xs2, _ = generate_then_select(gan, 2, n_candidates_per_class=6, embed_model=clf,
                                  random_state=0)
    assert Xs2.shape == (20, 64)
    np.testing.assert_array_equal(generate_then_select(gan, 2, n_candidates_per_class=6,
                                                       random_state=0)[0], Xs)
    with pytest.raises(ValueError, match="n_candidates_per_class"):
        generate_then_select(gan, 3, n_candidates_per_class=2)


def test_synthetic_row_bills_the_making_time():
    from distill_lab.data import load, subsample
    from distill_lab.evaluation import ROW_FIELDS, Protocol, run_full
    from distill_lab.generative import synthetic_row
    from distill_lab.training import TrainConfig

    ds = subsample(load("digits"), 300, random_state=0)
    protocol = Protocol(model="logreg", config=TrainConfig(epochs=2, lr=0.05), seeds=(0, 1),
                        device="cpu")
    full = run_full(ds, protocol)
    idx = np.concatenate([np.flatnonzero(ds.y_train == c)[:3] for c in range(10)])
    row = synthetic_row(ds, "gan", ds.X_train[idx], ds.y_train[idx], protocol, full, 50.0,
                        label_fidelity=0.5)
    assert set(ROW_FIELDS) <= set(row) and row["n_selected"] == 30 and row["seeds"] == 2
    assert row["selection_seconds"] == 50.0 and row["label_fidelity"] == 0.5
    t_full = full.median_seconds
    t_s = t_full / row["train_time_ratio"]
    assert row["end_to_end_ratio"] == pytest.approx(t_full / (50.0 + t_s))
    n = break_even(50.0, t_full, t_s)  # inf (stored as None) if timing noise made t_s >= t_full
    assert row["break_even"] == (n if math.isfinite(n) else None)


def test_bill_distillation_time_by_hand():
    from types import SimpleNamespace

    from distill_lab.generative import bill_distillation_time

    full = SimpleNamespace(median_seconds=10.0)
    row = {"train_time_ratio": 5.0, "selection_seconds": 0.5}
    # t_distilled = 10 / 5 = 2 s: end to end 10 / (22 + 2), break even ceil(22 / (10 - 2)) = 3
    assert bill_distillation_time(row, full, 22.0, label_fidelity=0.9) is row
    assert row == {"train_time_ratio": 5.0, "selection_seconds": 22.0,
                   "end_to_end_ratio": pytest.approx(10 / 24), "break_even": 3,
                   "label_fidelity": 0.9}
    slower = bill_distillation_time({"train_time_ratio": 0.5}, full, 1.0)   # t_distilled 20 s
    assert slower["break_even"] is None


def test_generative_benchmark_bills_through_the_library(monkeypatch):
    """The generative benchmark used to re-implement the billing of synthetic_row."""
    from types import SimpleNamespace

    from distill_lab.experiments import generative as bench

    seen = []
    real = bench.bill_distillation_time
    monkeypatch.setattr(bench, "bill_distillation_time",
                        lambda row, full, s, **kw: seen.append((s, kw)) or real(row, full, s, **kw))
    row = bench.with_generator_cost({"train_time_ratio": 5.0, "selection_seconds": 2.0},
                                    SimpleNamespace(median_seconds=10.0), 20.0, {"fd_convnet": 1.5})
    assert seen == [(22.0, {"generator_seconds": 20.0, "fd_convnet": 1.5})]
    assert row["selection_seconds"] == 22.0 and row["generator_seconds"] == 20.0
    assert row["end_to_end_ratio"] == pytest.approx(10 / 24) and row["break_even"] == 3


def test_generative_benchmark_writes_its_json_atomically(tmp_path, monkeypatch):
    import json

    from result_rows import make_rows

    from distill_lab.experiments import bench, generative

    rows = [dict(r, ipc=10) for r in make_rows()[1:]]
    seen = []

    def fake_run(dataset, **kwargs):
        seen.append((dataset, kwargs))
        return rows, {"dataset": dataset}

    monkeypatch.setattr(generative, "run_generative", fake_run)
    assert bench.main(["generative", "--smoke", "--methods", "random,dm", "--ipcs", "2",
                       "--out", str(tmp_path)]) == 0
    assert seen[0][0] == "digits" and seen[0][1]["size"] == "smoke"
    assert seen[0][1]["methods"] == ("random", "dm") and seen[0][1]["ipcs"] == (2,)
    assert json.loads((tmp_path / "generative_digits_smoke.json").read_text()) == rows
    meta = json.loads((tmp_path / "generative_digits_smoke.meta.json").read_text())
    assert meta["dataset"] == "digits"
    assert meta["command"].startswith("distill-lab bench generative")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generative_digits_smoke.json",
                                                          "generative_digits_smoke.meta.json"]
    monkeypatch.setattr(generative, "run_generative",
                        lambda dataset, **kw: ([dict(rows[0], budget=10)], {}))
    with pytest.raises(ValueError, match="budget=10"):   # a count as budget is never written
        bench.main(["generative", "--out", str(tmp_path / "counts")])
    assert not (tmp_path / "counts").exists()


