"""Which budgets a data set can take: class-balanced selection (the protocol's random baseline and
most methods) needs at least one sample per class, k = round(budget * n) >= n_classes. A
notebook's built-in budget list (1%, 2%, ... chosen for thousands of samples) keeps what the
data allows and says what it left out; the run's own `budget` is never dropped (too small, it
fails with the selector's message)."""
from __future__ import annotations

import numpy as np

from distill_lab._validation import resolve_budget
from distill_lab.data import QUICK_ONE_SIZE_SIDE

__all__ = ["usable_budgets", "usable_per_class", "quick_per_class"]


def usable_budgets(budgets, dataset, keep=None) -> tuple[list, list]:
    """(kept, dropped): the `budgets` (fractions or counts, order kept) whose k reaches the
    number of classes of `dataset`'s training split, and the others; `keep` (the run's budget)
    is kept whatever its size."""
    n, classes = len(dataset.y_train), dataset.n_classes
    kept, dropped = [], []
    for b in budgets:
        (kept if b == keep or resolve_budget(b, n) >= classes else dropped).append(b)
    return kept, dropped


def usable_per_class(per_class, dataset) -> tuple[list, list]:
    """(kept, dropped): the images-per-class sizes (07, 08: synthetic sets beside random real
    subsets of the same size) that every class of `dataset`'s training split can supply."""
    smallest = int(np.bincount(dataset.y_train, minlength=dataset.n_classes).min())
    kept = [k for k in per_class if k <= smallest]
    return kept, [k for k in per_class if k > smallest]


def quick_per_class(per_class, dataset, quick: bool) -> tuple[list, list]:
    """(kept, dropped): in quick mode on images of QUICK_ONE_SIZE_SIDE pixels and wider, the first
    images-per-class size only; otherwise every size."""
    per_class = list(per_class)
    shape = dataset.image_shape
    if quick and shape is not None and shape[-1] >= QUICK_ONE_SIZE_SIDE and len(per_class) > 1:
        return per_class[:1], per_class[1:]
    return per_class, []
