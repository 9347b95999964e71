"""Generate, then select: draw many candidates per class from a trained generator and keep the
n_per_class most representative ones by facility location on embeddings (Mirzasoleiman et al.,
2020), so that the kept images cover the generator's distribution instead of repeating its modes.
"""
from __future__ import annotations

import numpy as np

from .._validation import check_random_state
from ..criteria.facility_dense import facility_location
from ..training import embed
from .base import check_n_per_class

__all__ = ["generate_then_select"]


def generate_then_select(generator, n_per_class, *, n_candidates_per_class=None,
                         embed_model=None, similarity="rbf", random_state=None, **sample_kwargs):
    """Return (X_syn flat in [0, 1], y_syn) with n_per_class images of every class.

    generator: a fitted ConditionalGAN / ConditionalDDPM (anything with `sample(y, random_state)`
    and `n_classes`). n_candidates_per_class: candidates drawn per class (default 5 x
    n_per_class). embed_model: a model with `embed` (e.g. a ConvNet trained on real data) whose
    features define similarity; None uses raw pixels. sample_kwargs go to `generator.sample`
    (e.g. n_steps, guidance_scale for diffusion).
    """
    k = check_n_per_class(n_per_class)
    m = 5 * k if n_candidates_per_class is None else int(n_candidates_per_class)
    if m < k:
        raise ValueError(f"n_candidates_per_class={n_candidates_per_class} must be >= "
                         f"n_per_class={k}")
    rng = check_random_state(random_state)
    y_cand = np.repeat(np.arange(generator.n_classes, dtype=np.int64), m)
    X_cand = generator.sample(y_cand, random_state=rng, **sample_kwargs)  # (C*m, d)
    feats = X_cand if embed_model is None else embed(embed_model, X_cand)  # (C*m, d or 128)
    keep = []
    for c in range(generator.n_classes):
        pool = np.flatnonzero(y_cand == c)
        idx, _ = facility_location(feats[pool], k, similarity=similarity, random_state=rng)
        keep.append(pool[idx])
    keep = np.concatenate(keep)
    return X_cand[keep], y_cand[keep]
