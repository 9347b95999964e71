"""Samples as pictures: flat images tiled into one mosaic, a table's rows as a heat map, and the
DSA augmentations (Zhao & Bilen 2021, "Dataset Condensation with Differentiable Siamese
Augmentation") applied side by side.
"""
from __future__ import annotations

import numpy as np

from distill_lab._validation import check_array_2d
from distill_lab.plots.style import get_axes

__all__ = ["mosaic", "image_grid", "feature_rows", "dsa_gallery"]


def mosaic(X, image_shape, n_cols, pad=1) -> np.ndarray:
    """Flat images X (n, C*H*W) -> one mosaic (rows*(H+pad), n_cols*(W+pad)[, C]), row by row;
    the padding and empty tiles are NaN (drawn blank by imshow)."""
    c, h, w = image_shape
    if c * h * w != X.shape[1] or c not in (1, 3):
        raise ValueError(f"image_shape={tuple(image_shape)} must be (1 or 3, H, W) with C*H*W = "
                         f"n_features={X.shape[1]}")
    n_rows = -(-len(X) // n_cols)
    imgs = X.reshape(len(X), c, h, w).transpose(0, 2, 3, 1)  # (n, H, W, C)
    grid = np.full((n_rows * (h + pad), n_cols * (w + pad), c), np.nan)
    for i, img in enumerate(imgs):
        r, col = divmod(i, n_cols)
        grid[r * (h + pad):r * (h + pad) + h, col * (w + pad):col * (w + pad) + w] = img
    return grid[..., 0] if c == 1 else grid


def image_grid(X, image_shape, *, labels=None, n_cols=10, ax=None, title=None, cmap="gray_r"):
    """Show flat images X (n, C*H*W) as one mosaic, `n_cols` per row, `labels` above each tile.
    A table's samples (`image_shape` None) are drawn by `feature_rows` instead."""
    X = check_array_2d(X, name="X")
    if not (isinstance(n_cols, int) and n_cols >= 1):
        raise ValueError(f"n_cols={n_cols!r} must be an int >= 1")
    if image_shape is None:
        return feature_rows(X, labels=labels, ax=ax, title=title)
    n_cols = min(n_cols, len(X))
    ax = get_axes(ax)
    ax.imshow(mosaic(X, image_shape, n_cols), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(X):
            raise ValueError(f"labels must hold one entry per image ({len(X)}), got {len(labels)}")
        _, h, w = image_shape
        for i, text in enumerate(labels):
            r, col = divmod(i, n_cols)
            ax.text(col * (w + 1) + w / 2 - 0.5, r * (h + 1) - 0.3, str(text), ha="center",
                    va="bottom", fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, pad=12 if labels is not None else 6)  # room for the tile labels
    return ax


def feature_rows(X, *, labels=None, ax=None, title=None, limit=3.0):
    """A table's samples X (n, d), standardized, as a heat map: one row per sample, one column per
    feature, blue below the training mean and red above, clipped at +-`limit` std; `labels` name
    the rows. The tabular counterpart of `image_grid`."""
    X = check_array_2d(X, name="X")
    ax = get_axes(ax)
    image = ax.imshow(np.clip(X, -limit, limit), cmap="RdBu_r", vmin=-limit, vmax=limit,
                      aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="std from the training mean")
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(X):
            raise ValueError(f"labels must hold one entry per sample ({len(X)}), got {len(labels)}")
        ax.set_yticks(range(len(X)), [str(text) for text in labels], fontsize=7)
    else:
        ax.set_yticks([])
    ax.set_xlabel(f"{X.shape[1]} features (standardized)")
    ax.set_xticks([])
    if title is not None:
        ax.set_title(title)
    return ax


def dsa_gallery(X, image_shape, *, random_state=0, ax=None, title=None):
    """Each DSA operation (augment.OPS) applied to the same images: one row per operation, the
    originals on top. Pixels are clipped to [0, 1] for display only."""
    import torch

    from distill_lab import augment

    X = check_array_2d(X, name="X", dtype=np.float32)
    x = torch.as_tensor(X).view(-1, *image_shape)                          # (n, C, H, W)
    gen = torch.Generator().manual_seed(int(random_state))
    rows = [X] + [augment.dsa(x, gen, strategy=op).flatten(1).numpy() for op in augment.OPS]
    ax = image_grid(np.clip(np.concatenate(rows), 0, 1), image_shape, n_cols=len(X), ax=ax,
                    title=title)
    _, h, _ = image_shape
    for r, name in enumerate(("original", *augment.OPS)):
        ax.text(-1.5, r * (h + 1) + h / 2, name, ha="right", va="center", fontsize=8)
    return ax
