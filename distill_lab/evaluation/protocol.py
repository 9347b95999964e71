"""The evaluation protocol of docs/design.md §2: full baseline, then every distilled set trained the same
way, with accuracy over seeds, drop, training-time ratio, selection time and end-to-end ratio.

Protocol `compute` gives a distilled set T_full / r optimizer steps (its training costs 1/r of the
full run); protocol `epochs` gives it the same number of epochs as the full run; protocol `paper`
is the dataset-condensation papers' yardstick (DC/DSA/DM, Zhao et al. 2021-2023): ConvNet-3 on
standardized pixels, SGD lr 0.01, momentum 0.9, weight decay 5e-4, batch 256, 300 epochs for real
subsets and 1000 for synthetic sets, lr x0.1 at half, DSA augmentation.

On image data (16x16 and larger: `models.CONVNET_MIN_SIDE`) every protocol evaluates with
ConvNet-3 (width 32 on the CPU, 128 in the papers), its input standardized with the training set's
per-channel mean and std.
"""
from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from distill_lab._io import RUN_CACHE_ENV, atomic_write_json, data_fingerprint
from distill_lab._validation import resolve_device
from distill_lab.augment import DSA_STRATEGY
from distill_lab.models import CONVNET_MIN_SIDE, make_model
from distill_lab.proxy import billed_seconds, shared_proxies
from distill_lab.selectors.registry import make_selector_on
from distill_lab.training import TrainConfig, accuracy, steps_per_epoch, train

__all__ = ["Protocol", "PROTOCOLS", "default_protocol", "channel_stats", "FullBaseline",
           "run_full", "train_and_score", "TABULAR_MODEL", "TABULAR_CONFIG", "distilled_steps",
           "budget_fraction", "result_row", "MIN_FULL_STEPS", "RUN_CACHE_ENV",
           "evaluate_selector", "evaluate_synthetic", "evaluate", "ROW_FIELDS"]

ROW_FIELDS = ("dataset", "model", "protocol", "method", "budget", "n_selected", "seeds",
              "accuracy_mean", "accuracy_std", "full_accuracy", "drop", "train_time_ratio",
              "selection_seconds", "end_to_end_ratio", "device", "device_select")


PROTOCOLS = ("compute", "epochs", "paper")
# Tables: a one-hidden-layer MLP (256 units) with AdamW + OneCycle. Measured against logistic
# regression on four tables that ship with scikit-learn (benchmarks/results/tabular_model.json),
# it is as good or better in 7 of 8 comparisons (full data and random 10% of each table; e.g.
# iris at 10%: 86.7 vs 74.4) and worse in one: breast cancer's full run, 95.3 vs 98.0 (3 of 114
# test samples).
TABULAR_MODEL = "mlp"
TABULAR_CONFIG = TrainConfig(epochs=40, batch_size=32, lr=3e-3)


@dataclass(frozen=True)
class Protocol:
    """A named model, one optimizer/schedule, a step rule and the seeds.

    `width`, `mean` and `std` configure ConvNet-3 (its input standardization); `synthetic_epochs`
    is the epoch count for synthetic sets under protocol `paper` (None: the same as real ones).
    `device` is resolved once, here ("auto": cuda, then mps, then cpu; a device this machine
    lacks is an error naming the devices found): the protocol holds the resolved name, and
    everything run under it (selectors' proxies, active learning, generators, evaluation
    training) receives that device.
    """

    model: str = "convnet3"
    config: TrainConfig = field(default_factory=TrainConfig)
    protocol: str = "compute"   # "compute" (T_full / r steps), "epochs" or "paper" (epochs)
    r: float = 8.0
    seeds: tuple = (0, 1, 2)
    device: str = "auto"
    width: int = 32
    mean: tuple = (0.0,)
    std: tuple = (1.0,)
    synthetic_epochs: float | None = None

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol={self.protocol!r} must be one of {list(PROTOCOLS)}")
        if not self.r >= 1:
            raise ValueError(f"r={self.r!r} must be >= 1 (the distilled run's share is 1/r)")
        if len(self.seeds) < 1:
            raise ValueError("seeds must hold at least one seed")
        object.__setattr__(self, "device", str(resolve_device(self.device)))  # frozen


