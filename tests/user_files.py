"""Tiny data files a user might give as `dataset`, written into a test's tmp_path: a .csv table,
PNG images and a folder of class folders of them; shared by test_user_data.py and test_cli.py."""
import csv

import numpy as np
from PIL import Image


def write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def table(path, n_per_class=(6, 6, 6), label="label", names=("a", "b", "c"), seed=0):
    """A 2-feature table with classes of the given sizes; feature 0 = 10 * class + noise."""
    rng = np.random.RandomState(seed)
    rows = [[10 * c + rng.rand(), rng.randn(), names[c]] for c, n in enumerate(n_per_class)
            for _ in range(n)]
    return write_csv(path, ["f0", "f1", label], rows)


def write_png(path, size=(5, 4), mode="L", value=None, seed=0):
    rng = np.random.RandomState(seed)
    w, h = size
    shape = (h, w) if mode == "L" else (h, w, 3)
    pixels = rng.randint(0, 256, shape) if value is None else np.full(shape, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)  # (h, w): grey, (h, w, 3): RGB
    return path


def image_folder(root, classes=("cat", "dog"), n=5, **kwargs):
    for c, name in enumerate(classes):
        for i in range(n):
            write_png(root / name / f"{i}.png", seed=10 * c + i, **kwargs)
    return root
