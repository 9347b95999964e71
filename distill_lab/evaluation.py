"""The evaluation protocol of DESIGN.md §2: full baseline, then every distilled set trained the same
way, with accuracy over seeds, drop, training-time ratio, selection time and end-to-end ratio.

Protocol `compute` gives a distilled set T_full / r optimizer steps (its training costs 1/r of the
full run); protocol `epochs` gives it the same number of epochs as the full run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from distill_lab._validation import resolve_device
from distill_lab.models import make_model
from distill_lab.selectors.registry import make_selector
from distill_lab.training import TrainConfig, accuracy, steps_per_epoch, train

__all__ = ["Protocol", "default_protocol", "FullBaseline", "run_full", "train_and_score",
           "evaluate_selector", "evaluate_synthetic", "evaluate", "ROW_FIELDS"]

ROW_FIELDS = ("dataset", "model", "protocol", "method", "budget", "n_selected", "seeds",
              "accuracy_mean", "accuracy_std", "full_accuracy", "drop", "train_time_ratio",
              "selection_seconds", "end_to_end_ratio", "device")


@dataclass(frozen=True)
class Protocol:
    """A named model, one optimizer/schedule, a step rule and the seeds."""

    model: str = "convnet"
    config: TrainConfig = field(default_factory=TrainConfig)
    protocol: str = "compute"   # "compute" (T_full / r steps) or "epochs" (same epochs)
    r: float = 8.0
    seeds: tuple = (0, 1, 2)
    device: str = "auto"

    def __post_init__(self):
        if self.protocol not in ("compute", "epochs"):
            raise ValueError(f"protocol={self.protocol!r} must be 'compute' or 'epochs'")
        if not self.r >= 1:
            raise ValueError(f"r={self.r!r} must be >= 1 (the distilled run's share is 1/r)")
        if len(self.seeds) < 1:
            raise ValueError("seeds must hold at least one seed")


def default_protocol(dataset, protocol: str = "compute", seeds=(0, 1, 2), device="auto") -> Protocol:
    """The protocol used in the benchmarks: logistic regression on digits (as in DESIGN.md),
    the 2-conv ConvNet for 3 epochs on MNIST."""
    if dataset.image_shape[-1] >= 28:
        return Protocol(model="convnet", config=TrainConfig(epochs=3, batch_size=64, lr=3e-3),
                        protocol=protocol, seeds=tuple(seeds), device=device)
    return Protocol(model="logreg", config=TrainConfig(epochs=40, batch_size=32, lr=5e-2),
                    protocol=protocol, seeds=tuple(seeds), device=device)


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
                       image_shape=dataset.image_shape, random_state=seed)
    result = train(model, X, y, config=protocol.config, steps=steps, sample_weight=sample_weight,
                   device=protocol.device, random_state=seed)
    return accuracy(model, dataset.X_test, dataset.y_test), result.seconds, result.steps


def run_full(dataset, protocol: Protocol, verbose: bool = False) -> FullBaseline:
    """Train on all of D for E epochs, once per seed."""
    # An untimed warm-up run, so that one-time start-up costs (thread pools, allocator) are not
    # billed to the first seed's full run.
    train_and_score(dataset, dataset.X_train[:64], dataset.y_train[:64], protocol, 0, steps=2)
    accs, secs, steps = [], [], 0
    for seed in tqdm(protocol.seeds, desc="full", disable=not verbose, leave=False):
        acc, sec, steps = train_and_score(dataset, dataset.X_train, dataset.y_train, protocol, seed)
        accs.append(acc)
        secs.append(sec)
    return FullBaseline(accs, secs, steps)


def _distilled_steps(protocol: Protocol, full: FullBaseline, n_selected: int) -> int | None:
    if protocol.protocol == "compute":
        return max(1, round(full.steps / protocol.r))
    return max(1, round(protocol.config.epochs *
                        steps_per_epoch(n_selected, protocol.config.batch_size)))


def _row(dataset, protocol, full, method, budget, n_selected, accs, train_secs, sel_secs):
    t_full = full.median_seconds
    t_s = float(np.median(train_secs))
    t_sel = float(np.median(sel_secs))
    mean = float(np.mean(accs))
    return {
        "dataset": dataset.name, "model": protocol.model, "protocol": protocol.protocol,
        "method": method, "budget": budget, "n_selected": int(n_selected),
        "seeds": len(accs), "accuracy_mean": 100 * mean,
        "accuracy_std": 100 * float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
        "full_accuracy": 100 * full.accuracy, "drop": 100 * (full.accuracy - mean),
        "train_time_ratio": t_full / t_s, "selection_seconds": t_sel,
        "end_to_end_ratio": t_full / (t_sel + t_s),
        "device": str(resolve_device(protocol.device)),
    }


def evaluate_selector(dataset, name: str, budget, protocol: Protocol, full: FullBaseline, *,
                      label: str | None = None, use_weights: bool = True, **params) -> dict:
    """Select with `make_selector(name, budget=..., random_state=seed, **params)` for each seed,
    train on the picks, and return one result row."""
    accs, train_secs, sel_secs, n_sel = [], [], [], 0
    for seed in protocol.seeds:
        start = time.perf_counter()
        selector = make_selector(name, budget=budget, random_state=seed, **params)
        selector.fit(dataset.X_train, dataset.y_train)
        sel_secs.append(time.perf_counter() - start)
        idx = selector.indices_
        n_sel = len(idx)
        weights = selector.weights_ if use_weights else None
        acc, sec, _ = train_and_score(dataset, dataset.X_train[idx], dataset.y_train[idx],
                                      protocol, seed, steps=_distilled_steps(protocol, full, n_sel),
                                      sample_weight=weights)
        accs.append(acc)
        train_secs.append(sec)
    return _row(dataset, protocol, full, label or name, budget, n_sel, accs, train_secs, sel_secs)


def evaluate_synthetic(dataset, method: str, make_set, protocol: Protocol, full: FullBaseline,
                       budget=None) -> dict:
    """Row for a synthetic or externally selected set: `make_set(seed)` returns (X, y, weights)
    and its cost is timed as selection (generation) time."""
    accs, train_secs, sel_secs, n_sel = [], [], [], 0
    for seed in protocol.seeds:
        start = time.perf_counter()
        X, y, weights = make_set(seed)
        sel_secs.append(time.perf_counter() - start)
        n_sel = len(X)
        acc, sec, _ = train_and_score(dataset, X, y, protocol, seed,
                                      steps=_distilled_steps(protocol, full, n_sel),
                                      sample_weight=weights)
        accs.append(acc)
        train_secs.append(sec)
    budget = budget if budget is not None else n_sel / len(dataset.y_train)
    return _row(dataset, protocol, full, method, budget, n_sel, accs, train_secs, sel_secs)


def evaluate(dataset, methods: dict, budgets, protocol: Protocol, *, full: FullBaseline = None,
             verbose: bool = True) -> list:
    """Rows for every method x budget, with `random` and the full baseline measured in this run.

    `methods` maps a row label to a dict with the selector `name` and its params, e.g.
    {"kcenter": {"name": "kcenter", "class_balanced": True}}.
    """
    full = full or run_full(dataset, protocol, verbose=verbose)
    methods = {"random": {"name": "random"}, **methods}
    rows = [_row(dataset, protocol, full, "full", 1.0, len(dataset.y_train), full.accuracies,
                 full.seconds, [0.0])]
    jobs = [(label, spec, b) for b in budgets for label, spec in methods.items()]
    for label, spec, b in tqdm(jobs, desc=f"evaluate {dataset.name}", disable=not verbose):
        spec = dict(spec)
        rows.append(evaluate_selector(dataset, spec.pop("name"), b, protocol, full, label=label,
                                      **spec))
    return rows
