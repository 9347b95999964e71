"""The paper table: its rows on a toy image set (wiring and schema), the table beside the
published figures, the per-row notes, and the committed rows."""
import json
from pathlib import Path

import numpy as np
import pytest

from distill_lab import data
from distill_lab.evaluation import ROW_FIELDS, validate_rows
from distill_lab.experiments.paper import (PUBLISHED_MNIST, SMOKE_CONFIG, PaperConfig,
                                           format_paper_table, gain_over_random, paper_notes,
                                           merge_runs, paper_rows, replaced_rows,
                                           table_text)

COMMITTED = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "paper_mnist.json"


def _toy_mnist():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    X = np.clip(rng.normal(0.2 + 0.2 * y[:, None], 0.1, (60, 784)), 0, 1).astype(np.float32)
    return data.Dataset(X, y, X[:30], y[:30], 3, (1, 28, 28), "mnist")


def test_paper_rows_on_a_toy_image_set():
    rows = paper_rows(_toy_mnist(), SMOKE_CONFIG, verbose=False)
    assert [(r["method"], r["ipc"]) for r in rows] == [
        (m, k) for k in SMOKE_CONFIG.ipcs for m in SMOKE_CONFIG.methods]
    for r in rows:
        assert set(ROW_FIELDS) <= set(r) and r["protocol"] == "paper" and r["model"] == "convnet3"
        assert r["n_selected"] == 3 * r["ipc"] and r["seeds"] == len(SMOKE_CONFIG.seeds)
        assert r["budget"] == r["n_selected"] / 60       # a fraction of the 60 training images
        assert r["train_time_ratio"] is None and r["end_to_end_ratio"] is None
        assert r["width"] == SMOKE_CONFIG.width and "flip" not in r["dsa_strategy"]
        assert r["published"] == PUBLISHED_MNIST.get(r["method"], {}).get(r["ipc"])
    dm = [r for r in rows if r["method"] == "dm"]
    assert all(r["synthesis_seconds"] > 0 and r["dm_iterations"] == 2 for r in dm)
    assert validate_rows(rows) is rows   # one schema: the time ratios alone may be None


@pytest.mark.skipif(not COMMITTED.is_file(), reason="no committed paper table in this checkout")
def test_committed_rows_store_budget_as_a_fraction():
    rows = validate_rows(json.loads(COMMITTED.read_text()))
    assert {(r["ipc"], r["n_selected"]) for r in rows} == {(1, 10), (10, 100), (50, 500)}
    assert all(r["budget"] == r["n_selected"] / 60000 for r in rows)
    table = format_paper_table(rows)   # read by ipc, as notebooks 09 and 11 read it
    assert table.splitlines()[0] == ("| method | 1/class ours | 1/class paper | 10/class ours | "
                                     "10/class paper | 50/class ours | 50/class paper |")
    assert set(gain_over_random(rows)) == {1, 10, 50}


def _row(method, ipc, acc, published, **extra):
    return {"method": method, "ipc": ipc, "accuracy_mean": acc, "accuracy_std": 0.5,
            "published": published, "full_accuracy": 98.0, "full_epochs": 1, "width": 32,
            "synthetic_epochs": 300, "dm_iterations": 300, **extra}


def test_table_and_notes_by_hand():
    rows = [_row("random", 10, 92.0, 95.1), _row("dm", 10, 95.5, 97.5),
            _row("dm_mmd", 10, 95.0, None), _row("kcenter", 10, 90.0, 84.4)]
    table = format_paper_table(rows)
    assert "| random | 92.0 ± 0.5 | 95.1 |" in table
    assert "| dm_mmd | 95.0 ± 0.5 | — |" in table
    assert "| whole data | 98.0 (1 epoch) | 99.6 (300 epochs) |" in table
    assert gain_over_random(rows) == {10: pytest.approx(3.5)}
    assert gain_over_random(rows, "dm_mmd") == {10: pytest.approx(3.0)}
    notes = paper_notes(rows)
    assert len(notes) == 4
    assert "is below the paper's 95.1 (-3.1 points): width 32 instead of 128" in notes[0]
    assert "300 DM iterations instead of 20,000" in notes[1]
    assert "no published figure" in notes[2]
    gained = paper_notes([_row("gan", 10, 40.0, None, gain_over_random=-52.0)])[0]
    assert gained == ("**gan, 10/class**: 40.0 ± 0.5 (no published figure): -52.0 points against "
                      "random real images of this run.")
    assert "is above the paper's 84.4 (+5.6 points): more than the network width" in notes[3]
    assert paper_notes([_row("herding", 10, 94.2, 93.7)])[0].endswith("(+0.5 points).")


