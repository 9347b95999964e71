"""Diffusion prototypes: the D4M idea (Su et al., "D4M: Dataset Distillation via Disentangled
Diffusion Model", CVPR 2024) in pixel space. Per class, K-means finds n_per_class prototypes; each
prototype's nearest real member is noised to step t* and denoised by the class-conditional DDPM
with classifier-free guidance (SDEdit, Meng et al., ICLR 2022), so the set keeps K-means' coverage
of the class while the diffusion model pulls every image towards a typical, sharp digit.

t* trades the two: t* = 0 returns the real members unchanged (the K-means medoids of
`selectors.kmeans`), t* = T forgets them and samples the DDPM from pure noise.
"""
from __future__ import annotations

import copy
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator

from .._validation import check_array_2d, check_random_state, is_int
from ..selectors.kmeans_dbscan import kmeans_medoids
from .base import check_n_per_class, check_training_set, make_device, torch_generator
from .diffusion import ddim_step, ddim_timesteps, guided_eps, q_sample

__all__ = ["denoise_from", "DiffusionPrototypes", "diffusion_prototypes"]


def _check_ddpm(ddpm):
    if not hasattr(ddpm, "modules_") or "unet" not in getattr(ddpm, "modules_", {}):
        raise ValueError(f"ddpm={type(ddpm).__name__} must be a fitted ConditionalDDPM "
                         "(call ddpm.fit(X, y) first)")


def _check_t_star(t_star, timesteps):
    if not is_int(t_star) or not 0 <= t_star <= timesteps:
        raise ValueError(f"t_star={t_star!r} must be an int in [0, timesteps={timesteps}]")
    return int(t_star)


def denoise_from(ddpm, X, y, t_star, *, n_steps=20, guidance_scale=2.0, batch_size=500,
                 device="auto", random_state=None) -> np.ndarray:
    """SDEdit with a fitted ConditionalDDPM: x_{t*} ~ q(x_{t*} | x_0 = X), then DDIM (eta = 0) from
    t* to 0 in min(n_steps, t*) guided calls. X flat in [0, 1]; returns flat images in [0, 1].

    t_star counts DDPM steps (1..T, abar index t* - 1); t_star = 0 returns a copy of X.
    """
    _check_ddpm(ddpm)
    t_star = _check_t_star(t_star, len(ddpm.abar_))
    X, y = check_training_set(X, y, ddpm.image_shape_, ddpm.n_classes)
    if t_star == 0:
        return np.array(X, dtype=np.float32, copy=True)
    if not is_int(n_steps) or n_steps < 1:
        raise ValueError(f"n_steps={n_steps!r} must be an int >= 1")
    dev = make_device(device)
    unet = copy.deepcopy(ddpm.modules_["unet"]).to(dev).eval()
    abar = ddpm.abar_.to(dev)
    gen = torch_generator(random_state, dev)
    taus = ddim_timesteps(t_star, min(int(n_steps), t_star))       # t* - 1 down to 0
    out = []
    with torch.no_grad():
        for lo in range(0, len(X), batch_size):
            x0 = torch.as_tensor(X[lo:lo + batch_size], device=dev).view(-1, *ddpm.image_shape_)
            yb = torch.as_tensor(y[lo:lo + batch_size], device=dev)  # (B,)
            noise = torch.randn(x0.shape, generator=gen, device=dev)
            t0 = torch.full((len(yb),), int(taus[0]), device=dev, dtype=torch.long)
            x = q_sample(x0 * 2 - 1, t0, noise, abar)                    # (B, C, H, W)
            for i, t in enumerate(taus):
                tt = torch.full((len(yb),), int(t), device=dev, dtype=torch.long)
                a_prev = abar[taus[i + 1]] if i + 1 < len(taus) else torch.ones((), device=dev)
                eps = guided_eps(unet, x, tt, yb, guidance_scale, ddpm.n_classes).float()
                x = ddim_step(x, eps, abar[t], a_prev)
            out.append(((x.clamp(-1, 1) + 1) / 2).flatten(1).cpu().numpy())
    return np.concatenate(out).astype(np.float32)


