"""A user's own data set (distill_lab.user_data, distill_lab.image_folder): .npz arrays, .csv and
.parquet tables and folders of class folders of images, each loaded into a `Dataset` with a
stratified hold-out, class names and standardized table features; and every kind of bad data as a
ValueError that names the file, the column or the class, raised by the check run before kernels."""
import re

import numpy as np
import pytest

from user_files import image_folder, table, write_csv, write_png  # tests/user_files.py

from distill_lab import data, user_data

PIL = pytest.importorskip("PIL.Image")


def raises(match):
    return pytest.raises(ValueError, match=match)


# ---------------------------------------------------------------- tables
def test_csv_holds_out_a_stratified_seeded_test_set_and_standardizes_on_train(tmp_path):
    path = table(tmp_path / "t.csv", n_per_class=(10, 10, 20))
    ds = data.load(str(path), random_state=3)
    assert ds.name == "t" and ds.class_names == ("a", "b", "c") and ds.n_classes == 3
    assert ds.image_shape is None and ds.feature_names == ("f0", "f1")
    assert len(ds.y_test) == 8 and np.bincount(ds.y_test).tolist() == [2, 2, 4]  # 20%, stratified
    assert "20%" in ds.split and "random_state=3" in ds.split
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-6)  # train statistics
    np.testing.assert_allclose(ds.X_train.std(axis=0), 1, atol=1e-5)
    raw_test = ds.X_test * ds.feature_std + ds.feature_mean  # the test set, with train statistics
    np.testing.assert_array_equal(np.floor(raw_test[:, 0] / 10), ds.y_test)
    again, other = data.load(str(path), random_state=3), data.load(str(path), random_state=4)
    np.testing.assert_array_equal(again.X_test, ds.X_test)
    assert not np.array_equal(other.X_test, ds.X_test)


def test_labels_keep_their_names_numbers_in_numeric_order(tmp_path):
    rows = [[i, v] for i, v in enumerate(["10", "2", "2", "10", "9", "9"])]
    ds = data.load(str(write_csv(tmp_path / "n.csv", ["x", "target"], rows)))
    assert ds.class_names == ("2", "9", "10")
    path = table(tmp_path / "named.csv", label="species")
    assert data.load(str(path), label_column="species").class_names == ("a", "b", "c")


def test_a_constant_column_is_kept_finite(tmp_path):
    rows = [[1.0, c + np.random.RandomState(i).rand(), c] for i, c in enumerate([0, 1] * 5)]
    ds = data.load(str(write_csv(tmp_path / "c.csv", ["const", "x", "label"], rows)))
    assert np.all(ds.X_train[:, 0] == 0) and ds.feature_std[0] == 1


def test_parquet_without_pyarrow_says_how_to_install_it(tmp_path, monkeypatch):
    import builtins

    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1")
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    with raises(re.escape(str(path)) + r".*needs pyarrow.*distill-lab\[parquet\].*\.csv"):
        data.load(str(path))


def test_parquet_loads_like_csv(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"f0": [0.0, 0.1, 0.2, 1.0, 1.1, 1.2], "f1": [1, 2, 3, 4, 5, 6],
                             "target": ["x", "x", "x", "y", "y", "y"]}), tmp_path / "t.parquet")
    ds = data.load(str(tmp_path / "t.parquet"))
    assert ds.class_names == ("x", "y") and ds.feature_names == ("f0", "f1")


# ---------------------------------------------------------------- .npz arrays
def test_npz_images_in_every_layout(tmp_path):
    rng = np.random.RandomState(0)
    y = np.arange(20) % 2
    grey = rng.randint(0, 256, (20, 4, 5)).astype(np.uint8)
    np.savez(tmp_path / "grey.npz", X=grey, y=y)
    ds = data.load(str(tmp_path / "grey.npz"))
    assert ds.image_shape == (1, 4, 5) and ds.X_train.shape == (16, 20)
    assert ds.class_names == ("0", "1")
    rows = {tuple(row) for row in grey.reshape(20, -1).tolist()}
    assert all(tuple(row) in rows for row in (ds.X_train * 255).round().astype(int).tolist())
    assert ds.X_train.max() <= 1 and ds.feature_mean is None
    rgb = rng.rand(20, 3, 4, 5).astype(np.float32)
    np.savez(tmp_path / "rgb.npz", X=rgb, y=y, X_test=rgb[:4], y_test=y[:4])
    ds = data.load(str(tmp_path / "rgb.npz"))
    assert ds.image_shape == (3, 4, 5) and ds.split is None  # the file's own test split
    np.testing.assert_array_equal(ds.X_test, rgb[:4].reshape(4, -1))
    np.savez(tmp_path / "flat.npz", X=grey.reshape(20, -1), y=y, image_shape=np.array([4, 5]))
    assert data.load(str(tmp_path / "flat.npz")).image_shape == (1, 4, 5)
    np.savez(tmp_path / "flat2.npz", X=grey.reshape(20, -1), y=y)
    assert data.load(str(tmp_path / "flat2.npz"), image_shape=[1, 4, 5]).image_shape == (1, 4, 5)
    tabular = data.load(str(tmp_path / "flat2.npz"))  # flat and no shape: a table
    assert tabular.image_shape is None and tabular.feature_mean.shape == (20,)


