"""Representative criteria (`kcenter`, `herding`, `facility_dense` with `lazy_greedy`, through the
`representative` re-export): hand-checked picks, brute-force and naive-greedy oracles."""
import math

import numpy as np
import pytest

from distill_lab import problem
from distill_lab.criteria import facility_dense, lazy_greedy
from distill_lab.criteria import representative as rep


def line(n):
    return np.arange(n, dtype=np.float64)[:, None]                 # points 0, 1, ..., n-1


# ----------------------------------------------------------------------------- k-center
def test_kcenter_from_the_middle_picks_the_extremes_then_the_gaps():
    # From 5 on 0..10: 0 and 10 tie at distance 5 (lower index first), then the largest gap, 2.
    assert rep.kcenter_greedy(line(11), 3, initial=[5]).tolist() == [0, 10, 2]


def test_kcenter_second_pick_is_farthest_from_the_random_first():
    X = np.random.default_rng(0).normal(size=(50, 3))
    first, second = rep.kcenter_greedy(X, 2, random_state=3)
    d = np.linalg.norm(X - X[first], axis=1)
    assert second == np.argmax(d)


def test_kcenter_is_a_2_approximation_of_the_brute_force_radius():
    rng = np.random.default_rng(1)
    for trial in range(15):
        n, k = int(rng.integers(5, 11)), int(rng.integers(1, 4))
        X = rng.normal(size=(n, 2))
        _, opt = problem.brute_force(lambda s: problem.kcenter_radius(X, s), n, k,
                                     maximize=False)
        picked = rep.kcenter_greedy(X, k, random_state=trial)
        assert problem.kcenter_radius(X, picked) <= 2 * opt + 1e-12


def test_kcenter_deterministic_unique_and_excludes_initial():
    X = np.random.default_rng(2).normal(size=(200, 4)).astype(np.float32)
    a = rep.kcenter_greedy(X, 30, random_state=7)
    assert np.array_equal(a, rep.kcenter_greedy(X, 30, random_state=7))
    assert a.dtype == np.int64 and len(np.unique(a)) == 30
    b = rep.kcenter_greedy(X, 0.1, initial=[0, 1, 2], chunk_size=2)
    assert len(b) == 20 and not set(b) & {0, 1, 2} and len(np.unique(b)) == 20


def test_kcenter_with_duplicates_never_repeats():
    X = np.zeros((6, 2))
    assert sorted(rep.kcenter_greedy(X, 6, random_state=0).tolist()) == list(range(6))


# ----------------------------------------------------------------------------- herding
def test_herding_hand_checked():
    # mean 0.1: nearest is 0.5; then -1 (mean -0.25), 1 (1/6), -3 (-0.625 beats 0.875), 3.
    X = np.array([[-3.0], [-1.0], [1.0], [3.0], [0.5]])
    assert rep.herding(X, 5).tolist() == [4, 1, 2, 0, 3]


def test_herding_symmetric_data_starts_at_the_mean():
    X = np.array([[1, 0], [-1, 0], [0, 1], [0, -1], [0.1, 0.0], [2, 2], [-2, -2]])
    assert rep.herding(X, 1).tolist() == [4]


def test_herding_is_the_greedy_mean_matching():
    rng = np.random.default_rng(3)
    for _ in range(5):
        X = rng.normal(size=(12, 3))
        gap = lambda s: np.linalg.norm(X[s].mean(axis=0) - X.mean(axis=0))  # noqa: E731
        expected, _ = problem.greedy(gap, 12, 6, maximize=False)
        assert rep.herding(X, 6).tolist() == expected.tolist()


# ----------------------------------------------------------------------------- facility location
def naive_greedy_gaps(S, picks):
    """Replay `picks` on the dense similarity S: how far each pick falls short of the best gain."""
    cover, gaps = np.zeros(len(S)), []
    for t, j in enumerate(picks):
        gains = np.maximum(S - cover[:, None], 0).sum(axis=0)       # (n,) plain greedy gains
        gains[picks[:t]] = -np.inf
        gaps.append(gains.max() - gains[j])
        cover = np.maximum(cover, S[:, j])
    return np.array(gaps)


