"""CCS (criteria/coverage.py): hand-checked strata, allocation and stratified picks."""
import numpy as np
import pytest

from distill_lab.criteria import coverage as cov


def test_ccs_scores_0_to_99_three_strata_budget_9_takes_3_per_stratum():
    # Scores 0..99 in shuffled positions; beta 0.1 drops 90..99, leaving [0, 89] cut into
    # [0, 29.67), [29.67, 59.33), [59.33, 89]: 30 samples each, so 3 from each stratum.
    scores = np.random.default_rng(0).permutation(100).astype(float)
    picked = cov.ccs(scores, 9, beta=0.1, n_strata=3, random_state=0)
    chosen = scores[picked]
    assert picked.dtype == np.int64 and len(np.unique(picked)) == 9
    assert chosen.max() < 90                                    # none of the top 10
    assert np.bincount((chosen // 30).astype(int), minlength=3).tolist() == [3, 3, 3]
    assert np.all(np.diff(chosen) < 0)                          # ordered by score, highest first


def test_strata_are_equal_width_and_close_on_the_left():
    assert cov.strata(np.arange(90.0), 3).tolist() == [0] * 30 + [1] * 30 + [2] * 30
    assert cov.strata([0.0, 0.5, 1.0], 2).tolist() == [0, 1, 1]   # 0.5 opens stratum 1
    assert cov.strata([4.0, 4.0, 4.0], 5).tolist() == [0, 0, 0]   # one value, one stratum


def test_allocate_visits_strata_from_smallest_and_fills_the_budget_exactly():
    # smallest (2): min(2, 12 // 3) = 2; then 10: min(10, 10 // 2) = 5; then 30: 5.
    assert cov.allocate([30, 2, 10], 12).tolist() == [5, 2, 5]
    assert cov.allocate([0, 4, 4], 6).tolist() == [0, 3, 3]      # an empty stratum gets 0
    rng = np.random.default_rng(1)
    for _ in range(2000):
        sizes = rng.integers(0, 12, size=int(rng.integers(1, 8)))
        budget = int(rng.integers(0, sizes.sum() + 1))
        counts = cov.allocate(sizes, budget)
        assert counts.sum() == budget and np.all(counts <= sizes)


def test_ccs_hard_cutoff_never_leaves_fewer_samples_than_the_budget():
    scores = np.arange(10.0)
    picked = cov.ccs(scores, 9, beta=0.5, n_strata=2, random_state=0)
    assert sorted(scores[picked].tolist()) == list(range(9))    # drops only the hardest one


def test_ccs_samples_uniformly_within_a_stratum_and_is_reproducible():
    scores = np.zeros(50)                                       # one stratum: a uniform sample
    first = cov.ccs(scores, 5, beta=0.0, random_state=3)
    assert np.array_equal(first, cov.ccs(scores, 5, beta=0.0, random_state=3))
    counts = np.zeros(50)
    for seed in range(400):
        counts[cov.ccs(scores, 5, beta=0.0, random_state=seed)] += 1
    assert counts.min() > 15 and counts.max() < 70              # mean 40 per sample


@pytest.mark.parametrize("kwargs, match", [
    ({"beta": 1.0}, r"beta=1.0 must be a fraction in \[0, 1\)"),
    ({"beta": -0.1}, r"beta=-0.1"),
    ({"beta": "auto"}, r"beta='auto'"),
    ({"n_strata": 0}, r"n_strata=0 must be a positive int"),
    ({"n_strata": 2.5}, r"n_strata=2.5"),
    ({"budget": 11}, r"budget=11 is out of range"),
    ({"scores": [0.0, np.nan, 1.0]}, r"scores contains 1 NaN"),
    ({"scores": np.zeros((3, 2))}, r"scores must be a non-empty 1-D array.*\(3, 2\)"),
])
def test_ccs_bad_arguments_name_the_argument(kwargs, match):
    args = {"scores": np.arange(10.0), "budget": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        cov.ccs(args.pop("scores"), args.pop("budget"), **args)
