"""Generative distillation: learn the data distribution, then draw (or learn) a small synthetic set.

Conditional GAN (`gan`), conditional DDPM with DDIM sampling and classifier-free guidance
(`diffusion`), distribution matching (`matching`, Zhao & Bilen 2023), generate-then-select
(`select`), and quality measures with cost accounting (`quality`).
"""
from .checkpoint import CheckpointError
from .gan import ConditionalGAN

__all__ = ["CheckpointError", "ConditionalGAN"]
