import numpy as np
import pytest

from distill_lab._validation import check_array_2d, resolve_budget, resolve_device, split_budget


@pytest.mark.parametrize("budget, n, expected", [(1, 10, 1), (10, 10, 10), (0.1, 1347, 135),
                                                 (0.01, 1347, 13), (1e-9, 50, 1), (1.0, 7, 7)])
def test_resolve_budget(budget, n, expected):
    assert resolve_budget(budget, n) == expected


def test_split_budget_by_hand():
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    # 10 = 1 each + 7 shared in proportion 0.5/0.3/0.2 -> 3.5, 2.1, 1.4 -> floors 3, 2, 1, the
    # leftover one goes to the largest remainder (class 0)
    assert split_budget(y, 10) == {0: 5, 1: 3, 2: 2}
    assert split_budget(y, 3) == {0: 1, 1: 1, 2: 1}
    assert split_budget(y, 100) == {0: 50, 1: 30, 2: 20}


@pytest.mark.parametrize("seed", range(20))
def test_split_budget_is_exact_and_bounded(seed):
    rng = np.random.RandomState(seed)
    y = rng.choice(5, size=rng.randint(20, 200), p=[0.5, 0.2, 0.15, 0.1, 0.05])
    counts = np.bincount(y, minlength=5)
    k = rng.randint(len(np.unique(y)), len(y) + 1)
    alloc = split_budget(y, k)
    assert sum(alloc.values()) == k
    assert all(1 <= a <= counts[c] for c, a in alloc.items())


def test_check_array_2d_keeps_float32_and_never_mutates():
    X = np.ones((3, 2), dtype=np.float32)
    assert check_array_2d(X) is X                      # no copy for valid float32
    assert check_array_2d(X.astype(int)).dtype == np.float64


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="device='gpu'"):
        resolve_device("gpu")
    with pytest.raises(TypeError, match="device must be a string"):
        resolve_device(0)