# ConvNet-3's full run under `compute` and `epochs` trains 3 epochs, or this many optimizer steps
# where 3 epochs are fewer (a small image set). On quick mode's 1,500 16x16 MNIST images 3 epochs
# are 72 steps: the full run stops at 92.6% and a 10% subset gets 7 steps (18.9%), a "drop" of 74
# points that says nothing about the subset. At 480 steps (20 epochs) the full run is at 96.7%
# (40 epochs: 96.7%) and the 10% subset's 48 steps reach 85.4% (seed 0, random 15 per class).
# MNIST-60k's 3 epochs are 2,813 steps: unchanged.
MIN_FULL_STEPS = 480


def default_protocol(dataset, protocol: str = "compute", seeds=(0, 1, 2), device="auto",
                     width: int = 32) -> Protocol:
    """The protocols of the benchmarks. Image data (CONVNET_MIN_SIDE = 16 pixels and wider):
    ConvNet-3 of `width` on standardized pixels; `compute` and `epochs` train 3 epochs (at least
    MIN_FULL_STEPS steps on a small set) with AdamW + OneCycle, `paper` with the papers' SGD,
    step schedule and DSA (300 / 1000 epochs for real / synthetic sets). Digits:
    logistic regression for 40 epochs (as in the design's baselines); `paper` there uses ConvNet-3
    of depth 2 (8x8 images) with the papers' optimizer. A table (`image_shape` None; its features
    already standardized on the training split): the MLP of `TABULAR_CONFIG` under `compute` and
    `epochs` (chosen over logistic regression by `distill-lab bench tabular-model`:
    benchmarks/results/tabular_model.json); `paper` is an image protocol and refuses it."""
    if dataset.image_shape is None:
        if protocol == "paper":
            raise ValueError(f"protocol='paper' evaluates ConvNet-3 with DSA on images; data set "
                             f"{dataset.name!r} is a table: use protocol='compute' or 'epochs'")
        return Protocol(model=TABULAR_MODEL, config=TABULAR_CONFIG, protocol=protocol,
                        seeds=tuple(seeds), device=device)
    stats = dict(mean=tuple(channel_stats(dataset)[0]), std=tuple(channel_stats(dataset)[1]))
    common = dict(protocol=protocol, seeds=tuple(seeds), device=device, width=width, **stats)
    if protocol == "paper":
        config = TrainConfig(epochs=300, batch_size=256, lr=0.01, weight_decay=5e-4,
                             schedule="step", optimizer="sgd", momentum=0.9,
                             augment=dsa_strategy(dataset))
        return Protocol(model="convnet3", config=config, synthetic_epochs=1000, **common)
    if min(dataset.image_shape[1:]) >= CONVNET_MIN_SIDE:
        epochs = max(3, math.ceil(MIN_FULL_STEPS / steps_per_epoch(len(dataset.y_train), 64)))
        return Protocol(model="convnet3", config=TrainConfig(epochs=epochs, batch_size=64,
                                                             lr=3e-3), **common)
    return Protocol(model="logreg", config=TrainConfig(epochs=40, batch_size=32, lr=5e-2),
                    **common)


def dsa_strategy(dataset) -> str:
    """The reference's DSA operations, without flips for handwritten digits: a mirrored 2, 3 or 7
    is not a digit (DC's own MNIST augmentation leaves flips out too)."""
    if dataset.name in ("mnist", "digits"):
        return DSA_STRATEGY.replace("_flip", "")
    return DSA_STRATEGY


def channel_stats(dataset):
    """Per-channel mean and std of the training images: ((C,), (C,)) as float lists."""
    C = dataset.image_shape[0]
    X = dataset.X_train.reshape(len(dataset.X_train), C, -1)     # (n, C, H*W)
    return X.mean(axis=(0, 2)).tolist(), X.std(axis=(0, 2)).tolist()


@dataclass
class FullBaseline:
    accuracies: list
    seconds: list
    steps: int

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def median_seconds(self) -> float:
        return float(np.median(self.seconds))


def train_and_score(dataset, X, y, protocol: Protocol, seed: int, *, steps=None,
                    sample_weight=None):
    """Train a fresh `protocol.model` on (X, y) and return (test accuracy, seconds, steps)."""
    model = make_model(protocol.model, dataset.X_train.shape[1], dataset.n_classes,
                       image_shape=dataset.image_shape, random_state=seed, width=protocol.width,
                       mean=protocol.mean, std=protocol.std)
    result = train(model, X, y, config=protocol.config, steps=steps, sample_weight=sample_weight,
                   device=protocol.device, random_state=seed)
    return accuracy(model, dataset.X_test, dataset.y_test), result.seconds, result.steps


