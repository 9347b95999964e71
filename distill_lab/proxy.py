"""Proxy models: a short, cheap training run whose outputs (probabilities, embeddings) feed the
model-dependent criteria. Its cost is part of selection time (Coleman et al. 2020, "Selection via
Proxy").
"""
from __future__ import annotations

import numbers

import numpy as np

from distill_lab._validation import resolve_device
from distill_lab.models import MODELS, make_model
from distill_lab.training import TrainConfig, embed, predict_proba, steps_per_epoch, train

__all__ = ["fit_proxy", "proxy_outputs", "check_proxy", "PROXY_CONFIG"]

PROXY_CONFIG = TrainConfig(epochs=1.0, batch_size=128, lr=3e-3)
# One epoch of a small data set (digits: 11 steps) leaves a proxy near chance, whose scores mean
# little; a floor of 200 steps costs well under a second there and nothing on MNIST (469 per epoch).
MIN_STEPS = 200


def check_proxy(model, epochs, image_shape, n_features: int, device) -> None:
    """Check a proxy's settings before any training; errors use the selectors' parameter names
    (proxy_model, proxy_epochs, image_shape, device)."""
    if model not in MODELS:
        raise ValueError(f"proxy_model={model!r} is not a known model; choose one of "
                         f"{list(MODELS)}")
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Real) \
            or not (np.isfinite(epochs) and epochs > 0):
        raise ValueError(f"proxy_epochs={epochs!r} must be a number > 0")
    if model in ("convnet", "convnet3"):
        if image_shape is None:
            raise ValueError(f"proxy_model={model!r} needs image_shape=(C, H, W); got None")
        if int(np.prod(image_shape)) != n_features:
            raise ValueError(f"image_shape={tuple(image_shape)} does not match the "
                             f"{n_features} features of X (C*H*W must equal n_features)")
    resolve_device(device)


def fit_proxy(X, y, *, n_classes=None, image_shape=None, model: str = "mlp", epochs: float = 1.0,
              config: TrainConfig = PROXY_CONFIG, device="auto", random_state=None):
    """Train a fresh proxy `model` for `epochs` passes (a fraction is allowed) over (X, y), and
    for at least `MIN_STEPS` optimizer steps."""
    if not (isinstance(epochs, (int, float)) and epochs > 0):
        raise ValueError(f"proxy_epochs={epochs!r} must be a number > 0")
    n_classes = int(np.max(y)) + 1 if n_classes is None else n_classes
    net = make_model(model, X.shape[1], n_classes, image_shape=image_shape,
                     random_state=random_state)
    steps = max(MIN_STEPS, round(epochs * steps_per_epoch(len(X), config.batch_size)))
    train(net, X, y, config=config, steps=steps, device=device, random_state=random_state)
    return net


def proxy_outputs(X, y, *, model="mlp", epochs=1.0, image_shape=None, device="auto",
                  random_state=None) -> dict:
    """Probabilities (n, C) and embeddings (n, 128) of a freshly trained proxy."""
    net = fit_proxy(X, y, image_shape=image_shape, model=model, epochs=epochs, device=device,
                    random_state=random_state)
    return {"probs": predict_proba(net, X), "embeddings": embed(net, X), "model": net}