def test_npz_image_values(tmp_path):
    X = np.zeros((6, 2, 2), dtype=np.uint8)
    X[:, 0, 0] = 255
    np.savez(tmp_path / "v.npz", X=X, y=np.array([0, 1] * 3), X_test=X[:2], y_test=np.array([0, 1]))
    ds = data.load(str(tmp_path / "v.npz"))
    np.testing.assert_array_equal(ds.X_train[:, 0], 1.0)
    np.testing.assert_array_equal(ds.X_train[:, 1:], 0.0)


# ---------------------------------------------------------------- image folders
def test_image_folder_grey_and_given_split(tmp_path):
    root = image_folder(tmp_path / "pets", classes=("cat", "dog", "eel"))
    (root / "cat" / ".DS_Store").write_bytes(b"\0")  # hidden files are skipped
    (root / "README.txt").write_text("not an image, not in a class folder")
    ds = data.load(str(root))
    assert ds.name == "pets" and ds.class_names == ("cat", "dog", "eel")
    assert ds.image_shape == (1, 4, 5) and ds.X_train.shape == (12, 20) and len(ds.y_test) == 3
    expected = np.asarray(PIL.open(root / "cat" / "0.png"), dtype=np.float32).ravel() / 255
    assert any(np.allclose(row, expected) for row in np.vstack([ds.X_train, ds.X_test]))
    split = tmp_path / "split"
    image_folder(split / "train", n=4)
    image_folder(split / "test", n=2)
    ds = data.load(str(split))
    assert len(ds.y_train) == 8 and len(ds.y_test) == 4 and ds.split is None


def test_image_folder_rgb_channels_first_and_grey_promoted(tmp_path):
    root = image_folder(tmp_path / "rgb", mode="RGB")
    write_png(root / "cat" / "grey.png", value=7)  # one grey image among colour ones
    ds = data.load(str(root))
    assert ds.image_shape == (3, 4, 5)
    image = np.asarray(PIL.open(root / "dog" / "0.png"), dtype=np.float32) / 255  # (H, W, 3)
    chw = image.transpose(2, 0, 1).ravel()
    assert any(np.allclose(row, chw) for row in np.vstack([ds.X_train, ds.X_test]))
    grey = np.full(3 * 20, 7 / 255, dtype=np.float32)
    assert any(np.allclose(row, grey) for row in np.vstack([ds.X_train, ds.X_test]))


# ---------------------------------------------------------------- IDX sets and names
def test_the_idx_tables_are_complete_sha256_digests():
    for files in (data.MNIST_FILES, data.FASHION_MNIST_FILES, data.KMNIST_FILES):
        assert sorted(files) == sorted(data.MNIST_FILES)
        assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in files.values())
    assert data.DATASETS == ("digits", "mnist", "fashion_mnist", "kmnist")


def test_check_returns_names_unchanged_and_paths_absolute(tmp_path, monkeypatch):
    assert data.check_dataset("kmnist") == "kmnist"  # checked when loaded, not downloaded here
    table(tmp_path / "t.csv")
    monkeypatch.chdir(tmp_path)
    assert data.check_dataset("t.csv") == str(tmp_path / "t.csv")
    assert data.check_dataset("./t.csv") == str(tmp_path / "t.csv")


