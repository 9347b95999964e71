"""Proxy models: a short, cheap training run whose outputs (probabilities, embeddings) feed the
model-dependent criteria. Its cost is part of selection time (Coleman et al. 2020, "Selection via
Proxy").
"""
from __future__ import annotations

import contextlib
import numbers
import threading
import time

import numpy as np

from distill_lab._io import data_fingerprint
from distill_lab._validation import resolve_device
from distill_lab.models import MODELS, make_model
from distill_lab.training import TrainConfig, embed, predict_proba, steps_per_epoch, train

__all__ = ["fit_proxy", "proxy_outputs", "check_proxy", "PROXY_CONFIG", "shared_proxies",
           "billed_seconds", "bill_reuse"]

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


# Proxies shared within a `shared_proxies()` block: key -> (outputs, seconds to make them).
_SHARED: dict | None = None
_SHARED_MAX = 8          # distinct proxies kept (oldest dropped first): seeds x proxy settings
_LOCK = threading.Lock()
_BILLED = [0.0]          # seconds billed for reused proxies since import (see billed_seconds)


@contextlib.contextmanager
def shared_proxies():
    """Within this block, a proxy asked for twice with the same data, settings and seed is
    trained once: a benchmark table's proxy selectors (EL2N, CCS, margin, k-center on
    embeddings, ...) at every budget of one seed share it. The outputs are the same as a fresh
    proxy's (same seed, same data: the same network), and each reuse is *billed* the seconds the
    proxy took, so the selection times stay those of a method run on its own (read them with
    `billed_seconds`). Nested blocks share the outermost one's store; it is dropped on exit."""
    global _SHARED
    with _LOCK:
        outer = _SHARED is not None
        if not outer:
            _SHARED = {}
    try:
        yield
    finally:
        if not outer:
            with _LOCK:
                _SHARED = None


def billed_seconds() -> float:
    """Seconds billed so far for reused proxies (a running total): a timer adds the difference
    over what it times, so a selection that reused a proxy costs what it would have alone."""
    return _BILLED[0]


def bill_reuse(seconds: float) -> None:
    """Bill `seconds` for a result reused instead of made again (a proxy here; a generated set in
    the paper table): the timers that read `billed_seconds` count it as spent."""
    if not seconds >= 0:
        raise ValueError(f"seconds={seconds!r} must be a non-negative number")
    with _LOCK:
        _BILLED[0] += float(seconds)


def _proxy_key(X, y, model, epochs, image_shape, device, random_state) -> tuple:
    shape = None if image_shape is None else tuple(int(v) for v in image_shape)
    return (data_fingerprint(X, y), str(np.asarray(X).dtype), model, float(epochs), shape,
            str(device), random_state)


def proxy_outputs(X, y, *, model="mlp", epochs=1.0, image_shape=None, device="auto",
                  random_state=None) -> dict:
    """Probabilities (n, C) and embeddings (n, 128) of a freshly trained proxy (inside
    `shared_proxies()` with an int `random_state`: of the block's proxy for the same data,
    settings and seed, if it has one; the arrays are copies)."""
    key = None
    if _SHARED is not None and isinstance(random_state, numbers.Integral):
        key = _proxy_key(X, y, model, epochs, image_shape, device, int(random_state))
        with _LOCK:
            hit = None if _SHARED is None else _SHARED.get(key)
        if hit is not None:
            out, seconds = hit
            bill_reuse(seconds)
            return {"probs": out["probs"].copy(), "embeddings": out["embeddings"].copy(),
                    "model": out["model"]}
    start = time.perf_counter()
    net = fit_proxy(X, y, image_shape=image_shape, model=model, epochs=epochs, device=device,
                    random_state=random_state)
    out = {"probs": predict_proba(net, X), "embeddings": embed(net, X), "model": net}
    if key is not None:
        with _LOCK:
            if _SHARED is not None:
                while len(_SHARED) >= _SHARED_MAX:
                    _SHARED.pop(next(iter(_SHARED)))
                _SHARED[key] = ({"probs": out["probs"].copy(),
                                 "embeddings": out["embeddings"].copy(), "model": net},
                                time.perf_counter() - start)
    return out
