"""One contract test run over every registered selector (docs/design.md §3), and the bad-input matrix."""
import numpy as np
import pytest
from sklearn.base import clone

import distill_lab
from distill_lab import SELECTORS, data, make_selector

FAST = {"proxy_epochs": 0.5}


def _params(name, **extra):
    cls = SELECTORS[name]
    params = {k: v for k, v in FAST.items() if k in cls().get_params()}
    return {**params, **extra}


@pytest.fixture(scope="module")
def small():
    ds = data.load("digits")
    sub = data.subsample(ds, 300, random_state=0)
    return sub.X_train, sub.y_train


def test_registry_has_the_contract_names():
    required = {"random", "grand", "el2n", "craig", "entropy", "margin", "least_confidence",
                "kcenter", "herding", "facility_location", "kmeans", "dbscan", "ccs", "moderate"}
    assert required <= set(SELECTORS)
    assert distill_lab.make_selector is make_selector


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"name='coreset'.*'random'"):
        make_selector("coreset")


@pytest.mark.parametrize("name", sorted(SELECTORS))
@pytest.mark.parametrize("budget, expected", [(30, 30), (0.1, 30)])
@pytest.mark.parametrize("class_balanced", [False, True])
def test_contract(name, budget, expected, class_balanced, small):
    X, y = small
    X_before, y_before = X.copy(), y.copy()
    sel = make_selector(name, **_params(name, budget=budget, random_state=0,
                                        class_balanced=class_balanced))
    assert sel.fit(X, y) is sel
    idx = sel.indices_
    assert idx.dtype == np.int64 and len(idx) == expected
    assert len(np.unique(idx)) == expected and idx.min() >= 0 and idx.max() < len(X)
    if sel.weights_ is not None:
        assert sel.weights_.shape == (expected,) and np.all(sel.weights_ >= 0)
    if sel.scores_ is not None:
        assert sel.scores_.shape == (len(X),) and np.all(np.isfinite(sel.scores_))
    if class_balanced:
        counts = np.bincount(y[idx], minlength=10)
        assert counts.min() >= 1 and counts.sum() == expected
        assert sel.budget_per_class_ == {c: int(n) for c, n in enumerate(counts)}
    else:
        assert sel.budget_per_class_ is None
    np.testing.assert_array_equal(X, X_before)           # fit never mutates its input
    np.testing.assert_array_equal(y, y_before)
    again = clone(sel).fit(X, y)                           # same random_state, same picks
    np.testing.assert_array_equal(again.indices_, idx)


@pytest.mark.parametrize("name", ["el2n", "entropy", "grand"])
def test_score_selectors_keep_highest_scores_first(name, small):
    X, y = small
    sel = make_selector(name, **_params(name, budget=20, random_state=0)).fit(X, y)
    chosen = sel.scores_[sel.indices_]
    assert np.all(np.diff(chosen) <= 0)
    assert chosen.min() >= np.delete(sel.scores_, sel.indices_).max()


def test_ccs_strata_over_the_proxy_score_without_the_hardest(small):
    X, y = small
    sel = make_selector("ccs", **_params("ccs", budget=30, random_state=0, class_balanced=True,
                                         beta=0.2)).fit(X, y)
    el2n = make_selector("el2n", **_params("el2n", budget=30, random_state=0)).fit(X, y)
    np.testing.assert_array_equal(sel.scores_, el2n.scores_)    # same proxy, same score
    for c in range(10):                                          # never the hardest 20% of a class
        members = np.flatnonzero(y == c)
        cut = np.sort(sel.scores_[members])[::-1][round(0.2 * len(members)) - 1]
        assert np.all(sel.scores_[sel.indices_[y[sel.indices_] == c]] < cut)
    assert np.all(np.diff(sel.scores_[sel.indices_]) <= 0)      # ordered by score (`rank`)


def test_ccs_accepts_every_proxy_score_and_names_the_allowed_ones(small):
    X, y = small
    sel = make_selector("ccs", **_params("ccs", budget=20, random_state=0, score="margin"))
    assert len(sel.fit(X, y).indices_) == 20
    bad = make_selector("ccs", budget=20, score="forgetting")
    with pytest.raises(ValueError, match=r"score='forgetting'.*'el2n', 'entropy', 'grand'"):
        bad.fit(X, y)
    with pytest.raises(ValueError, match=r"beta=1.0"):
        make_selector("ccs", budget=20, beta=1.0).fit(X, y)
    assert not hasattr(bad, "indices_")


