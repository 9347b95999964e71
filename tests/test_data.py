import gzip
import hashlib
import http.server
import json
import os
import re
import struct
import threading
from functools import partial

import numpy as np
import pytest

from distill_lab import data, idx


def test_digits_split_is_fixed_and_stratified():
    ds = data.load("digits")
    assert ds.X_train.shape == (1347, 64) and ds.X_test.shape == (450, 64)
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert 0.0 <= ds.X_train.min() and ds.X_train.max() <= 1.0
    assert ds.n_classes == 10 and ds.image_shape == (1, 8, 8)
    again = data.load("digits")
    np.testing.assert_array_equal(ds.y_test, again.y_test)
    # stratified: every class has 44 or 46 test samples (450 split over 10 classes of ~180)
    assert set(np.bincount(ds.y_test)) <= {43, 44, 45, 46}
    X_tr, y_tr, X_te, y_te = ds
    assert X_tr is ds.X_train and y_te is ds.y_test


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError, match=r"name='cifar'.*digits.*mnist.*fashion_mnist.*kmnist.*"
                                         r"or give a path"):
        data.load("cifar")


def test_subsample_is_seeded_and_stratified():
    ds = data.load("digits")
    a = data.subsample(ds, 500, random_state=3)
    b = data.subsample(ds, 500, random_state=3)
    c = data.subsample(ds, 500, random_state=4)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.y_train, c.y_train) or not np.array_equal(a.X_train, c.X_train)
    assert len(a.y_train) == 500 and len(a.y_test) == 450
    frac = np.bincount(a.y_train) / 500
    full = np.bincount(ds.y_train) / len(ds.y_train)
    assert np.abs(frac - full).max() < 0.01
    with pytest.raises(ValueError, match="n_train=5"):
        data.subsample(ds, 5)
    assert a.name == "digits-500"
    tested = data.subsample(ds, len(ds.y_train), random_state=3, n_test=100)  # the test set only
    assert tested.name == "digits" and len(tested.y_test) == 100
    np.testing.assert_array_equal(tested.X_train, ds.X_train)


def test_data_re_exports_the_idx_names():
    """The names data.py exported before idx.py held them are still importable from data."""
    for name in ("IDX_DATASETS", "MNIST_FILES", "MNIST_URL", "FASHION_MNIST_FILES",
                 "FASHION_MNIST_URL", "KMNIST_FILES", "KMNIST_URL", "download_file"):
        assert getattr(data, name) is getattr(idx, name) and name in data.__all__


