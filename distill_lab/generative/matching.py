"""Distribution Matching (DM; Zhao & Bilen, "Dataset Condensation with Distribution Matching",
WACV 2023): learn the synthetic images themselves.

Each iteration draws a freshly, randomly initialized ConvNet psi and, for every class c, moves the
synthetic images S_c so that their mean embedding matches that of a real batch R_c:

    min_S  sum_c || mean_{x in R_c} psi(A(x)) - mean_{s in S_c} psi(A(s)) ||^2

where A is a random differentiable augmentation (DSA-style: scale, rotation, translation).
Random networks are a cheap family of feature maps, so no network is ever trained.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from torch import nn
from tqdm.auto import tqdm

from .._validation import check_random_state
from .base import autocast, check_n_per_class, check_training_set, make_device, torch_generator
from .layers import check_image_shape, init_parameters_

__all__ = ["RandomConvNet", "augment", "matching_loss", "DistributionMatching",
           "distribution_matching"]


class RandomConvNet(nn.Module):
    """DM's ConvNet embedder: [conv3x3(w) - instance norm - ReLU - avgpool2] x depth, flattened.

    depth 2 for 8x8 (8 -> 4 -> 2), 3 for 28x28 (28 -> 14 -> 7 -> 3).
    """

    def __init__(self, image_shape, width: int = 128, generator=None):
        super().__init__()
        C, H, _ = check_image_shape(image_shape)
        depth = min(3, int(math.log2(H // 2)))
        layers, c = [], C
        for _ in range(depth):
            # GroupNorm(w, w) is instance norm with a learnable affine, as in DM's ConvNet.
            layers += [nn.Conv2d(c, width, 3, padding=1), nn.GroupNorm(width, width), nn.ReLU(),
                       nn.AvgPool2d(2)]
            c = width
        self.features = nn.Sequential(*layers, nn.Flatten())  # (B, w * (H / 2^depth)^2)
        init_parameters_(self, generator if generator is not None else torch.Generator())
        self.requires_grad_(False)  # only the synthetic images are learned

    def forward(self, x):
        return self.features(x)


def augment(x, generator: torch.Generator, strength: float = 1.0):
    """Random scale (+-10%), rotation (+-15 deg) and shift (+-1/8 of the size) per image, by a
    differentiable affine warp with zero padding. x: (B, C, H, W) -> same shape."""
    B, dev = len(x), x.device
    u = torch.rand(B, 4, generator=generator, device=dev) * 2 - 1            # (B, 4) in [-1, 1]
    scale = 1 + 0.1 * strength * u[:, 0]
    angle = math.radians(15) * strength * u[:, 1]
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    shift = 0.25 * strength * u[:, 2:]                                         # grid units: 1/8
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1),
                         torch.stack([sin, cos, shift[:, 1]], 1)], 1)          # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)           # (B, H, W, 2)
    return F.grid_sample(x, grid.to(x.dtype), padding_mode="zeros", align_corners=False)


def matching_loss(net, real_by_class, syn_by_class, generator=None) -> torch.Tensor:
    """sum_c |mean psi(real_c) - mean psi(syn_c)|^2 over classes; augmented when generator given."""
    loss = 0.0
    for real, syn in zip(real_by_class, syn_by_class):
        if generator is not None:
            real, syn = augment(real, generator), augment(syn, generator)
        diff = net(real).float().mean(0) - net(syn).float().mean(0)  # (embed_dim,)
        loss = loss + (diff ** 2).sum()
    return loss


class DistributionMatching(BaseEstimator):
    """Learn n_per_class synthetic images per class by DM; `fit(X, y)` sets X_syn_, y_syn_.

    init: "real" (seeded random real images per class, DM's default), "noise" (uniform), or give
    X_init / y_init to fit (e.g. a generator's samples: n_per_class images of every class).
    augment: True / False, or "auto": on for images of 16x16 and larger; an 8x8 digit is too
    coarse for sub-pixel warps (on digits they cost about 3 points of accuracy in our runs).
    """

    def __init__(self, n_per_class=10, image_shape=(1, 28, 28), n_classes=10, *,
                 iterations=1000, lr=1.0, momentum=0.5, batch_real=256, width=128,
                 init="real", augment="auto", device="auto", random_state=None, verbose=True):
        self.n_per_class = n_per_class
        self.image_shape = image_shape
        self.n_classes = n_classes
        self.iterations = iterations
        self.lr = lr
        self.momentum = momentum
        self.batch_real = batch_real
        self.width = width
        self.init = init
        self.augment = augment
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _initial(self, X, y, X_init, y_init, rng):
        k = check_n_per_class(self.n_per_class)
        y_syn = np.repeat(np.arange(self.n_classes, dtype=np.int64), k)
        if X_init is not None:
            X_init, y_init = check_training_set(X_init, y_init, self.image_shape_, self.n_classes)
            order = np.argsort(y_init, kind="stable")
            if not np.array_equal(y_init[order], y_syn):
                raise ValueError(f"X_init must hold exactly n_per_class={k} images of every class "
                                 f"0..{self.n_classes - 1}; got class counts "
                                 f"{np.bincount(y_init, minlength=self.n_classes).tolist()}")
            return X_init[order], y_syn
        if self.init == "noise":
            return rng.uniform(0, 1, (len(y_syn), X.shape[1])).astype(np.float32), y_syn
        if self.init != "real":
            raise ValueError(f"init={self.init!r} is not supported; use 'real', 'noise', or pass "
                             "X_init and y_init to fit")
        # Sample with replacement only when a class has fewer than k images.
        picks = [rng.choice(np.flatnonzero(y == c), k, replace=int((y == c).sum()) < k)
                 for c in range(self.n_classes)]
        return X[np.concatenate(picks)], y_syn

    def _use_augment(self) -> bool:
        if self.augment == "auto":
            return self.image_shape_[1] >= 16
        if not isinstance(self.augment, bool):
            raise ValueError(f"augment must be True, False or 'auto', got {self.augment!r}")
        return self.augment

    def fit(self, X, y, X_init=None, y_init=None):
        self.image_shape_ = check_image_shape(self.image_shape)
        X, y = check_training_set(X, y, self.image_shape_, self.n_classes)
        dev = self.device_ = make_device(self.device)
        rng = check_random_state(self.random_state)
        X0, self.y_syn_ = self._initial(X, y, X_init, y_init, rng)
        gen = torch_generator(rng)                       # nets and real batches (CPU)
        aug_gen = torch_generator(rng, dev) if self._use_augment() else None
        shape, k = (-1, *self.image_shape_), check_n_per_class(self.n_per_class)
        real = [torch.as_tensor(X[y == c], device=dev).view(shape) for c in range(self.n_classes)]
        syn = torch.tensor(X0, device=dev).view(shape).requires_grad_(True)   # (C*k, C, H, W)
        opt = torch.optim.SGD([syn], lr=self.lr, momentum=self.momentum)
        self.loss_history_ = []
        start = time.perf_counter()
        for _ in tqdm(range(self.iterations), desc="DM", disable=not self.verbose):
            net = RandomConvNet(self.image_shape_, self.width, gen).to(dev)
            batches = [r[torch.randperm(len(r), generator=gen)[:self.batch_real].to(dev)]
                       for r in real]                                        # (<=B_real, C, H, W)
            with autocast(dev):
                loss = matching_loss(net, batches, syn.split(k), aug_gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                syn.clamp_(0, 1)  # stay valid images in [0, 1], like every X in the library
            self.loss_history_.append(float(loss.detach()))
        self.seconds_ = time.perf_counter() - start
        self.X_syn_ = syn.detach().flatten(1).cpu().numpy()
        return self


def distribution_matching(X, y, n_per_class, *, image_shape, n_classes=None, X_init=None,
                          y_init=None, **params):
    """Functional form: DM's synthetic set (X_syn flat in [0, 1], y_syn)."""
    n_classes = int(np.max(y)) + 1 if n_classes is None else n_classes
    dm = DistributionMatching(n_per_class, image_shape, n_classes, **params)
    dm.fit(X, y, X_init=X_init, y_init=y_init)
    return dm.X_syn_, dm.y_syn_