def test_moderate_selector_keeps_the_median_distance_samples_of_each_class():
    # Class 0 at -3, -1, 0, 1, 3 (median distance 1 to the centre 0: samples 1 and 3);
    # class 1 at 10, 11, 12, 16 (median 1.75 to the centre 12.25: samples 5 and 6).
    X = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 10.0, 11.0, 12.0, 16.0])[:, None]
    y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])
    sel = make_selector("moderate", budget=4, features="raw", class_balanced=True).fit(X, y)
    assert sorted(sel.indices_.tolist()) == [1, 3, 5, 6]
    assert sel.budget_per_class_ == {0: 2, 1: 2}


@pytest.mark.parametrize("name", ["facility_location", "craig"])
def test_stochastic_greedy_records_optimizer_and_objective(name, small):
    X, y = small
    extra = {"features": "raw"} if name == "facility_location" else {}
    fitted = {opt: make_selector(name, **_params(name, budget=30, random_state=0, optimizer=opt,
                                                 class_balanced=True, **extra)).fit(X, y)
              for opt in ("lazy", "stochastic")}
    assert {opt: s.optimizer_ for opt, s in fitted.items()} == {"lazy": "lazy",
                                                                "stochastic": "stochastic"}
    assert fitted["stochastic"].objective_ >= 0.95 * fitted["lazy"].objective_ > 0
    again = clone(fitted["stochastic"]).fit(X, y)
    np.testing.assert_array_equal(again.indices_, fitted["stochastic"].indices_)
    bad = make_selector(name, budget=30, optimizer="random")
    with pytest.raises(ValueError, match=r"optimizer='random' is not supported"):
        bad.fit(X, y)
    assert not hasattr(bad, "indices_")


BAD_INPUTS = [
    ("budget", {"budget": 0}, None, ValueError, r"budget=0"),
    ("budget", {"budget": -3}, None, ValueError, r"budget=-3"),
    ("budget", {"budget": 10_000}, None, ValueError, r"budget=10000.*\[1, n_samples=300\]"),
    ("budget", {"budget": 1.5}, None, ValueError, r"budget=1.5.*\(0, 1\]"),
    ("budget", {"budget": 0.0}, None, ValueError, r"budget=0.0"),
    ("budget", {"budget": "10%"}, None, TypeError, r"budget.*'10%'"),
    ("class_balanced", {"budget": 5, "class_balanced": True}, None, ValueError,
     r"budget=5 is smaller than the number of classes \(10\)"),
    ("lengths", {"budget": 10}, "short_y", ValueError, r"300 samples in X and 299 in y"),
    ("nan", {"budget": 10}, "nan", ValueError, r"X contains 1 NaN"),
    ("inf", {"budget": 10}, "inf", ValueError, r"X contains 1 NaN or infinite"),
    ("1-D", {"budget": 10}, "1d", ValueError, r"X must be 2-D.*got shape \(300,\)"),
    ("4-D", {"budget": 10}, "4d", ValueError, r"X must be 2-D.*got shape \(300, 1, 8, 8\)"),
    ("empty", {"budget": 1}, "empty", ValueError, r"X is empty"),
]


def _corrupt(X, y, how):
    X = X.copy()
    if how == "short_y":
        return X, y[:-1]
    if how == "nan":
        X[3, 5] = np.nan
    if how == "inf":
        X[3, 5] = np.inf
    if how == "1d":
        return X[:, 0], y
    if how == "4d":
        return X.reshape(-1, 1, 8, 8), y
    if how == "empty":
        return X[:0], y[:0]
    return X, y


@pytest.mark.parametrize("name", sorted(SELECTORS))
@pytest.mark.parametrize("case, params, how, exc, match", BAD_INPUTS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUTS)])
def test_bad_input(name, case, params, how, exc, match, small):
    X, y = _corrupt(*small, how)
    X_before = X.copy()
    sel = make_selector(name, **_params(name, random_state=0, **params))
    with pytest.raises(exc, match=match):
        sel.fit(X, y)
    np.testing.assert_array_equal(X, X_before)
    assert not hasattr(sel, "indices_")