@pytest.mark.parametrize("n_neighbors", [2, 8, 1000])
@pytest.mark.parametrize("similarity", ["rbf", "cosine"])
def test_lazy_facility_location_equals_plain_greedy(monkeypatch, n_neighbors, similarity):
    # Small neighbour lists and batches force every path: dense rows, sparse rows, re-batching.
    monkeypatch.setattr(facility_dense, "_N_NEIGHBORS", n_neighbors)
    monkeypatch.setattr(lazy_greedy, "_BATCH", 2)
    rng = np.random.default_rng(n_neighbors)
    for trial in range(4):
        n = int(rng.integers(30, 150))
        X = rng.normal(size=(n, int(rng.integers(1, 5))))
        if trial % 2:
            X = np.round(X, 1)                                      # duplicates, exact ties
        k = int(rng.integers(1, n))
        gamma = rep.median_gamma(X) if similarity == "rbf" else None
        picks, weights = rep.facility_location(X, k, similarity=similarity, gamma=gamma,
                                               chunk_size=int(rng.integers(5, 60)))
        S = rep.similarity_matrix(X, similarity=similarity, gamma=gamma)
        assert np.all(naive_greedy_gaps(S, list(picks)) <= 1e-12)
        assert len(np.unique(picks)) == k and weights.sum() == n


def test_facility_location_matches_problem_greedy_and_brute_force():
    rng = np.random.default_rng(4)
    for _ in range(6):
        n, k = int(rng.integers(6, 11)), int(rng.integers(1, 4))
        X = rng.normal(size=(n, 2))
        value = lambda s: problem.facility_location_value(X, s)     # noqa: E731
        expected, values = problem.greedy(value, n, k, maximize=True)
        picks, _ = rep.facility_location(X, k)
        assert picks.tolist() == expected.tolist()
        _, opt = problem.brute_force(value, n, k, maximize=True)
        assert values[-1] <= opt + 1e-12


@pytest.mark.parametrize("optimizer", ["lazy", "stochastic"])
@pytest.mark.parametrize("similarity", ["rbf", "cosine"])
def test_facility_engine_against_brute_force_on_tiny_instances(monkeypatch, optimizer,
                                                                similarity):
    # The engine (blocked kernel, neighbour lists, cover, optimizers) on every subset of tiny n:
    # its reported objective is F of its picks, k = 1 is the exact optimum, and every k is within
    # greedy's (1 - 1/e) of the brute-force optimum (stochastic: with epsilon's slack).
    monkeypatch.setattr(facility_dense, "_N_NEIGHBORS", 2)   # sparse rows early: every path
    rng = np.random.default_rng(11)
    for trial in range(8):
        n = int(rng.integers(4, 10))
        X = rng.normal(size=(n, int(rng.integers(1, 4))))
        gamma = rep.median_gamma(X) if similarity == "rbf" else None
        S = rep.similarity_matrix(X, similarity=similarity, gamma=gamma)

        def value(s):
            return problem.facility_location_value(S, s, similarity="precomputed")

        for k in range(1, min(n, 4) + 1):
            picks, weights, objective = rep.facility_location(
                X, k, similarity=similarity, gamma=gamma, chunk_size=int(rng.integers(1, 6)),
                optimizer=optimizer, epsilon=0.1, random_state=trial, return_objective=True)
            _, opt = problem.brute_force(value, n, k, maximize=True)
            assert objective == pytest.approx(value(picks), rel=1e-12)
            assert len(np.unique(picks)) == k and weights.sum() == n
            if k == 1 and optimizer == "lazy":
                assert objective == pytest.approx(opt, rel=1e-12)
            slack = 0.1 if optimizer == "stochastic" else 0.0
            assert objective >= (1 - 1 / math.e - slack) * opt - 1e-12


