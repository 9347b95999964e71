"""One training loop for every training set: AdamW with a OneCycle schedule (the library's
default), or the dataset-condensation papers' SGD with momentum, a x0.1 step at half time and DSA
augmentation (Zhao & Bilen, ICML 2021); optional sample weights.

The same loop trains the full-data baseline, every distilled set, proxy models and synthetic sets,
so that differences in accuracy come from the data alone. On the CPU a run is deterministic for a
given `random_state` (it fixes the batch order and the augmentations; the model's init is fixed by
`make_model`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from distill_lab.augment import check_strategy, dsa
from distill_lab.models import CONVNET_MIN_SIDE
from distill_lab._validation import (check_array_2d, check_labels, check_random_state, is_int,
                                     resolve_device)

__all__ = ["TrainConfig", "TrainResult", "train", "predict_proba", "embed", "accuracy",
           "steps_per_epoch", "quick_threads", "SMALL_SAMPLE_FEATURES"]


@dataclass(frozen=True)
class TrainConfig:
    """Optimizer and schedule shared by every training set of one experiment.

    optimizer "adamw" or "sgd" (with `momentum`); schedule "onecycle", "constant", or "step"
    (lr x0.1 at half of the steps, the papers' rule); augment None or a DSA strategy such as
    "color_crop_cutout_flip_scale_rotate" (needs a model with `image_shape`).
    """

    epochs: float = 3.0
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    optimizer: str = "adamw"
    momentum: float = 0.9
    augment: str | None = None

    def __post_init__(self):
        if not self.epochs > 0:
            raise ValueError(f"epochs={self.epochs} must be > 0")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"batch_size={self.batch_size!r} must be an int >= 1")
        if not self.lr > 0:
            raise ValueError(f"lr={self.lr} must be > 0")
        if self.schedule not in ("onecycle", "constant", "step"):
            raise ValueError(f"schedule={self.schedule!r} must be 'onecycle', 'constant' or 'step'")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"optimizer={self.optimizer!r} must be 'adamw' or 'sgd'")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum={self.momentum!r} must lie in [0, 1)")
        if self.augment is not None:
            check_strategy(self.augment)


@dataclass
class TrainResult:
    model: nn.Module
    steps: int
    seconds: float
    final_loss: float


def steps_per_epoch(n_samples: int, batch_size: int) -> int:
    return math.ceil(n_samples / min(batch_size, n_samples))


def _batches(n: int, batch_size: int, steps: int, generator: torch.Generator):
    """Yield `steps` index batches, reshuffling at every pass over the data."""
    done = 0
    while done < steps:
        perm = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            if done == steps:
                return
            yield perm[start:start + batch_size]
            done += 1


def train(model: nn.Module, X, y, *, config: TrainConfig = TrainConfig(), steps: int | None = None,
          sample_weight=None, device="auto", random_state=None, verbose: bool = False) -> TrainResult:
    """Train `model` in place on (X, y) and return it with the number of steps and the wall time.

    steps=None trains `config.epochs` passes over X; an int trains exactly that many optimizer
    steps (the `compute` protocol gives a distilled set T_full / r steps).
    """
    X = check_array_2d(X, dtype=np.float32)
    y = check_labels(y, n_samples=len(X))
    if steps is not None and (not is_int(steps) or steps < 1):
        raise ValueError(f"steps={steps!r} must be a positive int or None")
    w = None
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float32)
        if w.shape != (len(X),) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"sample_weight must be {len(X)} finite non-negative numbers with a "
                             f"positive sum, got shape {w.shape}")
        w = w / w.mean()   # mean 1: the weighted loss keeps the scale of the unweighted one
    dev = resolve_device(device)
    model.to(dev)
    batch_size = min(config.batch_size, len(X))
    total = int(steps) if steps is not None else max(
        1, round(config.epochs * steps_per_epoch(len(X), batch_size)))

    X_t = torch.as_tensor(X, device=dev)
    y_t = torch.as_tensor(y, device=dev)
    w_t = torch.as_tensor(w, device=dev) if w is not None else None
    rng = check_random_state(random_state)
    gen = torch.Generator().manual_seed(int(rng.randint(2**31 - 1)))
    augment = _augmenter(model, config.augment, rng, dev)
    opt, sched = _optimizer(model, config, total)

    model.train()
    loss_value = float("nan")
    start = time.perf_counter()
    for idx in tqdm(_batches(len(X), batch_size, total, gen), total=total, disable=not verbose,
                    desc="train", leave=False):
        idx = idx.to(dev)
        losses = nn.functional.cross_entropy(model(augment(X_t[idx])), y_t[idx],
                                             reduction="none")                           # (B,)
        loss = (losses * w_t[idx]).mean() if w_t is not None else losses.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        loss_value = loss.item()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    seconds = time.perf_counter() - start
    model.eval()
    return TrainResult(model=model, steps=total, seconds=seconds, final_loss=loss_value)


def _optimizer(model: nn.Module, config: TrainConfig, total: int):
    """The optimizer and its per-step scheduler (None for a constant learning rate)."""
    if config.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                              weight_decay=config.weight_decay)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if config.schedule == "onecycle" and total > 1:
        return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config.lr, total_steps=total)
    if config.schedule == "step":
        return opt, torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[total // 2], gamma=0.1)
    return opt, None


def _augmenter(model: nn.Module, strategy, rng, device):
    """x -> x for no augmentation; else flat batches (B, C*H*W) through DSA with their own
    seeded generator (drawn after the batch-order seed, so unaugmented runs are unchanged)."""
    if strategy is None:
        return lambda x: x
    shape = getattr(model, "image_shape", None)
    if shape is None:
        raise ValueError(f"augment={strategy!r} needs an image model (with image_shape), got "
                         f"{type(model).__name__}; use augment=None for flat features")
    gen = torch.Generator(device=device).manual_seed(int(rng.randint(2**31 - 1)))
    return lambda x: dsa(x.view(-1, *shape), gen, strategy=strategy).flatten(1)


def _model_device(model: nn.Module, device):
    if device is not None:
        return resolve_device(device)
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


# Quick mode's threading rule (`quick_threads`): the 8x8 digits and tables of at most this many
# features train tiny models (logistic regression, the MLP), for which torch's thread hand-offs
# cost more than they save; one thread. Images a ConvNet learns (`models.CONVNET_MIN_SIDE` pixels
# and wider) keep torch's thread count: on two idle cores ConvNet-3's 3 epochs over 2,000 28x28
# MNIST images take 3.8 s with two threads against 5.7 s with one, over quick mode's 1,500 16x16
# images 0.6 s against 0.85 s.
SMALL_SAMPLE_FEATURES = 256


def quick_threads(dataset, quick: bool) -> int:
    """Set torch's thread count for a notebook: one thread in quick mode on small samples (images
    narrower than CONVNET_MIN_SIDE, tables of at most SMALL_SAMPLE_FEATURES features), else
    torch's own count, which a Dask worker's kernel already holds at one (OMP_NUM_THREADS=1, so
    parallel notebooks do not oversubscribe). Returns the count in use."""
    shape = dataset.image_shape
    small = (int(np.prod(dataset.X_train.shape[1:])) <= SMALL_SAMPLE_FEATURES if shape is None
             else min(shape[1:]) < CONVNET_MIN_SIDE)
    if quick and small:
        torch.set_num_threads(1)
    return torch.get_num_threads()


# Inference batch when none is given: small on the CPU, where a ConvNet's first block over 1,024
# 28x28 images (a 130 MB activation per layer at width 32) runs at memory speed; 128 keeps it in
# cache and scores 2,000 MNIST images 2x faster (0.48 s against 0.96 s on one thread). Large on
# accelerators, which want full batches.
CPU_INFERENCE_BATCH = 128
DEVICE_INFERENCE_BATCH = 1024


@torch.no_grad()
def _apply(fn, model, X, batch_size, device):
    X = check_array_2d(X, dtype=np.float32)
    dev = _model_device(model, device)
    if batch_size is None:
        batch_size = CPU_INFERENCE_BATCH if dev.type == "cpu" else DEVICE_INFERENCE_BATCH
    elif not is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be an int >= 1 (or None: "
                         f"{CPU_INFERENCE_BATCH} on the CPU, {DEVICE_INFERENCE_BATCH} elsewhere)")
    model.to(dev).eval()
    out = [fn(torch.as_tensor(X[i:i + batch_size], device=dev)).float().cpu()
           for i in range(0, len(X), batch_size)]
    return torch.cat(out).numpy()


def predict_proba(model: nn.Module, X, *, batch_size: int | None = None, device=None) -> np.ndarray:
    """Softmax probabilities (n, n_classes). device=None runs on the model's own device (where
    its parameters are, i.e. where it was trained); a device moves the model there first."""
    return _apply(lambda xb: torch.softmax(model(xb), dim=1), model, X, batch_size, device)


def embed(model: nn.Module, X, *, batch_size: int | None = None, device=None) -> np.ndarray:
    """Penultimate features (n, 128) from `model.embed`. device=None: the model's own device
    (see predict_proba)."""
    return _apply(model.embed, model, X, batch_size, device)


def accuracy(model: nn.Module, X, y, *, batch_size: int | None = None, device=None) -> float:
    """Fraction of samples whose arg-max prediction equals the label. device=None: the model's
    own device (see predict_proba)."""
    y = check_labels(y, n_samples=len(X))
    pred = _apply(lambda xb: model(xb).argmax(dim=1), model, X, batch_size, device)
    return float(np.mean(pred == y))
