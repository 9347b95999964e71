"""Distribution Matching (DM; Zhao & Bilen, "Dataset Condensation with Distribution Matching",
WACV 2023): learn the synthetic images themselves.

Each iteration draws a freshly, randomly initialized ConvNet-3 psi (the papers' evaluation network,
`distill_lab.models.ConvNet3`, used only as a feature map) and, for every class c, moves the
synthetic images S_c so that their mean embedding matches that of a real batch R_c:

    min_S  sum_c || mean_{x in R_c} psi(A(x)) - mean_{s in S_c} psi(A(s)) ||^2

where A is DSA (Zhao & Bilen, ICML 2021), applied Siamese: the real and the synthetic batch of a
class see the same drawn transform. The `mmd` variant (M3D; Zhang et al., AAAI 2024) replaces the
mean difference by the RBF-kernel MMD^2 between the two sets of embeddings, which aligns every
moment, not only the first. As in the reference, images are learned in standardized pixel space
((x - mean) / std of the training set) without clamping; `X_syn_` is returned in the library's
pixel scale (x * std + mean), so values slightly outside [0, 1] are expected.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from sklearn.base import BaseEstimator
from tqdm.auto import tqdm

from .. import augment as dsa
from ..criteria import kernels
from .._validation import check_random_state, is_int
from ..models import make_model
from .base import autocast, check_n_per_class, check_training_set, make_device, torch_generator
from .layers import check_image_shape

__all__ = ["random_embedder", "mmd2", "matching_loss", "matching_steps", "DistributionMatching",
           "VARIANTS"]

VARIANTS = ("mean", "mmd")
MMD_BANDWIDTHS = (0.5, 1.0, 2.0)   # multiples of the median squared distance (multi-scale RBF)


def random_embedder(image_shape, width: int, random_state, n_classes: int = 10):
    """A freshly initialized ConvNet-3 whose `embed` is the feature map (no parameter learns)."""
    C, H, W = image_shape
    net = make_model("convnet3", C * H * W, n_classes, image_shape=image_shape,
                     random_state=random_state, width=width)
    return net.requires_grad_(False).eval()


def mmd2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Biased MMD^2 between rows of a (n, d) and b (m, d), differentiable (M3D's loss): the
    formula of `criteria.kernels.mmd2` under a sum of RBF kernels whose squared widths are
    MMD_BANDWIDTHS times the (detached) median squared distance of the pooled rows."""
    with torch.no_grad():
        z = torch.cat([a, b])                                      # (n + m, d)
        d2 = torch.cdist(z, z).pow(2)                              # (n + m, n + m)
        scale = d2[d2 > 0].median() if (d2 > 0).any() else d2.new_tensor(1.)
    return kernels.mmd2(a, b, [h * scale for h in MMD_BANDWIDTHS])


def matching_loss(net, real_by_class, syn_by_class, generator=None, *, variant: str = "mean",
                  strategy: str = dsa.DSA_STRATEGY) -> torch.Tensor:
    """Sum over classes of the embedding discrepancy between real and synthetic images.

    variant "mean": |mean psi(real_c) - mean psi(syn_c)|^2 (DM); "mmd": MMD^2 (M3D). With a
    generator, each class draws one DSA transform applied to both sides (Siamese).
    """
    loss = 0.0
    for real, syn in zip(real_by_class, syn_by_class):
        if generator is not None:
            params = dsa.sample_params(real, generator, strategy=strategy, siamese=True)
            real, syn = dsa.apply(real, params), dsa.apply(syn, params)
        with torch.no_grad():
            emb_real = net.embed(real).float()                     # (B_real, d)
        emb_syn = net.embed(syn).float()                           # (k, d)
        if variant == "mmd":
            loss = loss + mmd2(emb_real, emb_syn)
        else:
            loss = loss + ((emb_real.mean(0) - emb_syn.mean(0)) ** 2).sum()
    return loss


