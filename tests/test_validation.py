import numpy as np
import pytest

import scipy.sparse

from distill_lab._validation import (check_array_2d, check_chunk_size, check_labels,
                                     check_random_state, check_subset, is_int,
                                     resolve_budget, resolve_device, split_budget)


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


def test_check_random_state_takes_a_numpy_generator():
    a, b = (check_random_state(np.random.default_rng(5)) for _ in range(2))
    assert isinstance(a, np.random.RandomState) and a.randint(2**31 - 1) == b.randint(2**31 - 1)
    assert check_random_state(3).randint(1000) == np.random.RandomState(3).randint(1000)
    with pytest.raises(ValueError, match=r"random_state=1.5 is not supported; use None, an int"):
        check_random_state(1.5)


def test_labels_and_features_errors_say_how_to_fix_them():
    with pytest.raises(TypeError, match=r"y must hold integer class labels 0..C-1, got dtype <U3 "
                                        r"\(first value 'dog'\); encode them first, e.g. y = "
                                        r"sklearn.preprocessing.LabelEncoder\(\).fit_transform"):
        check_labels(np.array(["dog", "cat"]))
    with pytest.raises(TypeError, match=r"dtype object \(first value 'dog'\)"):
        check_labels(np.array(["dog", 1], dtype=object))
    np.testing.assert_array_equal(check_labels(np.array([2, 0], dtype=object)), [2, 0])
    with pytest.raises(TypeError, match=r"sparse input is not supported: densify it first with "
                                        r"X.toarray\(\)"):
        check_array_2d(scipy.sparse.csr_matrix(np.eye(3)))
    with pytest.raises(ValueError, match=r"Complex data not supported"):
        check_array_2d(np.eye(2) * 1j)



def test_is_int_accepts_python_and_numpy_ints_only():
    assert all(is_int(v) for v in (0, -3, np.int64(5), np.uint8(1)))
    assert not any(is_int(v) for v in (True, np.bool_(True), 1.0, "1", None, np.float32(2)))


def test_chunk_size_and_subset_checks_name_the_value():
    assert check_chunk_size(np.int32(7)) == 7
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match=rf"chunk_size={bad!r} must be a positive int"):
            check_chunk_size(bad)
    assert check_subset([2, 0], 3).tolist() == [2, 0]
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 3\), got values from 0 to 3"):
        check_subset([0, 3], 3)
    with pytest.raises(ValueError, match="must not repeat a sample, got 2 positions of which 1"):
        check_subset([1, 1], 3)
    with pytest.raises(TypeError, match="initial must hold integer positions, got dtype float64"):
        check_subset([1.0], 3, name="initial")
