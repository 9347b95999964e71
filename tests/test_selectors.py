"""One contract test run over every registered selector (docs/design.md §3), the bad-input
matrix, parameter checks before any work, and scikit-learn's estimator checks."""
import warnings

import numpy as np
import pytest
import scipy.sparse
import sklearn
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

import distill_lab
from distill_lab import SELECTORS, data, make_selector, proxy
from distill_lab.selectors import feature_based, proxy_scores

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
    sel = make_selector("ccs", **_params("ccs", budget=20, random_state=0, proxy_score="margin"))
    assert len(sel.fit(X, y).indices_) == 20
    bad = make_selector("ccs", budget=20, proxy_score="forgetting")
    with pytest.raises(ValueError, match=r"proxy_score='forgetting'.*'el2n', 'entropy', 'grand'"):
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


def _with_tiny_classes(X, y):
    """digits plus class 10 (one sample) and class 11 (two identical samples)."""
    X = np.vstack([X, X[:1] + 0.5, np.tile(X[1:2] - 0.5, (2, 1))])
    return X, np.concatenate([y, [10, 11, 11]])


@pytest.mark.parametrize("name", ["facility_location", "craig"])
def test_facility_location_and_craig_on_degenerate_pools(name, small):
    """Issue 10 item 8: a class of one sample, or of identical rows, used to raise "pass gamma
    explicitly" from the median heuristic; such a pool no larger than its share keeps every
    sample (weight 1) and identical rows fall back to gamma = 1 / n_features."""
    X, y = _with_tiny_classes(*small)
    sel = make_selector(name, **_params(name, budget=24, random_state=0, class_balanced=True,
                                        features="raw")).fit(X, y)
    assert sel.budget_per_class_[10] == 1 and sel.budget_per_class_[11] == 1
    assert len(np.unique(sel.indices_)) == 24 and np.isfinite(sel.objective_)
    assert sel.weights_[list(sel.indices_).index(300)] == 1               # kept whole
    assert sel.weights_[y[sel.indices_] == 11].tolist() == [2.0]           # stands for both copies
    whole = make_selector(name, **_params(name, budget=3, class_balanced=True, features="raw"))
    whole.fit(X[300:], y[300:] - 10)                                       # pools no larger
    assert sorted(whole.indices_.tolist()) == [0, 1, 2] and whole.weights_.tolist() == [1.0] * 3
    assert whole.objective_ == 3.0                                         # sum_i sim(i, i)


def test_model_based_re_exports_its_selectors():
    """selectors/model_based.py was split into proxy_scores and feature_based; its names stay."""
    from distill_lab.selectors import model_based

    for name in model_based.__all__:
        assert getattr(model_based, name) is getattr(
            proxy_scores if name in proxy_scores.__all__ else feature_based, name)
    assert model_based.CraigSelector is SELECTORS["craig"]


def test_facility_location_passes_gamma_on(small, monkeypatch):
    from distill_lab.criteria import representative as rep

    X, y = small
    sel = make_selector("facility_location", budget=15, features="raw", gamma=0.02).fit(X, y)
    np.testing.assert_array_equal(sel.indices_, rep.facility_location(X, 15, gamma=0.02)[0])
    seen = []
    monkeypatch.setattr(feature_based.grad, "craig",
                        lambda G, k, **kw: seen.append(kw["gamma"]) or (np.arange(k), np.ones(k),
                                                                        1.0))
    make_selector("craig", **_params("craig", budget=15, gamma=0.5)).fit(X, y)
    assert seen == [0.5]


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
    ("empty-features", {"budget": 1}, "no_features", ValueError,
     r"X is empty: found array with 0 feature\(s\) \(shape=\(300, 0\)\)"),
    ("string-labels", {"budget": 10}, "strings", TypeError,
     r"y must hold integer class labels 0..C-1, got dtype <U\d+ \(first value 'digit.*"
     r"LabelEncoder\(\).fit_transform\(y\)"),
    ("sparse", {"budget": 10}, "sparse", TypeError,
     r"X is a scipy.sparse csr_matrix of shape \(300, 64\); sparse input is not supported: "
     r"densify it first with X.toarray\(\)"),
    ("complex", {"budget": 10}, "complex", ValueError,
     r"X holds complex numbers \(dtype complex\d+\): Complex data not supported"),
    ("random_state", {"budget": 10, "random_state": "seed"}, None, ValueError,
     r"random_state='seed' is not supported; use None, an int, a numpy RandomState or a numpy "
     r"Generator"),
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
    if how == "no_features":
        return X[:, :0], y
    if how == "strings":
        return X, np.array([f"digit{c}" for c in y])
    if how == "sparse":
        return scipy.sparse.csr_matrix(X), y
    if how == "complex":
        return X + 1j * X, y
    return X, y


