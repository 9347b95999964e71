"""Evaluation: the protocol of docs/design.md §2 that trains and scores any training set (`protocol`),
the result rows and what they say about the claim (`results`), and the decision guide read from
rows (`guide`). The experiments that run every method are `distill_lab.experiments`.
"""
from distill_lab.evaluation.budgets import quick_per_class, usable_budgets, usable_per_class
from distill_lab.evaluation.protocol import (MIN_FULL_STEPS, PROTOCOLS, RANDOM_BASELINE,
                                             ROW_FIELDS, FullBaseline, Protocol,
                                             channel_stats, default_protocol, distilled_steps,
                                             result_row,
                                             evaluate, evaluate_selector, evaluate_synthetic,
                                             run_full, train_and_score)
from distill_lab.evaluation.results import (CLAIM, Claim, best_rows, claim_checks,
                                            compare_to_random, format_table, load_rows,
                                            pareto_front, validate_rows, verdict,
                                            verdict_summary)

__all__ = ["Protocol", "PROTOCOLS", "default_protocol", "channel_stats", "FullBaseline",
           "run_full", "train_and_score", "distilled_steps", "result_row", "evaluate_selector",
           "evaluate_synthetic", "evaluate", "ROW_FIELDS", "RANDOM_BASELINE", "MIN_FULL_STEPS",
           "Claim", "CLAIM", "load_rows", "validate_rows", "format_table", "best_rows",
           "compare_to_random", "claim_checks", "verdict", "verdict_summary", "pareto_front",
           "usable_budgets", "usable_per_class", "quick_per_class"]
