"""Random selection: the baseline every table shows beside the methods (uniform, or stratified with
class_balanced=True)."""
from __future__ import annotations

from distill_lab.selectors.base import BaseSelector


class RandomSelector(BaseSelector):
    """Uniform sampling without replacement."""

    def __init__(self, budget=0.1, random_state=None, class_balanced=False):
        self.budget = budget
        self.random_state = random_state
        self.class_balanced = class_balanced

    def _select(self, state, pool, k, rng):
        return rng.choice(pool, size=k, replace=False), None, None
