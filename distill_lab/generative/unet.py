"""A small class-conditional U-Net (Ronneberger et al., 2015) as the noise predictor of DDPM
(Ho et al., 2020): eps_theta(x_t, t, y).

Two resolution levels (H -> H/2 -> H/4 and back, with skip connections); residual blocks receive
the sinusoidal time embedding plus a class embedding. Class index `n_classes` is the "null" label
that classifier-free guidance (Ho & Salimans, 2022) trains with and samples against.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models import init_parameters_
from .layers import check_image_shape, timestep_embedding

__all__ = ["UNet"]


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(8 if channels % 8 == 0 else 1, channels)


class ResBlock(nn.Module):
    """GN-SiLU-conv, add the (time + class) embedding per channel, GN-SiLU-conv, residual."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int):
        super().__init__()
        self.norm1, self.conv1 = _norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = _norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))          # (B, c_out, h, w)
        h = h + self.emb(F.silu(emb))[:, :, None, None]  # emb (B, E) -> (B, c_out, 1, 1)
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """eps_theta(x_t (B, C, H, W), t (B,), y (B,)) -> predicted noise (B, C, H, W).

    Shapes below for (1, 28, 28) and width w; digits run 8 -> 4 -> 2 -> 4 -> 8.
    """

    def __init__(self, image_shape, n_classes: int, width: int = 32, generator=None):
        super().__init__()
        C, _, _ = check_image_shape(image_shape)
        self.width, emb = width, 4 * width
        self.time_mlp = nn.Sequential(nn.Linear(width, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.class_embed = nn.Embedding(n_classes + 1, emb)          # last row: null label
        self.inc = nn.Conv2d(C, width, 3, padding=1)                  # (B, w, 28, 28)
        self.down1 = ResBlock(width, width, emb)                      # (B, w, 28, 28) skip1
        self.pool1 = nn.Conv2d(width, width, 3, stride=2, padding=1)  # (B, w, 14, 14)
        self.down2 = ResBlock(width, 2 * width, emb)                  # (B, 2w, 14, 14) skip2
        self.pool2 = nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1)  # (B, 2w, 7, 7)
        self.mid = ResBlock(2 * width, 2 * width, emb)                # (B, 2w, 7, 7)
        self.up2 = ResBlock(4 * width, 2 * width, emb)                # cat skip2 -> (B, 2w, 14, 14)
        self.up1 = ResBlock(3 * width, width, emb)                    # cat skip1 -> (B, w, 28, 28)
        self.out = nn.Sequential(_norm(width), nn.SiLU(), nn.Conv2d(width, C, 3, padding=1))
        init_parameters_(self, generator if generator is not None else torch.Generator())
        # Start as the zero predictor so early training is stable (a common DDPM choice).
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x, t, y):
        emb = self.time_mlp(timestep_embedding(t, self.width)) + self.class_embed(y)  # (B, 4w)
        s1 = self.down1(self.inc(x), emb)                             # (B, w, H, W)
        s2 = self.down2(self.pool1(s1), emb)                          # (B, 2w, H/2, W/2)
        h = self.mid(self.pool2(s2), emb)                             # (B, 2w, H/4, W/4)
        h = F.interpolate(h, size=s2.shape[-2:], mode="nearest")      # (B, 2w, H/2, W/2)
        h = self.up2(torch.cat([h, s2], dim=1), emb)                  # (B, 2w, H/2, W/2)
        h = F.interpolate(h, size=s1.shape[-2:], mode="nearest")      # (B, 2w, H, W)
        h = self.up1(torch.cat([h, s1], dim=1), emb)                  # (B, w, H, W)
        return self.out(h)                                            # (B, C, H, W)
