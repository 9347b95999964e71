"""distill_lab.plots: hand-checked calibration bins, the image mosaic layout, and that every plot
draws on the axes it is given (or a new figure), labels them and returns them."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from sklearn.datasets import make_blobs  # noqa: E402

from distill_lab import plots  # noqa: E402
from distill_lab.active import ActiveResult  # noqa: E402
from distill_lab.selectors.kmeans_dbscan import dbscan_select, k_distance  # noqa: E402
from result_rows import make_rows  # noqa: E402  (tests/result_rows.py)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_confidence_bins_hand_checked():
    # confidences 0.95, 0.9, 0.6, 0.55 (the 0.55 row predicts class 1 and is wrong)
    probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.4, 0.6], [0.45, 0.55]])
    y = np.array([0, 1, 1, 0])
    bins = plots.confidence_bins(probs, y, n_bins=2)  # bins (0, 0.5], (0.5, 1]
    assert bins["count"].tolist() == [0, 4]
    assert np.isnan(bins["confidence"][0]) and np.isnan(bins["accuracy"][0])
    assert bins["confidence"][1] == pytest.approx((0.95 + 0.9 + 0.6 + 0.55) / 4)
    assert bins["accuracy"][1] == pytest.approx(2 / 4)
    bins = plots.confidence_bins(probs, y, n_bins=10)
    assert bins["count"].sum() == 4
    assert bins["count"][9] == 1 and bins["count"][8] == 1  # 0.95 in (0.9, 1], 0.9 in (0.8, 0.9]
    assert bins["accuracy"][9] == 1.0 and bins["accuracy"][8] == 0.0


def test_confidence_bins_rejects_bad_n_bins():
    with pytest.raises(ValueError, match="n_bins=0"):
        plots.confidence_bins(np.full((2, 2), 0.5), np.array([0, 1]), n_bins=0)


def test_image_grid_mosaic_layout(ax):
    X = np.arange(5 * 4, dtype=float).reshape(5, 4) / 20  # 5 images of shape (1, 2, 2)
    plots.image_grid(X, (1, 2, 2), labels=list("abcde"), n_cols=3, ax=ax, title="t")
    grid = ax.images[0].get_array()
    assert grid.shape == (2 * 3, 3 * 3)  # 2 rows, 3 cols of (2+1) x (2+1) tiles
    np.testing.assert_allclose(grid[3:5, 3:5], X[4].reshape(2, 2))  # image 4 at row 1, col 1
    assert np.ma.getmaskarray(grid)[3:5, 6:8].all() or np.isnan(grid[3:5, 6:8]).all()
    assert [t.get_text() for t in ax.texts] == list("abcde") and ax.get_title() == "t"


def test_image_grid_rejects_wrong_shape(ax):
    with pytest.raises(ValueError, match="image_shape"):
        plots.image_grid(np.zeros((2, 5)), (1, 2, 2), ax=ax)
    with pytest.raises(ValueError, match="labels"):
        plots.image_grid(np.zeros((2, 4)), (1, 2, 2), labels=["a"], ax=ax)


def test_montage_places_images_row_by_row():
    images = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)
    out = plots.mosaic(images.reshape(3, -1), (1, 2, 2), n_cols=2)   # 2 rows x 2 cols of (2+1) x (2+1)
    assert out.shape == (6, 6)
    np.testing.assert_array_equal(out[0:2, 0:2], images[0])
    np.testing.assert_array_equal(out[0:2, 3:5], images[1])
    np.testing.assert_array_equal(out[3:5, 0:2], images[2])
    assert np.isnan(out[3:5, 3:5]).all() and np.isnan(out[2]).all()   # empty slot and gap


def test_score_histogram_counts(ax):
    scores = np.array([0.0, 0.1, 0.2, 0.9, 1.0])
    assert plots.score_histogram(scores, selected=[3, 4], bins=2, ax=ax, xlabel="EL2N") is ax
    heights = [p.get_height() for p in ax.patches]
    assert heights == [3, 2, 0, 2]  # all: 3 low + 2 high; selected: 0 low + 2 high
    assert ax.get_xlabel() == "EL2N" and ax.get_legend() is not None


def test_reliability_diagram_labels(ax):
    probs = np.array([[0.9, 0.1], [0.2, 0.8]])
    assert plots.reliability_diagram(probs, np.array([0, 0]), n_bins=5, ax=ax) is ax
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    np.testing.assert_allclose(ax.lines[1].get_xydata(), [[0.8, 0.0], [0.9, 1.0]])


def test_accuracy_vs_budget_one_line_per_method(ax):
    rows = [{"method": "full", "budget": 1.0, "accuracy_mean": 96.0, "accuracy_std": 0.0},
            {"method": "random", "budget": 0.1, "accuracy_mean": 88.0, "accuracy_std": 1.0},
            {"method": "random", "budget": 0.02, "accuracy_mean": 70.0, "accuracy_std": 2.0},
            {"method": "el2n", "budget": 0.1, "accuracy_mean": 60.0, "accuracy_std": 3.0}]
    assert plots.accuracy_vs_budget(rows, ax=ax) is ax
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == ["el2n", "full data", "random"]
    random_line = ax.containers[0].lines[0]  # the errorbar's data line
    np.testing.assert_allclose(random_line.get_xydata(), [[0.02, 70.0], [0.1, 88.0]])
    with pytest.raises(ValueError, match="'craig'"):
        plots.accuracy_vs_budget(rows, ax=ax, methods=["craig"])


def test_accuracy_vs_budget_reference_band_and_ticks(ax):
    rows = make_rows()
    plots.accuracy_vs_budget(rows, ax=ax, methods=["kmeans", "random"], reference="random")
    kmeans_line, random_line = (c.lines[0] for c in ax.containers)
    np.testing.assert_allclose(kmeans_line.get_xydata(), [[0.01, 85.0], [0.1, 95.5]])
    assert random_line.get_linestyle() == "--" and random_line.get_color() == "black"
    assert sorted(ax.get_legend_handles_labels()[1]) == ["full data", "kmeans", "random (reference)"]
    span = ax.patches[0]                  # full data 97.0 ± 0.2 (its y in data coordinates)
    band = span.get_patch_transform().transform(span.get_path().vertices)[:, 1]
    assert band.min() == pytest.approx(96.8) and band.max() == pytest.approx(97.2)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1%", "10%"]
    with pytest.raises(ValueError, match="reference='herding'"):
        plots.accuracy_vs_budget(rows, ax=ax, reference="herding")
    with pytest.raises(ValueError, match=r"rows\[0\].*\['accuracy_std'\]"):
        plots.accuracy_vs_budget([{"method": "x", "budget": 0.1, "accuracy_mean": 1.0}], ax=ax)


def test_plots_without_ax_draw_on_a_new_figure():
    first = plots.score_histogram([0.0, 1.0])
    second = plots.reliability_diagram(np.array([[0.9, 0.1]]), np.array([0]))
    assert first.figure is not second.figure
    plt.close("all")


def test_picks_on_embedding_draws_all_then_picks(ax):
    Z2 = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    y = np.array([0, 1, 1, 2])
    assert plots.picks_on_embedding(Z2, y, [3, 1], ax=ax, title="k-center", label="k-center") is ax
    everything, picked = ax.collections
    np.testing.assert_allclose(everything.get_offsets(), Z2)
    np.testing.assert_allclose(picked.get_offsets(), [[3.0, 3.0], [1.0, 0.0]])
    np.testing.assert_array_equal(picked.get_array(), [2, 1])  # coloured by the picks' classes
    assert ax.get_legend_handles_labels()[1] == ["all samples (n=4, colour = class)", "k-center (k=2)"]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "k-center"


def test_picks_on_embedding_rejects_bad_input(ax):
    with pytest.raises(ValueError, match="2 columns"):
        plots.picks_on_embedding(np.zeros((3, 3)), [0, 1, 2], [0], ax=ax)
    with pytest.raises(ValueError, match="picks"):
        plots.picks_on_embedding(np.zeros((3, 2)), [0, 1, 2], [3], ax=ax)
    with pytest.raises(ValueError, match="same length"):
        plots.picks_on_embedding(np.zeros((3, 2)), [0, 1], [0], ax=ax)


def test_k_distance_and_cluster_plots_label_their_axes():
    X, _ = make_blobs(120, centers=[[0, 0], [10, 0], [0, 10]], cluster_std=0.5, random_state=0)
    res = dbscan_select(X, 3, random_state=0)
    ax = plots.plot_k_distance(k_distance(X, 5), res.eps, min_samples=5)
    assert ax.get_xlabel() and ax.get_ylabel() and len(ax.get_legend().get_texts()) == 2
    n_core = int(np.sum(k_distance(X, 5) <= res.eps))
    assert f"({n_core} core points)" in ax.get_legend().get_texts()[1].get_text()
    ax = plots.plot_clusters(X, res.labels, res.indices)
    assert ax.get_xlabel() == "component 1" and f"picks ({len(res.indices)})" in \
        [t.get_text() for t in ax.get_legend().get_texts()]
    plt.close("all")


def test_learning_curve_plot_bands():
    runs = [ActiveResult(np.arange(3), np.array([1, 2, 3]), np.array(a), 0.0, "entropy")
            for a in ([0.5, 0.6, 0.7], [0.7, 0.8, 0.9])]
    ax = plots.plot_learning_curves({"entropy": runs})
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [60, 70, 80])   # mean over seeds, in %
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(50) and band.max() == pytest.approx(90)  # +-1 std (ddof 0)
    assert ax.get_xlabel() == "labeled-set size (samples)" and ax.get_legend() is not None
    with pytest.raises(ValueError, match="band='iqr'"):
        plots.plot_learning_curves({"entropy": runs}, band="iqr")
    plt.close("all")


def test_result_plots_return_labelled_axes():
    rows = make_rows()
    ax = plots.accuracy_vs_budget(rows, reference="random")
    assert ax.get_xscale() == "log" and "budget" in ax.get_xlabel() and "accuracy" in ax.get_ylabel()
    labels = ax.get_legend_handles_labels()[1]
    assert {"random (reference)", "full data", "kmeans", "el2n"} <= set(labels)
    plt.close(ax.figure)
    _, given = plt.subplots()
    ax = plots.plot_pareto(rows, ax=given, cost="end_to_end")
    assert ax is given and "selection + training" in ax.get_xlabel() and ax.get_ylabel()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Pareto front" in legend and ax.get_title() == "toy: accuracy vs cost"
    # front of these rows by hand (cost = 1 / ratio): full (1.0, 97) and kmeans 10% are on it
    circled = ax.collections[-1].get_offsets()
    # kmeans 10%: (0.1 s selection + 8 s / 8) / 8 s = 0.1375
    assert sorted(map(tuple, np.asarray(circled).round(6))) == [(0.1375, 95.5), (1.0, 97.0)]
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="cost='time'"):
        plots.plot_pareto(rows, cost="time")


def _drawn_texts(fig):
    """Every text drawn on fig: titles, axis and legend labels, annotations, and the tick labels
    inside the view (matplotlib keeps a label for ticks just outside it, never drawn)."""
    texts = []
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        texts += ax.get_legend().get_texts() if ax.get_legend() else []
        for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            lo, hi = sorted(limits)
            texts += [tick.label1 for tick in axis.get_major_ticks() + axis.get_minor_ticks()
                      if lo <= tick.get_loc() <= hi]
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("cost", ["train", "end_to_end"])
def test_pareto_labels_every_method_without_overlap(cost):
    rows = make_rows() + [dict(r, method=m, accuracy_mean=a, train_time_ratio=t)
                          for r in make_rows()[1:2] for m, a, t in
                          [("kcenter", 94.0, 7.5), ("herding", 92.0, 9.0), ("grand", 91.0, 8.5)]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))  # as notebook 09 draws it
    plots.plot_pareto(rows, ax=left, cost=cost, title="front")
    plots.plot_pareto(rows, ax=right, cost=cost)
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in _drawn_texts(fig)]
    overlapping = [(a, b) for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1:]
                   if box.overlaps(other)]
    assert not overlapping
    assert left.get_title() == "front" and "(log scale)" in left.get_xlabel()
    assert left.get_ylabel() == "test accuracy (%)"
    legend = {t.get_text() for t in left.get_legend().get_texts()}
    assert {r["method"] for r in rows if r["method"] != "full"} <= legend
    assert {"budget 10%", "budget 1%", "full data", "best at its budget"} <= legend
    assert not left.get_legend().get_window_extent(renderer).overlaps(
        right.get_window_extent(renderer))
    plt.close(fig)


def test_dsa_gallery_one_row_per_operation():
    from distill_lab import augment
    from distill_lab.plots import dsa_gallery

    X = np.random.default_rng(0).uniform(0, 1, (3, 64)).astype(np.float32)
    ax = dsa_gallery(X, (1, 8, 8), random_state=1)
    image = ax.get_images()[0].get_array()
    assert image.shape[0] == (1 + len(augment.OPS)) * 9            # rows of 8 px + 1 px gap
    assert [t.get_text() for t in ax.texts] == ["original", *augment.OPS]
    np.testing.assert_allclose(image[:8, :8], X[0].reshape(8, 8))   # the original comes first
    plt.close(ax.figure)


def test_plots_set_the_title_they_are_given():
    probs = np.array([[0.9, 0.1], [0.3, 0.7]])
    axes = [plots.score_histogram([0.1, 0.5, 0.9], title="t"),
            plots.reliability_diagram(probs, np.array([0, 1]), title="t"),
            plots.plot_k_distance([0.1, 0.3, 0.2], title="t"),
            plots.accuracy_vs_budget(make_rows(), title="t"),
            plots.plot_pareto(make_rows(), title="t"),
            plots.image_grid(np.zeros((2, 4)), (1, 2, 2), title="t"),
            plots.plot_clusters(np.zeros((3, 2)), [0, 0, 1], title="t"),
            plots.picks_on_embedding(np.zeros((3, 2)), [0, 1, 1], [0], title="t")]
    assert all(ax.get_title() == "t" and ax.figure is not None for ax in axes)
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in axes if ax.get_xticks().size)
    plt.close("all")


def test_gains_over_random_bars_draws_one_bar_per_method_and_setting():
    from distill_lab.plots import gains_over_random_bars

    ax = gains_over_random_bars({"digits 1%": {"el2n": -15.0, "kmeans": 25.0},
                                 "mnist 1%": {"el2n": 1.3}}, title="t")
    heights = sorted(round(p.get_height(), 1) for p in ax.patches)
    assert heights == [-15.0, 1.3, 25.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["digits 1%", "mnist 1%"]
    with pytest.raises(ValueError, match="gains must map"):
        gains_over_random_bars({"x": 1.0})
