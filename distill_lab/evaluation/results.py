"""The result table of docs/design.md §2-§3 and what it says: rows as a markdown table, the best method
against random selection, a verdict in words on the source paper's claim (10x smaller, about 2
points lost, about 8x faster training), and the Pareto front of accuracy against cost. The plots of
these rows are in `distill_lab.plots`.

A row is one dict per (method, budget) with the fields of `protocol.ROW_FIELDS`; accuracies and
drops are in percentage points, ratios are t_full / t. `budget` is always the fraction of the
training set kept, in (0, 1]; `n_selected` its count; rows of sets counted per class add `ipc`
(images per class). The time ratios are None where a protocol makes them meaningless (`paper`).
`device` is where the evaluation trained, `device_select` where the set was made (rows written
before it was recorded, such as the committed benchmarks/results, lack it).
"""
from __future__ import annotations

import json
import math
import numbers
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from distill_lab.evaluation.protocol import ROW_FIELDS

__all__ = ["Claim", "CLAIM", "load_rows", "validate_rows", "format_table", "best_rows",
           "compare_to_random", "claim_checks", "verdict", "verdict_summary", "pareto_front"]

_NUMERIC = ("budget", "n_selected", "seeds", "accuracy_mean", "accuracy_std", "full_accuracy",
            "drop", "train_time_ratio", "selection_seconds", "end_to_end_ratio")
_RATIOS = ("train_time_ratio", "end_to_end_ratio")  # None: not measured (protocol `paper`)
# Fields added to ROW_FIELDS after rows were committed: checked where a row has them.
_RECORDED_SINCE = ("device_select",)


@dataclass(frozen=True)
class Claim:
    """The source paper's claim and how loosely "about" is read (stated in every verdict)."""

    budget: float = 0.1          # 10x smaller
    drop_points: float = 2.0     # "about 2 points": met when drop <= drop_points + drop_slack
    drop_slack: float = 0.5
    speedup: float = 8.0         # "about 8x": met when ratio >= speedup * (1 - speedup_slack)
    speedup_slack: float = 0.25


CLAIM = Claim()


# ----------------------------------------------------------------------------- rows
def validate_rows(rows, fields=ROW_FIELDS, *, ratios_required: bool = False) -> list:
    """Check that `rows` is a list of dicts with every field of `fields` (all of ROW_FIELDS by
    default; a plot passes the few it reads); numeric fields among them are finite numbers (the
    time ratios may be None, unless `ratios_required`), `budget` a fraction in (0, 1],
    `n_selected` an int >= 1, and `ipc`, where a row has it, an int >= 1. `device_select` may be
    missing (older rows) and is otherwise a device name or None; `device` a device name."""
    if not isinstance(rows, list) or not rows:
        raise ValueError(f"rows must be a non-empty list of result dicts, got {type(rows).__name__}"
                         f"{' (empty)' if isinstance(rows, list) else ''}")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"rows[{i}] must be a dict, got {type(row).__name__}")
        missing = [f for f in fields if f not in row and f not in _RECORDED_SINCE]
        if missing:
            raise ValueError(f"rows[{i}] (method={row.get('method')!r}) lacks fields {missing}; "
                             f"a row needs {list(fields)}")
        bad = [f for f in _NUMERIC if f in fields and not _finite(row[f])
               and not (f in _RATIOS and row[f] is None and not ratios_required)]
        if bad:
            raise ValueError(f"rows[{i}] (method={row['method']!r}) has non-numeric or non-finite "
                             f"{ {f: row[f] for f in bad} }; these fields must be finite numbers")
        _check_counts(i, row, fields)
        _check_devices(i, row, fields)
    return rows


def _finite(value) -> bool:
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value))


