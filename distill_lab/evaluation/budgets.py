"""Which budgets a data set can take: class-balanced selection (the protocol's random baseline and
most methods) needs at least one sample per class, k = round(budget * n) >= n_classes. A
notebook's built-in budget list (1%, 2%, ... chosen for thousands of samples) keeps what the
data allows and says what it left out; the run's own `budget` is never dropped (too small, it
fails with the selector's message)."""
from __future__ import annotations

from distill_lab._validation import resolve_budget

__all__ = ["usable_budgets"]


def usable_budgets(budgets, dataset, keep=None) -> tuple[list, list]:
    """(kept, dropped): the `budgets` (fractions or counts, order kept) whose k reaches the
    number of classes of `dataset`'s training split, and the others; `keep` (the run's budget)
    is kept whatever its size."""
    n, classes = len(dataset.y_train), dataset.n_classes
    kept, dropped = [], []
    for b in budgets:
        (kept if b == keep or resolve_budget(b, n) >= classes else dropped).append(b)
    return kept, dropped
