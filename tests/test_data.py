import gzip
import hashlib
import http.server
import struct
import threading
from functools import partial

import numpy as np
import pytest

from distill_lab import data


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
    with pytest.raises(ValueError, match=r"name='cifar'.*digits.*mnist"):
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


# ---------------------------------------------------------------- MNIST IDX files and download
def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def mnist_fixture(tmp_path):
    """Tiny IDX files in MNIST's format, and their checksums."""
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
    monkeypatch.setattr(data, "MNIST_FILES", sums)
    ds = data.load("mnist", data_dir=tmp_path / "cache", base_url=loopback_server)
    assert ds.X_train.shape == (20, 784) and ds.X_test.shape == (10, 784)
    np.testing.assert_allclose(ds.X_train[3] * 255, arrays["train-images-idx3-ubyte.gz"][3].ravel(),
                               atol=1e-3)
    np.testing.assert_array_equal(ds.y_train, np.arange(20) % 10)
    assert sorted(p.name for p in (tmp_path / "cache" / "mnist").iterdir()) == sorted(sums)
    # second load reads the cache: no server needed
    again = data.load("mnist", data_dir=tmp_path / "cache", base_url="http://127.0.0.1:9/")
    np.testing.assert_array_equal(again.X_test, ds.X_test)


def test_mnist_checksum_mismatch_leaves_nothing(tmp_path, mnist_fixture, loopback_server,
                                                monkeypatch):
    _, sums, _ = mnist_fixture
    bad = dict(sums, **{"train-labels-idx1-ubyte.gz": "0" * 64})
    monkeypatch.setattr(data, "MNIST_FILES", bad)
    with pytest.raises(ValueError, match="checksum mismatch"):
        data.load("mnist", data_dir=tmp_path / "cache", base_url=loopback_server)
    folder = tmp_path / "cache" / "mnist"
    assert not (folder / "train-labels-idx1-ubyte.gz").exists()
    assert not list(folder.glob("*.part"))


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
        data._read_idx(path)
