"""Data sets: scikit-learn's digits (embedded); MNIST, Fashion-MNIST (Xiao et al. 2017) and KMNIST
(Clanuwat et al. 2018), IDX files downloaded with a checksum (`distill_lab.idx`); and a user's own
file or folder (`distill_lab.user_data`).

Every loader returns a `Dataset` of flat float32 images in [0, 1] with int64 labels, a fixed
train/test split, the number of classes and the image shape (C, H, W). The IDX names this module
exported before `idx.py` held them (the digests, URLs and `download_file`) are re-exported here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from distill_lab._validation import check_random_state, is_int
from distill_lab.idx import (FASHION_MNIST_FILES, FASHION_MNIST_URL, IDX_DATASETS, KMNIST_FILES,
                             KMNIST_URL, MNIST_FILES, MNIST_URL, download_file, load_arrays)

__all__ = ["Dataset", "DataFacts", "describe", "fit_classes", "load", "check_dataset", "subsample",
           "quick_subset", "default_data_dir",
           "DATASETS", "IDX_DATASETS", "MNIST_FILES", "MNIST_URL", "FASHION_MNIST_FILES",
           "FASHION_MNIST_URL", "KMNIST_FILES", "KMNIST_URL", "QUICK_N_TRAIN", "QUICK_N_TEST",
           "QUICK_MAX_SIDE", "QUICK_ONE_SIZE_SIDE", "download_file", "quick_shape", "resize_images"]

DATASETS = ("digits", *IDX_DATASETS)
IDX_CLASS_NAMES = {
    "mnist": tuple(str(digit) for digit in range(10)),
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                      "Sneaker", "Bag", "Ankle boot"),
    "kmnist": ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),  # the 10 hiragana
}
DIGITS_TEST_SIZE = 450  # 1,347 train / 450 test, as in docs/design.md
DIGITS_SPLIT_SEED = 0   # the split is part of the protocol, not a user's seed
# Quick mode's bound on the work of every notebook, whatever the data's size: larger training and
# test sets are replaced by seeded stratified subsamples of this many samples (`quick_subset`).
QUICK_N_TRAIN = 1500
QUICK_N_TEST = 1000
# ... and images wider or taller than this are resized so that their longer side has this many
# pixels (antialiased; `resize_images`): the networks' cost grows with the pixels, so a first look
# at 28x28 MNIST works on 16x16 images (3x fewer pixels) and a folder of 224x224 photos stays quick.
QUICK_MAX_SIDE = 16
# Quick mode on images at least this wide makes one images-per-class size in 08
# (`evaluation.quick_per_class`): each size costs a DM run per variant, a DDPM sampling pass and
# its evaluations; on 28x28 images the second size (50 per class) took about 130 of 08's 370 s.
# Quick mode's images are at most QUICK_MAX_SIDE wide, so this is every image set but the digits.
QUICK_ONE_SIZE_SIDE = 16


@dataclass(frozen=True, eq=False)
class Dataset:
    """A fixed train/test split; `X_train, y_train, X_test, y_test = ds` unpacks the arrays."""

    X_train: np.ndarray   # (n_train, C*H*W) float32 in [0, 1]; a table's standardized features
    y_train: np.ndarray   # (n_train,) int64
    X_test: np.ndarray    # (n_test, C*H*W)
    y_test: np.ndarray    # (n_test,)
    n_classes: int
    image_shape: tuple | None   # (C, H, W); None for a table
    name: str
    class_names: tuple | None = None     # label i's name (a user's labels, mapped to 0..K-1)
    feature_names: tuple | None = None   # a table's columns
    feature_mean: np.ndarray | None = None  # (d,) a table's standardization, fit on X_train
    feature_std: np.ndarray | None = None   # (d,)
    split: str | None = None  # how the test set was drawn, when the data came without one

    def __iter__(self):
        return iter((self.X_train, self.y_train, self.X_test, self.y_test))

    @property
    def label_names(self) -> tuple:
        """Label i's name: a user's class name, or "i" for data sets whose labels are the names."""
        return self.class_names or tuple(str(i) for i in range(self.n_classes))

    def __repr__(self):
        return (f"Dataset({self.name!r}, train={self.X_train.shape}, test={self.X_test.shape}, "
                f"n_classes={self.n_classes}, image_shape={self.image_shape})")


def default_data_dir() -> Path:
    """$DISTILL_LAB_DATA, else the checkout's data/ folder, else ~/.cache/distill_lab."""
    env = os.environ.get("DISTILL_LAB_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    if (repo / "pyproject.toml").exists():
        return repo / "data"
    return Path.home() / ".cache" / "distill_lab"


def load(name: str, data_dir=None, download: bool = True, base_url: str | None = None, *,
         random_state=0, label_column: str | None = None, image_shape=None) -> Dataset:
    """Load a data set by name: "digits" (no download); "mnist", "fashion_mnist" or "kmnist"
    (60k/10k, downloaded into data_dir/<name>/); or a path to a user's .npz, .csv or .parquet
    file or image folder (`distill_lab.user_data.load_path`: `random_state` draws its test set
    when it has none, `label_column` names a table's labels, `image_shape` a flat .npz's)."""
    if name == "digits":
        return _load_digits()
    if name in IDX_DATASETS:
        root = Path(data_dir) if data_dir is not None else default_data_dir()
        return _load_idx(name, root / name, download=download, base_url=base_url)
    from distill_lab import user_data  # it builds on Dataset; names never need it

    return user_data.load_path(name, random_state=random_state, label_column=label_column,
                               image_shape=image_shape)


def check_dataset(name, *, label_column: str | None = None, image_shape=None) -> str:
    """Check a `dataset` value before any work starts and return it as notebooks should get it.

    A built-in name passes unchanged (its files are checked when loaded). A path is read and
    checked whole (`distill_lab.user_data.check_path`) and returned absolute, since notebooks
    run in the report folder; every problem is a ValueError naming the file, column or class.
    """
    if isinstance(name, str) and name in DATASETS:
        return name
    from distill_lab import user_data

    return user_data.check_path(name, label_column=label_column, image_shape=image_shape)


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # pixel values 0..16 -> [0, 1]
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y.astype(np.int64), test_size=DIGITS_TEST_SIZE, stratify=y,
        random_state=DIGITS_SPLIT_SEED)
    return Dataset(X_tr, y_tr, X_te, y_te, n_classes=10, image_shape=(1, 8, 8), name="digits",
                   class_names=IDX_CLASS_NAMES["mnist"])