class DiffusionPrototypes(BaseEstimator):
    """Per class, K-means on `features` (one row per sample of X), the member nearest each
    centroid, noised to t_star and denoised by the fitted `ddpm`.

    fit(X, y, features=None) sets `indices_` (the chosen real members, class by class, largest
    cluster first), `X_start_` (those images), `X_syn_` (the denoised images, flat in [0, 1]) and
    `y_syn_`. t_star defaults to 400 of the DDPM's 1000 steps: under the cosine schedule
    abar_400 is about 0.65, so the real member still outweighs the noise and the class mode the
    prototype stands for survives the round trip.

    Which embedding: `features=None` clusters raw pixels. The paper table passes the embeddings of
    a ConvNet-3 trained on the data (`training.embed`), for the reason D4M clusters in a learned
    latent space rather than in pixels: pixel distances between digits are dominated by where the
    strokes lie (a shifted or thicker 1 is far from itself), so pixel K-means spends prototypes on
    position and thickness; a trained network's features are nearly invariant to those and group
    images by shape, the variation a classifier must learn from the few images kept.
    """

    def __init__(self, ddpm, n_per_class=10, *, t_star=400, n_steps=20, guidance_scale=2.0,
                 n_init=1, device="auto", random_state=None):
        self.ddpm = ddpm
        self.n_per_class = n_per_class
        self.t_star = t_star
        self.n_steps = n_steps
        self.guidance_scale = guidance_scale
        self.n_init = n_init
        self.device = device
        self.random_state = random_state

    def fit(self, X, y, features=None):
        _check_ddpm(self.ddpm)
        _check_t_star(self.t_star, len(self.ddpm.abar_))
        k = check_n_per_class(self.n_per_class)
        if not isinstance(self.guidance_scale, numbers.Real) or self.guidance_scale < 0:
            raise ValueError(f"guidance_scale={self.guidance_scale!r} must be a number >= 0")
        X, y = check_training_set(X, y, self.ddpm.image_shape_, self.ddpm.n_classes)
        feats = X if features is None else check_array_2d(features, "features", np.float32)
        if len(feats) != len(X):
            raise ValueError(f"features has {len(feats)} rows but X has {len(X)}; pass one "
                             "feature row per sample (e.g. training.embed(model, X))")
        rng = check_random_state(self.random_state)
        picks = []
        for c in range(self.ddpm.n_classes):
            pool = np.flatnonzero(y == c)
            if len(pool) < k:
                raise ValueError(f"n_per_class={k} exceeds the {len(pool)} samples of class {c}")
            km = kmeans_medoids(feats[pool], k, n_init=self.n_init,
                                random_state=rng.randint(2**31 - 1))
            picks.append(pool[km.medoids])
        self.indices_ = np.concatenate(picks).astype(np.int64)
        self.X_start_, self.y_syn_ = X[self.indices_], y[self.indices_]
        self.X_syn_ = denoise_from(self.ddpm, self.X_start_, self.y_syn_, self.t_star,
                                   n_steps=self.n_steps, guidance_scale=self.guidance_scale,
                                   device=self.device, random_state=rng)
        return self


def diffusion_prototypes(ddpm, X, y, n_per_class, *, features=None, t_star=400, n_steps=20,
                         guidance_scale=2.0, device="auto", random_state=None):
    """D4M in pixel space: (X_syn flat in [0, 1], y_syn), n_per_class per class (see
    `DiffusionPrototypes` for the parameters and the choice of features)."""
    est = DiffusionPrototypes(ddpm, n_per_class, t_star=t_star, n_steps=n_steps,
                              guidance_scale=guidance_scale, device=device,
                              random_state=random_state).fit(X, y, features=features)
    return est.X_syn_, est.y_syn_
