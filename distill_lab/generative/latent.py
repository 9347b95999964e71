"""Distribution matching in a frozen generator's latent space (IT-GAN, Zhao & Bilen 2022,
arXiv:2204.07513; GLaD, Cazenavette et al., CVPR 2023): learn ipc latent codes z per class so that
the images G(z, c) match the real class in DM's sense, instead of learning free pixels.

    min_z  sum_c || mean_{x in R_c} psi(A(x)) - mean_{z in Z_c} psi(A(G(z, c))) ||^2

psi is a freshly, randomly initialized ConvNet-3 every iteration and A DSA applied Siamese, as in
`matching.DistributionMatching`; only z learns, so every image stays on the generator's manifold
(sharp, digit-like) while the set as a whole moves towards the class's embedding mean.
"""
from __future__ import annotations

import copy
import numbers
import time

import numpy as np
import torch
from sklearn.base import BaseEstimator

from .. import augment as dsa
from .._validation import check_random_state, is_int
from .base import check_n_per_class, check_training_set, make_device, torch_generator
from .matching import VARIANTS, matching_steps

__all__ = ["LatentDistributionMatching", "gan_latent_dm"]


def _check_positive(name, value, integral=False):
    kind = numbers.Integral if integral else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
        what = "an int >= 1" if integral else "a number > 0"
        raise ValueError(f"{name}={value!r} must be {what}")


class LatentDistributionMatching(BaseEstimator):
    """Learn n_per_class latent codes per class of a fitted `ConditionalGAN` by DM.

    `fit(X, y)` sets `z_init_` and `z_` (n_classes * n_per_class, z_dim), `X_syn_` (flat images
    G(z_, y_syn_) in [0, 1]), `y_syn_`, `loss_history_` and `seconds_`. The generator is copied and
    frozen: the GAN passed in is never changed. Codes start as N(0, I) draws (the GAN's own prior);
    Adam moves them (lr 0.05: a code's entries are O(1), so a few hundred steps move them by about
    one prior standard deviation). Images are matched in standardized pixel space, as DM does.
    """

    def __init__(self, gan, n_per_class=10, *, iterations=300, lr=0.05, batch_real=64,
                 width=32, variant="mean", augment="auto", strategy=dsa.DSA_STRATEGY,
                 device="auto", random_state=None, verbose=True):
        self.gan = gan
        self.n_per_class = n_per_class
        self.iterations = iterations
        self.lr = lr
        self.batch_real = batch_real
        self.width = width
        self.variant = variant
        self.augment = augment
        self.strategy = strategy
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        if not hasattr(self.gan, "modules_") or "G" not in getattr(self.gan, "modules_", {}):
            raise ValueError(f"gan={type(self.gan).__name__} must be a fitted ConditionalGAN "
                             "(call gan.fit(X, y) first)")
        check_n_per_class(self.n_per_class)
        if not is_int(self.iterations) or self.iterations < 0:
            raise ValueError(f"iterations={self.iterations!r} must be an int >= 0")
        _check_positive("lr", self.lr)
        _check_positive("batch_real", self.batch_real, integral=True)
        _check_positive("width", self.width, integral=True)
        if self.variant not in VARIANTS:
            raise ValueError(f"variant={self.variant!r} must be one of {list(VARIANTS)}")
        if self.augment != "auto" and not isinstance(self.augment, bool):
            raise ValueError(f"augment={self.augment!r} must be True, False or 'auto'")
        dsa.check_strategy(self.strategy)

    def _generator(self, dev):
        G = copy.deepcopy(self.gan.modules_["G"]).to(dev)
        return G.requires_grad_(False).eval()   # frozen; BatchNorm uses its running statistics

    def fit(self, X, y):
        self._check_params()
        shape, n_classes = tuple(self.gan.image_shape_), self.gan.n_classes
        X, y = check_training_set(X, y, shape, n_classes)
        dev = self.device_ = make_device(self.device)
        rng = check_random_state(self.random_state)
        k = check_n_per_class(self.n_per_class)
        G = self._generator(dev)
        self.y_syn_ = np.repeat(np.arange(n_classes, dtype=np.int64), k)
        y_syn = torch.as_tensor(self.y_syn_, device=dev)                     # (n_classes*k,)
        z = torch.randn(len(y_syn), G.z_dim, generator=torch_generator(rng, dev), device=dev)
        self.z_init_ = z.cpu().numpy().copy()   # a copy: on the CPU .numpy() shares z's memory
        z.requires_grad_(True)                                         # (n_classes*k, z_dim)
        gen = torch_generator(rng)                                           # real batches (CPU)
        # DSA off below 16x16, as DistributionMatching's "auto": an 8x8 digit is too coarse.
        use_aug = shape[1] >= 16 if self.augment == "auto" else self.augment
        aug_gen = torch_generator(rng, dev) if use_aug else None
        # Standardized pixel space with the per-channel statistics of X, as DM.
        flat = X.reshape(len(X), shape[0], -1)
        mean = torch.as_tensor(flat.mean(axis=(0, 2)), device=dev).view(1, -1, 1, 1)
        std = torch.as_tensor(flat.std(axis=(0, 2)), device=dev).view(1, -1, 1, 1)
        real = [(torch.as_tensor(X[y == c], device=dev).view(-1, *shape) - mean) / std
                for c in range(n_classes)]                                   # (n_c, C, H, W)
        opt = torch.optim.Adam([z], lr=self.lr)
        start = time.perf_counter()
        self.loss_history_ = matching_steps(
            opt, lambda: ((G(z, y_syn).float() + 1) / 2 - mean) / std,  # (n_classes*k, C, H, W)
            real, k, iterations=self.iterations, image_shape=shape, width=self.width,
            n_classes=n_classes, batch_real=self.batch_real, rng=rng, gen=gen, aug_gen=aug_gen,
            variant=self.variant, strategy=self.strategy, dev=dev, desc="latent DM",
            verbose=self.verbose)
        self.seconds_ = time.perf_counter() - start
        self.z_ = z.detach().cpu().numpy().copy()
        self.X_syn_ = self.decode(self.z_, self.y_syn_)
        return self

    def decode(self, z, y) -> np.ndarray:
        """G(z, y) as flat images in [0, 1]: (len(z), C*H*W) float32 (e.g. `z_init_` to compare)."""
        dev = getattr(self, "device_", None) or make_device(self.device)
        G = self._generator(dev)
        with torch.no_grad():
            x = G(torch.as_tensor(np.asarray(z, np.float32), device=dev),
                  torch.as_tensor(np.asarray(y, np.int64), device=dev))
        return ((x.float().clamp(-1, 1) + 1) / 2).flatten(1).cpu().numpy()


def gan_latent_dm(gan, X, y, n_per_class, *, iterations=300, lr=0.05, batch_real=64, width=32,
                  variant="mean", augment="auto", strategy=dsa.DSA_STRATEGY, device="auto",
                  random_state=None, verbose=False):
    """IT-GAN / GLaD route: (X_syn flat in [0, 1], y_syn) = G(z*, c) with latent codes z* learned
    by DM (see `LatentDistributionMatching` for the parameters)."""
    est = LatentDistributionMatching(gan, n_per_class, iterations=iterations, lr=lr,
                                     batch_real=batch_real, width=width, variant=variant,
                                     augment=augment, strategy=strategy, device=device,
                                     random_state=random_state, verbose=verbose).fit(X, y)
    return est.X_syn_, est.y_syn_
