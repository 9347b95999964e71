"""Transitional name: the paper table is `distill_lab.experiments.paper`. This module only
re-exports it (no warning) until notebooks 09 and 11 import it from there; it belongs to the
experiments layer (tests/test_layers.py) and is deleted with that change."""
from distill_lab.experiments.paper import (CPU_CONFIG, GPU_CONFIG, PAPER_METHODS, PUBLISHED_MNIST,
                                           SMOKE_CONFIG, PaperConfig, format_paper_table,
                                           gain_over_random, paper_notes, paper_rows)

__all__ = ["PUBLISHED_MNIST", "PaperConfig", "CPU_CONFIG", "GPU_CONFIG", "SMOKE_CONFIG",
           "paper_rows", "format_paper_table", "gain_over_random", "paper_notes", "PAPER_METHODS"]
