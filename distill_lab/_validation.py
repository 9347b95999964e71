"""Argument checks shared by every public entry point.

Each check raises a ValueError or TypeError that names the argument, the value it got and what is
allowed, and never modifies its input (it returns a validated view or copy).
"""
from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse
from sklearn.utils import check_random_state as _sklearn_random_state

__all__ = ["check_array_2d", "check_X_y", "check_labels", "resolve_budget",
           "check_random_state", "resolve_device", "available_devices", "split_budget",
           "is_int", "check_chunk_size", "check_subset"]

_LABEL_HINT = ("encode them first, e.g. y = sklearn.preprocessing.LabelEncoder().fit_transform(y) "
               "(and .inverse_transform to map the picks back)")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_random_state(random_state) -> np.random.RandomState:
    """None, an int, a numpy RandomState or a numpy Generator -> a RandomState.

    The one way the package turns `random_state` into an RNG. A Generator is used, not copied:
    one number drawn from it seeds the returned RandomState, so the Generator advances (two fits
    with one Generator differ, two with `np.random.default_rng(0)` each agree).
    """
    if isinstance(random_state, np.random.Generator):
        return np.random.RandomState(int(random_state.integers(2**32, dtype=np.uint64)))
    try:
        return _sklearn_random_state(random_state)
    except ValueError:
        raise ValueError(f"random_state={_short(random_state)} is not supported; use None, an "
                         "int, a numpy RandomState or a numpy Generator") from None


def _reject_sparse(X, name):
    if scipy.sparse.issparse(X):
        raise TypeError(f"{name} is a scipy.sparse {type(X).__name__} of shape {X.shape}; sparse "
                        f"input is not supported: densify it first with {name}.toarray() (it "
                        "needs n_samples x n_features floats of memory)")


def check_array_2d(X, name: str = "X", dtype=None) -> np.ndarray:
    """Return X as a finite, non-empty 2-D float array (a new array only when a cast is needed).

    dtype=None keeps float32 input as float32 (MNIST's 60k x 784 would cost a 376 MB copy in
    float64) and casts anything else to float64. Sparse and complex input are rejected.
    """
    if not hasattr(X, "__len__") and not hasattr(X, "shape"):
        raise TypeError(f"{name} must be an array-like of shape (n_samples, n_features), "
                        f"got {type(X).__name__}")
    _reject_sparse(X, name)
    if np.iscomplexobj(X):
        raise ValueError(f"{name} holds complex numbers (dtype {np.asarray(X).dtype}): Complex "
                         f"data not supported; pass real features, e.g. np.abs({name}) or "
                         f"np.hstack([{name}.real, {name}.imag])")
    if dtype is None:
        dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
    try:
        arr = np.asarray(X, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must hold numbers, got {type(X).__name__} ({exc})") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}; "
                         "flatten images first, e.g. X.reshape(len(X), -1)")
    for axis, what in ((0, "sample"), (1, "feature")):   # scikit-learn's wording, then ours
        if arr.shape[axis] == 0:
            raise ValueError(f"{name} is empty: found array with 0 {what}(s) (shape="
                             f"{arr.shape}) while a minimum of 1 is required; at least one "
                             "sample and one feature are needed")
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); only finite values "
                         "are allowed")
    return arr


def check_labels(y, n_samples: int | None = None, name: str = "y") -> np.ndarray:
    """Return y as a 1-D int64 array of class labels >= 0 (0..C-1)."""
    _reject_sparse(y, name)
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n_samples,), got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":          # strings, objects, complex: no numeric labels
        try:
            numeric = arr.astype(np.float64) if arr.dtype.kind == "O" else None
        except (TypeError, ValueError):
            numeric = None
        if numeric is None:
            first = _short(arr[:1].tolist()[0]) if arr.size else "none"
            raise TypeError(f"{name} must hold integer class labels 0..C-1, got dtype "
                            f"{arr.dtype} (first value {first}); {_LABEL_HINT}")
        arr = numeric
    if arr.size and not (np.issubdtype(arr.dtype, np.integer)
                         or np.all(np.mod(arr.astype(np.float64), 1) == 0)):
        raise TypeError(f"{name} must hold integer class labels 0..C-1, got dtype {arr.dtype} "
                        f"with non-integer values; {_LABEL_HINT}")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must hold class labels >= 0, got minimum {arr.min()}")
    if n_samples is not None and len(arr) != n_samples:
        raise ValueError(f"X and {name} must have the same length, got {n_samples} samples in X "
                         f"and {len(arr)} in {name}")
    return arr


