"""A user's own data set as a `Dataset`: a .npz file of arrays, a .csv or .parquet table
(`distill_lab.tables`), or a folder of images with one sub-folder per class, the layout of
torchvision's ImageFolder (`distill_lab.image_folder`).

`check_path` runs before any kernel starts: it estimates the loaded size from the file's header
or size, then reads and checks the whole data set, so bad data is one ValueError that names the
file, the column or the class and what to do, never a report that fails half-way. Without a test
split, a stratified HOLDOUT_FRACTION of the samples is held out (seeded); labels of any type map to
0..K-1 in sorted order with their names kept; a table's features are standardized with the
training split's mean and standard deviation, both kept on the `Dataset`.
"""
from __future__ import annotations

import csv
import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from distill_lab._validation import check_random_state
from distill_lab.data import DATASETS, Dataset
from distill_lab.image_folder import estimate_folder_bytes, read_image_folder
from distill_lab.tables import LABEL_COLUMNS, read_table

__all__ = ["HOLDOUT_FRACTION", "MEMORY_FRACTION", "LABEL_COLUMNS", "FILE_SUFFIXES",
           "looks_like_path", "resolve_path", "check_path", "load_path"]

HOLDOUT_FRACTION = 0.2  # the test share drawn, stratified, when the data brings no test split
MEMORY_FRACTION = 0.5   # at most this share of the available memory for the loaded arrays
FILE_SUFFIXES = (".npz", ".csv", ".parquet")


@dataclass
class _Raw:
    """A data set as read, before labels are encoded and a test set drawn."""
    X: np.ndarray                 # (n, d): images flat in [0, 1], or a table's float features
    y: np.ndarray                 # (n,) labels of any type
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    image_shape: tuple | None     # (C, H, W), None for a table
    feature_names: tuple | None = None


def looks_like_path(value) -> bool:
    """Whether a `dataset` value that is no data set name should be read as a path."""
    if isinstance(value, os.PathLike):
        return True
    return isinstance(value, str) and bool(value) and (
        "/" in value or os.sep in value or bool(Path(value).suffix) or Path(value).exists())


def resolve_path(spec) -> Path:
    """The absolute path of a user's data set: an existing .npz, .csv or .parquet file or folder."""
    if not looks_like_path(spec):
        raise ValueError(f"name={spec!r} is not a known data set; choose one of {list(DATASETS)}, "
                         f"or give a path to a {', '.join(FILE_SUFFIXES)} file or to a folder "
                         "with one sub-folder of images per class")
    path = Path(spec).expanduser().resolve()
    if not path.exists():
        raise ValueError(f"{path} does not exist (dataset={str(spec)!r}, read from "
                         f"{Path.cwd()}); check the path, or use one of {list(DATASETS)}")
    if path.is_file() and path.suffix.lower() not in FILE_SUFFIXES:
        raise ValueError(f"{path} has the extension {path.suffix!r}, which distill_lab does not "
                         "read; save it as .npz (arrays X, y), .csv or .parquet (a table with a "
                         "label column), or give a folder with one sub-folder of images per class")
    return path


def check_path(spec, *, label_column=None, image_shape=None) -> str:
    """Read and check a user's data set (its size first): the absolute path, or a ValueError."""
    path = resolve_path(spec)
    _check_memory(path, _estimate_bytes(path))
    load_path(path, label_column=label_column, image_shape=image_shape)
    return str(path)


def load_path(spec, *, random_state=0, label_column=None, image_shape=None) -> Dataset:
    """Load a user's data set (see the module docstring); `random_state` seeds the hold-out."""
    path = resolve_path(spec)
    suffix = path.suffix.lower()
    if path.is_dir():
        raw = _Raw(*read_image_folder(path))
    elif suffix == ".npz":
        raw = _read_npz(path, _shape_option(image_shape))
    else:
        raw = _read_table(path, label_column)
    return _to_dataset(path, raw, random_state)


# ---------------------------------------------------------------- memory, before reading
def _available_memory() -> int:
    try:
        import psutil
    except ImportError:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.virtual_memory().available)