def test_facility_location_weights_count_nearest_picks():
    X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [10.0]])
    picks, weights = rep.facility_location(X, 3, gamma=1.0)
    # Three clusters, one pick each; every sample is counted at its cluster's pick.
    assert sorted(picks.tolist()) == [1, 4, 5] or sorted(picks.tolist()) == [1, 3, 5]
    counts = dict(zip(picks.tolist(), weights.tolist()))
    assert counts[1] == 3 and counts[5] == 1 and weights.sum() == 6


def test_facility_location_deterministic_float32_and_fraction_budget():
    X = np.random.default_rng(5).normal(size=(300, 8)).astype(np.float32)
    a, wa = rep.facility_location(X, 0.1, random_state=0)
    b, wb = rep.facility_location(X, 30, random_state=0)
    assert np.array_equal(a, b) and np.array_equal(wa, wb) and len(a) == 30
    assert a.dtype == np.int64 and wa.dtype == np.float64 and wa.sum() == 300


# ----------------------------------------------------------------------------- helpers, errors
def test_similarity_matrix_closed_forms():
    A = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert np.allclose(rep.similarity_matrix(A, gamma=0.5), [[1, np.exp(-12.5)],
                                                               [np.exp(-12.5), 1]])
    B = np.array([[1.0, 0.0], [-2.0, 0.0], [0.0, 7.0]])
    assert np.allclose(rep.similarity_matrix(B, similarity="cosine")[0], [1, 0, 0.5])
    assert rep.median_gamma(line(3)) == 1.0                          # squared gaps 1, 1, 4


def test_median_gamma_falls_back_to_one_over_n_features_when_degenerate():
    """Issue 10 item 8: one sample or identical rows used to raise "pass gamma explicitly"."""
    assert rep.median_gamma(np.ones((1, 4))) == 0.25                  # one sample: no pair
    assert rep.median_gamma(np.zeros((5, 2))) == 0.5                  # identical rows
    dup = np.vstack([np.zeros((9, 2)), [[3.0, 4.0]]])                 # median 0, max 25
    with pytest.warns(UserWarning, match=r"mostly duplicate rows.*1 / n_features = 0.5"):
        assert rep.median_gamma(dup) == 0.5
    idx, w = rep.facility_location(np.zeros((5, 2)), 2)              # all similarities are 1
    assert sorted(idx.tolist()) == [0, 1] and w.tolist() == [5.0, 0.0]
    idx, w = rep.facility_location(np.ones((1, 3)), 1)
    assert idx.tolist() == [0] and w.tolist() == [1.0]


def test_self_similarity_is_each_rows_maximum():
    X = np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 2.0]])
    for similarity in ("rbf", "cosine"):
        S = rep.similarity_matrix(X, similarity=similarity, gamma=0.3)
        np.testing.assert_allclose(rep.self_similarity(X, similarity), S.max(axis=1))
    assert rep.self_similarity(X, "cosine").tolist() == [1.0, 0.5, 1.0]


@pytest.mark.parametrize("call, match", [
    (lambda: rep.kcenter_greedy(line(5), 6), "budget"),
    (lambda: rep.kcenter_greedy(line(5), 2, initial=[0, 0]), "initial"),
    (lambda: rep.kcenter_greedy(line(5), 2, initial=[9]), "initial"),
    (lambda: rep.kcenter_greedy(line(5), 4, initial=[0, 1]), "budget"),
    (lambda: rep.herding(np.ones(5), 2), "2-D"),
    (lambda: rep.facility_location(line(5), 2, similarity="l1"), "similarity"),
    (lambda: rep.facility_location(line(5), 2, gamma=-1.0), "gamma"),
    (lambda: rep.facility_location(line(5), 2, chunk_size=0), "chunk_size"),
    (lambda: rep.facility_location(line(5), 0.0), "budget"),
])
def test_bad_input_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
