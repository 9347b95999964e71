"""distill_lab.viz: hand-checked calibration bins, the image mosaic layout, and that every plot
draws on the axes it is given, labels them and returns them."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from distill_lab import viz  # noqa: E402


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_confidence_bins_hand_checked():
    # confidences 0.95, 0.9, 0.6, 0.55 (the 0.55 row predicts class 1 and is wrong)
    probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.4, 0.6], [0.45, 0.55]])
    y = np.array([0, 1, 1, 0])
    bins = viz.confidence_bins(probs, y, n_bins=2)  # bins (0, 0.5], (0.5, 1]
    assert bins["count"].tolist() == [0, 4]
    assert np.isnan(bins["confidence"][0]) and np.isnan(bins["accuracy"][0])
    assert bins["confidence"][1] == pytest.approx((0.95 + 0.9 + 0.6 + 0.55) / 4)
    assert bins["accuracy"][1] == pytest.approx(2 / 4)
    bins = viz.confidence_bins(probs, y, n_bins=10)
    assert bins["count"].sum() == 4
    assert bins["count"][9] == 1 and bins["count"][8] == 1  # 0.95 in (0.9, 1], 0.9 in (0.8, 0.9]
    assert bins["accuracy"][9] == 1.0 and bins["accuracy"][8] == 0.0


def test_confidence_bins_rejects_bad_n_bins():
    with pytest.raises(ValueError, match="n_bins=0"):
        viz.confidence_bins(np.full((2, 2), 0.5), np.array([0, 1]), n_bins=0)


def test_image_grid_mosaic_layout(ax):
    X = np.arange(5 * 4, dtype=float).reshape(5, 4) / 20  # 5 images of shape (1, 2, 2)
    viz.image_grid(X, (1, 2, 2), labels=list("abcde"), n_cols=3, ax=ax, title="t")
    grid = ax.images[0].get_array()
    assert grid.shape == (2 * 3, 3 * 3)  # 2 rows, 3 cols of (2+1) x (2+1) tiles
    np.testing.assert_allclose(grid[3:5, 3:5], X[4].reshape(2, 2))  # image 4 at row 1, col 1
    assert np.ma.getmaskarray(grid)[3:5, 6:8].all() or np.isnan(grid[3:5, 6:8]).all()
    assert [t.get_text() for t in ax.texts] == list("abcde") and ax.get_title() == "t"


def test_image_grid_rejects_wrong_shape(ax):
    with pytest.raises(ValueError, match="image_shape"):
        viz.image_grid(np.zeros((2, 5)), (1, 2, 2), ax=ax)
    with pytest.raises(ValueError, match="labels"):
        viz.image_grid(np.zeros((2, 4)), (1, 2, 2), labels=["a"], ax=ax)


def test_score_histogram_counts(ax):
    scores = np.array([0.0, 0.1, 0.2, 0.9, 1.0])
    assert viz.score_histogram(scores, selected=[3, 4], bins=2, ax=ax, xlabel="EL2N") is ax
    heights = [p.get_height() for p in ax.patches]
    assert heights == [3, 2, 0, 2]  # all: 3 low + 2 high; selected: 0 low + 2 high
    assert ax.get_xlabel() == "EL2N" and ax.get_legend() is not None


def test_reliability_diagram_labels(ax):
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert viz.reliability_diagram(probs, np.array([0, 0]), n_bins=5, ax=ax) is ax
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    np.testing.assert_allclose(ax.lines[1].get_xydata(), [[0.8, 0.0], [0.9, 1.0]])


def test_accuracy_vs_budget_one_line_per_method(ax):
    rows = [{"method": "full", "budget": 1.0, "accuracy_mean": 96.0, "accuracy_std": 0.0},
            {"method": "random", "budget": 0.1, "accuracy_mean": 88.0, "accuracy_std": 1.0},
            {"method": "random", "budget": 0.02, "accuracy_mean": 70.0, "accuracy_std": 2.0},
            {"method": "el2n", "budget": 0.1, "accuracy_mean": 60.0, "accuracy_std": 3.0}]
    assert viz.accuracy_vs_budget(rows, ax=ax) is ax
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == ["el2n", "full data", "random"]
    random_line = ax.containers[0].lines[0]  # the errorbar's data line
    np.testing.assert_allclose(random_line.get_xydata(), [[0.02, 70.0], [0.1, 88.0]])
    with pytest.raises(ValueError, match="'craig'"):
        viz.accuracy_vs_budget(rows, ax=ax, methods=["craig"])


def test_picks_on_embedding_draws_all_then_picks(ax):
    Z2 = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    y = np.array([0, 1, 1, 2])
    assert viz.picks_on_embedding(Z2, y, [3, 1], ax=ax, title="k-center", label="k-center") is ax
    everything, picked = ax.collections
    np.testing.assert_allclose(everything.get_offsets(), Z2)
    np.testing.assert_allclose(picked.get_offsets(), [[3.0, 3.0], [1.0, 0.0]])
    np.testing.assert_array_equal(picked.get_array(), [2, 1])  # coloured by the picks' classes
    assert ax.get_legend_handles_labels()[1] == ["all samples (n=4, colour = class)", "k-center (k=2)"]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "k-center"


def test_picks_on_embedding_rejects_bad_input(ax):
    with pytest.raises(ValueError, match="2 columns"):
        viz.picks_on_embedding(np.zeros((3, 3)), [0, 1, 2], [0], ax=ax)
    with pytest.raises(ValueError, match="picks"):
        viz.picks_on_embedding(np.zeros((3, 2)), [0, 1, 2], [3], ax=ax)
    with pytest.raises(ValueError, match="same length"):
        viz.picks_on_embedding(np.zeros((3, 2)), [0, 1], [0], ax=ax)

