"""The formal subset problem: surrogates checked by hand, brute force and the greedy guarantee."""
import itertools
import math

import numpy as np
import pytest

from distill_lab import problem
from distill_lab.criteria import representative as rep

# Four points on a line; k-center with k = 2 is small enough to solve with pencil and paper.
X4 = np.array([[0.0], [1.0], [3.0], [7.0]])


def test_brute_force_by_hand_on_four_points():
    # Radii of the six pairs: {0,1}:6 {0,2}:4 {0,3}:3 {1,2}:4 {1,3}:2 {2,3}:3.
    radius = lambda s: problem.kcenter_radius(X4, s)                # noqa: E731
    best, value = problem.brute_force(radius, 4, 2, maximize=False)
    assert best.tolist() == [1, 3] and value == 2.0
    worst, value = problem.brute_force(radius, 4, 2, maximize=True)
    assert worst.tolist() == [0, 1] and value == 6.0
    # Ties go to the first subset: {0,2} and {1,2} both have radius 4.
    assert problem.brute_force(lambda s: abs(radius(s) - 4), 4, 2, maximize=False)[0].tolist() \
        == [0, 2]
    # k = n: the only subset is everything.
    assert problem.brute_force(radius, 4, 4, maximize=False)[0].tolist() == [0, 1, 2, 3]


def test_brute_force_visits_every_subset_once():
    seen = []
    problem.brute_force(lambda s: seen.append(tuple(s)) or 0.0, 6, 3, maximize=True)
    assert sorted(seen) == list(itertools.combinations(range(6), 3))


def test_greedy_by_hand_and_values():
    # sum of chosen weights minus a pair penalty: greedy takes 3 (5.0) then 0 (4.0 - 0).
    w = np.array([4.0, 1.0, 2.0, 5.0])
    value = lambda s: float(w[s].sum() - 10 * (2 in s and 3 in s))  # noqa: E731
    picks, values = problem.greedy(value, 4, 2, maximize=True)
    assert picks.tolist() == [3, 0] and values.tolist() == [5.0, 9.0]
    picks, values = problem.greedy(value, 4, 1, maximize=False)
    assert picks.tolist() == [1] and values.tolist() == [1.0]


def test_greedy_facility_location_within_1_minus_1_over_e_of_the_optimum():
    rng = np.random.default_rng(0)
    ratios = []
    for trial in range(40):
        n = int(rng.integers(4, 13))
        k = int(rng.integers(1, min(n, 5) + 1))
        S = rep.similarity_matrix(rng.normal(size=(n, 2)) * rng.uniform(0.3, 3))
        value = lambda s: problem.facility_location_value(S, s, similarity="precomputed")  # noqa
        _, values = problem.greedy(value, n, k, maximize=True)
        _, opt = problem.brute_force(value, n, k, maximize=True)
        assert values[-1] <= opt + 1e-12                             # greedy never beats OPT
        assert values[-1] >= (1 - 1 / math.e) * opt - 1e-12
        assert np.all(np.diff(values) >= -1e-12)                     # monotone
        ratios.append(values[-1] / opt)
    assert min(ratios) < 1                                           # some instance is hard


def test_kcenter_radius_and_facility_location_by_hand():
    assert problem.kcenter_radius(X4, [0, 3]) == 3.0                 # 3 is 3 from 0
    assert problem.kcenter_radius(X4, [0, 1, 2, 3]) == 0.0
    S = np.array([[1.0, 0.2, 0.5], [0.2, 1.0, 0.1], [0.5, 0.1, 1.0]])
    assert problem.facility_location_value(S, [0], similarity="precomputed") == 1.7
    assert problem.facility_location_value(S, [0, 1], similarity="precomputed") == 2.5
    # rbf with gamma = 1 on X4, S = {1}: exp(-1) + 1 + exp(-4) + exp(-36).
    expected = np.exp(-1) + 1 + np.exp(-4) + np.exp(-36)
    assert np.isclose(problem.facility_location_value(X4, [1], gamma=1.0), expected)


def test_mmd2_by_hand_and_zero_on_all():
    X = np.array([[0.0], [1.0]])
    # gamma = 1, S = {0}: K(D,D) mean (2 + 2e^-1)/4, K(S,S) = 1, K(D,S) mean (1 + e^-1)/2.
    e = np.exp(-1)
    assert np.isclose(problem.mmd2(X, [0], gamma=1.0), (2 + 2 * e) / 4 + 1 - (1 + e))
    Xr = np.random.default_rng(1).normal(size=(30, 3))
    assert problem.mmd2(Xr, np.arange(30)) == 0.0
    assert problem.mmd2(Xr, np.arange(30), chunk_size=7) == 0.0
    assert problem.mmd2(Xr, [0, 1]) > problem.mmd2(Xr, np.arange(20)) > 0


def test_gradient_discrepancy_by_hand():
    G = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])               # mean (1, 1)
    assert problem.gradient_discrepancy(G, [2]) == np.sqrt(2)        # |(1,1) - (2,2)|
    assert problem.gradient_discrepancy(G, [2], weights=[0.5]) == 0.0
    assert np.isclose(problem.gradient_discrepancy(G, [0, 1]), np.sqrt(0.5))
    assert np.isclose(problem.gradient_discrepancy(G, [0, 1, 2]), 0.0)


def test_bilevel_loss_full_set_is_zero_and_single_class_is_infinite():
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(-2, 1, (8, 2)), rng.normal(2, 1, (8, 2))])
    y = np.repeat([0, 1], 8)
    assert problem.bilevel_loss(X, y, np.arange(16)) == 0.0
    assert problem.bilevel_loss(X, y, [0, 1, 2]) == np.inf           # one class only
    # Evaluated only on its own class, the constant predictor p(0) = 1 has zero risk.
    from sklearn.linear_model import LogisticRegression
    full = LogisticRegression(C=1.0, max_iter=5000).fit(X, y)
    own = -np.mean(np.log(full.predict_proba(X[:8])[:, 0]))
    assert np.isclose(problem.bilevel_loss(X, y, [0, 1], X[:8], y[:8]), 0.0 - own)
    value = problem.bilevel_loss(X, y, [0, 1, 8, 9])
    assert np.isfinite(value) and value > 0                          # 4 points fit worse


@pytest.mark.parametrize("call, match", [
    (lambda: problem.brute_force(lambda s: 0.0, 21, 2, maximize=True), "n=21, k=2"),
    (lambda: problem.brute_force(lambda s: 0.0, 5, 6, maximize=True), "k=6"),
    (lambda: problem.brute_force(lambda s: np.nan, 5, 2, maximize=True), "NaN"),
    (lambda: problem.brute_force(lambda s: 0.0, 5, 2, maximize=1), "maximize"),
    (lambda: problem.greedy("f", 5, 2, maximize=True), "callable"),
    (lambda: problem.greedy(lambda s: 0.0, 5, 0, maximize=True), "k=0"),
    (lambda: problem.kcenter_radius(X4, [0, 0]), "repeat"),
    (lambda: problem.kcenter_radius(X4, [4]), r"\[0, 4\)"),
    (lambda: problem.kcenter_radius(X4, []), "non-empty"),
    (lambda: problem.gradient_discrepancy(X4, [0], weights=[1.0, 2.0]), "weights"),
    (lambda: problem.facility_location_value(X4, [0], similarity="precomputed"), "square"),
    (lambda: problem.bilevel_loss(X4, [0, 1, 0, 1], [0, 1], X_eval=X4), "together"),
])
def test_bad_input_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
