"""A folder of images with one sub-folder per class (torchvision's ImageFolder layout), read with
Pillow into flat float32 images in [0, 1]: `root/<class>/*.png|jpg`, or `root/train/<class>/...`
with `root/test/<class>/...` for a given test split.

Every image must decode and have the same size; grey images stay one channel unless some image is
in colour, when all become RGB (an alpha channel is dropped). Hidden files (a leading dot, such as
.DS_Store) are skipped; an image directly in `root` has no class and is an error.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "read_image_folder", "estimate_folder_bytes"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_GREY_MODES = ("1", "L", "LA")
_COLOUR_MODES = ("P", "RGB", "RGBA", "CMYK", "YCbCr")


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def _class_folders(folder: Path) -> list[Path]:
    entries = _visible(folder)
    stray = [p.name for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if stray:
        raise ValueError(f"{folder} holds images outside any class folder ({', '.join(stray[:3])}"
                         f"{', ...' if len(stray) > 3 else ''}); move each image into "
                         f"{folder}/<its class>/")
    classes = [p for p in entries if p.is_dir()]
    if not classes:
        raise ValueError(f"{folder} holds no class sub-folders; put the images of each class in "
                         f"{folder}/<class name>/")
    return classes


def _class_images(folder: Path) -> list[Path]:
    entries = _visible(folder)
    if not entries:
        raise ValueError(f"class folder {folder} is empty; add its images or remove the folder")
    other = [p.name for p in entries if not (p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)]
    if other:
        shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
        raise ValueError(f"class folder {folder} holds {len(other)} entries that are not PNG or "
                         f"JPEG images ({shown}); move them out of the data set folder")
    return entries


def _layout(root: Path) -> tuple[list, list | None]:
    """([(image, class name)] for training, the same for a given test split, or None)."""
    splits = {p.name for p in _visible(root) if p.is_dir()}

    def listed(folder):
        return [(image, cls.name) for cls in _class_folders(folder) for image in _class_images(cls)]

    if splits == {"train", "test"}:
        return listed(root / "train"), listed(root / "test")
    return listed(root), None


def _open(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
        image.load()  # decode now: a truncated or damaged file fails here, named
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise ValueError(f"{path} is not a readable image ({type(exc).__name__}: {exc}); export "
                         "it again or remove it") from None
    if image.mode not in _GREY_MODES + _COLOUR_MODES:
        raise ValueError(f"{path} has the image mode {image.mode!r} (e.g. 16-bit); save it as "
                         "8-bit grey or RGB")
    return image


def estimate_folder_bytes(root: Path) -> int:
    """The loaded size of an image folder from its file count and first image's header."""
    from PIL import Image

    train, test = _layout(root)
    files = [path for path, _ in train + (test or [])]
    try:
        with Image.open(files[0]) as first:
            width, height, channels = *first.size, 1 if first.mode in _GREY_MODES else 3
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{files[0]} is not a readable image ({exc}); export it again or "
                         "remove it") from None
    return len(files) * channels * height * width * 9  # uint8 while reading, float32 twice


def _read(items: list, first: list) -> tuple[np.ndarray, np.ndarray]:
    """Decode [(image, class)] -> ((n, H, W) or (n, H, W, 3) uint8, (n,) class names); `first`
    holds the first image's (path, size) that every other must match."""
    arrays, labels = [], []
    for path, label in items:
        image = _open(path)
        if not first:
            first.append((path, image.size))
        if image.size != first[0][1]:
            (w0, h0), (w, h) = first[0][1], image.size
            raise ValueError(f"images differ in size: {first[0][0]} is {w0}x{h0} but {path} is "
                             f"{w}x{h}; resize them all to one size")
        grey = image.mode in _GREY_MODES
        arrays.append(np.asarray(image.convert("L" if grey else "RGB")))
        labels.append(label)
    return arrays, np.array(labels)


def _stack(arrays: list, colour: bool) -> np.ndarray:
    """uint8 images -> (n, C*H*W) float32 in [0, 1], channels first."""
    if colour:
        arrays = [a if a.ndim == 3 else np.repeat(a[..., None], 3, axis=2) for a in arrays]
        X = np.stack(arrays).transpose(0, 3, 1, 2)      # (n, H, W, 3) -> (n, 3, H, W)
    else:
        X = np.stack(arrays)[:, None]                   # (n, 1, H, W)
    return (X.reshape(len(X), -1) / 255.0).astype(np.float32)


def read_image_folder(root: Path):
    """(X, y, X_test, y_test, image_shape) of an image folder; y are class-folder names and the
    test arrays None unless root holds train/ and test/."""
    train, test = _layout(root)
    first = []
    arrays, y = _read(train, first)
    test_arrays, y_test = _read(test, first) if test is not None else ([], None)
    colour = any(a.ndim == 3 for a in arrays + test_arrays)
    width, height = first[0][1]
    shape = (3 if colour else 1, height, width)
    X = _stack(arrays, colour)
    X_test = _stack(test_arrays, colour) if test is not None else None
    return X, y, X_test, y_test, shape