def _estimate_bytes(path: Path) -> int:
    """Memory the loaded data set needs, from headers and file sizes only (nothing is decoded)."""
    if path.is_dir():
        return estimate_folder_bytes(path)
    if path.suffix.lower() == ".npz":
        import zipfile

        total = 0
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    with archive.open(member) as fh:
                        read_header = (np.lib.format.read_array_header_1_0
                                       if np.lib.format.read_magic(fh) == (1, 0)
                                       else np.lib.format.read_array_header_2_0)
                        shape, _, dtype = read_header(fh)
                    total += int(np.prod(shape)) * (dtype.itemsize + 8)  # + float32 copies
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise ValueError(f"{path} is not a readable .npz file ({exc}); save it again with "
                             "numpy.savez(path, X=X, y=y)") from None
        return total
    size = path.stat().st_size
    if path.suffix.lower() == ".parquet":
        return size * 16  # compressed columns: a generous bound on the decoded floats
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
        head = list(itertools.islice(fh, 1000))
    n_cols = len(next(csv.reader(head[:1]), [])) or 1
    bytes_per_row = max(1.0, sum(map(len, head)) / max(1, len(head)))
    return int(size / bytes_per_row * n_cols * 16)  # float64 while parsing, then float32 twice


def _check_memory(path: Path, needed: int) -> None:
    available = _available_memory()
    if needed > MEMORY_FRACTION * available:
        raise ValueError(f"{path} would need about {needed / 2**30:.1f} GiB once loaded, more than "
                         f"{MEMORY_FRACTION:.0%} of the {available / 2**30:.1f} GiB of memory "
                         "available; use a stratified subsample of it, or a larger machine")


# ---------------------------------------------------------------- .npz arrays
def _shape_option(image_shape) -> tuple | None:
    if image_shape is None:
        return None
    shape = tuple(image_shape) if isinstance(image_shape, (list, tuple)) else None
    if shape is None or len(shape) not in (2, 3) or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in shape):
        raise ValueError(f"image_shape={image_shape!r} must be (H, W) or (C, H, W), positive ints")
    return shape if len(shape) == 3 else (1, *shape)


def _read_npz(path: Path, image_shape: tuple | None) -> _Raw:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as exc:  # object arrays need pickle: never loaded from a user's file
        raise ValueError(f"{path} holds an array of Python objects ({exc}); save numbers, and "
                         "labels as numbers or strings (numpy.savez)") from None
    missing = [key for key in ("X", "y") if key not in arrays]
    if missing or ("X_test" in arrays) != ("y_test" in arrays):
        raise ValueError(f"{path} holds the arrays {sorted(arrays)}; it needs X and y, and "
                         "optionally X_test with y_test: save it with numpy.savez(path, X=X, y=y)")
    if image_shape is None and "image_shape" in arrays:
        image_shape = _shape_option(arrays["image_shape"].tolist())
    parts = [("X", "y")] + ([("X_test", "y_test")] if "X_test" in arrays else [])
    read = [_npz_part(path, arrays[xk], arrays[yk], xk, yk, image_shape) for xk, yk in parts]
    (X, y, shape), (X_test, y_test, test_shape) = read[0], (read[1:] or [(None, None, None)])[0]
    if X_test is not None and (shape != test_shape or X.shape[1] != X_test.shape[1]):
        raise ValueError(f"{path}: X holds samples of shape {shape or X.shape[1:]} but X_test "
                         f"of shape {test_shape or X_test.shape[1:]}; they must match")
    return _Raw(X, y, X_test, y_test, shape)


def _npz_part(path, X, y, xk, yk, image_shape):
    """One split of an .npz: (X flat, y, image shape or None), images scaled to [0, 1]."""
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"{path}: {yk} has shape {y.shape} but must have shape ({len(X)},), one "
                         f"label per sample of {xk}")
    if not np.issubdtype(X.dtype, np.number) and X.dtype != bool:
        raise ValueError(f"{path}: {xk} has dtype {X.dtype}; it must hold numbers")
    shape = image_shape
    if X.ndim == 3:
        shape = (1, *X.shape[1:])                       # (n, H, W) -> one grey channel
    elif X.ndim == 4:
        if X.shape[1] not in (1, 3):
            hint = " (channels last? use numpy.moveaxis(X, -1, 1))" if X.shape[-1] in (1, 3) else ""
            raise ValueError(f"{path}: {xk} has shape {X.shape}; images must be (n, C, H, W) "
                             f"with C = 1 (grey) or 3 (RGB){hint}")
        shape = X.shape[1:]
    elif X.ndim != 2:
        raise ValueError(f"{path}: {xk} has shape {X.shape}; use (n, d), (n, H, W) or "
                         "(n, C, H, W)")
    elif image_shape is not None and int(np.prod(image_shape)) != X.shape[1]:
        raise ValueError(f"{path}: {xk} has {X.shape[1]} features per sample but "
                         f"image_shape={image_shape} holds {int(np.prod(image_shape))}")
    X = X.reshape(len(X), -1)                           # (n, C*H*W) or (n, d)
    _check_finite(path, X, lambda r, c: f"{xk}[{r}] (feature {c})")
    if shape is None:
        return X.astype(np.float64), y, None
    if np.issubdtype(X.dtype, np.integer) and len(X) and (X.min() < 0 or X.max() > 255):
        raise ValueError(f"{path}: {xk} holds integer pixels outside 0..255; save 8-bit images "
                         "or floats in [0, 1]")
    if not np.issubdtype(X.dtype, np.integer) and len(X) and (X.min() < 0 or X.max() > 1):
        raise ValueError(f"{path}: {xk} holds float pixels in [{X.min():g}, {X.max():g}]; scale "
                         "them to [0, 1] (e.g. X / 255)")
    scale = 255.0 if np.issubdtype(X.dtype, np.integer) else 1.0
    return (X / scale).astype(np.float32), y, tuple(int(s) for s in shape)


