"""The decision guide of notebook 11 on hand-made rows."""
import json

import pytest

from distill_lab.evaluation.guide import (decision_table, format_decision_table,
                                          gains_over_random, load_evidence, one_random_baseline,
                                          reversals)


def _row(dataset, method, budget, acc, std=0.5, e2e=8.0, n=None):
    return {"dataset": dataset, "method": method, "budget": budget, "accuracy_mean": acc,
            "accuracy_std": std, "end_to_end_ratio": e2e, "n_selected": n}


ROWS = [
    _row("digits", "full", 1.0, 97.6, n=1347), _row("digits", "random", 0.01, 60.0, std=5.0),
    _row("digits", "el2n", 0.01, 45.0, e2e=1.5), _row("digits", "kmeans", 0.01, 85.0, e2e=5.0),
    _row("mnist", "full", 1.0, 99.4, n=60000), _row("mnist", "random", 0.01, 96.9, std=0.3),
    _row("mnist", "el2n", 0.01, 98.2, e2e=16.0), _row("mnist", "kmeans", 0.01, 96.8, e2e=0.6),
]


def test_the_balanced_random_becomes_the_one_random():
    old = [_row("d", "random", 0.1, 90.7), _row("d", "random_balanced", 0.1, 91.0)]
    new = one_random_baseline(old)
    assert [(r["method"], r["accuracy_mean"]) for r in new] == [("random_unbalanced", 90.7),
                                                                ("random", 91.0)]
    assert old[0]["method"] == "random"  # not mutated
    assert one_random_baseline(ROWS) == ROWS  # a file with one random is left as it is


def test_gains_and_reversals_by_hand():
    gains = gains_over_random(ROWS)
    assert gains[("", "digits", 0.01, "el2n")] == (pytest.approx(-15.0), 5.0)
    assert gains[("", "mnist", 0.01, "el2n")] == (pytest.approx(1.3), 0.3)
    # el2n: -15 on digits, +1.3 on mnist (both beyond random's std); kmeans: +25 / -0.1 (within std)
    assert reversals(ROWS, 0.01, "digits", "mnist") == [("el2n", pytest.approx(-15.0), pytest.approx(1.3))]


def test_decision_table_respects_the_cost_limit():
    cells = {(c["dataset"], c["cost"]): c for c in decision_table(ROWS)}
    assert cells["digits", "any"]["method"] == "kmeans"
    assert cells["digits", "cheap"]["method"] is None  # kmeans 5x and el2n 1.5x: both below 6x
    assert cells["mnist", "any"]["method"] == "el2n" and cells["mnist", "cheap"]["method"] == "el2n"
    assert cells["mnist", "any"]["n_train"] == 60000
    table = format_decision_table(decision_table(ROWS))
    assert "| mnist (60,000) | 1% | end to end ≥ 6x | el2n | 98.2 ± 0.5 | 96.9 ± 0.3 | 16.0 |" in table
    assert "| digits (1,347) | 1% | end to end ≥ 6x | — (none passes) |" in table


def test_decision_table_orders_sources_of_one_setting_by_name():
    # two files with the same data set and budget: their order must not follow set iteration
    rows = [dict(r, source=s) for s in ("b_later", "a_first") for r in ROWS[:4]]
    assert [c["source"] for c in decision_table(rows)] == ["a_first"] * 2 + ["b_later"] * 2
    assert decision_table(rows[::-1]) == decision_table(rows)


def test_load_evidence_tags_rows_and_names_a_missing_file(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([_row("d", "random", 0.1, 90.7), _row("d", "random_balanced", 0.1, 91.0)]))
    rows = load_evidence({"committed": path})
    assert {r["source"] for r in rows} == {"committed"}
    assert [r["method"] for r in rows] == ["random_unbalanced", "random"]
    with pytest.raises(FileNotFoundError, match="'gone'"):
        load_evidence({"gone": tmp_path / "missing.json"})