@pytest.mark.parametrize("name", sorted(SELECTORS))
@pytest.mark.parametrize("case, params, how, exc, match", BAD_INPUTS,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_INPUTS)])
def test_bad_input(name, case, params, how, exc, match, small):
    X, y = _corrupt(*small, how)
    X_before = X.copy()
    sel = make_selector(name, **_params(name, **{"random_state": 0, **params}))
    with pytest.raises(exc, match=match):
        sel.fit(X, y)
    if scipy.sparse.issparse(X):
        assert (X != X_before).nnz == 0
    else:
        np.testing.assert_array_equal(X, X_before)
    assert not hasattr(sel, "indices_")


@pytest.mark.parametrize("name", sorted(SELECTORS))
def test_numpy_generator_random_state_is_accepted(name, small):
    """A np.random.Generator is a random_state like any other: two fresh generators with one seed
    give one selection (it used to fail: "cannot be used to seed a RandomState instance")."""
    X, y = small
    fits = [make_selector(name, **_params(name, budget=20, random_state=np.random.default_rng(0))
                          ).fit(X, y) for _ in range(2)]
    assert len(np.unique(fits[0].indices_)) == 20
    np.testing.assert_array_equal(fits[0].indices_, fits[1].indices_)


# ---------------------------------------------------------------- every parameter, before any work
PROXY_SELECTORS = sorted(n for n in SELECTORS if getattr(SELECTORS[n](), "uses_proxy", False))
FEATURE_SELECTORS = sorted(n for n in SELECTORS if "features" in SELECTORS[n]().get_params())
SCORE_SELECTORS = sorted(n for n in SELECTORS if "skip_top" in SELECTORS[n]().get_params())


def _bad_params():
    cases = [(n, {"class_balanced": "yes"}, TypeError,
              r"class_balanced must be True or False, got 'yes'") for n in sorted(SELECTORS)]
    for n in PROXY_SELECTORS:
        cases += [(n, {"proxy_model": "resnet"}, ValueError,
                   r"proxy_model='resnet' is not a known model; choose one of \['logreg'"),
                  (n, {"proxy_epochs": 0}, ValueError, r"proxy_epochs=0 must be a number > 0"),
                  (n, {"proxy_model": "convnet"}, ValueError,
                   r"proxy_model='convnet' needs image_shape=\(C, H, W\); got None"),
                  (n, {"proxy_model": "convnet", "image_shape": (1, 28, 28)}, ValueError,
                   r"image_shape=\(1, 28, 28\) does not match the 64 features of X"),
                  (n, {"device": "gpu"}, ValueError, r"device='gpu' is not supported")]
    for n in FEATURE_SELECTORS:
        cases.append((n, {"features": "pixels"}, ValueError,
                      r"features='pixels' must be one of \['embedding', 'raw'\]"))
    for n in SCORE_SELECTORS:
        cases += [(n, {"skip_top": 1.0}, ValueError,
                   r"skip_top=1.0 must be a fraction in \[0, 1\)"),
                  (n, {"skip_top": -0.1}, ValueError, r"skip_top=-0.1 must be a fraction")]
    for n in ("facility_location", "craig"):
        cases += [(n, {"similarity": "l1"}, ValueError, r"similarity='l1' is not supported"),
                  (n, {"gamma": -1.0}, ValueError, r"gamma must be a positive finite number or "
                                                   r"None \(median heuristic\), got -1.0"),
                  (n, {"optimizer": "random"}, ValueError, r"optimizer='random' is not supported"),
                  (n, {"optimizer": "stochastic", "epsilon": 2.0}, ValueError, r"epsilon=2.0"),
                  (n, {"graph": "sparse"}, ValueError,
                   r"graph='sparse' is not supported; use one of \('dense', 'knn'\)"),
                  (n, {"graph": "knn", "n_neighbors": 0}, ValueError,
                   r"n_neighbors=0 must be an int >= 1"),
                  (n, {"graph": "knn", "index": "hnsw"}, ValueError,
                   r"index='hnsw' is not supported")]
    for n in ("kcenter", "herding"):
        cases.append((n, {"chunk_size": 0}, ValueError, r"chunk_size=0 must be a positive int"))
    cases += [("ccs", {"proxy_score": "forgetting"}, ValueError, r"proxy_score='forgetting' is not a proxy"),
              ("ccs", {"beta": 1.0}, ValueError, r"beta=1.0 must be a fraction in \[0, 1\)"),
              ("ccs", {"n_strata": 0}, ValueError, r"n_strata=0 must be a positive int"),
              ("kmeans", {"n_init": 0}, ValueError, r"n_init=0 must be an int >= 1 or 'auto'"),
              ("kmeans", {"minibatch_threshold": 0.5}, ValueError, r"minibatch_threshold=0.5"),
              ("dbscan", {"method": "optics"}, ValueError, r"method='optics' must be one of"),
              ("dbscan", {"eps": -1.0}, ValueError, r"eps=-1.0 must be a positive number, or None"),
              ("dbscan", {"min_samples": 0}, ValueError, r"min_samples=0 must be an int >= 1"),
              ("dbscan", {"max_iter": 0}, ValueError, r"max_iter=0 must be an int >= 1"),
              ("dbscan", {"noise": "drop"}, ValueError, r"noise='drop' must be 'exclude' or")]
    return cases


