"""Pool-based active learning (Settles 2009, "Active Learning Literature Survey"): train on the labeled
set, score the unlabeled pool by uncertainty (entropy, margin, least confidence, or MC-dropout BALD,
Gal, Islam & Ghahramani 2017), label the top batch, repeat until the budget is spent.

Batches can be made diverse by keeping, among the top-scored candidates, a greedy k-center cover
(Sener & Savarese 2018). Every round trains a fresh model with `distill_lab.training.train`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from distill_lab._validation import (check_labels, check_random_state, check_X_y, is_int,
                                     resolve_budget, resolve_device, split_budget)
from distill_lab.criteria import entropy as ent
from distill_lab.criteria import top_k
from distill_lab.criteria.representative import kcenter_greedy
from distill_lab.models import CONVNET_MIN_SIDE, make_model
from distill_lab.training import TrainConfig, accuracy, embed, predict_proba, train

__all__ = ["STRATEGIES", "ACTIVE_CONFIG", "ActiveResult", "learner_model", "QUICK_ROUNDS",
           "QUICK_CURVE_TEST", "round_batch_size", "initial_set", "mc_dropout_probs", "bald_from_probs", "bald",
           "query_scores", "active_learning", "one_shot_curve", "compare_strategies"]

STRATEGIES = ("entropy", "margin", "least_confidence", "random", "bald")
ACTIVE_CONFIG = TrainConfig(epochs=1.0, batch_size=32, lr=3e-2)   # used with a fixed step count


@dataclass
class ActiveResult:
    """indices in query order (initial set first); the learning curve: test accuracy after
    training on the first `labeled_sizes[r]` indices; seconds of the whole loop; the device every
    round trained on."""

    indices: np.ndarray
    labeled_sizes: np.ndarray
    accuracies: np.ndarray
    seconds: float
    strategy: str
    device: str = "cpu"


def learner_model(dataset) -> str:
    """The learner active learning retrains every round: the small ConvNet on images of
    CONVNET_MIN_SIDE (16) pixels and wider (MNIST, quick mode's 16x16), logistic regression on
    the 8x8 digits, the MLP on a table (as its protocol evaluates)."""
    if dataset.image_shape is None:
        return "mlp"
    return "convnet" if min(dataset.image_shape[1:]) >= CONVNET_MIN_SIDE else "logreg"


# Quick mode's bound on the query rounds of one active-learning run: every round retrains the
# learner, and 06 draws 21 curves (7 strategies x 3 seeds); at 8 rounds they took 145 of the
# notebook's 180 s on MNIST's quick subset.
QUICK_ROUNDS = 5
# Quick mode scores learning curves on at most this many test samples (one sample: 0.2 points);
# every round of every curve is scored, so the test set's size multiplies the whole notebook.
QUICK_CURVE_TEST = 500


def round_batch_size(budget: int, initial_size: int, batch_size: int,
                     max_rounds: int = QUICK_ROUNDS) -> int:
    """The query batch size that reaches `budget` from `initial_size` labels in at most
    `max_rounds` rounds: `batch_size`, or larger when the budget would need more rounds (a
    quick run on a large pool). Every round retrains the learner, so rounds are its cost."""
    for name, value in (("budget", budget), ("initial_size", initial_size),
                        ("batch_size", batch_size), ("max_rounds", max_rounds)):
        if not is_int(value) or value < 1:
            raise ValueError(f"{name}={value!r} must be an int >= 1")
    return max(batch_size, -(-max(budget - initial_size, 0) // max_rounds))


def initial_set(y, size: int, random_state=None) -> np.ndarray:
    """A seeded class-balanced draw of `size` indices (at least one per class present)."""
    y = check_labels(y)
    n_classes = len(np.unique(y))
    if size < n_classes:
        raise ValueError(f"initial_size={size} is smaller than the {n_classes} classes; the "
                         "initial labeled set needs at least one sample per class")
    rng = check_random_state(random_state)
    parts = [rng.choice(np.flatnonzero(y == c), size=k, replace=False)
             for c, k in split_budget(y, size, name="initial_size").items()]
    return np.concatenate(parts).astype(np.int64)


def _dropout_probs(model, z, mask_gen, p):
    """Class probabilities with a dropout mask on the embedding z (n, D): (n, C)."""
    keep = (torch.rand(z.shape, generator=mask_gen) >= p).to(z)          # (n, D) Bernoulli(1-p)
    return torch.softmax(model.classifier(z * keep / (1.0 - p)), dim=1).cpu().numpy()


@torch.no_grad()
def mc_dropout_probs(model, X, *, n_samples: int = 20, p: float = 0.5,
                     random_state=None) -> np.ndarray:
    """Class probabilities of `n_samples` MC-dropout passes, shape (T, n, C): dropout with rate `p`
    on the embedding `model.embed(x)` at inference (the masks from a local torch.Generator seeded
    from `random_state`; the global RNG is untouched). `bald` scores exactly these passes."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout p={p!r} must lie in [0, 1)")
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples={n_samples!r} must be an int >= 1")
    seed = int(check_random_state(random_state).randint(2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    # The embedding has no dropout of its own: computed once, thinned T times (30 forward passes of
    # a ConvNet over the pool cost about 7x the rest of a quick BALD curve on MNIST: 87 s vs 12 s).
    Xt = torch.as_tensor(X, dtype=torch.float32, device=next(model.parameters()).device)
    z = model.embed(Xt)                                                   # (n, D)
    return np.stack([_dropout_probs(model, z, gen, p) for _ in range(n_samples)])  # (T, n, C)


def bald_from_probs(probs) -> np.ndarray:
    """BALD's mutual information from stochastic passes `probs` (T, n, C): H[mean_t p_t] -
    mean_t H[p_t], clipped at 0 (it is >= 0 by Jensen, up to rounding). Shape (n,)."""
    probs = np.asarray(probs)
    if not np.issubdtype(probs.dtype, np.floating):
        probs = probs.astype(np.float64)
    if probs.ndim != 3:
        raise ValueError(f"probs must have shape (T, n, C), got {probs.shape}")
    mean = probs.mean(axis=0)                                                        # (n, C)
    expected_h = np.mean([ent.entropy(pt) for pt in probs], axis=0)                  # (n,)
    return np.maximum(ent.entropy(mean) - expected_h, 0.0)


def bald(model, X, *, n_samples: int = 20, p: float = 0.5, random_state=None) -> np.ndarray:
    """BALD mutual information I(y; w | x) = H[mean_t p_t] - mean_t H[p_t] over `n_samples`
    MC-dropout passes (higher = the passes disagree more). Shape (n,).

    Our models have no dropout layer, so dropout with rate `p` is applied to the embedding
    `model.embed(x)` at inference only (the classifier sees a thinned representation). This is an
    approximation to MC dropout (Gal & Ghahramani 2016), whose model is also trained with dropout;
    the masks come from a local torch.Generator, the global RNG is untouched. The same as
    `bald_from_probs(mc_dropout_probs(model, X, ...))`.
    """
    return bald_from_probs(mc_dropout_probs(model, X, n_samples=n_samples, p=p,
                                            random_state=random_state))


def query_scores(strategy: str, model, X_pool, *, random_state=None, mc_samples: int = 20,
                 dropout: float = 0.5) -> np.ndarray:
    """One score per pool sample, higher = query first (the library's ordering rule)."""
    if strategy == "random":
        return check_random_state(random_state).random_sample(len(X_pool))
    if strategy == "bald":
        return bald(model, X_pool, n_samples=mc_samples, p=dropout, random_state=random_state)
    criteria = {"entropy": ent.entropy, "margin": ent.margin,
                "least_confidence": ent.least_confidence}
    if strategy not in criteria:
        raise ValueError(f"strategy={strategy!r} is not known; choose one of {list(STRATEGIES)}")
    return criteria[strategy](predict_proba(model, X_pool))


def _diverse_batch(model, X, labeled, cand, b, rng):
    """Among the candidates (pool indices, best first) keep b by greedy k-center, the labeled set
    counting as centers already, so that a batch holds no near-duplicates."""
    Z = embed(model, np.concatenate([X[labeled], X[cand]]))                  # (L + m, D)
    new = kcenter_greedy(Z, b, initial=np.arange(len(labeled)), random_state=rng)
    return cand[new - len(labeled)]


def _fit(X, y, idx, n_classes, model, image_shape, config, steps, device, seed):
    net = make_model(model, X.shape[1], n_classes, image_shape=image_shape, random_state=seed)
    train(net, X[idx], y[idx], config=config, steps=steps, device=device, random_state=seed)
    return net


def active_learning(X, y, X_test, y_test, *, budget, initial_size=20, batch_size=10,
                    strategy="entropy", model="logreg", n_classes=None, image_shape=None,
                    config: TrainConfig = ACTIVE_CONFIG, steps: int | None = 200,
                    diversity: bool = False, candidates: int = 4, mc_samples: int = 20,
                    dropout: float = 0.5, device="auto", random_state=None,
                    verbose: bool = True) -> ActiveResult:
    """Label `budget` samples of X (int or fraction), `batch_size` per round, starting from a
    class-balanced `initial_size` set; each round trains a fresh `model` for `steps` steps.

    diversity=True queries, among the `candidates * batch_size` top-scored pool samples, a
    k-center cover in the model's embedding. Every round trains on `device` ("auto": cuda, then
    mps, then cpu), resolved once before any work. Returns indices in query order and the
    learning curve.
    """
    X, y = check_X_y(X, y)
    X_test, y_test = check_X_y(X_test, y_test, "X_test", "y_test")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy={strategy!r} is not known; choose one of {list(STRATEGIES)}")
    k = resolve_budget(budget, len(X))
    k0 = resolve_budget(initial_size, len(X), name="initial_size")
    if k < k0:
        raise ValueError(f"budget={budget} ({k} samples) is smaller than the initial labeled set "
                         f"initial_size={initial_size} ({k0} samples); raise the budget or "
                         "lower initial_size")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be an int >= 1")
    n_classes = int(max(y.max(), y_test.max())) + 1 if n_classes is None else n_classes
    device = resolve_device(device)
    rng = check_random_state(random_state)
    start = time.perf_counter()
    labeled = initial_set(y, k0, rng)
    sizes, accs = [], []
    n_rounds = -(-(k - k0) // batch_size)          # ceil
    for r in tqdm(range(n_rounds + 1), desc=f"active ({strategy})", disable=not verbose):
        net = _fit(X.astype(np.float32), y, labeled, n_classes, model, image_shape, config,
                   steps, device, rng.randint(2**31 - 1))
        sizes.append(len(labeled))
        accs.append(accuracy(net, X_test, y_test))
        if r == n_rounds:
            break
        pool = np.setdiff1d(np.arange(len(X)), labeled)
        b = min(batch_size, k - len(labeled))
        scores = query_scores(strategy, net, X[pool], random_state=rng, mc_samples=mc_samples,
                              dropout=dropout)
        if diversity and b > 1:
            cand = pool[top_k(scores, min(len(pool), candidates * b))]
            batch = _diverse_batch(net, X, labeled, cand, b, rng)
        else:
            batch = pool[top_k(scores, b)]
        labeled = np.concatenate([labeled, batch])
    return ActiveResult(labeled.astype(np.int64), np.asarray(sizes), np.asarray(accs),
                        time.perf_counter() - start, strategy, str(device))


def one_shot_curve(X, y, X_test, y_test, sizes, *, selector="random", selector_params=None,
                   model="logreg", n_classes=None, image_shape=None, config=ACTIVE_CONFIG, steps=200,
                   device="auto", random_state=None) -> ActiveResult:
    """The same learning curve for a one-shot selector: select each size from scratch, train a
    fresh model the same way as `active_learning` does, record the test accuracy. `device`
    serves the selector's proxy too (a `device` in selector_params must be the same)."""
    # lazy: selectors import this module's peers
    from distill_lab.selectors.registry import make_selector_on

    X, y = check_X_y(X, y)
    n_classes = int(max(y.max(), np.max(y_test))) + 1 if n_classes is None else n_classes
    device = resolve_device(device)
    rng = check_random_state(random_state)
    start, accs, idx = time.perf_counter(), [], np.array([], dtype=np.int64)
    for size in sizes:
        sel = make_selector_on(selector, device, budget=int(size),
                               random_state=rng.randint(2**31 - 1),
                               **(selector_params or {})).fit(X, y)
        idx = sel.indices_
        net = _fit(X.astype(np.float32), y, idx, n_classes, model, image_shape, config, steps,
                   device, rng.randint(2**31 - 1))
        accs.append(accuracy(net, X_test, y_test))
    return ActiveResult(idx, np.asarray(sizes), np.asarray(accs), time.perf_counter() - start,
                        selector, str(device))


def compare_strategies(X, y, X_test, y_test, strategies, seeds=(0, 1, 2), *, verbose=True,
                       **kwargs) -> dict:
    """{strategy: [ActiveResult per seed]}, every strategy run with the same seeds and settings."""
    return {s: [active_learning(X, y, X_test, y_test, strategy=s, random_state=seed,
                                verbose=False, **kwargs)
                for seed in tqdm(seeds, desc=s, disable=not verbose)]
            for s in strategies}
