"""IDX files, the format of MNIST, Fashion-MNIST (Xiao et al. 2017) and KMNIST (Clanuwat et al.
2018): their published SHA-256 digests, the checked download, the parser, and the stamp file that
remembers a verified file so it is hashed once.

A file on disk is checked against its SHA-256 once (a stamp file beside it remembers it) and
against its IDX header and the shape its name promises on every read, so a misnamed or damaged
file is an error, never a wrong data set. `distill_lab.data` turns the arrays into a `Dataset`.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import urllib.error
import urllib.request
import warnings
import zlib
from pathlib import Path

import numpy as np

from distill_lab._io import atomic_write_json, atomic_writer

__all__ = ["IDX_DATASETS", "IDX_TITLES", "MNIST_FILES", "MNIST_REPACKED", "MNIST_URL",
           "FASHION_MNIST_FILES", "FASHION_MNIST_URL", "KMNIST_FILES", "KMNIST_URL", "MNIST_N",
           "IDX_MAGIC", "MNIST_STAMP", "download_file", "read_idx", "read_idx_file", "ensure_idx",
           "load_arrays"]

IDX_DATASETS = ("mnist", "fashion_mnist", "kmnist")  # MNIST's four IDX files, 60k/10k 28x28 grey

# SHA-256 of the gzip files as distributed (the same bytes every MNIST mirror serves).
MNIST_FILES = {  # the original distribution's .gz files, as yann.lecun.com and its mirrors serve them
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
# The same IDX bytes re-compressed (another gzip header): the copy that machines without a network
# are given. Either digest is accepted; the MD5 of the uncompressed files is the same.
MNIST_REPACKED = {
    "train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    "t10k-images-idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "t10k-labels-idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
}
MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
# The files as their authors distribute them (github.com/zalandoresearch/fashion-mnist), under
# MNIST's file names; the same digests are in torchvision's and TensorFlow Datasets' checksums.
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# KMNIST (Kuzushiji-MNIST) as ROIS-DS CODH distributes it (github.com/rois-codh/kmnist).
KMNIST_FILES = {
    "train-images-idx3-ubyte.gz": "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
    "train-labels-idx1-ubyte.gz": "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
    "t10k-images-idx3-ubyte.gz": "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
    "t10k-labels-idx1-ubyte.gz": "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
}
KMNIST_URL = "https://codh.rois.ac.jp/kmnist/dataset/kmnist/"
IDX_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "kmnist": "KMNIST"}
MNIST_N = {"train": 60000, "t10k": 10000}  # samples per split of every IDX set, images and labels
IDX_MAGIC = {"labels": 2049, "images": 2051}   # 0x0801: 1-d uint8 array; 0x0803: 3-d uint8 array
MNIST_STAMP = ".sha256-verified.json"  # {file name: {size, mtime_ns, sha256}} of verified files


def _idx_source(name: str) -> tuple[dict, str]:
    """(file name -> SHA-256, default URL) of an IDX data set, looked up when called."""
    return {"mnist": (MNIST_FILES, MNIST_URL),
            "fashion_mnist": (FASHION_MNIST_FILES, FASHION_MNIST_URL),
            "kmnist": (KMNIST_FILES, KMNIST_URL)}[name]


def _idx_name(path: Path) -> str:
    """The IDX data set whose folder holds `path` (data/<name>/file), for messages."""
    return path.parent.name if path.parent.name in IDX_DATASETS else "mnist"


def _refetch_hint(path: Path) -> str:
    name = _idx_name(path)
    return (f"delete {str(path)!r} and call load({name!r}, download=True) to fetch it again, or "
            f"copy the right {IDX_TITLES[name]} file to that path")


def read_idx(path: Path, magic: int | None = None) -> np.ndarray:
    """Parse a gzip IDX file (magic: 0, 0, dtype code 0x08 = uint8, ndim) into a uint8 array;
    with `magic` given (2049 labels, 2051 images), the file must carry exactly that one."""
    try:
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # not gzip, cut short, bad CRC
        raise ValueError(f"{path} is not a readable gzip file ({type(exc).__name__}: {exc}); "
                         f"{_refetch_hint(path)}") from exc
    except OSError as exc:
        msg = (f"could not read {path} ({exc.strerror or exc}); check its permissions, or "
               f"{_refetch_hint(path)}")
        # OSError(errno, msg) keeps the subclass callers may catch, e.g. PermissionError
        raise (OSError(exc.errno, msg) if exc.errno else OSError(msg)) from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (bad header {raw[:4]!r}); "
                         f"{_refetch_hint(path)}")
    found, ndim = int.from_bytes(raw[:4], "big"), raw[3]
    if magic is not None and found != magic:
        kinds = {v: k for k, v in IDX_MAGIC.items()}
        raise ValueError(f"{path} has IDX magic number {found} ({kinds.get(found, 'unknown')}, "
                         f"{ndim}-d) but must have {magic} ({kinds.get(magic, 'unknown')}, "
                         f"{magic & 0xFF}-d); {_refetch_hint(path)}")
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path} is truncated inside its header; {_refetch_hint(path)}")
    dims = tuple(np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int).tolist())
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: header says {dims}, found {data.size} bytes; "
                         f"{_refetch_hint(path)}")
    return data.reshape(dims)


def read_idx_file(path: Path) -> np.ndarray:
    """One MNIST-format file, checked against what its name says it holds: n labels or n 28x28
    images (n = 60000 for train, 10000 for t10k), so a file saved under another's name is caught."""
    split, kind = path.name.split("-")[:2]  # "train" / "t10k", "images" / "labels"
    shape = (MNIST_N[split], 28, 28) if kind == "images" else (MNIST_N[split],)
    array = read_idx(path, magic=IDX_MAGIC[kind])
    if array.shape != shape:
        raise ValueError(f"{path} holds an array of shape {array.shape}, but {path.name} must "
                         f"hold {kind} of shape {shape}; {_refetch_hint(path)}")
    return array


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _accepted(name: str, fname: str) -> tuple:
    """The SHA-256 digests a file of data set `name` may have (MNIST: the original or repacked)."""
    extra = MNIST_REPACKED.get(fname) if name == "mnist" else None
    return tuple(d for d in (_idx_source(name)[0][fname], extra) if d)