def _run_cache_file(dataset, protocol: Protocol) -> Path | None:
    """Where this full baseline is kept during a run (None outside a run, or where the run's
    folder is not on this machine: a remote Dask worker)."""
    folder = os.environ.get(RUN_CACHE_ENV)
    if not folder or not Path(folder).is_dir():
        return None
    # The folder lives for one run (`reporting.runner.run_cache`): the code cannot change under it.
    key = "|".join([data_fingerprint(dataset.X_train, dataset.y_train),
                    data_fingerprint(dataset.X_test, dataset.y_test), repr(protocol)])
    return Path(folder) / f"full-{hashlib.sha1(key.encode()).hexdigest()[:20]}.json"


def run_full(dataset, protocol: Protocol, verbose: bool = False) -> FullBaseline:
    """Train on all of D for E epochs, once per seed. Within one `distill-lab run` (or sweep) a
    baseline another notebook trained on the same data with the same protocol is reused: its
    accuracies are what this one would get (same seeds), its seconds that run's."""
    # An untimed warm-up run, so that one-time start-up costs (thread pools, allocator) are not
    # billed to the first seed's full run (nor, on a reused baseline, to the distilled sets).
    train_and_score(dataset, dataset.X_train[:64], dataset.y_train[:64], protocol, 0, steps=2)
    cache = _run_cache_file(dataset, protocol)
    if cache is not None and cache.is_file():
        kept = json.loads(cache.read_text(encoding="utf-8"))
        return FullBaseline(kept["accuracies"], kept["seconds"], kept["steps"])
    accs, secs, steps = [], [], 0
    for seed in tqdm(protocol.seeds, desc="full", disable=not verbose, leave=False):
        acc, sec, steps = train_and_score(dataset, dataset.X_train, dataset.y_train, protocol, seed)
        accs.append(acc)
        secs.append(sec)
    if cache is not None:
        atomic_write_json(cache, {"accuracies": accs, "seconds": secs, "steps": steps})
    return FullBaseline(accs, secs, steps)


def distilled_steps(protocol: Protocol, full_steps: int, n_selected: int,
                    synthetic: bool = False) -> int:
    """Optimizer steps for a distilled set of n_selected samples: T_full / r under `compute`;
    E epochs of it under `epochs` and `paper` (`synthetic_epochs` for synthetic sets under
    `paper`, when set)."""
    if protocol.protocol == "compute":
        return max(1, round(full_steps / protocol.r))
    epochs = protocol.config.epochs
    if synthetic and protocol.protocol == "paper" and protocol.synthetic_epochs is not None:
        epochs = protocol.synthetic_epochs
    return max(1, round(epochs * steps_per_epoch(n_selected, protocol.config.batch_size)))


def budget_fraction(budget, n_train: int) -> float:
    """A row's `budget`, always the fraction of the training set, from a selector's budget: an
    int count (30 of 1,347 -> 0.0223) or a float fraction, kept as it is."""
    if isinstance(budget, numbers.Integral) and not isinstance(budget, bool):
        return int(budget) / n_train
    return float(budget)


def result_row(dataset, protocol, full, method, budget, n_selected, accs, train_secs, sel_secs,
               device_select=None):
    """One row of docs/design.md's schema from per-seed accuracies (fractions) and times (seconds):
    accuracy in %, drop = A_full - A_S in points, median time ratios; `budget` (a selector's: a
    count or a fraction) is stored as a fraction of the training set, its count in n_selected.
    `device` is where the evaluation trained (the protocol's), `device_select` where the set was
    made ('cpu' for numpy work, None where nothing was made or it was not recorded)."""
    t_full = full.median_seconds
    t_s = float(np.median(train_secs))
    t_sel = float(np.median(sel_secs))
    mean = float(np.mean(accs))
    return {
        "dataset": dataset.name, "model": protocol.model, "protocol": protocol.protocol,
        "method": method, "budget": budget_fraction(budget, len(dataset.y_train)),
        "n_selected": int(n_selected),
        "seeds": len(accs), "accuracy_mean": 100 * mean,
        "accuracy_std": 100 * float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
        "full_accuracy": 100 * full.accuracy, "drop": 100 * (full.accuracy - mean),
        "train_time_ratio": t_full / t_s, "selection_seconds": t_sel,
        "end_to_end_ratio": t_full / (t_sel + t_s),
        "device": protocol.device, "device_select": device_select,
    }