def _load_idx(name: str, folder: Path, download: bool, base_url: str | None) -> Dataset:
    X_tr, y_tr, X_te, y_te = load_arrays(name, folder, download, base_url)
    return Dataset(X_tr, y_tr, X_te, y_te, n_classes=10, image_shape=(1, 28, 28), name=name,
                   class_names=IDX_CLASS_NAMES[name])


def _stratified_indices(y: np.ndarray, n: int, rng) -> np.ndarray:
    from sklearn.model_selection import train_test_split

    if n >= len(y):
        return np.arange(len(y))
    idx, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y,
                              random_state=rng.randint(2**31 - 1))
    return np.sort(idx)


def subsample(dataset: Dataset, n_train: int, random_state=None, n_test: int | None = None) -> Dataset:
    """A seeded stratified subsample (e.g. MNIST-5k for quick runs); the test set is kept whole
    unless `n_test` is given."""
    for arg, value, limit in (("n_train", n_train, len(dataset.y_train)),
                              ("n_test", n_test, len(dataset.y_test))):
        if value is None:
            continue
        if not is_int(value) or not dataset.n_classes <= value <= limit:
            raise ValueError(f"{arg}={value!r} must be an int in [n_classes={dataset.n_classes}, "
                             f"{limit}]")
    rng = check_random_state(random_state)
    tr = _stratified_indices(dataset.y_train, n_train, rng)
    te = (np.arange(len(dataset.y_test)) if n_test is None
          else _stratified_indices(dataset.y_test, n_test, rng))
    return replace(dataset, X_train=dataset.X_train[tr], y_train=dataset.y_train[tr],
                   X_test=dataset.X_test[te], y_test=dataset.y_test[te],
                   name=dataset.name if len(tr) == len(dataset.y_train)  # the test set only
                   else f"{dataset.name}-{_count_label(len(tr))}")


def _count_label(n: int) -> str:
    """A subsample's size in its name: 2000 -> '2k', 1500 -> '1.5k', 1347 -> '1347'."""
    return f"{n / 1000:g}k" if n >= 1000 and n % 100 == 0 else str(n)


