"""distill_lab.evaluation.results: result table, best-vs-random comparison, verdict branches and
the Pareto front on hand-made rows (their plots are tested in test_plots.py)."""
import json

import numpy as np
import pytest
from result_rows import make_rows

from distill_lab.evaluation import ROW_FIELDS, results


def test_load_rows_roundtrip_and_validation(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(make_rows()))
    assert results.load_rows(path) == make_rows()
    broken = make_rows()
    del broken[2]["drop"]
    path.write_text(json.dumps(broken))
    with pytest.raises(ValueError, match=r"rows\[2\].*kmeans.*\['drop'\]"):
        results.load_rows(path)
    bad = make_rows()
    bad[1]["accuracy_mean"] = "93"
    with pytest.raises(ValueError, match="accuracy_mean"):
        results.validate_rows(bad)
    with pytest.raises(FileNotFoundError, match="path="):
        results.load_rows(tmp_path / "missing.json")
    assert set(ROW_FIELDS) == set(make_rows()[0])


@pytest.mark.parametrize("field, value, message", [
    ("budget", 10, r"budget=10: .*fraction of the training set kept, in \(0, 1\]"),
    ("budget", 0.0, "budget=0.0"),
    ("budget", 1.5, "budget=1.5"),
    ("n_selected", 0, "n_selected=0: an int >= 1"),
    ("n_selected", 12.5, "n_selected=12.5"),
    ("n_selected", True, "n_selected"),
    ("ipc", 2.5, "ipc=2.5: images per class"),
    ("train_time_ratio", float("nan"), "train_time_ratio"),
])
def test_rows_hold_one_meaning_of_budget(field, value, message):
    rows = make_rows()
    rows[1][field] = value
    with pytest.raises(ValueError, match=message):
        results.validate_rows(rows)


def test_unmeasured_time_ratios_and_ipc():
    rows = [dict(r, ipc=10) for r in make_rows()]
    rows[2].update(train_time_ratio=None, end_to_end_ratio=None)  # protocol `paper`: not measured
    assert results.validate_rows(rows) is rows
    assert "| kmeans | 10% | 100 | 95.50 ± 0.50 | +1.50 | — | 0.10 | — |" in results.format_table(rows)
    with pytest.raises(ValueError, match="train_time_ratio"):
        results.validate_rows(rows, ratios_required=True)
    with pytest.raises(ValueError, match="train_time_ratio"):
        results.claim_checks(rows)


def test_format_table_orders_and_formats():
    lines = results.format_table(make_rows()).splitlines()
    assert len(lines) == 2 + 6
    assert lines[2].startswith("| full | 100% | 1000 | 97.00 ± 0.20 | +0.00 |")
    # within 10%: kmeans (95.5) > random (93) > el2n (90); then the 1% rows
    assert [line.split("|")[1].strip() for line in lines[3:]] == \
        ["kmeans", "random", "el2n", "kmeans", "random"]
    assert "| kmeans | 10% | 100 | 95.50 ± 0.50 | +1.50 | 8.0 | 0.10 | 7.3 |" in lines  # 8 / (0.1 + 1)


def test_best_rows_and_compare_to_random():
    rows = make_rows()
    assert [r["method"] for r in results.best_rows(rows, 0.1)] == ["kmeans", "el2n"]
    cmp = results.compare_to_random(rows, 0.1)
    assert cmp["best"]["method"] == "kmeans" and cmp["gain"] == pytest.approx(2.5)
    assert cmp["beats_random"]   # 2.5 > random std 1.0
    assert not results.compare_to_random(make_rows(random_std=3.0), 0.1)["beats_random"]
    with pytest.raises(ValueError, match=r"budget=0.5 .*\[0.01, 0.1\]"):
        results.best_rows(rows, 0.5)
    with pytest.raises(ValueError, match="no 'random' row"):
        results.compare_to_random([r for r in rows if r["method"] != "random"], 0.1)


def test_verdict_claim_met():
    text = results.verdict(make_rows())  # drop 1.5, 8x training, end to end 8 / (0.1 + 1) = 7.3x
    assert "best method, kmeans, reaches 95.5 ± 0.5%" in text
    assert "a drop of 1.5 points" in text and "MISSED" not in text
    assert "end to end it is 7.3x faster (met)" in text
    assert "beats it by 2.5 points, more than random's seed std of 1.0" in text
    assert text.endswith("**Verdict:** the claim holds on toy.")


def test_verdict_drop_missed():
    text = results.verdict(make_rows(best_acc=93.5, random_std=1.0))  # drop 3.5 > 2.5
    assert "a drop of 3.5 points" in text and "(drop ≤ 2.5): **MISSED**" in text
    assert "is 0.5 points above it, not more than random's seed std" in text   # 0.5 <= 1.0
    assert text.endswith("not reproduced on toy: the accuracy drop misses its target.")


def test_verdict_never_says_a_method_beats_random_by_a_negative_gain():
    text = results.verdict(make_rows(best_acc=90.0, random_std=1.0))  # random is above the best
    assert "beats" not in text and "points below it, against random's seed std of 1.0" in text


def test_verdict_selection_cost_eats_the_speedup():
    # training 8x faster, but 10 s of selection against an 8 s full run: 8 / (10 + 1) < 1
    checks = results.claim_checks(make_rows(best_sel=10.0))
    assert checks["speedup_met"] and not checks["end_to_end_met"] and not checks["claim_met"]
    text = results.verdict(make_rows(best_sel=10.0))
    assert "it costs more than it saves: end to end it is 1.4x slower" in text
    assert text.endswith("the end-to-end speed-up misses its target.")
    slow = results.verdict(make_rows(best_ttr=3.0, best_sel=5.0))
    assert "ran 3.0x faster" in slow and "the training speed-up, the end-to-end speed-up" in slow


def test_verdict_is_markdown_that_keeps_names_literal():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    rows = [dict(r, dataset="my_data*", method="craig_unweighted" if r["method"] == "kmeans"
                 else r["method"]) for r in make_rows(best_acc=93.5)]
    html = markdown2html_mistune(results.verdict(rows))
    assert "best method, craig_unweighted, reaches" in html and "On my_data* (logreg" in html
    assert html.count("<strong>") == 2 and "<em>" not in html  # **MISSED** and **Verdict:**
    assert "drop ≤ 2.5" in html and "\\" not in html


def test_verdict_without_selection_methods():
    rows = [r for r in make_rows() if r["method"] in ("full", "random")]
    assert "not tested" in results.verdict(rows)


def test_pareto_front_by_hand():
    cost = [1.0, 0.1, 0.1, 0.2, 0.05, 0.05, 0.5]
    acc = [97, 90, 88, 89, 80, 80, 97]
    # 0: cheapest at 97 among... (0.5, 97) dominates (1.0, 97): same accuracy, lower cost
    # 1: (0.1, 90) front; 2: dominated by 1; 3: dominated by 1 (costlier, less accurate)
    # 4 and 5: identical cheapest points, neither strictly better: both on the front; 6: front
    expected = [False, True, False, False, True, True, True]
    assert results.pareto_front(cost, acc).tolist() == expected
    with pytest.raises(ValueError, match="1-D of equal length"):
        results.pareto_front([1, 2], [1])


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(0)
    cost, acc = rng.integers(0, 5, 40), rng.integers(0, 5, 40)
    brute = [not any(cost[j] <= cost[i] and acc[j] >= acc[i] and (cost[j], acc[j]) != (cost[i], acc[i])
                     for j in range(40)) for i in range(40)]
    assert results.pareto_front(cost, acc).tolist() == brute
