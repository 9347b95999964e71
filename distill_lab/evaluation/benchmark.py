"""Transitional name: the headline benchmark is `distill_lab.experiments.headline`. This module
only re-exports it (no warning) until notebooks 09 and 11 import it from there; it belongs to the
experiments layer (tests/test_layers.py) and is deleted with that change."""
from distill_lab.experiments.headline import (DEFAULT_BUDGETS, EXTRA_METHODS, benchmark_methods,
                                              run_benchmark, run_benchmark_on)

__all__ = ["DEFAULT_BUDGETS", "EXTRA_METHODS", "benchmark_methods", "run_benchmark",
           "run_benchmark_on"]
