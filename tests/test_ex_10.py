"""The explorer's seed sweep (notebook 10's exercise reference) and its display: a PNG beside the
live widget view, never the widgets' raw repr."""
import base64

import matplotlib
import numpy as np

matplotlib.use("Agg")

from distill_lab import make_selector  # noqa: E402
from distill_lab.widgets import Explorer  # noqa: E402


def test_sweep_seeds_matches_single_updates_and_restores_the_state():
    ex = Explorer(method="kcenter", budget=0.1, seed=0, auto_update=True)
    ex.update()
    before = (ex.indices_.copy(), ex.accuracy_)
    sweep = ex.sweep_seeds([0, 1], method="random", budget=0.01)
    assert (ex.method_w.value, ex.budget_w.value, ex.seed_w.value) == ("kcenter", 0.1, 0)
    np.testing.assert_array_equal(ex.indices_, before[0])
    assert ex.accuracy_ == before[1]
    one = Explorer(method="random", budget=0.01, seed=1, auto_update=False).update()
    assert sweep["accuracy"][1] == one.accuracy_
    y = one.current_dataset().y_train
    picks = make_selector("random", budget=0.01, random_state=1).fit(one.current_dataset().X_train, y)
    assert sweep["classes_covered"][1] == len(np.unique(y[picks.indices_]))
    assert sweep["seed"].tolist() == [0, 1]
    ex.seed_w.value = 2                    # the observers are back: a change redraws
    assert len(ex.output.outputs) == 1


def test_display_bundle_has_a_png_and_a_short_text():
    ex = Explorer(method="random", budget=0.01, auto_update=False).update()
    bundle = ex._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("Explorer(digits, random") and "VBox" not in bundle["text/plain"]