# ---------------------------------------------------------------- MNIST IDX files and download
# (distill_lab.idx, through data.load: the names the tests replace live in idx)
def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def mnist_fixture(tmp_path, monkeypatch):
    """Tiny IDX files in MNIST's format (20 train, 10 test samples), and their checksums."""
    monkeypatch.setattr(idx, "MNIST_N", {"train": 20, "t10k": 10})
    rng = np.random.RandomState(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.randint(0, 256, (20, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(20) % 10,
        "t10k-images-idx3-ubyte.gz": rng.randint(0, 256, (10, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": np.arange(10) % 10,
    }
    served = tmp_path / "served"
    served.mkdir()
    sums = {}
    for name, arr in arrays.items():
        raw = _idx_bytes(arr)
        (served / name).write_bytes(raw)
        sums[name] = hashlib.sha256(raw).hexdigest()
    return served, sums, arrays


@pytest.fixture
def loopback_server(mnist_fixture):
    served, _, _ = mnist_fixture
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_mnist_download_verifies_checksums_and_parses(tmp_path, mnist_fixture, loopback_server,
                                                      monkeypatch):
    _, sums, arrays = mnist_fixture
    monkeypatch.setattr(idx, "MNIST_FILES", sums)
    ds = data.load("mnist", data_dir=tmp_path / "cache", base_url=loopback_server)
    assert ds.X_train.shape == (20, 784) and ds.X_test.shape == (10, 784)
    np.testing.assert_allclose(ds.X_train[3] * 255, arrays["train-images-idx3-ubyte.gz"][3].ravel(),
                               atol=1e-3)
    np.testing.assert_array_equal(ds.y_train, np.arange(20) % 10)
    folder = tmp_path / "cache" / "mnist"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*sums, idx.MNIST_STAMP])
    # second load reads the cache: no server needed
    again = data.load("mnist", data_dir=tmp_path / "cache", base_url="http://127.0.0.1:9/")
    np.testing.assert_array_equal(again.X_test, ds.X_test)


@pytest.mark.parametrize("name, table, title", [("fashion_mnist", "FASHION_MNIST_FILES",
                                                   "Fashion-MNIST"),
                                                  ("kmnist", "KMNIST_FILES", "KMNIST")])
def test_fashion_mnist_and_kmnist_take_the_mnist_path(tmp_path, mnist_fixture, loopback_server,
                                                      monkeypatch, name, table, title):
    _, sums, arrays = mnist_fixture
    monkeypatch.setattr(idx, table, sums)
    monkeypatch.setattr(idx, "MNIST_FILES", {})  # MNIST's table plays no part
    ds = data.load(name, data_dir=tmp_path / "cache", base_url=loopback_server)
    assert ds.name == name and ds.X_train.shape == (20, 784) and len(ds.class_names) == 10
    np.testing.assert_array_equal(ds.y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    folder = tmp_path / "cache" / name
    assert sorted(p.name for p in folder.iterdir()) == sorted([*sums, idx.MNIST_STAMP])
    bad = dict(sums, **{"t10k-images-idx3-ubyte.gz": "0" * 64})
    monkeypatch.setattr(idx, table, bad)
    where = re.escape(str(folder / "t10k-images-idx3-ubyte.gz"))
    with pytest.raises(ValueError, match=rf"{where} does not match the published {title} .*"
                                         rf"load\('{name}', download=True\)"):
        data.load(name, data_dir=tmp_path / "cache", download=False)
    with pytest.raises(FileNotFoundError, match=rf"copy the four {title} \*-ubyte.gz files"):
        data.load(name, data_dir=tmp_path / "offline", base_url="http://127.0.0.1:9/")
    monkeypatch.setenv(f"DISTILL_LAB_{name.upper()}_URL", loopback_server)  # the mirror variable
    monkeypatch.setattr(idx, table, sums)
    assert data.load(name, data_dir=tmp_path / "env").name == name


def test_mnist_checksum_mismatch_leaves_nothing(tmp_path, mnist_fixture, loopback_server,
                                                monkeypatch):
    _, sums, _ = mnist_fixture
    bad = dict(sums, **{"train-labels-idx1-ubyte.gz": "0" * 64})
    monkeypatch.setattr(idx, "MNIST_FILES", bad)
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.load("mnist", data_dir=tmp_path / "cache", base_url=loopback_server)
    folder = tmp_path / "cache" / "mnist"
    assert not (folder / "train-labels-idx1-ubyte.gz").exists()
    assert not list(folder.glob(".*.tmp"))  # atomic_writer's temporary files


def test_mnist_offline_error_says_where_to_put_files(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"copy the four MNIST"):
        data.load("mnist", data_dir=tmp_path, base_url="http://127.0.0.1:9/")
    with pytest.raises(FileNotFoundError, match="missing"):
        data.load("mnist", data_dir=tmp_path, download=False)


def test_truncated_idx_is_rejected(tmp_path):
    arr = np.zeros((4, 28, 28), dtype=np.uint8)
    raw = gzip.decompress(_idx_bytes(arr))[:-10]
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(raw))
    with pytest.raises(ValueError, match="truncated"):
        idx.read_idx(path)
    path.write_bytes(gzip.compress(raw[:9]))  # cut inside the dims
    with pytest.raises(ValueError, match="truncated inside its header"):
        idx.read_idx(path)


# ---------------------------------------------------------------- MNIST files already on disk
def _install(folder, files, monkeypatch, trusted=None):
    """Write {name: gzip bytes} into folder. MNIST_FILES then lists `trusted` (default: these
    very bytes, so the checksum passes and the IDX checks are what is tested)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, raw in files.items():
        (folder / name).write_bytes(raw)
    sums = {name: hashlib.sha256(raw).hexdigest() for name, raw in (trusted or files).items()}
    monkeypatch.setattr(idx, "MNIST_FILES", sums)
    return folder


def _tiny_files(mnist_fixture):
    served, _, _ = mnist_fixture
    return {p.name: p.read_bytes() for p in served.iterdir()}


def test_images_saved_under_the_labels_name_are_rejected(tmp_path, mnist_fixture, monkeypatch):
    # the issue: the train images under the train-labels name loaded with y_train (n, 28, 28)
    files = _tiny_files(mnist_fixture)
    files["train-labels-idx1-ubyte.gz"] = files["train-images-idx3-ubyte.gz"]
    folder = _install(tmp_path / "mnist", files, monkeypatch)
    bad = re.escape(str(folder / "train-labels-idx1-ubyte.gz"))
    with pytest.raises(ValueError, match=rf"{bad}.* magic number 2051 \(images, 3-d\) but must "
                                         r"have 2049 \(labels, 1-d\).*delete.*download=True"):
        data.load("mnist", data_dir=tmp_path, download=False)


def _uint8(shape):
    return np.zeros(shape, dtype=np.uint8)


@pytest.mark.parametrize("name, array, expected", [
    ("train-images-idx3-ubyte.gz", _uint8((20, 28, 27)), r"\(20, 28, 27\).*images of shape "
                                                          r"\(20, 28, 28\)"),
    ("t10k-images-idx3-ubyte.gz", _uint8((20, 28, 28)), r"\(20, 28, 28\).*images of shape "
                                                         r"\(10, 28, 28\)"),
    ("train-labels-idx1-ubyte.gz", _uint8((19,)), r"\(19,\).*labels of shape \(20,\)"),
    ("t10k-labels-idx1-ubyte.gz", _uint8((10, 1)), r"magic number 2050"),
])
def test_mnist_file_dims_must_match_its_name(tmp_path, mnist_fixture, monkeypatch, name, array,
                                             expected):
    files = dict(_tiny_files(mnist_fixture), **{name: _idx_bytes(array)})
    folder = _install(tmp_path / "mnist", files, monkeypatch)
    with pytest.raises(ValueError, match=rf"{re.escape(str(folder / name))}.*{expected}.*delete"):
        data.load("mnist", data_dir=tmp_path, download=False)


@pytest.mark.parametrize("damage", ["not gzip", "cut short", "bad crc"])
def test_damaged_gzip_names_the_file_and_the_fix(tmp_path, mnist_fixture, monkeypatch, damage):
    files = _tiny_files(mnist_fixture)
    raw = files["t10k-images-idx3-ubyte.gz"]
    files["t10k-images-idx3-ubyte.gz"] = {
        "not gzip": b"<html>404 Not Found</html>",
        "cut short": raw[: len(raw) // 2],
        "bad crc": raw[:-8] + bytes(b ^ 0xFF for b in raw[-8:-4]) + raw[-4:],
    }[damage]
    folder = _install(tmp_path / "mnist", files, monkeypatch)
    bad = re.escape(str(folder / "t10k-images-idx3-ubyte.gz"))
    with pytest.raises(ValueError, match=rf"{bad} is not a readable gzip file.*delete"):
        data.load("mnist", data_dir=tmp_path, download=False)


def test_unreadable_file_keeps_its_os_error_type_and_names_the_path(tmp_path, monkeypatch):
    def denied(path, mode):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(idx.gzip, "open", denied)
    where = re.escape(str(tmp_path / "x.gz"))
    with pytest.raises(PermissionError, match=rf"could not read {where}.*permissions"):
        idx.read_idx(tmp_path / "x.gz")


def test_checksum_mismatch_on_disk_is_an_error_offline(tmp_path, mnist_fixture, monkeypatch):
    files = _tiny_files(mnist_fixture)
    trusted = dict(files)
    files["train-labels-idx1-ubyte.gz"] = _idx_bytes(np.arange(20)[::-1] % 10)  # valid, but wrong
    folder = _install(tmp_path / "mnist", files, monkeypatch, trusted=trusted)
    bad = folder / "train-labels-idx1-ubyte.gz"
    where = re.escape(str(bad))
    with pytest.raises(ValueError, match=rf"{where} does not match the published MNIST .*sha256 "
                                         rf"{hashlib.sha256(files[bad.name]).hexdigest()}, "
                                         rf"expected {idx.MNIST_FILES[bad.name]} or "
                                         rf"{idx.MNIST_REPACKED[bad.name]}.*delete"):
        data.load("mnist", data_dir=tmp_path, download=False)
    assert bad.read_bytes() == files[bad.name]  # offline, nothing is touched


def test_download_replaces_a_corrupt_file(tmp_path, mnist_fixture, loopback_server, monkeypatch):
    files = _tiny_files(mnist_fixture)
    trusted = dict(files)
    files["train-labels-idx1-ubyte.gz"] = _idx_bytes(np.arange(20)[::-1] % 10)
    folder = _install(tmp_path / "mnist", files, monkeypatch, trusted=trusted)
    ds = data.load("mnist", data_dir=tmp_path, base_url=loopback_server)
    np.testing.assert_array_equal(ds.y_train, np.arange(20) % 10)
    assert (folder / "train-labels-idx1-ubyte.gz").read_bytes() == trusted[
        "train-labels-idx1-ubyte.gz"]
    assert not list(folder.glob(".*.tmp"))  # atomic_writer's temporary files


def test_checksums_are_verified_once_then_trusted_until_a_file_changes(tmp_path, mnist_fixture,
                                                                       monkeypatch):
    folder = _install(tmp_path / "mnist", _tiny_files(mnist_fixture), monkeypatch)
    hashed = []
    real_sha256 = idx._sha256
    monkeypatch.setattr(idx, "_sha256", lambda path: hashed.append(path.name) or real_sha256(path))
    data.load("mnist", data_dir=tmp_path, download=False)
    assert sorted(hashed) == sorted(idx.MNIST_FILES)
    stamps = json.loads((folder / idx.MNIST_STAMP).read_text())
    assert sorted(stamps) == sorted(idx.MNIST_FILES)
    hashed.clear()
    data.load("mnist", data_dir=tmp_path, download=False)
    assert hashed == []  # the stamp matched: no file read twice
    path = folder / "t10k-labels-idx1-ubyte.gz"
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # e.g. copied over again
    data.load("mnist", data_dir=tmp_path, download=False)
    assert hashed == [path.name]
    (folder / idx.MNIST_STAMP).write_text("{not json")  # a damaged stamp only costs a re-hash
    hashed.clear()
    data.load("mnist", data_dir=tmp_path, download=False)
    assert sorted(hashed) == sorted(idx.MNIST_FILES)


def test_unwritable_stamp_warns_and_still_loads(tmp_path, mnist_fixture, monkeypatch):
    folder = _install(tmp_path / "mnist", _tiny_files(mnist_fixture), monkeypatch)

    def read_only(path, obj):
        raise PermissionError(13, "Read-only file system", str(path))

    monkeypatch.setattr(idx, "atomic_write_json", read_only)
    where = re.escape(str(folder / idx.MNIST_STAMP))
    with pytest.warns(UserWarning, match=rf"could not write {where}.*writable"):
        ds = data.load("mnist", data_dir=tmp_path, download=False)
    assert ds.X_train.shape == (20, 784)


def test_quick_subset_bounds_large_sets_and_leaves_small_ones():
    from distill_lab.data import QUICK_N_TEST, QUICK_N_TRAIN, Dataset, quick_subset

    rng = np.random.default_rng(0)
    big = Dataset(rng.random((5000, 4), dtype=np.float32), np.arange(5000) % 10,
                  rng.random((3000, 4), dtype=np.float32), np.arange(3000) % 10, 10, (1, 2, 2), "big")
    small = quick_subset(big, True, random_state=0)
    assert len(small.y_train) == QUICK_N_TRAIN and len(small.y_test) == QUICK_N_TEST
    assert np.bincount(small.y_train).tolist() == [QUICK_N_TRAIN // 10] * 10  # stratified
    again = quick_subset(big, True, random_state=0)
    assert np.array_equal(small.X_train, again.X_train)  # seeded
    assert quick_subset(big, False) is big
    digits = data.load("digits")
    assert quick_subset(digits, True, random_state=0) is digits  # 1,347 / 450: already small


def test_quick_subset_resizes_images_wider_than_quick_max_side():
    from distill_lab.data import QUICK_MAX_SIDE, Dataset, quick_shape, quick_subset, resize_images

    rng = np.random.default_rng(0)
    X = rng.random((40, 28 * 28), dtype=np.float32)
    y = np.arange(40) % 4
    mnist_like = Dataset(X, y, X[:8], y[:8], 4, (1, 28, 28), "m")
    quick = quick_subset(mnist_like, True, random_state=0)
    assert QUICK_MAX_SIDE == 16 and quick.image_shape == (1, 16, 16) and quick.name == "m-16px"
    assert quick.X_train.shape == (40, 256) and quick.X_test.shape == (8, 256)
    assert quick.X_train.dtype == np.float32 and 0 <= quick.X_train.min() <= quick.X_train.max() <= 1
    assert np.array_equal(quick.y_train, y)                  # same samples, only smaller
    assert quick_subset(mnist_like, False) is mnist_like     # the full study keeps full size
    # A constant image stays constant (antialiasing averages, never overshoots), and a bright
    # left half stays on the left.
    flat = resize_images(np.full((2, 784), 0.7, np.float32), (1, 28, 28), (16, 16))
    assert np.allclose(flat, 0.7, atol=1e-6)
    half = np.zeros((1, 28, 28), np.float32)
    half[:, :, :14] = 1
    small = resize_images(half.reshape(1, -1), (1, 28, 28), (16, 16)).reshape(16, 16)
    assert small[:, :7].min() > 0.99 and small[:, 9:].max() < 0.01
    # RGB, non-square: the longer side becomes QUICK_MAX_SIDE, the aspect kept.
    assert quick_shape((3, 64, 32)) == (3, 16, 8) and quick_shape((1, 12, 12)) == (1, 12, 12)
    photos = rng.random((40, 3 * 64 * 32), dtype=np.float32)
    rgb = Dataset(photos, y, photos[:8], y[:8], 4, (3, 64, 32), "photos")
    assert quick_subset(rgb, True).X_train.shape == (40, 3 * 16 * 8)
    with pytest.raises(ValueError, match=r"does not hold flat images of image_shape=\(1, 28, 28\)"):
        resize_images(X[:, :100], (1, 28, 28), (16, 16))
