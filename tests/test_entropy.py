"""Uncertainty criteria against hand-computed values, sign conventions and input checks."""
import numpy as np
import pytest

from distill_lab.criteria import rank
from distill_lab.criteria.entropy import check_probs, entropy, least_confidence, margin

CRITERIA = [entropy, margin, least_confidence]


@pytest.mark.parametrize("n_classes", [2, 3, 10])
def test_uniform_and_one_hot_extremes(n_classes):
    uniform = np.full((2, n_classes), 1.0 / n_classes)
    one_hot = np.eye(n_classes)[[0, n_classes - 1]]
    np.testing.assert_allclose(entropy(uniform), np.log(n_classes), rtol=1e-12)
    np.testing.assert_allclose(least_confidence(uniform), 1 - 1 / n_classes, rtol=1e-12)
    np.testing.assert_allclose(margin(uniform), 1.0, rtol=1e-12)  # top two tie
    for criterion in CRITERIA:
        np.testing.assert_array_equal(criterion(one_hot), 0.0)  # 0 log 0 = 0, no nan


def test_three_class_examples_by_hand():
    probs = np.array([[0.5, 0.25, 0.25],
                      [0.1, 0.7, 0.2],
                      [0.5, 0.0, 0.5]])
    # H = 0.5 ln 2 + 2 * 0.25 ln 4 = 1.5 ln 2
    expected_h = [1.5 * np.log(2),
                  -(0.1 * np.log(0.1) + 0.7 * np.log(0.7) + 0.2 * np.log(0.2)),
                  np.log(2)]
    np.testing.assert_allclose(entropy(probs), expected_h, rtol=1e-12)
    np.testing.assert_allclose(entropy(probs)[1], 0.8018185525433373, rtol=1e-12)
    np.testing.assert_allclose(margin(probs), [1 - 0.25, 1 - 0.5, 1 - 0.0], rtol=1e-12)
    np.testing.assert_allclose(least_confidence(probs), [0.5, 0.3, 0.5], rtol=1e-12)


@pytest.mark.parametrize("criterion", CRITERIA)
def test_more_uncertain_scores_higher(criterion):
    # p(t) = (1 - 2t, t, t) moves from one-hot (t=0) to uniform (t=1/3): uncertainty grows.
    t = np.linspace(0, 1 / 3, 7)
    probs = np.stack([1 - 2 * t, t, t], axis=1)
    scores = criterion(probs)
    assert np.all(np.diff(scores) > 0)
    # The library ordering rule then keeps the most uncertain first.
    np.testing.assert_array_equal(rank(scores)[:2], [6, 5])


@pytest.mark.parametrize("criterion", CRITERIA)
def test_row_permutation_and_class_permutation(criterion):
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(5), size=20)
    scores = criterion(probs)
    np.testing.assert_allclose(criterion(probs[::-1]), scores[::-1])
    np.testing.assert_allclose(criterion(probs[:, rng.permutation(5)]), scores)


def test_check_probs_accepts_float32_softmax_and_does_not_mutate():
    logits = np.random.default_rng(1).normal(size=(50, 10)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    before = probs.copy()
    out = check_probs(probs)
    assert out.dtype == np.float64 and out.shape == (50, 10)
    np.testing.assert_array_equal(probs, before)


@pytest.mark.parametrize("bad, match", [
    (np.array([0.5, 0.5]), "2-D"),
    (np.array([[0.5, np.nan]]), "NaN"),
    (np.array([[1.2, -0.2]]), "non-negative.*-0.2.*row 0"),
    (np.array([[0.5, 0.5], [2.0, 1.0]]), "sum to 1.*row 1 summing to 3"),
    (np.zeros((0, 3)), "empty"),
])
def test_check_probs_errors_name_argument_and_value(bad, match):
    with pytest.raises(ValueError, match="my_probs"):
        check_probs(bad, name="my_probs")
    with pytest.raises(ValueError, match=match):
        check_probs(bad)


@pytest.mark.parametrize("criterion", CRITERIA)
def test_criteria_reject_logits(criterion):
    with pytest.raises(ValueError, match="softmax"):
        criterion(np.array([[2.0, -1.0, 0.5]]))


def test_margin_needs_two_classes():
    with pytest.raises(ValueError, match="at least 2 classes"):
        margin(np.ones((3, 1)))
