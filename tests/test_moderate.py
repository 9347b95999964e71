"""Moderate coreset (criteria/moderate.py): hand-checked distances and median-distance picks."""
import numpy as np
import pytest

from distill_lab.criteria import rank
from distill_lab.criteria import moderate as mod

# Class 0 at -3, -1, 0, 1, 3: centre 0, distances 3, 1, 0, 1, 3, median 1.
# Class 1 at 10, 11, 12, 16: centre 12.25, distances 2.25, 1.25, 0.25, 3.75, median 1.75.
X = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 10.0, 11.0, 12.0, 16.0])[:, None]
y = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1])


def test_center_distances_by_hand():
    np.testing.assert_allclose(mod.center_distances(X, y), [3, 1, 0, 1, 3, 2.25, 1.25, 0.25, 3.75])


def test_moderate_keeps_the_median_distance_samples_first():
    score = mod.moderate(X, y)
    np.testing.assert_allclose(score, [-2, 0, -1, 0, -2, -0.5, -0.5, -1.5, -2])
    order = rank(score)
    assert order[:4].tolist() == [1, 3, 5, 6]                   # at or nearest the class medians
    assert set(order[-3:].tolist()) == {0, 4, 8}                 # the farthest from them


def test_moderate_without_labels_is_one_class():
    np.testing.assert_allclose(mod.moderate(X[:5]), [-2, 0, -1, 0, -2])


def test_moderate_bad_input():
    with pytest.raises(ValueError, match="features contains 1 NaN"):
        mod.moderate(np.array([[0.0], [np.nan]]))
    with pytest.raises(ValueError, match="same length"):
        mod.moderate(X, y[:-1])