def _read_table(path: Path, label_column) -> _Raw:
    names, X, labels = read_table(path, label_column)   # X: (n, d) float64
    _check_finite(path, X, lambda r, c: f"row {r + 1}, column {names[c]!r}")
    return _Raw(X, labels, None, None, None, tuple(names))


# ---------------------------------------------------------------- checks shared by every format
def _check_finite(path: Path, X: np.ndarray, where) -> None:
    """NaN or inf anywhere is an error naming the count and the first place; where(row, col)."""
    if not np.issubdtype(X.dtype, np.floating):
        return
    bad = ~np.isfinite(X)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        col = int(np.flatnonzero(bad[row])[0])
        raise ValueError(f"{path} holds {int(bad.sum())} NaN, inf or empty value(s); the first is "
                         f"at {where(row, col)}; fill them in or drop those samples")


def _encode(path: Path, y: np.ndarray, y_test) -> tuple:
    """(codes of y, codes of y_test or None, class names): integers in numeric order, text in
    text order; every class must have 2 training samples and a test class a training class."""
    values = y if y_test is None else np.concatenate([y, y_test])
    text = values.astype(str)
    try:
        numbers = text.astype(np.float64)
        integral = bool(np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)))
    except ValueError:
        integral = False
    keys = numbers.astype(np.int64) if integral else text
    uniques, codes = np.unique(keys, return_inverse=True)
    names = tuple(str(u) for u in uniques.tolist())
    codes = codes.astype(np.int64)
    train, test = codes[:len(y)], (None if y_test is None else codes[len(y):])
    counts = np.bincount(train, minlength=len(names))
    if len(names) < 2:
        raise ValueError(f"{path} has one class only ({names[0]!r}); a classifier needs samples "
                         "of at least two classes")
    unseen = [names[c] for c in np.flatnonzero(counts == 0)]
    if unseen:
        raise ValueError(f"{path}: class(es) {unseen} appear in the test split but not in the "
                         "training split; add training samples of them")
    few = [f"{names[c]!r} ({counts[c]})" for c in np.flatnonzero(counts < 2)]
    if few:
        raise ValueError(f"{path}: class(es) {', '.join(few)} have fewer than 2 training samples; "
                         "a stratified split needs 2 per class: add samples or remove the class")
    return train, test, names


def _to_dataset(path: Path, raw: _Raw, random_state) -> Dataset:
    y, y_test, names = _encode(path, raw.y, raw.y_test)
    X, X_test, split = raw.X, raw.X_test, None
    if X_test is None:
        from sklearn.model_selection import train_test_split

        n_test = max(int(np.ceil(HOLDOUT_FRACTION * len(y))), len(names))
        X, X_test, y, y_test = train_test_split(X, y, test_size=n_test, stratify=y,
                                                random_state=check_random_state(random_state))
        split = (f"a stratified hold-out of {HOLDOUT_FRACTION:.0%} of the samples "
                 f"(random_state={random_state})")
    mean = std = None
    if raw.image_shape is None:  # a table: standardized with the training split's statistics
        mean, std = X.mean(axis=0), X.std(axis=0)
        std = np.where(std > 0, std, 1.0)  # a constant column stays 0, not NaN
        X, X_test = (X - mean) / std, (X_test - mean) / std
        mean, std = mean.astype(np.float32), std.astype(np.float32)
    return Dataset(X.astype(np.float32), y, X_test.astype(np.float32), y_test.astype(np.int64),
                   n_classes=len(names), image_shape=raw.image_shape,
                   name=path.stem if path.is_file() else path.name, class_names=names,
                   feature_names=raw.feature_names, feature_mean=mean, feature_std=std,
                   split=split)
