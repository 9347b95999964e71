"""Which model evaluates distilled tables: logistic regression against the MLP of
`TABULAR_CONFIG` (one hidden layer of 256, AdamW + OneCycle, 40 epochs) at two learning rates, on
tables that ship with scikit-learn (breast cancer, wine, iris, and the digits' 64 pixels read as
a table), each written to CSV and read back the way a user's table is (`distill_lab.data.load`:
a stratified 20% hold-out, features standardized on the training split).

    distill-lab bench tabular-model            # -> OUT/tabular_model.json
    distill-lab bench tabular-model --smoke    # iris and wine, one seed

Rows: the full-data run and class-balanced random 10% (protocol `compute`) per model, with the
evaluation seeds of `--seeds`. The test sets are small (30 to 360 samples): one sample is 0.3 to
3.3 points, so read the differences in samples, not in decimals.
"""
from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from distill_lab import data
from distill_lab.evaluation.protocol import TABULAR_CONFIG, Protocol, evaluate
from distill_lab.experiments.options import add_common_options, result_stem, write_rows
from distill_lab.training import TrainConfig

__all__ = ["TABLES", "CANDIDATES", "write_table", "measure", "add_arguments", "run", "SUMMARY"]

SUMMARY = "logistic regression against the MLP as the evaluation model of a table"

TABLES = ("breast_cancer", "wine", "iris", "digits")
# label -> (model, config); `mlp` is the default (TABULAR_CONFIG), the others its rivals.
CANDIDATES = {
    "logreg": ("logreg", TrainConfig(epochs=40, batch_size=32, lr=5e-2)),  # digits' protocol
    "mlp": ("mlp", TABULAR_CONFIG),
    "mlp_lr1e-2": ("mlp", TrainConfig(epochs=40, batch_size=32, lr=1e-2)),
}


def write_table(name: str, folder) -> Path:
    """scikit-learn's `load_<name>` as FOLDER/<name>.csv, its labels in a `target` column."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    path = Path(folder) / f"{name}.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"x{i}" for i in range(bunch.data.shape[1])] + ["target"])
        writer.writerows([*x, int(t)] for x, t in zip(bunch.data, bunch.target))
    return path


def measure(tables=TABLES, candidates=None, seeds=(0, 1, 2), device="cpu",
            verbose=True) -> list:
    """Rows (full and random 10%) for every table x candidate; `model` names the candidate."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in tables:
            ds = data.load(str(write_table(name, folder)))
            for label, (model, config) in (candidates or CANDIDATES).items():
                protocol = Protocol(model=model, config=config, seeds=tuple(seeds), device=device)
                for row in evaluate(ds, {}, [0.1], protocol, verbose=False):
                    rows.append({**row, "dataset": name, "model": label})
                if verbose:
                    print(name, label, [(r["method"], round(r["accuracy_mean"], 2))
                                        for r in rows[-2:]], flush=True)
    return rows


def add_arguments(parser) -> None:
    add_common_options(parser)


def run(args, command: str) -> int:
    """`distill-lab bench tabular-model`: OUT/tabular_model.json."""
    tables, seeds = (("iris", "wine"), args.seeds[:1]) if args.smoke else (TABLES, args.seeds)
    rows = [{**row, "command": command}
            for row in measure(tables, seeds=seeds, device=args.device)]
    print(f"wrote {write_rows(args.out, result_stem('tabular_model', args.smoke), rows)}")
    return 0