def test_a_whole_data_row_below_a_distilled_one_is_called_no_reference():
    rows = [_row("random", 50, 97.4, 97.9), _row("dm", 50, 98.3, 98.6)]  # whole data: 98.0
    notes = paper_notes(rows)
    assert len(notes) == 3 and notes[-1].startswith("**whole data**: 98.0 after 1 epoch is a short run")
    assert "1 distilled row(s) score above it (best dm, 50/class, 98.3)" in notes[-1]
    assert len(paper_notes([_row("random", 50, 97.4, 97.9)])) == 1  # below it: nothing to say


def test_bad_config_is_named():
    with pytest.raises(ValueError, match=r"\['vae'\]"):   # gan is a row since issue 20
        PaperConfig(methods=("random", "vae"))
    with pytest.raises(ValueError, match="ipcs"):
        PaperConfig(ipcs=(0,))


def test_partial_runs_merge_into_one_table():
    common = {"full_epochs": 10, "real_epochs": 300, "dsa_strategy": "s", "config": "cpu",
              "selection_seconds": 1.0}
    one = [_row("dm", 1, 90.0, 89.7, command="a", wall_minutes=5.0, **common),
           _row("random", 1, 70.0, 64.9, command="a", wall_minutes=5.0, **common)]
    fifty = [_row("random", 50, 97.0, 97.9, command="b", wall_minutes=7.0, **common),
             _row("dm", 50, 97.8, 98.6, command="b", wall_minutes=7.0, **common)]
    samples = [_row("gan", 50, 60.0, None, command="c", wall_minutes=3.0, **common)]   # no random
    rows = merge_runs([fifty, one, samples])
    assert [(r["method"], r["ipc"]) for r in rows] == [("random", 1), ("random", 50), ("dm", 1),
                                                        ("dm", 50), ("gan", 50)]
    assert [r["gain_over_random"] for r in rows] == pytest.approx([0.0, 0.0, 20.0, 0.8, -37.0])
    text = table_text(rows, {r["command"]: r["wall_minutes"] for r in rows})
    assert "| dm | 90.0 ± 0.5 | 89.7 | 97.8 ± 0.5 | 98.6 |" in text
    assert "`a` in 5.0 min; `b` in 7.0 min; `c` in 3.0 min" in text
    with pytest.raises(ValueError, match=r"\('random', 1\)\] appear in more than one run"):
        merge_runs([one, one])
    again = [_row("gan", 50, 70.0, None, command="d", wall_minutes=4.0, **common)]
    assert replaced_rows([fifty, one, samples, again]) == [("gan", 50)]
    redone = merge_runs([fifty, one, samples, again], replace=True)   # the later run wins
    assert len(redone) == len(rows) and redone[-1]["command"] == "d"
    assert redone[-1]["gain_over_random"] == pytest.approx(-27.0)
    longer = [_row("random", 1, 70.0, 64.9, command="w", wall_minutes=30.0,
                   **dict(common, full_epochs=20), full_accuracy=99.4)]
    other = [dict(r, full_accuracy=97.0) for r in fifty]            # a baseline of its own
    reref = merge_runs([one, other], whole=longer)
    assert {(r["full_accuracy"], r["full_epochs"]) for r in reref} == {(99.4, 20)}
    assert [r["drop"] for r in reref] == pytest.approx([99.4 - r["accuracy_mean"] for r in reref])
    assert "| whole data | 99.4 (20 epochs) |" in format_paper_table(reref)
    with pytest.raises(ValueError, match="whole: give the rows of one run"):
        merge_runs([one, fifty], whole=longer + [dict(longer[0], full_accuracy=99.0)])
    other = [dict(r, full_accuracy=97.0) for r in fifty]
    with pytest.raises(ValueError, match="differs from the first run in \\['full_accuracy'\\]"):
        merge_runs([one, other])
    with pytest.raises(ValueError, match="two or more non-empty runs"):
        merge_runs([one])


def test_merge_options_without_merge_are_an_error(capsys):
    from distill_lab import cli
    assert cli.main(["bench", "paper", "--replace"]) == 2
    assert "--replace=True only go with --merge" in capsys.readouterr().err
