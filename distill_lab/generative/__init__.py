"""Generative distillation: learn the data distribution, then draw (or learn) a small synthetic set.

Conditional GAN (`gan`), conditional DDPM with DDIM sampling and classifier-free guidance
(`diffusion`), distribution matching (`matching`, Zhao & Bilen 2023), generate-then-select
(`select`), the routes that optimize a generator's output for the task: latent codes learned by
DM (`latent`, IT-GAN / GLaD) and K-means prototypes denoised by the DDPM (`prototypes`, D4M), and
quality measures with cost accounting (`quality`).
"""
from .checkpoint import CheckpointError
from .diffusion import (ConditionalDDPM, beta_schedule, ddim_sample, ddim_step, guided_eps,
                        p_losses, q_sample)
from .gan import ConditionalGAN, discriminator_loss, generator_loss
from .latent import LatentDistributionMatching, gan_latent_dm
from .matching import DistributionMatching
from .prototypes import DiffusionPrototypes, denoise_from, diffusion_prototypes
from .quality import (bill_distillation_time, break_even, embedding_frechet_distance,
                      frechet_distance, label_fidelity, synthetic_row, within_class_diversity)
from .select import generate_then_select

__all__ = ["CheckpointError", "ConditionalGAN", "ConditionalDDPM", "beta_schedule", "q_sample",
           "p_losses", "ddim_sample", "ddim_step", "guided_eps", "discriminator_loss",
           "generator_loss", "DistributionMatching", "within_class_diversity",
           "generate_then_select", "label_fidelity", "frechet_distance",
           "embedding_frechet_distance", "bill_distillation_time", "synthetic_row", "break_even",
           "LatentDistributionMatching", "gan_latent_dm", "DiffusionPrototypes", "denoise_from",
           "diffusion_prototypes"]
