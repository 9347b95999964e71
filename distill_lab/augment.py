"""Differentiable Siamese Augmentation (DSA; Zhao & Bilen, ICML 2021, "Dataset Condensation with
Differentiable Siamese Augmentation"): random image transforms written as differentiable tensor
operations, so that gradients flow through them back to learned synthetic images.

Each call draws ONE operation from the strategy (color, crop, cutout, flip, scale, rotate, as in
the reference's single mode), then its parameters. `siamese=True` draws one parameter set for the
whole batch, to be applied again with `apply` to the other side of a matching step (real and
synthetic images then see the very same transform); otherwise every image gets its own draw, as
when a network is trained with DSA. Randomness comes only from the `torch.Generator` passed in.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["DSA_STRATEGY", "DSAParams", "sample_params", "apply", "dsa"]

DSA_STRATEGY = "color_crop_cutout_flip_scale_rotate"

# The reference's magnitudes (its ParamDiffAug), all multiplied by `strength`.
SCALE, ROTATE_DEG, CROP_PAD, CUTOUT = 1.2, 15.0, 0.125, 0.5
BRIGHTNESS, SATURATION, CONTRAST, FLIP_P = 1.0, 2.0, 0.5, 0.5
OPS = ("color", "crop", "cutout", "flip", "scale", "rotate")


@dataclass(frozen=True)
class DSAParams:
    """One drawn transform: its operation and per-image (or, Siamese, single) parameters."""

    op: str
    values: dict          # name -> tensor of shape (n, ...) with n = 1 (Siamese) or the batch size
    strength: float = 1.0


def check_strategy(strategy: str) -> tuple:
    ops = tuple(strategy.split("_")) if isinstance(strategy, str) and strategy else ()
    unknown = [op for op in ops if op not in OPS]
    if not ops or unknown:
        raise ValueError(f"strategy={strategy!r} must be '_'-joined operations from {list(OPS)}, "
                         f"e.g. {DSA_STRATEGY!r}")
    return ops


def sample_params(x: torch.Tensor, generator: torch.Generator, *, strategy: str = DSA_STRATEGY,
                  siamese: bool = False, strength: float = 1.0) -> DSAParams:
    """Draw one operation and its parameters for the batch x (B, C, H, W)."""
    ops = check_strategy(strategy)
    if not strength >= 0:
        raise ValueError(f"strength={strength!r} must be >= 0 (0 is the identity)")
    n = 1 if siamese else len(x)
    dev = generator.device
    op = ops[int(torch.randint(len(ops), (1,), generator=generator, device=dev))]

    def u(*shape):   # uniform [0, 1) on the generator's device, moved to the data's
        return torch.rand(n, *shape, generator=generator, device=dev).to(x.device)

    values = {"color": lambda: {"brightness": u(), "saturation": u(), "contrast": u()},
              "crop": lambda: {"shift": u(2)},
              "cutout": lambda: {"centre": u(2)},
              "flip": lambda: {"flip": u()},
              "scale": lambda: {"scale": u(2)},
              "rotate": lambda: {"angle": u()}}[op]()
    return DSAParams(op, values, float(strength))


def apply(x: torch.Tensor, params: DSAParams) -> torch.Tensor:
    """Apply a drawn transform to x (B, C, H, W); single (Siamese) parameters broadcast."""
    s, v = params.strength, {k: _expand(t, len(x)) for k, t in params.values.items()}
    if params.op == "color":
        x = x + (v["brightness"] - 0.5).view(-1, 1, 1, 1) * BRIGHTNESS * s
        mean = x.mean(dim=1, keepdim=True)                                   # (B, 1, H, W)
        x = (x - mean) * (1 + (v["saturation"] * SATURATION - 1) * s).view(-1, 1, 1, 1) + mean
        mean = x.mean(dim=(1, 2, 3), keepdim=True)                           # (B, 1, 1, 1)
        return (x - mean) * (1 + (v["contrast"] + CONTRAST - 1) * s).view(-1, 1, 1, 1) + mean
    if params.op == "crop":
        return _translate(x, v["shift"], s)
    if params.op == "cutout":
        return _cutout(x, v["centre"], s)
    if params.op == "flip":
        return torch.where((v["flip"] < FLIP_P * min(s, 1.0)).view(-1, 1, 1, 1), x.flip(3), x)
    if params.op == "scale":
        lo, hi = 1 / SCALE, SCALE
        sxy = 1 + (v["scale"] * (hi - lo) + lo - 1) * s                        # (B, 2)
        zero = torch.zeros_like(sxy[:, 0])
        theta = torch.stack([torch.stack([sxy[:, 0], zero, zero], 1),
                             torch.stack([zero, sxy[:, 1], zero], 1)], 1)      # (B, 2, 3)
        return _warp(x, theta)
    angle = (v["angle"] - 0.5) * 2 * math.radians(ROTATE_DEG) * s        # (B,)
    cos, sin = torch.cos(angle), torch.sin(angle)
    zero = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, sin, zero], 1),
                         torch.stack([-sin, cos, zero], 1)], 1)                # (B, 2, 3)
    return _warp(x, theta)


def dsa(x: torch.Tensor, generator: torch.Generator, *, strategy: str = DSA_STRATEGY,
        strength: float = 1.0) -> torch.Tensor:
    """Augment x with per-image parameters (training with DSA)."""
    return apply(x, sample_params(x, generator, strategy=strategy, strength=strength))


def _expand(t: torch.Tensor, n: int) -> torch.Tensor:
    return t.expand(n, *t.shape[1:]) if len(t) == 1 else t


def _warp(x, theta):
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=True)   # (B, H, W, 2)
    return F.grid_sample(x, grid, align_corners=True)


def _translate(x, shift, s):
    """Shift each image by whole pixels (up to CROP_PAD of its size), zero-filled."""
    B, _, H, W = x.shape
    pad = int(CROP_PAD * H * s + 0.5), int(CROP_PAD * W * s + 0.5)
    dy = ((shift[:, 0] * (2 * pad[0] + 1)).long().clamp(max=2 * pad[0]) - pad[0])  # (B,) ints
    dx = ((shift[:, 1] * (2 * pad[1] + 1)).long().clamp(max=2 * pad[1]) - pad[1])
    padded = F.pad(x, [pad[1], pad[1], pad[0], pad[0]])                   # (B, C, H+2p, W+2p)
    rows = torch.arange(H, device=x.device)[None] + pad[0] - dy[:, None]   # (B, H)
    cols = torch.arange(W, device=x.device)[None] + pad[1] - dx[:, None]   # (B, W)
    b = torch.arange(B, device=x.device)[:, None, None]
    return padded[b, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)   # (B, C, H, W)


def _cutout(x, centre, s):
    """Zero a square of CUTOUT x the image size at a random centre in each image."""
    _, _, H, W = x.shape
    size = int(CUTOUT * H * s + 0.5), int(CUTOUT * W * s + 0.5)
    cy = (centre[:, 0] * H).long()[:, None]                                  # (B, 1)
    cx = (centre[:, 1] * W).long()[:, None]
    rows = torch.arange(H, device=x.device)[None]                            # (1, H)
    cols = torch.arange(W, device=x.device)[None]
    in_rows = (rows >= cy - size[0] // 2) & (rows < cy - size[0] // 2 + size[0])   # (B, H)
    in_cols = (cols >= cx - size[1] // 2) & (cols < cx - size[1] // 2 + size[1])   # (B, W)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])                      # (B, H, W)
    return x * keep[:, None].to(x.dtype)