def evaluate_selector(dataset, name: str, budget, protocol: Protocol, full: FullBaseline, *,
                      label: str | None = None, use_weights: bool = True, **params) -> dict:
    """Select with `make_selector(name, budget=..., random_state=seed, **params)` for each seed,
    on the protocol's device (`make_selector_on`), train on the picks, and return one result row
    (`device_select`: the selector's `device_`)."""
    used = {}

    def make_set(seed):
        selector = make_selector_on(name, protocol.device, budget=budget, random_state=seed,
                                    **params)
        idx = selector.fit(dataset.X_train, dataset.y_train).indices_
        used["device"] = selector.device_
        weights = selector.weights_ if use_weights else None
        return dataset.X_train[idx], dataset.y_train[idx], weights

    row = _evaluate_sets(dataset, label or name, make_set, protocol, full, budget,
                         synthetic=False)
    return {**row, "device_select": used["device"]}


def evaluate_synthetic(dataset, method: str, make_set, protocol: Protocol, full: FullBaseline,
                       budget=None, *, device_select=None) -> dict:
    """Row for a synthetic or externally selected set: `make_set(seed)` returns (X, y, weights)
    and its cost is timed as selection (generation) time. `device_select` names the device
    make_set ran on, for the row (give it `protocol.device` and run there; 'cpu' for a numpy-only
    set; None: not recorded)."""
    row = _evaluate_sets(dataset, method, make_set, protocol, full, budget, synthetic=True)
    return {**row, "device_select": None if device_select is None else str(device_select)}


def _evaluate_sets(dataset, method, make_set, protocol, full, budget, synthetic):
    """The seed loop behind every row: make the set (timed as selection), train, score."""
    accs, train_secs, sel_secs, n_sel = [], [], [], 0
    for seed in protocol.seeds:
        start, billed = time.perf_counter(), billed_seconds()
        X, y, weights = make_set(seed)
        sel_secs.append(time.perf_counter() - start + billed_seconds() - billed)
        n_sel = len(X)
        acc, sec, _ = train_and_score(dataset, X, y, protocol, seed,
                                      steps=distilled_steps(protocol, full.steps, n_sel, synthetic),
                                      sample_weight=weights)
        accs.append(acc)
        train_secs.append(sec)
    budget = budget if budget is not None else n_sel / len(dataset.y_train)
    return result_row(dataset, protocol, full, method, budget, n_sel, accs, train_secs, sel_secs)


# The one random baseline of every table, notebook and benchmark: class-balanced random picks, as
# every other method's picks are (a class's share of the budget follows its share of the data).
RANDOM_BASELINE = {"name": "random", "class_balanced": True}


def evaluate(dataset, methods: dict, budgets, protocol: Protocol, *, full: FullBaseline = None,
             verbose: bool = True) -> list:
    """Rows for every method x budget, with `random` (`RANDOM_BASELINE`: class-balanced) and the
    full baseline measured in this run.

    `methods` maps a row label to a dict with the selector `name` and its params, e.g.
    {"kcenter": {"name": "kcenter", "class_balanced": True}}.
    """
    full = full or run_full(dataset, protocol, verbose=verbose)
    methods = {"random": dict(RANDOM_BASELINE), **methods}
    rows = [result_row(dataset, protocol, full, "full", 1.0, len(dataset.y_train),
                       full.accuracies, full.seconds, [0.0])]
    jobs = [(label, spec, b) for b in budgets for label, spec in methods.items()]
    # One proxy per seed and setting for the whole table (the selectors draw the same proxy seed
    # from the same protocol seed), each reuse billed as if trained again: same picks, same times.
    with shared_proxies():
        for label, spec, b in tqdm(jobs, desc=f"evaluate {dataset.name}", disable=not verbose):
            spec = dict(spec)
            rows.append(evaluate_selector(dataset, spec.pop("name"), b, protocol, full,
                                          label=label, **spec))
    return rows
