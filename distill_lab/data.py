"""Data sets: scikit-learn's digits (embedded) and MNIST (IDX files, downloaded with a checksum).

Every loader returns a `Dataset` of flat float32 images in [0, 1] with int64 labels, a fixed
train/test split, the number of classes and the image shape (C, H, W).
"""
from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from distill_lab._validation import check_random_state

__all__ = ["Dataset", "load", "subsample", "default_data_dir", "DATASETS", "MNIST_FILES",
           "MNIST_URL"]

DATASETS = ("digits", "mnist")

# SHA-256 of the gzip files as distributed (the same bytes every MNIST mirror serves).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    "t10k-images-idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "t10k-labels-idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
}
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
DIGITS_TEST_SIZE = 450  # 1,347 train / 450 test, as in DESIGN.md
DIGITS_SPLIT_SEED = 0   # the split is part of the protocol, not a user's seed


@dataclass(frozen=True, eq=False)
class Dataset:
    """A fixed train/test split; `X_train, y_train, X_test, y_test = ds` unpacks the arrays."""

    X_train: np.ndarray   # (n_train, C*H*W) float32 in [0, 1]
    y_train: np.ndarray   # (n_train,) int64
    X_test: np.ndarray    # (n_test, C*H*W)
    y_test: np.ndarray    # (n_test,)
    n_classes: int
    image_shape: tuple
    name: str

    def __iter__(self):
        return iter((self.X_train, self.y_train, self.X_test, self.y_test))

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


def load(name: str, data_dir=None, download: bool = True, base_url: str | None = None) -> Dataset:
    """Load a data set by name: "digits" (no download) or "mnist" (60k/10k)."""
    if name == "digits":
        return _load_digits()
    if name == "mnist":
        root = Path(data_dir) if data_dir is not None else default_data_dir()
        return _load_mnist(root / "mnist", download=download, base_url=base_url)
    raise ValueError(f"name={name!r} is not a known data set; choose one of {list(DATASETS)}")


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # pixel values 0..16 -> [0, 1]
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y.astype(np.int64), test_size=DIGITS_TEST_SIZE, stratify=y,
        random_state=DIGITS_SPLIT_SEED)
    return Dataset(X_tr, y_tr, X_te, y_te, n_classes=10, image_shape=(1, 8, 8), name="digits")


def _read_idx(path: Path) -> np.ndarray:
    """Parse a gzip IDX file (magic: 0, 0, dtype code 0x08 = uint8, ndim) into a uint8 array."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (bad header {raw[:4]!r})")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: header says {tuple(dims)}, found {data.size} bytes")
    return data.reshape(tuple(dims))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_file(url: str, dest: Path, sha256: str, timeout: float = 30.0) -> Path:
    """Download `url` to `dest` through a temporary file; keep it only if its SHA-256 matches."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for block in iter(lambda: resp.read(1 << 20), b""):
                out.write(block)
        got = _sha256(Path(tmp))
        if got != sha256:
            raise ValueError(f"checksum mismatch for {url}: expected sha256 {sha256}, got {got}; "
                             "the file was discarded")
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return dest


def _ensure_mnist(folder: Path, download: bool, base_url: str | None) -> None:
    missing = [f for f in MNIST_FILES if not (folder / f).exists()]
    if not missing:
        return
    if not download:
        raise FileNotFoundError(f"MNIST files {missing} are missing from {folder}; put the four "
                                f"*-ubyte.gz files there or call load('mnist', download=True)")
    url = base_url or os.environ.get("DISTILL_LAB_MNIST_URL", MNIST_URL)
    for fname in missing:
        try:
            download_file(url.rstrip("/") + "/" + fname, folder / fname, MNIST_FILES[fname])
        except (urllib.error.URLError, OSError) as exc:
            raise FileNotFoundError(
                f"could not download {fname} from {url} ({exc}); without a network, copy the four "
                f"MNIST *-ubyte.gz files into {folder}") from None


def _load_mnist(folder: Path, download: bool, base_url: str | None) -> Dataset:
    _ensure_mnist(folder, download, base_url)

    def images(fname):
        return (_read_idx(folder / fname).reshape(-1, 28 * 28) / 255.0).astype(np.float32)

    def labels(fname):
        return _read_idx(folder / fname).astype(np.int64)

    X_tr, y_tr = images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz")
    X_te, y_te = images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz")
    if len(X_tr) != len(y_tr) or len(X_te) != len(y_te):
        raise ValueError(f"MNIST files in {folder} disagree: images and labels differ in length")
    return Dataset(X_tr, y_tr, X_te, y_te, n_classes=10, image_shape=(1, 28, 28), name="mnist")


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
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or \
                not dataset.n_classes <= value <= limit:
            raise ValueError(f"{arg}={value!r} must be an int in [n_classes={dataset.n_classes}, "
                             f"{limit}]")
    rng = check_random_state(random_state)
    tr = _stratified_indices(dataset.y_train, n_train, rng)
    te = (np.arange(len(dataset.y_test)) if n_test is None
          else _stratified_indices(dataset.y_test, n_test, rng))
    return replace(dataset, X_train=dataset.X_train[tr], y_train=dataset.y_train[tr],
                   X_test=dataset.X_test[te], y_test=dataset.y_test[te],
                   name=f"{dataset.name}-{len(tr) // 1000}k" if len(tr) >= 1000
                   else f"{dataset.name}-{len(tr)}")
