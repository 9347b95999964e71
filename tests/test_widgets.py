"""The explorer driven headless: set widget values, run the handler, check the state and the figure."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from distill_lab import data, make_selector  # noqa: E402
from distill_lab.widgets import BUDGETS, Explorer, available_datasets  # noqa: E402


def test_available_datasets_lists_mnist_only_when_its_files_exist(tmp_path):
    assert available_datasets(tmp_path) == ["digits"]
    (tmp_path / "mnist").mkdir()
    for name in list(data.MNIST_FILES)[:3]:
        (tmp_path / "mnist" / name).touch()
    assert available_datasets(tmp_path) == ["digits"]   # one file still missing
    (tmp_path / "mnist" / list(data.MNIST_FILES)[3]).touch()
    assert available_datasets(tmp_path) == ["digits", "mnist"]


def _assert_test_fraction_shown(ex):
    """accuracy_ is a fraction of the 450 digits test images (not a percentage), as displayed."""
    n_right = ex.accuracy_ * len(ex.current_dataset().y_test)
    assert n_right == pytest.approx(round(n_right), abs=1e-6)
    assert f"test accuracy <b>{ex.accuracy_:.1%}</b>" in ex.status.value


def test_update_matches_the_selector_and_gives_an_accuracy():
    ex = Explorer(method="kcenter", auto_update=False)
    ex.method_w.value, ex.budget_w.value, ex.seed_w.value = "random", 0.05, 3
    ex.update()
    X, y = data.load("digits").X_train, data.load("digits").y_train
    expected = make_selector("random", budget=0.05, random_state=3).fit(X, y).indices_
    np.testing.assert_array_equal(ex.indices_, expected)   # round(0.05 * 1347) = 67 picks
    assert len(ex.indices_) == 67
    assert ex.accuracy_ > 0.5                                # far above chance (0.1)
    _assert_test_fraction_shown(ex)
    assert "kept 67 of 1347" in ex.status.value
    ds, emb = ex._load("digits")
    assert emb.shape == (len(ds.y_train), 2) and ex._load("digits")[1] is emb   # computed once


def test_changing_a_widget_runs_the_handler_and_render_static():
    ex = Explorer(method="random", budget=0.1, seed=0, auto_update=True)
    assert ex.indices_ is None                     # nothing runs until a control changes
    ex.budget_w.value = 0.01                       # observer -> redraw() -> update()
    assert len(ex.indices_) == 13 and "kept 13 of" in ex.status.value
    assert [o["output_type"] for o in ex.output.outputs] == ["display_data"]   # the redrawn view
    ex.method_w.value = "herding"                  # a model-based selector (proxy, features)
    assert len(np.unique(ex.indices_)) == 13
    assert ex.accuracy_ > 0.2                 # 13 images: at least twice chance (0.1); got 1/3
    _assert_test_fraction_shown(ex)
    fig = ex.render_static()
    ax_img, ax_emb = fig.axes[:2]
    assert "13 picks" in ax_img.get_title() and "labels" in ax_img.get_xlabel()
    assert (ax_emb.get_xlabel(), ax_emb.get_ylabel()) == ("PC 1", "PC 2")
    assert ax_emb.get_legend() is not None and "herding" in fig._suptitle.get_text()
    plt.close(fig)


def test_controls_offer_the_registry_and_the_budgets():
    from distill_lab.selectors.registry import SELECTORS

    ex = Explorer(auto_update=False)
    assert list(ex.method_w.options) == sorted(SELECTORS)
    assert [v for _, v in ex.budget_w.options] == list(BUDGETS)
    with pytest.raises(Exception):
        ex.method_w.value = "not-a-method"   # the Dropdown refuses unknown values


def test_quick_bounds_the_explored_data_and_full_keeps_it(monkeypatch):
    import numpy as np

    from distill_lab import data
    from distill_lab.data import QUICK_N_TRAIN, Dataset

    rng = np.random.default_rng(0)
    big = Dataset(rng.random((5000, 64), dtype=np.float32), np.arange(5000) % 10,
                  rng.random((500, 64), dtype=np.float32), np.arange(500) % 10, 10, (1, 8, 8),
                  "digits")
    monkeypatch.setattr(data, "load", lambda *args, **kwargs: big)
    assert len(Explorer(auto_update=False).current_dataset().y_train) == QUICK_N_TRAIN
    assert Explorer(auto_update=False, quick=False).current_dataset() is big


def test_the_explorer_opens_a_users_table_and_draws_its_picks_as_feature_rows(tmp_path):
    """Issue 21: a path given as `dataset` is an option of the dropdown (labelled by its name),
    and a table's picks are drawn as rows of standardized features, named by class."""
    from user_files import table

    from distill_lab.widgets import _dataset_options

    path = str(table(tmp_path / "pets.csv", n_per_class=(20, 20, 20), names=("cat", "dog", "eel")))
    assert _dataset_options(path, tmp_path) == [("digits", "digits"), ("pets", path)]
    assert _dataset_options("digits", tmp_path) == [("digits", "digits")]
    ex = Explorer(dataset=path, method="kcenter", budget=0.1, auto_update=False, data_dir=tmp_path)
    ex.update()
    assert len(ex.indices_) == round(0.1 * len(ex.current_dataset().y_train))
    fig = ex.render_static()
    ax_rows = fig.axes[0]
    names = [t.get_text() for t in ax_rows.get_yticklabels()]
    assert set(names) <= {"cat", "dog", "eel"} and len(names) == len(ex.indices_)
    assert "features" in fig.axes[1].get_title()
    plt.close(fig)


def test_update_takes_its_steps_from_the_protocols_step_rule(monkeypatch):
    from distill_lab import widgets
    from distill_lab.evaluation import distilled_steps

    calls = []

    def spy(protocol, full_steps, n_selected, synthetic=False):
        calls.append((protocol.protocol, full_steps, n_selected))
        return distilled_steps(protocol, full_steps, n_selected, synthetic)

    monkeypatch.setattr(widgets, "distilled_steps", spy)
    ex = Explorer(method="random", budget=0.05, seed=3, auto_update=False).update()
    (rule, full_steps, n_selected), = calls
    assert n_selected == len(ex.indices_) == 67 and full_steps > 0
    protocol = widgets.default_protocol(ex.current_dataset(), seeds=(3,), device="cpu")
    assert ex.steps_ == distilled_steps(protocol, full_steps, 67) and rule == protocol.protocol
