"""The training loop every class-conditional generator shares (GAN, DDPM).

`fit` draws seeded minibatches, runs the model's `_train_step` (bf16 autocast on CUDA only),
shows the current losses in a tqdm bar, writes atomic checkpoints every `checkpoint_every` steps
(and on Ctrl-C, once the current step has finished), and resumes from a checkpoint bit-for-bit:
the networks, optimizers, loss history, elapsed time and both random generators are restored.
Generator training time is distillation time, so it is recorded in `train_seconds_`.
"""
from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator
from tqdm.auto import tqdm

from .._validation import check_random_state, check_X_y, is_int, resolve_device
from ..models import torch_generator  # re-exported: the generative modules take it from here
from .checkpoint import data_fingerprint, load_checkpoint, save_checkpoint
from .layers import check_image_shape

__all__ = ["BaseGenerator", "check_n_per_class", "check_training_set", "make_device",
           "autocast", "torch_generator"]

logger = logging.getLogger(__name__)


def make_device(device):
    """resolve_device, with a logged notice when "auto" falls back to the CPU."""
    resolved = resolve_device(device)
    if device == "auto" and resolved.type == "cpu":
        logger.info("device='auto': no GPU found, running on the CPU")
    return resolved


def autocast(device: torch.device):
    """bf16 autocast on CUDA (tensor cores, no loss scaling needed); full precision elsewhere."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def check_n_per_class(n_per_class) -> int:
    if not is_int(n_per_class) or n_per_class <= 0:
        raise ValueError(f"n_per_class must be a positive int, got {n_per_class!r}")
    return int(n_per_class)


def check_training_set(X, y, image_shape, n_classes):
    """Validate flat images X in [0, 1] and labels y with every class 0..n_classes-1 present."""
    X, y = check_X_y(X, y)
    n_features = int(np.prod(image_shape))
    if X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features but image_shape={tuple(image_shape)} needs "
                         f"{n_features}; pass flat images (n, C*H*W)")
    if X.min() < -1e-6 or X.max() > 1 + 1e-6:
        raise ValueError(f"X must hold pixel values in [0, 1], got range [{X.min():.3g}, "
                         f"{X.max():.3g}]; rescale first (e.g. X / 255)")
    counts = np.bincount(y, minlength=n_classes)
    if len(counts) > n_classes:
        raise ValueError(f"y holds label {y.max()} but n_classes={n_classes}; labels must lie in "
                         f"[0, {n_classes - 1}]")
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise ValueError(f"class(es) {empty.tolist()} have no samples in y; every class in "
                         f"[0, {n_classes - 1}] needs at least one training image")
    return X.astype(np.float32), y


@contextlib.contextmanager
def _deferred_interrupt():
    """Hold Ctrl-C (SIGINT) until the current step has finished, so a checkpoint written on
    interruption never holds half a step (e.g. D updated but not G). Main thread only."""
    flag = {"hit": False}
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        flag["hit"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


class BaseGenerator(BaseEstimator):
    """Shared fit / sample / distill for class-conditional image generators.

    Subclasses implement `_build(generator)` (set `self.modules_` and `self.optimizers_`),
    `_train_step(x, y, noise_gen) -> dict of float losses` with x in [-1, 1] of shape (B, C, H, W),
    and `_sample(y, noise_gen, **kw) -> (B, C, H, W)` in [-1, 1].
    """

    def _settings(self) -> dict:
        # Everything that changes the run; a checkpoint must match it to be resumed.
        # Non-literal values (a RandomState object) are stored by repr, so they never match.
        plain = (int, float, str, bool, type(None))
        return {k: (tuple(v) if isinstance(v, (list, tuple)) else v if isinstance(v, plain)
                    else repr(v))
                for k, v in self.get_params().items() if k not in ("verbose", "device")}

    def fit(self, X, y, steps: int = 500, *, checkpoint_path=None, checkpoint_every: int = 100,
            resume: bool = True):
        """Train for `steps` optimizer steps in total (a resumed run counts the steps it had)."""
        self.image_shape_ = check_image_shape(self.image_shape)
        X, y = check_training_set(X, y, self.image_shape_, self.n_classes)
        if not is_int(steps) or steps < 0:
            raise ValueError(f"steps must be an int >= 0, got {steps!r}")
        self.device_ = make_device(self.device)
        meta = {"class": type(self).__name__, "settings": self._settings(),
                "data": data_fingerprint(X, y), "device_type": self.device_.type}
        rng = check_random_state(self.random_state)
        init_gen = torch_generator(rng)                   # network weights (CPU)
        self._data_gen = torch_generator(rng)             # minibatch indices (CPU)
        self._noise_gen = torch_generator(rng, self.device_)  # latent codes, diffusion noise
        self._build(init_gen)
        self.step_, self.train_seconds_, self.history_ = 0, 0.0, []
        ckpt = Path(checkpoint_path) if checkpoint_path is not None else None
        if ckpt is not None and resume and ckpt.exists():
            self._restore(load_checkpoint(ckpt, meta))
            if self.step_ > steps:  # steps counts the total, so a longer run is not cut back
                warnings.warn(f"checkpoint {str(ckpt)!r} already holds {self.step_} steps, more "
                              f"than steps={steps}; returning the model at step {self.step_}. "
                              "Pass resume=False (or another checkpoint_path) to train a "
                              f"{steps}-step model", UserWarning, stacklevel=2)
        self._loop(X, y, int(steps), ckpt, meta, checkpoint_every)
        return self

    def _loop(self, X, y, steps, ckpt, meta, checkpoint_every):
        Xt = torch.as_tensor(X, device=self.device_).view(-1, *self.image_shape_) * 2 - 1
        yt = torch.as_tensor(y, device=self.device_)  # (n,)
        bar = tqdm(total=steps, initial=min(self.step_, steps), disable=not self.verbose,
                   desc=type(self).__name__)
        start = time.perf_counter()
        with _deferred_interrupt() as interrupt, bar:
            while self.step_ < steps:
                idx = torch.randint(len(X), (self.batch_size,), generator=self._data_gen)
                idx = idx.to(self.device_)  # (B,)
                with autocast(self.device_):
                    losses = self._train_step(Xt[idx], yt[idx], self._noise_gen)
                self.history_.append(losses)
                self.step_ += 1
                bar.update(1)
                if self.step_ % 10 == 0 or self.step_ == steps:
                    bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()})
                due = self.step_ % checkpoint_every == 0 or self.step_ == steps
                if ckpt is not None and (due or interrupt["hit"]):
                    self._save(ckpt, meta, start)
                if interrupt["hit"]:  # Ctrl-C arrived during the step: it is finished and saved
                    self.train_seconds_ += time.perf_counter() - start
                    raise KeyboardInterrupt(f"stopped after step {self.step_}; fit again with "
                                            "the same checkpoint_path to resume")
        self.train_seconds_ += time.perf_counter() - start

    def _save(self, ckpt, meta, start):
        elapsed = self.train_seconds_ + time.perf_counter() - start
        state = {"step": self.step_, "seconds": elapsed,
                 "history": {k: [h[k] for h in self.history_] for k in
                             (self.history_[0] if self.history_ else {})},
                 "modules": {k: m.state_dict() for k, m in self.modules_.items()},
                 "optimizers": {k: o.state_dict() for k, o in self.optimizers_.items()},
                 "rng": {"data": self._data_gen.get_state(), "noise": self._noise_gen.get_state()}}
        save_checkpoint(ckpt, meta, state)

    def _restore(self, state):
        for k, m in self.modules_.items():
            m.load_state_dict(state["modules"][k])
        for k, o in self.optimizers_.items():
            o.load_state_dict(state["optimizers"][k])
        self._data_gen.set_state(state["rng"]["data"])
        self._noise_gen.set_state(state["rng"]["noise"])
        self.step_, self.train_seconds_ = int(state["step"]), float(state["seconds"])
        names = list(state["history"])
        self.history_ = [dict(zip(names, vals)) for vals in zip(*state["history"].values())]

    def loss_history(self) -> dict[str, np.ndarray]:
        """Per-step training losses, name -> (steps,) array (for training curves)."""
        self._check_fitted()
        names = self.history_[0] if self.history_ else {}
        return {k: np.array([h[k] for h in self.history_]) for k in names}

    def _check_fitted(self):
        if not hasattr(self, "modules_"):
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; "
                               "call fit(X, y) first")

    def sample(self, y, random_state=None, batch_size: int = 500, **kwargs) -> np.ndarray:
        """Generate one flat image in [0, 1] per label in y: (len(y), C*H*W) float32."""
        self._check_fitted()
        y = np.asarray(y, dtype=np.int64)
        if y.size and (y.min() < 0 or y.max() >= self.n_classes):
            raise ValueError(f"labels must lie in [0, {self.n_classes - 1}], got range "
                             f"[{y.min()}, {y.max()}]")
        gen = torch_generator(random_state, self.device_)
        for m in self.modules_.values():
            m.eval()
        out = []
        with torch.no_grad():
            for lo in range(0, len(y), batch_size):
                yb = torch.as_tensor(y[lo:lo + batch_size], device=self.device_)
                with autocast(self.device_):
                    xb = self._sample(yb, gen, **kwargs)  # (B, C, H, W) in [-1, 1]
                out.append(((xb.float().clamp(-1, 1) + 1) / 2).flatten(1).cpu().numpy())
        for m in self.modules_.values():
            m.train()
        return np.concatenate(out) if out else np.zeros((0, int(np.prod(self.image_shape_))),
                                                        np.float32)

    def distill(self, n_per_class: int, random_state=None, **kwargs):
        """A synthetic set of n_per_class images per class: (X_syn flat in [0, 1], y_syn)."""
        n_per_class = check_n_per_class(n_per_class)
        y_syn = np.repeat(np.arange(self.n_classes, dtype=np.int64), n_per_class)
        return self.sample(y_syn, random_state=random_state, **kwargs), y_syn
