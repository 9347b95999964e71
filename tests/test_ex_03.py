"""`expected_calibration_error` (notebook 03): hand-checked values and the reliability diagram's
own bins (`plots.confidence_bins`) as the oracle."""
import numpy as np
import pytest

from distill_lab import plots
from distill_lab.criteria.entropy import expected_calibration_error


def test_hand_checked_values():
    # confidences 0.9 (right), 0.9 (wrong), 0.6 (right): bins (0.8, 0.9] and (0.5, 0.6]
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.4, 0.6]])
    y = np.array([0, 1, 1])
    # bin 0.9: acc 0.5, conf 0.9 -> 2/3 * 0.4; bin 0.6: acc 1, conf 0.6 -> 1/3 * 0.4
    assert expected_calibration_error(probs, y) == pytest.approx(0.4)
    assert expected_calibration_error(np.eye(3), np.arange(3)) == 0.0


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
def test_matches_the_reliability_diagrams_bins(n_bins):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(5, 0.3), size=400)
    y = rng.integers(0, 5, 400)
    bins = plots.confidence_bins(probs, y, n_bins)
    full = bins["count"] > 0
    expected = (bins["count"][full] * np.abs(bins["accuracy"][full] - bins["confidence"][full])).sum() / 400
    assert expected_calibration_error(probs, y, n_bins) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("probs, y, n_bins", [
    (np.array([[0.5, 0.6]]), [0], 10),    # a row that does not sum to 1
    (np.array([[0.5, 0.5]]), [0, 1], 10),  # one label per row
    (np.array([[0.5, 0.5]]), [0], 0),
    (np.array([[0.5, 0.5]]), [0], 2.0),
    (np.array([[0.5, 0.5]]), [0], True),
])
def test_rejects_bad_input(probs, y, n_bins):
    with pytest.raises(ValueError):
        expected_calibration_error(probs, y, n_bins)
