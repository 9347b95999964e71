"""The headline benchmark (docs/design.md §2): every selector at 10% and 1% on digits and MNIST-60k,
protocol `compute`, 3 seeds, random and full measured in the same run.

    python benchmarks/headline.py            # digits + MNIST-60k -> benchmarks/results/*.json, *.md
    python benchmarks/headline.py --quick    # digits only

All options are those of `distill-lab benchmark` (distill_lab/evaluation/benchmark.py).
"""
import sys

from distill_lab.evaluation.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
