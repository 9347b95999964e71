"""Stochastic greedy (criteria/stochastic_greedy.py) for facility location and CRAIG: against lazy
greedy and the brute-force optimum on small random problems."""
import numpy as np
import pytest

from distill_lab import problem
from distill_lab.criteria import gradient as grad
from distill_lab.criteria import representative as rep
from distill_lab.criteria.stochastic_greedy import sample_size, stochastic_greedy


def test_sample_size_by_hand():
    assert sample_size(100, 10, 0.01) == 47                     # ceil(10 * ln 100) = ceil(46.05)
    assert sample_size(20, 4, 0.3) == 7                          # ceil(5 * 1.204)
    assert sample_size(20, 4, 1e-9) == 20                        # never more than n


@pytest.mark.parametrize("seed", range(5))
def test_stochastic_within_95_percent_of_lazy_and_both_below_brute_force(seed):
    X = np.random.default_rng(seed).normal(size=(20, 2))
    gamma = rep.median_gamma(X)
    value = lambda s: problem.facility_location_value(X, s, gamma=gamma)   # noqa: E731
    lazy, _, f_lazy = rep.facility_location(X, 4, gamma=gamma, return_objective=True)
    picks, weights, f_sto = rep.facility_location(X, 4, gamma=gamma, optimizer="stochastic",
                                                  epsilon=0.2, random_state=seed,
                                                  return_objective=True)
    _, opt = problem.brute_force(value, 20, 4, maximize=True)
    assert f_sto >= 0.95 * f_lazy
    assert max(f_lazy, f_sto) <= opt + 1e-9
    assert np.isclose(f_sto, value(picks)) and np.isclose(f_lazy, value(lazy))
    assert len(np.unique(picks)) == 4 and weights.sum() == 20


def test_stochastic_same_random_state_same_picks_and_close_to_lazy_on_300():
    X = np.random.default_rng(7).normal(size=(300, 5)).astype(np.float32)
    a = rep.facility_location(X, 30, optimizer="stochastic", random_state=0, return_objective=True)
    b = rep.facility_location(X, 30, optimizer="stochastic", random_state=0, return_objective=True)
    c = rep.facility_location(X, 30, optimizer="stochastic", random_state=1)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert not np.array_equal(a[0], c[0])
    lazy = rep.facility_location(X, 30, random_state=0, return_objective=True)
    assert a[2] >= 0.95 * lazy[2]


def test_stochastic_with_every_candidate_sampled_is_plain_greedy():
    X = np.random.default_rng(3).normal(size=(60, 3))
    lazy, _ = rep.facility_location(X, 8, gamma=0.5)
    full, _ = rep.facility_location(X, 8, gamma=0.5, optimizer="stochastic", epsilon=1e-12)
    assert full.tolist() == lazy.tolist()


def test_stochastic_greedy_on_a_modular_function_picks_the_best_of_each_sample():
    # gains = fixed weights: each step picks the largest weight among the sampled candidates.
    w = np.arange(10.0)
    calls = []

    def gains(ids):
        calls.append(len(ids))
        return w[ids]

    picks = stochastic_greedy(10, 3, gains, lambda j: None, epsilon=0.5, random_state=0)
    assert len(np.unique(picks)) == 3 and calls == [sample_size(10, 3, 0.5)] * 3


def test_craig_passes_the_optimizer_and_reports_the_objective():
    G = np.random.default_rng(4).normal(size=(120, 6))
    idx, w, f = grad.craig(G, 12, optimizer="stochastic", random_state=0, return_objective=True)
    ref = rep.facility_location(G, 12, optimizer="stochastic", random_state=0,
                                return_objective=True)
    assert np.array_equal(idx, ref[0]) and np.array_equal(w, ref[1]) and f == ref[2]


@pytest.mark.parametrize("kwargs, match", [
    ({"optimizer": "naive"}, r"optimizer='naive' is not supported.*'lazy', 'stochastic'"),
    ({"optimizer": "stochastic", "epsilon": 0.0}, r"epsilon=0.0 must be a number in \(0, 1\)"),
    ({"optimizer": "stochastic", "epsilon": 1.5}, r"epsilon=1.5"),
])
def test_bad_optimizer_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rep.facility_location(np.arange(10.0)[:, None], 3, **kwargs)
