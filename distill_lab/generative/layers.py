"""Building blocks shared by the generative networks: spectral normalization (Miyato et al., ICLR
2018) and the sinusoidal time embedding of Transformers / DDPM (Vaswani et al., 2017; Ho et al.,
2020).

Weights are drawn from a local `torch.Generator` by `distill_lab.models.init_parameters_` (the
package's one seeded initialization), never from the global RNG, so the same `random_state` always
builds the same network.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

__all__ = ["SUPPORTED_SIZES", "check_image_shape", "spectral_norm", "timestep_embedding"]

# Height = width values the networks support: two stride-2 stages need H divisible by 4.
SUPPORTED_SIZES = (8, 12, 16, 20, 24, 28, 32)


def check_image_shape(image_shape) -> tuple[int, int, int]:
    """Return image_shape as (C, H, W) if the generative networks support it, else raise."""
    try:
        shape = tuple(int(s) for s in image_shape)
    except TypeError:
        raise TypeError(f"image_shape must be a tuple (C, H, W), got {image_shape!r}") from None
    if (len(shape) != 3 or not 1 <= shape[0] <= 4 or shape[1] != shape[2]
            or shape[1] not in SUPPORTED_SIZES):
        raise ValueError(f"image_shape={image_shape!r} is not supported by the generative networks;"
                         f" allowed: (C, H, H) with 1 <= C <= 4 and H in {SUPPORTED_SIZES}, e.g. "
                         "(1, 8, 8) for digits or (1, 28, 28) for MNIST")
    return shape


class _SpectralNorm(nn.Module):
    """W / sigma_max(W); sigma is estimated by one power-iteration step per training forward."""

    def __init__(self, weight: torch.Tensor, generator: torch.Generator, n_warmup: int = 15):
        super().__init__()
        u = torch.randn(weight.shape[0], generator=generator)  # (out,)
        self.register_buffer("u", F.normalize(u, dim=0))
        with torch.no_grad():
            for _ in range(n_warmup):
                self._power_step(weight.flatten(1))

    def _power_step(self, W: torch.Tensor) -> None:
        # W: (out, in * kh * kw). u <- W W^T u / |.|, the left singular vector of the top sigma.
        v = F.normalize(W.t() @ self.u, dim=0)
        self.u.copy_(F.normalize(W @ v, dim=0))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        W = weight.flatten(1)
        if self.training:
            with torch.no_grad():
                self._power_step(W.detach().float())
        u = self.u.clone()  # a copy: the next forward updates the buffer in place
        v = F.normalize(W.t().detach() @ u.to(W.dtype), dim=0)
        sigma = torch.dot(u.to(W.dtype), W @ v)  # u^T W v ~ largest singular value
        return weight / sigma


def spectral_norm(layer: nn.Module, generator: torch.Generator) -> nn.Module:
    """Constrain `layer.weight` to spectral norm 1 (the Lipschitz bound of SN-GAN's critic)."""
    parametrize.register_parametrization(layer, "weight", _SpectralNorm(layer.weight, generator))
    return layer


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal features of integer timesteps t (B,) -> (B, dim), as in DDPM's U-Net."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period)
                      * torch.arange(half, dtype=torch.float32, device=t.device) / half)  # (half,)
    angles = t.float()[:, None] * freqs[None, :]  # (B, half)
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1)  # (B, dim) for even dim