BAD_PARAMS = _bad_params()


@pytest.mark.parametrize("name, params, exc, match", BAD_PARAMS,
                         ids=[f"{c[0]}-{'-'.join(c[1])}-{i}" for i, c in enumerate(BAD_PARAMS)])
def test_every_parameter_is_checked_before_any_work(name, params, exc, match, small, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("work started before the parameters were checked")

    for cls in SELECTORS[name].__mro__:                  # every _prepare on the way to the base
        if "_prepare" in vars(cls):
            monkeypatch.setattr(cls, "_prepare", no_work)
    X, y = small
    sel = make_selector(name, budget=20, **params)
    with pytest.raises(exc, match=match):
        sel.fit(X, y)
    assert not hasattr(sel, "indices_")


@pytest.mark.parametrize("name", SCORE_SELECTORS)
def test_skip_top_is_checked_before_the_proxy_trains(name, small, monkeypatch):
    """skip_top used to be checked per pool, after the proxy had trained."""
    def no_proxy(*args, **kwargs):
        raise AssertionError("the proxy trained before skip_top was checked")

    monkeypatch.setattr(proxy_scores, "proxy_outputs", no_proxy)
    with pytest.raises(ValueError, match=r"skip_top=1.5 must be a fraction in \[0, 1\)"):
        make_selector(name, budget=20, skip_top=1.5).fit(*small)


def test_missing_labels_use_scikit_learns_wording(small):
    X, _ = small
    with pytest.raises(ValueError, match=r"EL2NSelector requires y to be passed, but the target y "
                                         r"is None: its selection uses the labels"):
        make_selector("el2n", budget=10).fit(X)
    with pytest.raises(ValueError, match=r"requires y to be passed.*class_balanced=True splits"):
        make_selector("kmeans", budget=10).fit(X)
    with pytest.raises(ValueError, match=r"requires y.*use features='raw' for unlabeled data"):
        make_selector("kcenter", budget=10, features="embedding").fit(X)
    assert len(make_selector("kcenter", budget=10, features="raw").fit(X).indices_) == 10


# ---------------------------------------------------------------- scikit-learn's estimator checks
def _small_and_fast(name):
    """Each selector with settings that fit scikit-learn's small random data in a blink: budget 2,
    no class balancing (their y has fewer samples per class than a budget split needs), raw
    features where that is an option and a one-epoch proxy otherwise."""
    params = {"budget": 2, "random_state": 0, "class_balanced": False}
    accepted = SELECTORS[name]().get_params()
    if accepted.get("features") == "embedding" and name != "craig":
        params["features"] = "raw"
    if "proxy_epochs" in accepted:
        params["proxy_epochs"] = 1.0
    return SELECTORS[name](**params)


CHECK_ESTIMATORS = [_small_and_fast(n) for n in sorted(SELECTORS)]


def _expected_failures(estimator):
    return {}   # every check applies to a subset selector (sparse input is rejected by design)


if tuple(int(v) for v in sklearn.__version__.split(".")[:2]) >= (1, 6):
    @parametrize_with_checks(CHECK_ESTIMATORS, expected_failed_checks=_expected_failures)
    def test_scikit_learn_estimator_checks(estimator, check, monkeypatch):
        # The checks test the estimator API, not the proxy: one optimizer step instead of the
        # 200-step floor that keeps real proxies away from chance (see proxy.MIN_STEPS).
        monkeypatch.setattr(proxy, "MIN_STEPS", 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # e.g. DBSCAN's single-cluster note on random data
            check(estimator)
else:
    @pytest.mark.skip(reason="expected_failed_checks needs scikit-learn >= 1.6")
    def test_scikit_learn_estimator_checks():
        pass


def _counting_fit_proxy(monkeypatch):
    calls = []
    original = proxy.fit_proxy

    def counted(*args, **kwargs):
        calls.append(kwargs.get("random_state"))
        return original(*args, **kwargs)

    monkeypatch.setattr(proxy, "fit_proxy", counted)
    return calls


def test_shared_proxies_trains_one_proxy_per_seed_with_the_same_picks(small, monkeypatch):
    X, y = small
    names = ["el2n", "margin", "kcenter", "ccs"]

    def fit(name, budget, seed):
        return make_selector(name, **_params(name, budget=budget, random_state=seed,
                                             class_balanced=True)).fit(X, y)

    fresh = {(n, b, s): fit(n, b, s) for n in names for b in (30, 60) for s in (0, 1)}
    calls = _counting_fit_proxy(monkeypatch)
    with proxy.shared_proxies():
        shared = {(n, b, s): fit(n, b, s) for n in names for b in (30, 60) for s in (0, 1)}
    assert len(calls) == 2 and len(set(calls)) == 2       # one proxy for seed 0, one for seed 1
    alone = min(fresh[key].selection_seconds_ for key in fresh)
    for key, sel in shared.items():
        np.testing.assert_array_equal(sel.indices_, fresh[key].indices_)
        # a reused proxy is billed: no selection looks cheaper than the proxy it needed
        assert sel.selection_seconds_ >= 0.5 * alone
    fit("el2n", 30, 0)                       # outside the block: its own proxy again
    assert len(calls) == 3


def test_shared_proxy_outputs_are_copies_and_keyed_by_data_and_settings(small, monkeypatch):
    X, y = small
    calls = _counting_fit_proxy(monkeypatch)
    with proxy.shared_proxies():
        a = proxy.proxy_outputs(X, y, epochs=0.5, random_state=3, device="cpu")
        a["probs"][:] = 0.0                                       # the caller's copy only
        b = proxy.proxy_outputs(X, y, epochs=0.5, random_state=3, device="cpu")
        assert len(calls) == 1 and b["probs"].sum() > 0
        proxy.proxy_outputs(X[:-1], y[:-1], epochs=0.5, random_state=3, device="cpu")
        proxy.proxy_outputs(X, y, epochs=1.0, random_state=3, device="cpu")
        # unseeded: never shared
        proxy.proxy_outputs(X, y, epochs=0.5, random_state=None, device="cpu")
        proxy.proxy_outputs(X, y, epochs=0.5, random_state=None, device="cpu")
        assert len(calls) == 5
        with proxy.shared_proxies():                               # nested: the outer store
            proxy.proxy_outputs(X, y, epochs=0.5, random_state=3, device="cpu")
        proxy.proxy_outputs(X, y, epochs=0.5, random_state=3, device="cpu")
        assert len(calls) == 5
    proxy.proxy_outputs(X, y, epochs=0.5, random_state=3, device="cpu")
    assert len(calls) == 6


def test_billed_seconds_counts_each_reuse_at_the_training_cost(small):
    X, y = small
    with proxy.shared_proxies():
        t0 = proxy.billed_seconds()
        proxy.proxy_outputs(X, y, epochs=0.5, random_state=4, device="cpu")
        assert proxy.billed_seconds() == t0                       # trained, not billed
        proxy.proxy_outputs(X, y, epochs=0.5, random_state=4, device="cpu")
        proxy.proxy_outputs(X, y, epochs=0.5, random_state=4, device="cpu")
        billed = proxy.billed_seconds() - t0
    assert billed > 0
    start = __import__("time").perf_counter()
    proxy.proxy_outputs(X, y, epochs=0.5, random_state=4, device="cpu")
    alone = __import__("time").perf_counter() - start
    assert 0.2 * alone < billed / 2 < 5 * alone + 0.5
