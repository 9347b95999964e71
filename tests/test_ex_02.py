"""`craig_bound` (notebook 02's measure of CRAIG's bound): hand-checked values, brute force on
random data, and the inequality it bounds."""
import numpy as np
import pytest

from distill_lab.criteria.gradient import craig, craig_bound, gradient_features


def test_hand_checked_value():
    G = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 1.0]])
    # picks 0 and 2: distances to the nearest pick 0, 5, 0, 1
    assert craig_bound(G, [0, 2]) == pytest.approx(6.0)
    assert craig_bound(G, np.arange(4)) == 0.0


@pytest.mark.parametrize("chunk_size", [1, 7, 2048])
def test_matches_brute_force_in_any_chunking(chunk_size):
    rng = np.random.default_rng(0)
    G = rng.normal(size=(50, 6))
    idx = rng.choice(50, 9, replace=False)
    brute = np.linalg.norm(G[:, None, :] - G[idx][None], axis=2).min(axis=1).sum()
    # distances come from |a|^2 + |b|^2 - 2ab: a pick's zero distance to itself is exact only to ~1e-8
    assert craig_bound(G, idx, chunk_size=chunk_size) == pytest.approx(brute, rel=1e-6)


def test_bounds_the_weighted_discrepancy_of_craig():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(4), size=200)
    G = gradient_features(probs, rng.integers(0, 4, 200))
    idx, w = craig(G, 20, random_state=0)
    gap = np.linalg.norm(G.sum(axis=0) - (w[:, None] * G[idx]).sum(axis=0))
    assert gap <= craig_bound(G, idx) + 1e-9


@pytest.mark.parametrize("indices, chunk_size", [([], 8), ([0, 0], 8), ([5], 8), ([0], 0), ([0], 1.5)])
def test_rejects_bad_input(indices, chunk_size):
    with pytest.raises((ValueError, TypeError)):
        craig_bound(np.zeros((4, 2)), indices, chunk_size=chunk_size)