def matching_steps(opt, synthesize, real, k: int, *, iterations: int, image_shape, width: int,
                   n_classes: int, batch_real: int, rng, gen, aug_gen, variant: str, strategy: str,
                   dev, desc: str = "DM", verbose: bool = False) -> list:
    """The distribution-matching loop shared by DM (pixels) and latent DM (GAN codes): each
    iteration a fresh random embedder (from `rng`), a batch of each class's `real` images (from
    `gen`), the synthetic set `synthesize()` (n_classes*k, C, H, W) and one step of `opt` on
    `matching_loss`. Returns the loss of every iteration."""
    history = []
    for _ in tqdm(range(iterations), desc=desc, disable=not verbose):
        net = random_embedder(image_shape, width, rng, n_classes).to(dev)
        batches = [r[torch.randperm(len(r), generator=gen)[:batch_real].to(dev)]
                   for r in real]                                            # (<=B_real, C, H, W)
        with autocast(dev):
            loss = matching_loss(net, batches, synthesize().split(k), aug_gen, variant=variant,
                                 strategy=strategy)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    return history


class DistributionMatching(BaseEstimator):
    """Learn n_per_class synthetic images per class by DM; `fit(X, y)` sets X_syn_, y_syn_.

    variant: "mean" (DM) or "mmd" (M3D). init: "real" (seeded random real images per class, DM's
    default), "noise" (uniform), or give X_init / y_init to fit (e.g. a generator's samples:
    n_per_class images of every class). augment: True / False, or "auto": DSA on for images of
    16x16 and larger; an 8x8 digit is too coarse for sub-pixel warps (on digits they cost about
    3 points of accuracy in our runs). strategy: the DSA operations. The reference's settings are
    the defaults (width 128, lr 1, momentum 0.5, 256 real images per class per iteration) except
    `iterations` (reference 20,000).
    """

    def __init__(self, n_per_class=10, image_shape=(1, 28, 28), n_classes=10, *,
                 iterations=1000, lr=1.0, momentum=0.5, batch_real=256, width=128,
                 variant="mean", init="real", augment="auto", strategy=dsa.DSA_STRATEGY,
                 device="auto", random_state=None, verbose=True):
        self.n_per_class = n_per_class
        self.image_shape = image_shape
        self.n_classes = n_classes
        self.iterations = iterations
        self.lr = lr
        self.momentum = momentum
        self.batch_real = batch_real
        self.width = width
        self.variant = variant
        self.init = init
        self.augment = augment
        self.strategy = strategy
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

    def _check_params(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"variant={self.variant!r} must be one of {list(VARIANTS)}")
        if not is_int(self.iterations) or self.iterations < 0:
            raise ValueError(f"iterations={self.iterations!r} must be an int >= 0")
        dsa.check_strategy(self.strategy)

    def fit(self, X, y, X_init=None, y_init=None):
        self._check_params()
        self.image_shape_ = check_image_shape(self.image_shape)
        X, y = check_training_set(X, y, self.image_shape_, self.n_classes)
        dev = self.device_ = make_device(self.device)
        rng = check_random_state(self.random_state)
        X0, self.y_syn_ = self._initial(X, y, X_init, y_init, rng)
        gen = torch_generator(rng)                       # real batches (CPU)
        aug_gen = torch_generator(rng, dev) if self._use_augment() else None
        # Standardized pixel space, as the reference: the per-channel mean and std of X.
        C = self.image_shape_[0]
        self.mean_ = X.reshape(len(X), C, -1).mean(axis=(0, 2))          # (C,)
        self.std_ = X.reshape(len(X), C, -1).std(axis=(0, 2))
        mean = torch.as_tensor(self.mean_, device=dev).view(1, C, 1, 1)
        std = torch.as_tensor(self.std_, device=dev).view(1, C, 1, 1)
        shape, k = (-1, *self.image_shape_), check_n_per_class(self.n_per_class)
        real = [(torch.as_tensor(X[y == c], device=dev).view(shape) - mean) / std
                for c in range(self.n_classes)]                            # (n_c, C, H, W)
        syn = ((torch.as_tensor(X0, device=dev).view(shape) - mean) / std).requires_grad_(True)
        opt = torch.optim.SGD([syn], lr=self.lr, momentum=self.momentum)
        start = time.perf_counter()
        self.loss_history_ = matching_steps(
            opt, lambda: syn, real, k, iterations=self.iterations, image_shape=self.image_shape_,
            width=self.width, n_classes=self.n_classes, batch_real=self.batch_real, rng=rng,
            gen=gen, aug_gen=aug_gen, variant=self.variant, strategy=self.strategy, dev=dev,
            verbose=self.verbose)
        self.seconds_ = time.perf_counter() - start
        self.X_syn_ = (syn.detach() * std + mean).flatten(1).cpu().numpy()   # pixel scale
        return self