# ---------------------------------------------------------------- bad data: one error each
def test_missing_file_and_unknown_extension(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with raises(rf"{re.escape(str(tmp_path / 'gone.csv'))} does not exist.*check the path"):
        data.check_dataset("gone.csv")
    (tmp_path / "table.xlsx").write_bytes(b"PK")
    with raises(r"table\.xlsx has the extension '\.xlsx'.*\.npz.*\.csv or \.parquet.*folder"):
        data.check_dataset("table.xlsx")
    with raises(r"name='cifar' is not a known data set.*digits.*mnist.*kmnist"):
        data.check_dataset("cifar")


def test_missing_label_column(tmp_path):
    path = table(tmp_path / "t.csv", label="class")
    with raises(rf"{re.escape(str(path))} has neither a 'label' nor a 'target' column.*'f0', "
                r"'f1', 'class'.*label_column"):
        data.check_dataset(str(path))
    with raises(r"has no column 'kind'.*label_column"):
        data.check_dataset(str(path), label_column="kind")
    assert data.check_dataset(str(path), label_column="class") == str(path)


def test_non_numeric_feature_columns_are_named(tmp_path):
    rows = [[1.0, "red", "s", 0], [2.0, "blue", "m", 1], [3.0, "red", "l", 0], [4, "g", "m", 1]]
    path = write_csv(tmp_path / "t.csv", ["x", "colour", "size", "label"], rows)
    with raises(r"feature column\(s\) 'colour' \(row 1: 'red'\); 'size' \(row 1: 's'\) are not "
                r"numeric.*one-hot"):
        data.check_dataset(str(path))


def test_nan_and_inf_are_counted_with_the_first_row(tmp_path):
    rows = [[1.0, 2.0, 0], [2.0, "", 1], [3.0, 4.0, 0], ["inf", 5.0, 1], [1.0, "nan", 1]]
    path = write_csv(tmp_path / "t.csv", ["x", "z", "label"], rows)
    with raises(r"holds 3 NaN, inf or empty value\(s\); the first is at row 2, column 'z'"):
        data.check_dataset(str(path))
    X = np.ones((6, 3))
    X[4, 1] = np.nan
    np.savez(tmp_path / "n.npz", X=X, y=np.arange(6) % 2)
    with raises(r"n\.npz holds 1 NaN.*at X\[4\] \(feature 1\)"):
        data.check_dataset(str(tmp_path / "n.npz"))


def test_class_too_small_and_one_class_only(tmp_path):
    path = table(tmp_path / "t.csv", n_per_class=(5, 1, 5))
    with raises(rf"{re.escape(str(path))}: class\(es\) 'b' \(1\) have fewer than 2 training "
                r"samples.*remove the class"):
        data.check_dataset(str(path))
    path = table(tmp_path / "one.csv", n_per_class=(5,))
    with raises(r"one\.csv has one class only \('a'\)"):
        data.check_dataset(str(path))
    root = image_folder(tmp_path / "imgs", classes=("cat", "dog"), n=3)
    for extra in (root / "dog").glob("*.png"):
        if extra.name != "0.png":
            extra.unlink()
    with raises(r"class\(es\) 'dog' \(1\) have fewer than 2"):
        data.check_dataset(str(root))


def test_images_of_different_sizes_name_two_files(tmp_path):
    root = image_folder(tmp_path / "imgs")
    write_png(root / "dog" / "9.png", size=(6, 4))
    with raises(rf"{re.escape(str(root / 'cat' / '0.png'))} is 5x4 but "
                rf"{re.escape(str(root / 'dog' / '9.png'))} is 6x4.*resize"):
        data.check_dataset(str(root))


def test_non_image_files_and_empty_folders(tmp_path):
    root = image_folder(tmp_path / "imgs")
    (root / "dog" / "notes.txt").write_text("x")
    with raises(rf"class folder {re.escape(str(root / 'dog'))} holds 1 entries that are not PNG "
                r"or JPEG images \(notes\.txt\)"):
        data.check_dataset(str(root))
    (root / "dog" / "notes.txt").unlink()
    (root / "eel").mkdir()
    with raises(rf"class folder {re.escape(str(root / 'eel'))} is empty"):
        data.check_dataset(str(root))
    (tmp_path / "empty").mkdir()
    with raises(r"empty holds no class sub-folders; put the images of each class in"):
        data.check_dataset(str(tmp_path / "empty"))
    write_png(tmp_path / "loose" / "a" / "0.png")
    write_png(tmp_path / "loose" / "stray.png")
    with raises(r"holds images outside any class folder \(stray\.png\)"):
        data.check_dataset(str(tmp_path / "loose"))


@pytest.mark.parametrize("damage", ["truncated", "not an image"])
def test_a_corrupt_png_is_named(tmp_path, damage):
    root = image_folder(tmp_path / "imgs", n=3)
    bad = root / "cat" / "1.png"
    raw = bad.read_bytes()
    bad.write_bytes(raw[: len(raw) // 2] if damage == "truncated" else b"<html>404</html>")
    with raises(rf"{re.escape(str(bad))} is not a readable image.*export it again or remove it"):
        data.check_dataset(str(root))


def test_a_data_set_too_large_for_memory_is_refused_before_reading(tmp_path, monkeypatch):
    read = []
    monkeypatch.setattr(user_data, "load_path", lambda *a, **k: read.append(a))
    monkeypatch.setattr(user_data, "_available_memory", lambda: 10_000)
    path = table(tmp_path / "t.csv", n_per_class=(200, 200))
    with raises(rf"{re.escape(str(path))} would need about .* GiB once loaded, more than 50% of "
                r"the 0\.0 GiB.*subsample"):
        data.check_dataset(str(path))
    np.savez(tmp_path / "big.npz", X=np.zeros((100, 8, 8), np.uint8), y=np.arange(100) % 2)
    with raises(r"big\.npz would need about"):
        data.check_dataset(str(tmp_path / "big.npz"))
    with raises(r"imgs would need about"):
        data.check_dataset(str(image_folder(tmp_path / "imgs", n=50)))
    assert read == []  # refused from headers and sizes alone


@pytest.mark.parametrize("arrays, message", [
    ({"X": np.zeros((4, 2))}, r"holds the arrays \['X'\]; it needs X and y"),
    ({"X": np.zeros((4, 2)), "y": np.zeros(4), "X_test": np.zeros((2, 2))}, r"X_test with y_test"),
    ({"X": np.zeros((4, 2)), "y": np.zeros(3)}, r"y has shape \(3,\) but must have shape \(4,\)"),
    ({"X": np.full((4, 2, 2), 2.0), "y": np.arange(4) % 2}, r"float pixels in \[2, 2\].*X / 255"),
    ({"X": np.zeros((4, 5, 5, 3)), "y": np.arange(4) % 2}, r"\(n, C, H, W\).*numpy\.moveaxis"),
    ({"X": np.zeros((4, 5)), "y": np.arange(4) % 2, "image_shape": np.array([2, 2])},
     r"5 features per sample but image_shape=\(1, 2, 2\)"),
])
def test_bad_npz_arrays(tmp_path, arrays, message):
    np.savez(tmp_path / "a.npz", **arrays)
    with raises(message):
        data.check_dataset(str(tmp_path / "a.npz"))


def test_bad_rows_in_a_csv(tmp_path):
    path = write_csv(tmp_path / "r.csv", ["x", "label"], [[1, "a"], [2, "b"], [3]])
    with raises(r"row 3 has 1 fields but the header has 2"):
        data.check_dataset(str(path))
    path = write_csv(tmp_path / "e.csv", ["x", "label"], [[1, "a"], [2, ""], [3, "a"], [4, "b"]])
    with raises(r"1 row\(s\) have no label \(the first is row 2\)"):
        data.check_dataset(str(path))
    path = write_csv(tmp_path / "h.csv", ["x", "label"], [])
    with raises(r"has a header but no data rows"):
        data.check_dataset(str(path))
    (tmp_path / "z.csv").write_text("")
    with raises(r"z\.csv is empty"):
        data.check_dataset(str(tmp_path / "z.csv"))


def test_the_runner_check_passes_label_column_and_image_shape(tmp_path):
    from distill_lab.reporting.parameters import check_parameters

    path = table(tmp_path / "t.csv", label="species")
    checked = check_parameters({"dataset": str(path), "label_column": "species", "seed": 1})
    assert checked == {"dataset": str(path), "label_column": "species", "seed": 1}
    with raises(r"parameter dataset=.* cannot be used: .*neither a 'label' nor a 'target'"):
        check_parameters({"dataset": str(path)})
    np.savez(tmp_path / "f.npz", X=np.zeros((6, 12)), y=np.arange(6) % 2)
    with raises(r"12 features per sample but image_shape=\(1, 2, 2\)"):
        check_parameters({"dataset": str(tmp_path / "f.npz"), "image_shape": [2, 2]})
    with raises(r"image_shape='2x2' must be \(H, W\) or \(C, H, W\)"):
        check_parameters({"dataset": str(tmp_path / "f.npz"), "image_shape": "2x2"})