def download_file(url: str, dest: Path, sha256, timeout: float = 30.0) -> Path:
    """Download `url` to `dest` through a temporary file (`atomic_writer`); keep it only if its
    SHA-256 matches `sha256` (one hex digest, or a tuple of accepted ones)."""
    accepted = (sha256,) if isinstance(sha256, str) else tuple(sha256)
    digest = hashlib.sha256()
    with atomic_writer(dest) as out, urllib.request.urlopen(url, timeout=timeout) as resp:
        for block in iter(lambda: resp.read(1 << 20), b""):
            out.write(block)
            digest.update(block)
        if digest.hexdigest() not in accepted:  # raised inside: the temporary file is removed
            raise ValueError(f"checksum mismatch for {url}: expected sha256 {' or '.join(accepted)}, "
                             f"got {digest.hexdigest()}; the file was discarded")
    return dest


def _fetch_idx_file(name: str, fname: str, folder: Path, url: str) -> None:
    try:
        download_file(url.rstrip("/") + "/" + fname, folder / fname, _accepted(name, fname))
    except (urllib.error.URLError, OSError) as exc:
        raise FileNotFoundError(
            f"could not download {fname} from {url} ({exc}); without a network, copy the four "
            f"{IDX_TITLES[name]} *-ubyte.gz files into {folder}") from None


def _stamp(path: Path, sha256: str) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def _read_stamps(path: Path) -> dict:
    # The stamp file only caches a check: when it is missing or unreadable, the check is redone.
    try:
        stamps = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return stamps if isinstance(stamps, dict) else {}


def _write_stamps(path: Path, stamps: dict) -> None:
    try:
        atomic_write_json(path, stamps)
    except OSError as exc:
        warnings.warn(f"could not write {path} ({exc}), so every load({_idx_name(path)!r}) hashes "
                      f"its files again; make {path.parent} writable to skip that", stacklevel=5)


def ensure_idx(name: str, folder: Path, download: bool, base_url: str | None) -> None:
    """Make the four files present and SHA-256-verified, downloading what is missing or (with
    download=True) corrupt. A file is hashed only when its name, size or mtime changed since
    the last verification recorded in the stamp file, so repeated loads stay fast."""
    files, default_url = _idx_source(name)
    title = IDX_TITLES[name]
    missing = [f for f in files if not (folder / f).exists()]
    if missing and not download:
        raise FileNotFoundError(f"{title} files {missing} are missing from {folder}; put the four "
                                f"*-ubyte.gz files there or call load({name!r}, download=True)")
    url = base_url or os.environ.get(f"DISTILL_LAB_{name.upper()}_URL", default_url)
    stamps = _read_stamps(folder / MNIST_STAMP)
    verified = {}
    for fname in files:
        path, accepted = folder / fname, _accepted(name, fname)
        known = stamps.get(fname)
        if fname not in missing and known and known.get("sha256") in accepted \
                and known == _stamp(path, known["sha256"]):
            verified[fname] = known  # unchanged since it was verified
            continue
        got = None if fname in missing else _sha256(path)
        if got is not None and got not in accepted and not download:
            raise ValueError(f"{path} does not match the published {title} {fname}: sha256 "
                             f"{got}, expected {' or '.join(accepted)}; {_refetch_hint(path)}")
        if got not in accepted:  # missing or corrupt: download_file checks the SHA-256
            _fetch_idx_file(name, fname, folder, url)
            got = _sha256(path)
        verified[fname] = _stamp(path, got)
    if verified != stamps:
        _write_stamps(folder / MNIST_STAMP, verified)


def load_arrays(name: str, folder: Path, download: bool, base_url: str | None):
    """(X_train, y_train, X_test, y_test) of IDX data set `name` in `folder`, after `ensure_idx`:
    flat float32 images in [0, 1] and int64 labels."""
    ensure_idx(name, folder, download, base_url)

    def images(fname):  # (n, 28, 28) uint8 -> (n, 784) float32 in [0, 1]
        return (read_idx_file(folder / fname).reshape(-1, 28 * 28) / 255.0).astype(np.float32)

    def labels(fname):  # (n,) int64; n matches the images', as read_idx_file checks both
        return read_idx_file(folder / fname).astype(np.int64)

    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))
