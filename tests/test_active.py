"""Active learning: loop sizes and query order, BALD against its closed form, diversity, errors,
and one robust sanity check on digits."""
import numpy as np
import pytest
import torch

from distill_lab.active import (STRATEGIES, active_learning, bald, compare_strategies,
                                initial_set, one_shot_curve, query_scores)
from distill_lab.criteria.entropy import entropy
from distill_lab.data import load
from distill_lab.models import make_model


@pytest.fixture(scope="module")
def digits():
    return load("digits")


def small(ds, n=400):
    return ds.X_train[:n], ds.y_train[:n], ds.X_test[:200], ds.y_test[:200]


def test_initial_set_is_class_balanced_and_seeded(digits):
    y = digits.y_train
    a, b = initial_set(y, 30, random_state=1), initial_set(y, 30, random_state=1)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) == 30
    assert np.bincount(y[a], minlength=10).min() == 3
    with pytest.raises(ValueError, match="initial_size=5 is smaller than the 10 classes"):
        initial_set(y, 5)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_loop_sizes_and_query_order(digits, strategy):
    X, y, Xt, yt = small(digits)
    r = active_learning(X, y, Xt, yt, budget=47, initial_size=20, batch_size=10,
                        strategy=strategy, steps=20, random_state=0, verbose=False)
    assert len(r.indices) == 47 and len(np.unique(r.indices)) == 47
    np.testing.assert_array_equal(r.labeled_sizes, [20, 30, 40, 47])   # last batch truncated
    assert r.accuracies.shape == (4,)
    # round 0 replayed by hand: a model on the seeded initial set, scored on the 200 test images
    from distill_lab.active import ACTIVE_CONFIG, _fit
    from distill_lab.training import accuracy
    rng = np.random.RandomState(0)
    labeled = initial_set(y, 20, rng)
    net = _fit(X.astype(np.float32), y, labeled, 10, "logreg", None, ACTIVE_CONFIG, 20, "cpu",
               rng.randint(2**31 - 1))
    assert r.accuracies[0] == accuracy(net, Xt, yt)
    np.testing.assert_allclose(r.accuracies * 200, np.round(r.accuracies * 200), atol=1e-9)
    # query order: the seeded initial set comes first, then the batches
    np.testing.assert_array_equal(np.sort(r.indices[:20]),
                                  np.sort(initial_set(y, 20, np.random.RandomState(0))))
    again = active_learning(X, y, Xt, yt, budget=47, initial_size=20, batch_size=10,
                            strategy=strategy, steps=20, random_state=0, verbose=False)
    np.testing.assert_array_equal(r.indices, again.indices)


def test_first_batch_is_the_top_scored_pool(digits):
    """Replay round 0 by hand: the first batch is the 10 highest-entropy pool samples."""
    X, y, Xt, yt = small(digits)
    r = active_learning(X, y, Xt, yt, budget=30, initial_size=20, batch_size=10, steps=20,
                        random_state=0, verbose=False)
    from distill_lab.active import _fit
    rng = np.random.RandomState(0)
    labeled = initial_set(y, 20, rng)
    net = _fit(X, y, labeled, 10, "logreg", None, __import__("distill_lab.active").active
               .ACTIVE_CONFIG, 20, "cpu", rng.randint(2**31 - 1))
    pool = np.setdiff1d(np.arange(len(X)), labeled)
    scores = query_scores("entropy", net, X[pool])
    expected = pool[np.argsort(-scores, kind="stable")[:10]]
    np.testing.assert_array_equal(r.indices[20:], expected)


def test_bald_closed_forms(digits):
    X = digits.X_train[:50]
    net = make_model("mlp", 64, 10, random_state=0)
    np.testing.assert_allclose(bald(net, X, p=0.0, n_samples=5), 0, atol=1e-6)  # no disagreement
    scores = bald(net, X, p=0.5, n_samples=8, random_state=0)
    assert scores.shape == (50,) and np.all(scores >= 0) and scores.max() > 0
    np.testing.assert_array_equal(scores, bald(net, X, p=0.5, n_samples=8, random_state=0))
    # bounded by the entropy of the mean prediction, itself <= log C
    assert np.all(scores <= np.log(10) + 1e-9)
    state = torch.random.get_rng_state()
    bald(net, X, n_samples=2, random_state=1)
    assert torch.equal(state, torch.random.get_rng_state())  # global RNG untouched


