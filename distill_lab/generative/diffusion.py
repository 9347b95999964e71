"""Class-conditional denoising diffusion (DDPM, Ho et al., NeurIPS 2020) with classifier-free
guidance (Ho & Salimans, 2022) and the deterministic DDIM sampler (Song et al., ICLR 2021).

Forward process: q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I), hence in closed form
q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) with abar_t = prod_{s<=t} (1 - beta_s).
A U-Net learns eps_theta(x_t, t, y) by regressing the noise (`p_losses`); DDIM then walks a
short subsequence of timesteps from pure noise back to an image.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from .._validation import is_int
from .base import BaseGenerator
from .unet import UNet

__all__ = ["beta_schedule", "alphas_cumprod", "q_sample", "p_losses", "ddim_timesteps",
           "guided_eps", "ddim_step", "ddim_sample", "ConditionalDDPM"]

MAX_BETA = 0.999  # the cap of Nichol & Dhariwal's reference code: 1 - beta_t >= 1e-3


def beta_schedule(name: str, timesteps: int) -> np.ndarray:
    """beta_1..beta_T (float64): "linear" (Ho et al.) or "cosine" (Nichol & Dhariwal, 2021).

    Both are clipped to beta_t <= MAX_BETA, so abar_t stays strictly positive for every T >= 1
    and DDIM never divides by sqrt(abar_t) = 0.
    """
    if not is_int(timesteps) or timesteps < 1:
        raise ValueError(f"timesteps must be an int >= 1, got {timesteps!r}")
    if name == "linear":
        # Scaling by 1000 / T keeps abar_T ~ 4e-5 for large T; for T <= 20 the top betas reach
        # or pass 1 (abar_T <= 0: NaN under sqrt) and are clipped, as the cosine betas are.
        scale = 1000 / timesteps
        betas = np.linspace(1e-4 * scale, 0.02 * scale, timesteps, dtype=np.float64)
        return np.clip(betas, 0, MAX_BETA)
    if name == "cosine":
        s = 0.008
        f = np.cos((np.arange(timesteps + 1) / timesteps + s) / (1 + s) * math.pi / 2) ** 2
        return np.clip(1 - f[1:] / f[:-1], 0, MAX_BETA)  # abar_t = f(t) / f(0)
    raise ValueError(f"schedule={name!r} is not supported; use 'linear' or 'cosine'")


def alphas_cumprod(betas) -> np.ndarray:
    """abar_t = prod_{s <= t} (1 - beta_s), shape (T,)."""
    return np.cumprod(1.0 - np.asarray(betas, dtype=np.float64))


def _gather(values: torch.Tensor, t: torch.Tensor, ndim: int) -> torch.Tensor:
    # values (T,), t (B,) -> (B, 1, 1, 1) to broadcast against images
    return values[t].view(-1, *([1] * (ndim - 1)))


def q_sample(x0, t, noise, abar: torch.Tensor) -> torch.Tensor:
    """Draw x_t ~ q(x_t | x_0) in one step: sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise."""
    a = _gather(abar.to(x0.dtype), t, x0.ndim)
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


def p_losses(model, x0, y, abar: torch.Tensor, generator: torch.Generator,
             p_uncond: float = 0.1, null_class: int | None = None) -> torch.Tensor:
    """The simplified DDPM loss E_{t, eps} |eps - eps_theta(x_t, t, y)|^2.

    With probability p_uncond a label is replaced by `null_class`, so one network learns both
    the conditional and the unconditional model that guidance needs.
    """
    B, dev = len(x0), x0.device
    t = torch.randint(len(abar), (B,), generator=generator, device=dev)       # (B,)
    noise = torch.randn(x0.shape, generator=generator, device=dev)            # (B, C, H, W)
    if null_class is not None and p_uncond > 0:
        drop = torch.rand(B, generator=generator, device=dev) < p_uncond
        y = torch.where(drop, torch.full_like(y, null_class), y)
    return F.mse_loss(model(q_sample(x0, t, noise, abar), t, y).float(), noise)


def ddim_timesteps(timesteps: int, n_steps: int) -> np.ndarray:
    """n_steps timesteps from T-1 down to 0, evenly spaced (the DDIM subsequence tau)."""
    if not is_int(n_steps) or not 1 <= n_steps <= timesteps:
        raise ValueError(f"n_steps must be an int in [1, timesteps={timesteps}], got {n_steps!r}")
    return np.unique(np.linspace(0, timesteps - 1, n_steps).round().astype(np.int64))[::-1]


def guided_eps(model, x, t, y, guidance_scale: float, null_class: int | None) -> torch.Tensor:
    """Classifier-free guidance: eps_u + s (eps_c - eps_u), with eps_c = model(x, t, y) and
    eps_u = model(x, t, null_class). s = 1 is the conditional model alone (one call, no null
    label needed); s = 0 the unconditional one."""
    if guidance_scale == 1.0:
        return model(x, t, y)
    # One batched call for the conditional and unconditional predictions: (2B, C, H, W).
    y_null = torch.full_like(y, null_class)
    eps = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, y_null]))
    eps_c, eps_u = eps.chunk(2)
    return eps_u + guidance_scale * (eps_c - eps_u)


def ddim_step(x, eps, a_t, a_prev, eta: float = 0.0, noise=None) -> torch.Tensor:
    """One DDIM update x_t -> x_{t_prev} given the predicted noise eps and abar_t, abar_{t_prev}.

    x0_hat = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t), clipped to the data range [-1, 1]; eps is then
    re-derived from the clipped x0_hat so the two agree, and
    x_prev = sqrt(a_prev) x0_hat + sqrt(1 - a_prev - sigma^2) eps + sigma noise, with
    sigma = eta sqrt((1 - a_prev) / (1 - a_t) (1 - a_t / a_prev)). eta = 0 (or noise=None) is the
    deterministic step; a_prev = 1 (the last step) returns x0_hat.
    """
    a_t, a_prev = torch.as_tensor(a_t, dtype=x.dtype), torch.as_tensor(a_prev, dtype=x.dtype)
    x0 = ((x - (1 - a_t).sqrt() * eps) / a_t.sqrt()).clamp(-1, 1)
    eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()  # consistent with the clipped x0
    sigma = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).sqrt()
    x = a_prev.sqrt() * x0 + (1 - a_prev - sigma ** 2).clamp(min=0).sqrt() * eps
    return x if noise is None else x + sigma * noise


def ddim_sample(model, y, shape, abar: torch.Tensor, n_steps: int = 50,
                guidance_scale: float = 1.0, eta: float = 0.0, null_class: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """DDIM from x_T ~ N(0, I) to x_0 in `n_steps` network calls; images (B, *shape) in [-1, 1].

    eta = 0 is deterministic given x_T; eta = 1 recovers DDPM's ancestral variance.
    """
    if guidance_scale != 1.0 and null_class is None:
        raise ValueError("guidance_scale != 1 needs null_class (the unconditional label)")
    dev = abar.device
    x = torch.randn((len(y), *shape), generator=generator, device=dev)  # (B, C, H, W)
    taus = ddim_timesteps(len(abar), n_steps)
    for i, t in enumerate(taus):
        tt = torch.full((len(y),), int(t), device=dev, dtype=torch.long)
        a_prev = abar[taus[i + 1]] if i + 1 < len(taus) else torch.ones((), device=dev)
        eps = guided_eps(model, x, tt, y, guidance_scale, null_class).float()
        noise = torch.randn(x.shape, generator=generator, device=dev) \
            if eta > 0 and i + 1 < len(taus) else None
        x = ddim_step(x, eps, abar[t], a_prev, eta, noise)
    return x


class ConditionalDDPM(BaseGenerator):
    """Class-conditional DDPM on flat images in [0, 1]; `fit(X, y, steps)`, then `distill`.

    Sampling (`sample` / `distill`) takes n_steps (DDIM steps, default min(50, timesteps)),
    guidance_scale (1 = plain
    conditional, larger = more typical, less diverse samples) and eta.
    """

    def __init__(self, image_shape=(1, 28, 28), n_classes=10, *, timesteps=1000,
                 schedule="cosine", width=32, p_uncond=0.1, lr=1e-3, batch_size=64,
                 device="auto", random_state=None, verbose=True):
        self.image_shape = image_shape
        self.n_classes = n_classes
        self.timesteps = timesteps
        self.schedule = schedule
        self.width = width
        self.p_uncond = p_uncond
        self.lr = lr
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, generator):
        betas = beta_schedule(self.schedule, self.timesteps)
        self.abar_ = torch.tensor(alphas_cumprod(betas), dtype=torch.float32, device=self.device_)
        net = UNet(self.image_shape, self.n_classes, self.width, generator).to(self.device_)
        self.modules_ = {"unet": net}
        self.optimizers_ = {"unet": torch.optim.Adam(net.parameters(), lr=self.lr)}

    def _train_step(self, x, y, noise_gen):
        loss = p_losses(self.modules_["unet"], x, y, self.abar_, noise_gen,
                        self.p_uncond, null_class=self.n_classes)
        opt = self.optimizers_["unet"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": float(loss.detach())}

    def _sample(self, y, noise_gen, n_steps=None, guidance_scale=2.0, eta=0.0):
        n_steps = min(50, self.timesteps) if n_steps is None else n_steps
        return ddim_sample(self.modules_["unet"], y, self.image_shape_, self.abar_, n_steps,
                           guidance_scale, eta, null_class=self.n_classes, generator=noise_gen)
