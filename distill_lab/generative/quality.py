"""How good is a synthetic set, and when has the generator paid for itself?

- label fidelity: accuracy of a classifier trained on real data, measured on generated samples;
- within-class diversity: the mean pairwise distance between images of one class, generated
  against real; a generator whose samples of a class are much closer to one another than real
  images are has collapsed onto a few modes of that class (mode collapse);
- Frechet distance (Heusel et al., NeurIPS 2017, "FID") between Gaussian fits of real and synthetic
  embeddings. No Inception weights can be downloaded here, so the embedding is the project's own
  ConvNet trained on the real data: call it FD-ConvNet; its numbers are NOT comparable to FID;
- test accuracy of a fresh model trained on the synthetic set under the evaluation protocol
  (what matters most);
- break-even: generator training is distillation time, repaid by every cheaper training run.
"""
from __future__ import annotations

import math

import numpy as np

from scipy.spatial.distance import pdist

from .._validation import check_array_2d
from ..evaluation import evaluate_synthetic
from ..training import accuracy, embed

__all__ = ["label_fidelity", "within_class_diversity", "frechet_distance", "embedding_frechet_distance", "break_even",
           "bill_distillation_time", "synthetic_row"]


def label_fidelity(classifier, X_syn, y_syn, *, device=None) -> float:
    """Fraction of synthetic images that a real-data classifier assigns to their intended class."""
    return accuracy(classifier, X_syn, y_syn, device=device)


def within_class_diversity(X, y) -> np.ndarray:
    """Mean pairwise Euclidean distance between the rows of X that share a label, one value per
    class in np.unique(y) order: (n_classes_present,). Every class needs at least 2 rows.

    The mean over pairs estimates the expected distance between two images of a class, whatever
    the number of rows; it costs m^2 / 2 distances for a class of m rows, so measure large classes
    on a random subset (a few hundred rows give the same mean within a few percent).
    """
    X = check_array_2d(X, "X", np.float64)
    y = np.asarray(y)
    if y.shape != (len(X),):
        raise ValueError(f"y must hold one label per row of X: X has {len(X)} rows, y has shape "
                         f"{y.shape}")
    out = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        if len(rows) < 2:
            raise ValueError(f"class {c} has {len(rows)} row(s); a pairwise distance needs >= 2")
        out.append(pdist(X[rows]).mean())
    return np.array(out)


def _sqrtm_psd(S: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(S)
    return (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}) between N(mu1, S1) and N(mu2, S2).

    Tr (S1 S2)^{1/2} = Tr (S1^{1/2} S2 S1^{1/2})^{1/2}, a symmetric PSD form that eigh handles
    stably (S1 S2 itself is not symmetric).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    S1, S2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape or S1.shape != S2.shape or S1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"shapes do not match: mu1 {mu1.shape}, sigma1 {S1.shape}, mu2 "
                         f"{mu2.shape}, sigma2 {S2.shape}; need (d,) means and (d, d) covariances")
    root = _sqrtm_psd(S1)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root @ S2 @ root), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(S1) + np.trace(S2) - 2 * cross)


def embedding_frechet_distance(model, X_real, X_syn, *, device=None) -> float:
    """FD-ConvNet: the Frechet distance between Gaussian fits of `model.embed` features."""
    E_real = embed(model, check_array_2d(X_real, "X_real", np.float32), device=device)  # (n, 128)
    E_syn = embed(model, check_array_2d(X_syn, "X_syn", np.float32), device=device)     # (m, 128)
    if len(E_syn) < 2 or len(E_real) < 2:
        raise ValueError("X_real and X_syn need at least 2 samples each to estimate a covariance")
    return frechet_distance(E_real.mean(0), np.cov(E_real, rowvar=False),
                            E_syn.mean(0), np.cov(E_syn, rowvar=False))


def break_even(generator_seconds: float, t_full: float, t_distilled: float) -> float:
    """Smallest number n of trainings after which generator + n distilled runs cost no more than
    n full runs: n = ceil(generator_seconds / (t_full - t_distilled)), at least 1.

    Returns math.inf when a distilled run is not cheaper than a full one (it never pays off).
    """
    for name, value in (("generator_seconds", generator_seconds), ("t_full", t_full),
                        ("t_distilled", t_distilled)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
    saving = t_full - t_distilled
    if saving <= 0:
        return math.inf
    return max(1, math.ceil(generator_seconds / saving))


def bill_distillation_time(row: dict, full, distill_seconds: float, **extra) -> dict:
    """Bill `distill_seconds` (generator training + sampling, or DM's optimization) to a result
    row as its selection time, in place: `selection_seconds`, `end_to_end_ratio` =
    t_full / (distill_seconds + t_distilled) and `break_even` (None when it never pays off), plus
    any `extra` fields. t_distilled comes from the row's `train_time_ratio`."""
    t_full = full.median_seconds
    t_s = t_full / row["train_time_ratio"]
    row["selection_seconds"] = float(distill_seconds)
    row["end_to_end_ratio"] = t_full / (distill_seconds + t_s)
    n = break_even(float(distill_seconds), t_full, t_s)
    row["break_even"] = n if math.isfinite(n) else None
    row.update(extra)
    return row


def synthetic_row(dataset, method, X_syn, y_syn, protocol, full, distill_seconds, **extra) -> dict:
    """One result row (docs/design.md §3 fields) for a synthetic set made once, whose making took
    `distill_seconds` (generator training + sampling, or DM): billed as selection time by
    `bill_distillation_time`, with any `extra` fields (e.g. label_fidelity)."""
    row = evaluate_synthetic(dataset, method, lambda seed: (X_syn, y_syn, None), protocol, full)
    return bill_distillation_time(row, full, distill_seconds, **extra)