def _is_count(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def _check_counts(i, row, fields) -> None:
    """One meaning of budget: a fraction; the counts are n_selected and ipc."""
    where = f"rows[{i}] (method={row['method']!r})"
    if "budget" in fields and not 0 < row["budget"] <= 1:
        raise ValueError(f"{where} has budget={row['budget']!r}: a row's budget is the fraction "
                         "of the training set kept, in (0, 1]; its count goes in n_selected "
                         "(and images per class in ipc)")
    if "n_selected" in fields and not _is_count(row["n_selected"]):
        raise ValueError(f"{where} has n_selected={row['n_selected']!r}: an int >= 1 is needed")
    if "ipc" in row and not _is_count(row["ipc"]):
        raise ValueError(f"{where} has ipc={row['ipc']!r}: images per class, an int >= 1")


def _check_devices(i, row, fields) -> None:
    """`device` a device name such as 'cpu' or 'cuda'; `device_select` one or None."""
    for field in ("device", "device_select"):
        if field in fields and field in row and not (
                isinstance(row[field], str) or (field == "device_select" and row[field] is None)):
            raise ValueError(f"rows[{i}] (method={row['method']!r}) has {field}={row[field]!r}: "
                             "the name of a torch device such as 'cpu' or 'cuda'"
                             + (", or None where no set was made" if field == "device_select"
                                else ""))


def load_rows(path) -> list:
    """Read benchmark rows from a JSON file (a list of rows) and validate them."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path={str(path)!r} is not a file; benchmarks write "
                                "benchmarks/results/<dataset>.json")
    return validate_rows(json.loads(path.read_text(encoding="utf-8")))


def _is_baseline(method: str) -> bool:
    return method == "full" or method.startswith("random")


def _at_budget(rows, budget) -> list:
    found = [r for r in rows if r["method"] != "full" and math.isclose(r["budget"], budget)]
    if not found:
        budgets = sorted({r["budget"] for r in rows if r["method"] != "full"})
        raise ValueError(f"budget={budget!r} has no rows; budgets present: {budgets}")
    return found


def format_table(rows: list) -> str:
    """Markdown table, best accuracy first within each budget; full data on top."""
    head = ("| method | budget | n | accuracy (%) | drop (pts) | train-time ratio | "
            "selection (s) | end-to-end ratio |\n|---|---|---|---|---|---|---|---|")
    full = [r for r in rows if r["method"] == "full"]
    rest = sorted((r for r in rows if r["method"] != "full"),
                  key=lambda r: (-r["budget"], -r["accuracy_mean"]))
    lines = [head]
    for r in full + rest:
        budget = "100%" if r["method"] == "full" else f"{100 * r['budget']:g}%"
        lines.append(
            f"| {r['method']} | {budget} | {r['n_selected']} | {r['accuracy_mean']:.2f} ± "
            f"{r['accuracy_std']:.2f} | {r['drop']:+.2f} | {_ratio(r['train_time_ratio'])} | "
            f"{r['selection_seconds']:.2f} | {_ratio(r['end_to_end_ratio'])} |")
    return "\n".join(lines)


def _ratio(value) -> str:
    return "—" if value is None else f"{value:.1f}"


def best_rows(rows: list, budget) -> list:
    """The selection methods' rows at `budget` (random baselines and full excluded), best first."""
    return sorted((r for r in _at_budget(rows, budget) if not _is_baseline(r["method"])),
                  key=lambda r: -r["accuracy_mean"])


def compare_to_random(rows: list, budget) -> dict:
    """The best method at `budget` against `random` there.

    `beats_random` is True when the best mean exceeds random's mean by more than random's seed
    std (a gain larger than the seed noise of the baseline).
    """
    at = _at_budget(rows, budget)
    random = [r for r in at if r["method"] == "random"]
    if not random:
        raise ValueError(f"rows hold no 'random' row at budget={budget!r}; random selection "
                         "measured in the same run is required (docs/design.md §2)")
    best = best_rows(rows, budget)
    best = best[0] if best else None
    gain = best["accuracy_mean"] - random[0]["accuracy_mean"] if best else float("nan")
    return {"best": best, "random": random[0], "gain": gain,
            "random_std": random[0]["accuracy_std"],
            "beats_random": bool(best is not None and gain > random[0]["accuracy_std"])}


# ----------------------------------------------------------------------------- the verdict
def claim_checks(rows: list, claim: Claim = CLAIM) -> dict:
    """The numbers behind the verdict at `claim.budget`: the best method's drop, training-time and
    end-to-end ratios, each with whether the claim's (loosened) target is met."""
    validate_rows(rows, ratios_required=True)
    cmp = compare_to_random(rows, claim.budget)
    best = cmp["best"]
    speed_target = claim.speedup * (1 - claim.speedup_slack)
    checks = {"best_method": None, "drop": float("nan"), "drop_met": False,
              "train_time_ratio": float("nan"), "speedup_met": False,
              "end_to_end_ratio": float("nan"), "end_to_end_met": False,
              "random_drop": cmp["random"]["drop"], "random_std": cmp["random_std"],
              "gain_over_random": cmp["gain"],
              "beats_random": cmp["beats_random"], "speedup_target": speed_target,
              "drop_target": claim.drop_points + claim.drop_slack}
    if best is not None:
        checks.update(best_method=best["method"], drop=best["drop"],
                      drop_met=best["drop"] <= checks["drop_target"],
                      train_time_ratio=best["train_time_ratio"],
                      speedup_met=best["train_time_ratio"] >= speed_target,
                      end_to_end_ratio=best["end_to_end_ratio"],
                      end_to_end_met=best["end_to_end_ratio"] >= speed_target)
    checks["claim_met"] = checks["drop_met"] and checks["speedup_met"] and checks["end_to_end_met"]
    return checks


def _met(flag: bool) -> str:
    return "met" if flag else "**MISSED**"


def _md(name) -> str:
    """A name from the rows as Markdown text: its punctuation escaped, so `a_b*c` stays literal."""
    return re.sub(r"([\\`*_{}\[\]<>|$~])", r"\\\1", str(name))  # not "(": \( opens math


def verdict(rows: list, claim: Claim = CLAIM) -> str:
    """A few sentences on the claim "10x smaller, about 2 points lost, about 8x faster training"
    for the data set of `rows`, computed from the rows; a missed target is said plainly.

    The text is Markdown (names escaped, the verdict in bold): show it with
    `display(Markdown(verdict(rows)))`; it reads as plain text too."""
    c = claim_checks(rows, claim)
    full = next(r for r in rows if r["method"] == "full") if any(
        r["method"] == "full" for r in rows) else rows[0]
    ratio = 1 / claim.budget
    dataset = _md(full["dataset"])
    out = [f"On {dataset} ({_md(full['model'])}, protocol {_md(repr(full['protocol']))}, "
           f"{full['seeds']} seeds) full-data training reaches {full['full_accuracy']:.1f}%."]
    if c["best_method"] is None:
        out.append(f"No selection method was run at the {claim.budget:.0%} budget, only random "
                   f"selection (drop {c['random_drop']:.1f} points), so the claim is not tested.")
        return " ".join(out)
    best = best_rows(rows, claim.budget)[0]
    method = _md(best["method"])
    out.append(
        f"With a {ratio:.0f}x smaller set ({claim.budget:.0%}, n={best['n_selected']}) the best "
        f"method, {method}, reaches {best['accuracy_mean']:.1f} ± "
        f"{best['accuracy_std']:.1f}%: a drop of {c['drop']:.1f} points against the claim's about "
        f"{claim.drop_points:g} (drop ≤ {c['drop_target']:g}): {_met(c['drop_met'])}.")
    out.append(f"Its training ran {c['train_time_ratio']:.1f}x faster than full training "
               f"(about {claim.speedup:g}x, i.e. ≥ {c['speedup_target']:g}x: "
               f"{_met(c['speedup_met'])}).")
    e2e = c["end_to_end_ratio"]
    cost = f"Counting its {best['selection_seconds']:.2f} s of selection, "
    if e2e < 1:
        out.append(cost + f"it costs more than it saves: end to end it is {1 / e2e:.1f}x slower "
                   f"than full training ({_met(False)}).")
    else:
        out.append(cost + f"end to end it is {e2e:.1f}x faster ({_met(c['end_to_end_met'])}).")
    gain = c["gain_over_random"]
    if c["beats_random"]:
        versus = f"{method} beats it by {gain:.1f} points, more than"
    elif gain > 0:
        versus = f"{method} is {gain:.1f} points above it, not more than"
    else:
        versus = f"{method} is {-gain:.1f} points below it, against"
    out.append(f"Random selection at the same budget drops {c['random_drop']:.1f} points; "
               f"{versus} random's seed std of {c['random_std']:.1f}.")
    out.append(f"**Verdict:** {_conclusion(c, dataset)}.")
    return " ".join(out)


def _conclusion(c: dict, dataset: str) -> str:
    missed = [name for name, key in (("the accuracy drop", "drop_met"),
                                     ("the training speed-up", "speedup_met"),
                                     ("the end-to-end speed-up", "end_to_end_met")) if not c[key]]
    if not missed:
        return f"the claim holds on {dataset}"
    return (f"the claim is not reproduced on {dataset}: {', '.join(missed)} "
            f"{'misses its target' if len(missed) == 1 else 'miss their targets'}")


def verdict_summary(rows: list, claim: Claim = CLAIM) -> str:
    """verdict's conclusion in one sentence (Markdown) with the best method's figures, for the
    top of a report: whether the claim holds on the data set of `rows`, and which targets miss."""
    c = claim_checks(rows, claim)
    dataset = _md(rows[0]["dataset"])
    if c["best_method"] is None:
        return f"The claim is not tested on {dataset}: no selection method ran at {claim.budget:.0%}."
    conclusion = _conclusion(c, dataset)
    return (f"{conclusion[0].upper()}{conclusion[1:]}; {_md(c['best_method'])} at "
            f"{claim.budget:.0%} drops {c['drop']:.1f} points against random's "
            f"{c['random_drop']:.1f} and trains {c['train_time_ratio']:.1f}x faster, "
            f"{c['end_to_end_ratio']:.1f}x end to end.")


# ----------------------------------------------------------------------------- Pareto front
def pareto_front(cost, accuracy) -> np.ndarray:
    """Boolean mask of the points no other point dominates (cost <= and accuracy >=, one strictly)."""
    cost, accuracy = np.asarray(cost, float), np.asarray(accuracy, float)
    if cost.shape != accuracy.shape or cost.ndim != 1:
        raise ValueError(f"cost and accuracy must be 1-D of equal length, got shapes {cost.shape} "
                         f"and {accuracy.shape}")
    no_worse = (cost[None, :] <= cost[:, None]) & (accuracy[None, :] >= accuracy[:, None])  # (i, j)
    better = (cost[None, :] < cost[:, None]) | (accuracy[None, :] > accuracy[:, None])
    return ~np.any(no_worse & better, axis=1)