def quick_subset(dataset: Dataset, quick: bool, random_state=None) -> Dataset:
    """What a notebook works on: in quick mode, at most QUICK_N_TRAIN training and QUICK_N_TEST
    test samples (seeded stratified subsamples of larger sets, e.g. MNIST-60k -> mnist-1.5k) of
    images at most QUICK_MAX_SIDE pixels on a side (MNIST's 28x28 -> 16x16, named mnist-1.5k-16px),
    so a quick run takes minutes on any data; otherwise, or for a small set such as digits,
    `dataset`."""
    if not quick:
        return dataset
    n_train = min(QUICK_N_TRAIN, len(dataset.y_train))
    n_test = min(QUICK_N_TEST, len(dataset.y_test))
    if n_train < len(dataset.y_train) or n_test < len(dataset.y_test):
        dataset = subsample(dataset, n_train, random_state=random_state, n_test=n_test)
    shape = dataset.image_shape
    if shape is None or max(shape[1:]) <= QUICK_MAX_SIDE:
        return dataset
    side = quick_shape(shape)
    return replace(dataset, X_train=resize_images(dataset.X_train, shape, side[1:]),
                   X_test=resize_images(dataset.X_test, shape, side[1:]), image_shape=side,
                   name=f"{dataset.name}-{side[1]}px" if side[1] == side[2]
                   else f"{dataset.name}-{side[1]}x{side[2]}px")


def quick_shape(image_shape) -> tuple:
    """(C, H, W) of quick mode's images: the longer side cut to QUICK_MAX_SIDE, the aspect kept."""
    C, H, W = (int(s) for s in image_shape)
    if max(H, W) <= QUICK_MAX_SIDE:
        return (C, H, W)
    scale = QUICK_MAX_SIDE / max(H, W)
    return (C, max(1, round(H * scale)), max(1, round(W * scale)))


def resize_images(X: np.ndarray, image_shape, size) -> np.ndarray:
    """Flat images (n, C*H*W) of `image_shape` resized to `size` (H', W'): antialiased bilinear
    (PIL's resize), values kept in [0, 1]; float32 (n, C*H'*W')."""
    import torch
    import torch.nn.functional as F

    C, H, W = (int(s) for s in image_shape)
    h, w = (int(s) for s in size)
    if X.ndim != 2 or X.shape[1] != C * H * W:
        raise ValueError(f"X of shape {X.shape} does not hold flat images of image_shape="
                         f"{tuple(image_shape)} ({C * H * W} features each)")
    if h < 1 or w < 1:
        raise ValueError(f"size={tuple(size)} must be two positive ints")
    if len(X) == 0:
        return np.zeros((0, C * h * w), np.float32)
    x = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).view(-1, C, H, W)
    out = F.interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False)
    return out.clamp_(0, 1).reshape(len(X), -1).numpy()


# The training split of the IDX sets, known without reading (or downloading) their files:
# (n_train, smallest class's count, its label). MNIST's digit 5 has 5,421 images; the others
# are balanced.
_IDX_FACTS = {"mnist": (60000, 5421, "5"), "fashion_mnist": (60000, 6000, "0"),
              "kmnist": (60000, 6000, "0")}


@dataclass(frozen=True)
class DataFacts:
    """What decides whether a notebook applies to a data set: its kind and its class sizes, of
    the training split a notebook works on (in quick mode, `quick_subset`'s)."""

    name: str
    image_shape: tuple | None   # None: a table
    n_train: int
    n_classes: int
    min_per_class: int
    smallest_class: str         # its name (or label)

    @property
    def kind(self) -> str:
        return "table" if self.image_shape is None else "images"


def describe(name, *, quick: bool = True, label_column: str | None = None,
             image_shape=None) -> DataFacts:
    """The facts of data set `name` as the notebooks will see it (`quick`: its quick subset). The
    built-in IDX sets are described without reading their files; others are loaded."""
    if isinstance(name, str) and name in _IDX_FACTS:
        n, smallest, label = _IDX_FACTS[name]
        if quick:  # a stratified subsample keeps each class's share, rounded down
            smallest, n = smallest * QUICK_N_TRAIN // n, QUICK_N_TRAIN
        return DataFacts(name, quick_shape((1, 28, 28)) if quick else (1, 28, 28), n, 10, smallest,
                         label)
    ds = quick_subset(load(name, label_column=label_column, image_shape=image_shape), quick,
                      random_state=0)
    counts = np.bincount(ds.y_train, minlength=ds.n_classes)
    c = int(np.argmin(counts))
    return DataFacts(ds.name, ds.image_shape, len(ds.y_train), ds.n_classes, int(counts[c]),
                     ds.label_names[c])


def fit_classes(wanted, n_classes: int) -> list:
    """`wanted` (class labels a notebook shows, chosen for the digits) when the data set has them
    all; otherwise its first len(wanted) classes, at most n_classes of them."""
    wanted = [int(c) for c in wanted]
    if all(0 <= c < n_classes for c in wanted):
        return wanted
    return list(range(min(len(wanted), n_classes)))
