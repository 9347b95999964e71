"""criteria/kernels.py's MMD^2: one formula for numpy (chunked) and torch (differentiable)."""
import numpy as np
import pytest
import torch

from distill_lab.criteria.kernels import mmd2, similarity_matrix


def _by_hand(A, B, widths):
    k = lambda P, Q: sum(similarity_matrix(P, Q, gamma=1 / w) for w in widths).mean()  # noqa: E731
    return k(A, A) + k(B, B) - 2 * k(A, B)


@pytest.mark.parametrize("widths", [2.0, [0.5, 1.0, 2.0]])
def test_numpy_matches_the_dense_formula_in_any_chunking(widths):
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(23, 3)), rng.normal(size=(5, 3)) + 1
    expected = _by_hand(A, B, widths if isinstance(widths, list) else [widths])
    for chunk_size in (1, 4, 2048):
        assert mmd2(A, B, widths, chunk_size=chunk_size) == pytest.approx(expected, rel=1e-12)
    assert mmd2(A, A, widths) == pytest.approx(0.0, abs=1e-12)


def test_torch_agrees_with_numpy_and_carries_gradients():
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(30, 4)), rng.normal(size=(6, 4))
    a = torch.tensor(A, requires_grad=True)
    value = mmd2(a, torch.tensor(B), [0.5, 1.0, 2.0])
    assert isinstance(value, torch.Tensor) and value.ndim == 0
    assert float(value.detach()) == pytest.approx(mmd2(A, B, [0.5, 1.0, 2.0]), rel=1e-9)
    value.backward()
    assert a.grad is not None and torch.isfinite(a.grad).all() and a.grad.abs().sum() > 0


def test_bad_widths_name_the_argument():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="width must be a positive finite number, got 0"):
        mmd2(X, X, 0)
    with pytest.raises(ValueError, match="width must be a positive number or a non-empty"):
        mmd2(X, X, [])
    with pytest.raises(ValueError, match="A and B must have the same number of features"):
        mmd2(X, np.ones((2, 3)), 1.0)