def test_bald_matches_a_hand_rolled_mc_estimate(digits):
    X = digits.X_train[:20]
    net = make_model("logreg", 64, 10, random_state=0).eval()
    gen = torch.Generator().manual_seed(int(np.random.RandomState(3).randint(2**31 - 1)))
    with torch.no_grad():
        Xt = torch.as_tensor(X)
        passes = []
        for _ in range(4):
            keep = (torch.rand(Xt.shape, generator=gen) >= 0.3).float()
            passes.append(torch.softmax(net.classifier(Xt * keep / 0.7), 1).numpy())
    p = np.stack(passes).astype(np.float64)
    expected = entropy(p.mean(0)) - np.mean([entropy(q) for q in p], axis=0)
    np.testing.assert_allclose(bald(net, X, n_samples=4, p=0.3, random_state=3),
                               np.maximum(expected, 0), atol=1e-5)


def test_diversity_option_changes_the_batch(digits):
    X, y, Xt, yt = small(digits)
    kw = dict(budget=40, initial_size=20, batch_size=20, steps=20, random_state=0, verbose=False)
    plain = active_learning(X, y, Xt, yt, **kw)
    div = active_learning(X, y, Xt, yt, diversity=True, candidates=3, **kw)
    np.testing.assert_array_equal(plain.indices[:20], div.indices[:20])
    assert len(np.unique(div.indices)) == 40 and set(div.indices[20:]) != set(plain.indices[20:])


def test_errors(digits):
    X, y, Xt, yt = small(digits)
    with pytest.raises(ValueError, match="budget=10 .* smaller than the initial labeled set"):
        active_learning(X, y, Xt, yt, budget=10, initial_size=20, verbose=False)
    with pytest.raises(ValueError, match="strategy='coreset'"):
        active_learning(X, y, Xt, yt, budget=30, strategy="coreset", verbose=False)
    with pytest.raises(ValueError, match="batch_size=0"):
        active_learning(X, y, Xt, yt, budget=30, batch_size=0, verbose=False)
    with pytest.raises(ValueError, match="dropout p=1.0"):
        bald(make_model("logreg", 64, 10), X, p=1.0)


def test_curves_and_sanity_margin_beats_a_bad_strategy(digits):
    """Robust sanity check: margin sampling's final accuracy beats querying the *most confident*
    samples (reverse margin), which wastes labels on points the model already knows."""
    X, y, Xt, yt = digits.X_train, digits.y_train, digits.X_test, digits.y_test
    kw = dict(budget=80, initial_size=20, batch_size=20, steps=60)
    curves = compare_strategies(X, y, Xt, yt, ["margin"], seeds=(0, 1), verbose=False, **kw)
    margin_final = np.mean([r.accuracies[-1] for r in curves["margin"]])
    import distill_lab.active as active
    orig = active.query_scores
    try:
        active.query_scores = lambda *a, **k: -orig(*a, **k)   # most confident first
        worst = np.mean([active_learning(X, y, Xt, yt, strategy="margin", random_state=s,
                                         verbose=False, **kw)
                         .accuracies[-1] for s in (0, 1)])
    finally:
        active.query_scores = orig
    assert margin_final > worst + 0.02
    one = one_shot_curve(X, y, Xt, yt, [20, 80], selector="random", steps=60, random_state=0)
    assert one.labeled_sizes.tolist() == [20, 80] and len(one.indices) == 80


def test_round_batch_size_bounds_the_rounds_of_a_quick_run():
    from distill_lab.active import QUICK_ROUNDS, round_batch_size

    assert QUICK_ROUNDS == 5
    assert round_batch_size(135, 20, 15) == 23          # digits: 115 queries, 5 rounds of 23
    assert round_batch_size(150, 20, 15) == 26          # MNIST quick: 130 queries, 5 rounds of 26
    assert -(-(150 - 20) // 26) <= QUICK_ROUNDS
    assert round_batch_size(135, 20, 15, max_rounds=8) == 15   # 8 rounds of 15 already
    assert round_batch_size(14, 7, 15) == 15 and round_batch_size(10, 10, 5) == 5
    with pytest.raises(ValueError, match=r"batch_size=0 must be an int >= 1"):
        round_batch_size(100, 10, 0)