def check_X_y(X, y, name_X: str = "X", name_y: str = "y"):
    """Validate a (features, labels) pair; y may be None for unsupervised use."""
    X = check_array_2d(X, name=name_X)
    if y is None:
        return X, None
    return X, check_labels(y, n_samples=len(X), name=name_y)


def resolve_budget(budget, n_samples: int, name: str = "budget") -> int:
    """Turn an int count or a float fraction in (0, 1] into a sample count in [1, n_samples]."""
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real):
        raise TypeError(f"{name} must be an int count or a float fraction in (0, 1], "
                        f"got {_short(budget)} of type {type(budget).__name__}")
    if isinstance(budget, numbers.Integral):
        if not 1 <= budget <= n_samples:
            raise ValueError(f"{name}={budget} is out of range: an int budget must lie in "
                             f"[1, n_samples={n_samples}]")
        return int(budget)
    if not (0.0 < float(budget) <= 1.0) or not np.isfinite(budget):
        raise ValueError(f"{name}={budget} is out of range: a float budget is a fraction in "
                         f"(0, 1]; use an int for a sample count")
    return int(min(n_samples, max(1, round(float(budget) * n_samples))))


def is_int(value) -> bool:
    """An integer that is not a bool (numpy integers included): what a count or a seed must be."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_chunk_size(chunk_size, name: str = "chunk_size") -> int:
    """A positive int: the rows of features held at once."""
    if not is_int(chunk_size) or chunk_size < 1:
        raise ValueError(f"{name}={chunk_size!r} must be a positive int (rows of features held "
                         "at once)")
    return int(chunk_size)


def check_subset(indices, n_samples: int, name: str = "indices") -> np.ndarray:
    """Return `indices` as a non-empty 1-D int64 array of unique positions in [0, n_samples)."""
    arr = np.asarray(indices)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of sample positions, got shape "
                         f"{arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer positions, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() >= n_samples:
        raise ValueError(f"{name} must lie in [0, {n_samples}), got values from {arr.min()} "
                         f"to {arr.max()}")
    if len(np.unique(arr)) != len(arr):
        raise ValueError(f"{name} must not repeat a sample, got {len(arr)} positions of which "
                         f"{len(np.unique(arr))} are distinct")
    return arr


def split_budget(y: np.ndarray, budget: int, name: str = "budget") -> dict[int, int]:
    """Split `budget` across classes proportionally to class size (largest remainder).

    Every class present gets at least one sample and at most its size; the total is exact.
    """
    classes, counts = np.unique(y, return_counts=True)
    if budget < len(classes):
        raise ValueError(f"{name}={budget} is smaller than the number of classes "
                         f"({len(classes)}); class_balanced=True needs at least one sample per "
                         "class: raise the budget or set class_balanced=False")
    share = counts / counts.sum() * (budget - len(classes))
    alloc = 1 + np.floor(share).astype(int)
    alloc = np.minimum(alloc, counts)
    # Hand out what rounding left over, largest remainder first, never past a class's size.
    order = np.argsort(-(share - np.floor(share)), kind="stable")
    while alloc.sum() < budget:
        progressed = False
        for i in order:
            if alloc.sum() == budget:
                break
            if alloc[i] < counts[i]:
                alloc[i] += 1
                progressed = True
        if not progressed:
            break
    return {int(c): int(a) for c, a in zip(classes, alloc)}


def available_devices() -> list:
    """The devices torch can use on this machine, by name: 'cpu', then 'cuda:0', 'cuda:1', ...
    and 'mps' where present."""
    import torch  # lazy: the numpy-only parts of the package never pay for it

    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def resolve_device(device="auto"):
    """The package's one device helper: a torch.device from "auto" (cuda, then mps, then cpu),
    "cpu", "cuda", "cuda:N", "mps" or a torch.device. A device this machine does not have is a
    ValueError naming the value and the devices found, raised before any work."""
    import torch

    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'auto', 'cpu', 'cuda', 'cuda:0' or "
                        f"'mps', or a torch.device, got {_short(device)}")
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        resolved = None
    if resolved is None or resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device={device!r} is not supported; use 'auto', 'cpu', 'cuda', "
                         "'cuda:N' or 'mps'")
    if resolved.type == "cpu":
        return resolved
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None)
    present = (cuda and (resolved.index is None or resolved.index < torch.cuda.device_count())
               if resolved.type == "cuda" else mps is not None and mps.is_available())
    if not present:
        raise ValueError(f"device={device!r} asks for a device this machine does not have "
                         f"(devices found: {', '.join(available_devices())}); use "
                         "device='auto' (the best one found) or 'cpu'")
    return resolved
