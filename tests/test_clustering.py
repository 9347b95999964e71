"""Clustering selection against scikit-learn's own K-means, blobs with a known cluster count, and
the bad-input contract (unreachable budgets)."""
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.datasets import load_digits, make_blobs

from distill_lab import SELECTORS, make_selector
from distill_lab._validation import split_budget
from distill_lab.selectors.clustering import DBSCANSelector, KMeansSelector
from distill_lab.selectors.kmeans import _medoids
from distill_lab.selectors.kmeans_dbscan import (FewDistinctRowsWarning, SingleClusterWarning,
                                                  dbscan_select, k_distance, kmeans_medoids,
                                                  knee_eps)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:600] / 16.0).astype(np.float32), y[:600]


def test_registered():
    assert SELECTORS["kmeans"] is KMeansSelector and SELECTORS["dbscan"] is DBSCANSelector


def test_medoids_are_members_nearest_sklearn_centroids(digits):
    X, _ = digits
    res = kmeans_medoids(X, 12, random_state=3)
    ref = KMeans(12, n_init=1, random_state=3).fit(X)
    # Same clustering as scikit-learn (up to our largest-first relabelling).
    order = np.argsort(-np.bincount(ref.labels_, minlength=12), kind="stable")
    np.testing.assert_allclose(res.centroids, ref.cluster_centers_[order], rtol=1e-5, atol=1e-5)
    for j, c in enumerate(ref.cluster_centers_[order]):   # brute force over each cluster's members
        members = np.flatnonzero(ref.labels_ == order[j])
        d = np.linalg.norm(X[members] - c, axis=1)
        assert res.medoids[j] == members[np.argmin(d)]
    np.testing.assert_array_equal(res.sizes, np.bincount(ref.labels_)[order])
    assert np.all(np.diff(res.sizes) <= 0)                 # largest cluster first


def test_minibatch_path_and_k_equals_n():
    X, _ = make_blobs(300, centers=4, random_state=0)
    res = kmeans_medoids(X, 4, random_state=0, minibatch_threshold=100)   # MiniBatchKMeans
    assert len(np.unique(res.medoids)) == 4 and res.sizes.sum() == 300
    whole = kmeans_medoids(X[:5], 5)
    np.testing.assert_array_equal(np.sort(whole.medoids), np.arange(5))


@pytest.mark.parametrize("budget", [0.1, 0.02, 37])
def test_kmeans_selector_per_class_budget_and_weights(digits, budget):
    X, y = digits
    sel = make_selector("kmeans", budget=budget, random_state=0).fit(X, y)
    k = len(sel.indices_)
    assert k == (budget if isinstance(budget, int) else round(budget * len(X)))
    for c, kc in split_budget(y, k).items():             # exact per-class share
        assert np.sum(y[sel.indices_] == c) == kc
        # weights are cluster sizes: within a class they add up to the class size
        assert sel.weights_[y[sel.indices_] == c].sum() == np.sum(y == c)
    assert sel.centroids_.shape == (k, X.shape[1])
    np.testing.assert_array_equal(sel.centroid_labels_, y[sel.indices_])


def test_kmeans_selector_centroids_match_medoids_and_determinism(digits):
    X, y = digits
    a = KMeansSelector(budget=30, random_state=7).fit(X, y)
    b = clone(a).fit(X.copy(), y.copy())
    np.testing.assert_array_equal(a.indices_, b.indices_)
    np.testing.assert_array_equal(a.centroids_, b.centroids_)
    # each medoid is the real sample of its class nearest to its own centroid's cluster
    nearest = [np.linalg.norm(X[y == y[i]] - c, axis=1).min() for i, c in
               zip(a.indices_, a.centroids_)]
    assert np.all(np.linalg.norm(X[a.indices_] - a.centroids_, axis=1) >= np.array(nearest) - 1e-6)


def test_kmeans_global_and_fit_does_not_mutate(digits):
    X, y = digits
    X0, y0 = X.copy(), y.copy()
    sel = KMeansSelector(budget=20, class_balanced=False, random_state=0).fit(X, y)
    assert sel.weights_.sum() == len(X)                   # every sample in exactly one cluster
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    unlabeled = KMeansSelector(budget=20, class_balanced=False, random_state=0).fit(X)
    assert unlabeled.centroid_labels_ is None


def test_k_distance_defines_core_points():
    X, _ = make_blobs(200, centers=3, random_state=1)
    kd = k_distance(X, 5)
    eps = float(np.median(kd))
    db = DBSCAN(eps=eps, min_samples=5).fit(X)
    core = np.zeros(len(X), bool)
    core[db.core_sample_indices_] = True
    np.testing.assert_array_equal(core, kd <= eps)
    assert kd.min() <= knee_eps(kd) <= kd.max()


def test_knee_of_a_hockey_stick():
    curve = np.concatenate([np.linspace(0, 1, 90), np.linspace(2, 30, 10)])
    assert knee_eps(curve) == pytest.approx(1.0)


def test_dbscan_search_finds_known_clusters():
    X, truth = make_blobs(300, centers=5, cluster_std=0.4, center_box=(-20, 20), random_state=2)
    res = dbscan_select(X, 5, random_state=0)
    assert res.n_clusters == 5
    assert sorted(truth[res.indices]) == [0, 1, 2, 3, 4]  # one representative per blob
    assert res.weights.sum() + res.n_noise == len(X)


def test_dbscan_bisection_merges_to_budget():
    X, _ = make_blobs(300, centers=6, cluster_std=0.5, random_state=4)
    res = dbscan_select(X, 3, random_state=0)
    assert 1 <= res.n_clusters <= 3 and len(res.indices) == 3
    assert len(res.tried) > 1 and res.tried[0][1] > 3     # the knee gave too many: it searched
    assert len(res.tried) <= 16 + 1


def test_dbscan_noise_counted_and_excluded():
    X, _ = make_blobs(200, centers=2, cluster_std=0.3, center_box=(-5, 5), random_state=0)
    outliers = np.array([[50.0, 50.0], [-50.0, 50.0], [50.0, -50.0]])
    Xo = np.vstack([X, outliers])
    res = dbscan_select(Xo, 6, random_state=0)
    assert res.n_noise >= 3 and np.all(res.labels[-3:] == -1)
    assert not set(res.indices) & {200, 201, 202}
    inc = dbscan_select(Xo, 6, noise="include", random_state=0)
    assert len(inc.indices) == 6 and inc.weights.sum() == len(Xo)


def test_dbscan_unreachable_budget_errors_and_warnings():
    X, _ = make_blobs(4, centers=1, random_state=0)
    with pytest.raises(ValueError, match="unreachable.*min_samples=5"):
        dbscan_select(X, 2, min_samples=5)
    blob = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0)), -1).reshape(-1, 2)  # grid
    with pytest.warns(SingleClusterWarning, match=r"eps in \["):
        res = dbscan_select(blob, 4, random_state=0)
    assert res.n_clusters == 1 and len(res.indices) == 4
    with pytest.raises(ValueError, match="eps=0.01 gives"):
        dbscan_select(blob, 4, eps=0.01)


def test_dbscan_selector_per_class(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingleClusterWarning)
        sel = make_selector("dbscan", budget=0.05, random_state=0).fit(X, y)
    k = len(sel.indices_)
    assert k == 30
    for c, kc in split_budget(y, k).items():
        assert np.sum(y[sel.indices_] == c) == kc
    assert sel.weights_.sum() + sel.n_noise_ == len(X)
    assert len(sel.eps_) == 10 and all(e > 0 for e in sel.eps_)


def test_hdbscan_option_same_contract():
    centers = [[0, 0], [10, 0], [0, 10], [10, 10]]
    X, truth = make_blobs(300, centers=centers, cluster_std=0.6, random_state=5)
    sel = DBSCANSelector(budget=8, method="hdbscan", class_balanced=False, random_state=0).fit(X)
    assert len(np.unique(sel.indices_)) == 8 and sel.n_clusters_ == 4
    assert set(truth[sel.indices_]) == {0, 1, 2, 3}
    ref = HDBSCAN(min_cluster_size=sel.min_cluster_size_[0], min_samples=5, copy=True).fit(X)
    assert sel.n_noise_ == np.sum(ref.labels_ < 0)
    assert sel.weights_.sum() + sel.n_noise_ == len(X)
    with pytest.raises(ValueError, match="method='kmeans'"):
        DBSCANSelector(budget=8, method="kmeans", class_balanced=False).fit(X)


def test_tiny_class_keeps_every_sample():
    """A class no larger than its share (here one sample: at least one per class) is kept whole,
    the sample standing for itself, with no clustering and no eps search."""
    X, y = make_blobs(60, centers=[[0, 0], [8, 8]], cluster_std=0.5, random_state=0)
    X, y = np.vstack([X, [[20.0, 0.0]]]), np.concatenate([y, [2]])
    for cls in (KMeansSelector, DBSCANSelector):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SingleClusterWarning)   # the two blobs: one each
            sel = cls(budget=6, random_state=0).fit(X, y)
        assert 60 in sel.indices_ and sel.weights_[list(sel.indices_).index(60)] == 1
    assert sel.search_[2] == [] and sel.eps_[2] is None and sel.n_noise_ + sel.weights_.sum() == 61


# ---------------------------------------------------------------- fewer distinct rows than k
def _check_clusters(res, X, k):
    """k distinct medoids, each a member of its own non-empty cluster whose centroid is finite."""
    assert len(np.unique(res.medoids)) == k and res.sizes.min() >= 1 and res.sizes.sum() == len(X)
    assert np.all(np.isfinite(res.centroids))
    for j, m in enumerate(res.medoids):
        assert res.labels[m] == j
        np.testing.assert_allclose(res.centroids[j], X[res.labels == j].mean(axis=0), atol=1e-6)


def test_kmeans_medoids_with_fewer_distinct_rows_than_clusters():
    """3 distinct rows (sizes 5, 3, 2) for 5 clusters: each row is a cluster and the 2 missing
    clusters split the largest groups (split_budget: 5 -> 2, 3 -> 2, 2 -> 1)."""
    X = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [9.0, 0.0]]), [5, 3, 2], axis=0)
    with pytest.warns(FewDistinctRowsWarning, match=r"3 distinct rows for n_clusters=5"):
        res = kmeans_medoids(X, 5, random_state=0)
    _check_clusters(res, X, 5)
    assert res.n_distinct == 3 and res.inertia == 0.0
    assert sorted(res.sizes.tolist()) == [1, 2, 2, 2, 3]
    assert {tuple(r) for r in X[res.medoids]} == {(0, 0), (5, 5), (9, 0)}


def test_an_empty_cluster_takes_the_nearest_unused_sample_as_its_member():
    X = np.array([[0.0], [1.0], [2.0], [10.0]])
    centroids = np.array([[0.5], [100.0]])
    labels = np.zeros(4, dtype=np.int64)                      # cluster 1 is empty
    medoids = _medoids(X, centroids, labels)
    assert medoids.tolist() == [0, 3] and labels.tolist() == [0, 0, 0, 1]
    np.testing.assert_allclose(centroids, [[1.0], [10.0]])    # the members' means


def test_kmeans_selector_on_a_class_with_identical_rows():
    """Issue 10 item 7: a class whose share exceeds its distinct rows used to raise "attempt to get
    argmax of an empty sequence" (labelled) or give NaN centroids and weight 0 (unlabelled)."""
    X, y = make_blobs(40, centers=[[0, 0], [8, 8]], cluster_std=0.5, random_state=0)
    X = np.vstack([X, np.tile([[20.0, 0.0]], (6, 1))])        # class 2: 6 copies of one row
    y = np.concatenate([y, [2] * 6])
    sel = KMeansSelector(budget=0.3, random_state=0)
    with pytest.warns(FewDistinctRowsWarning, match=r"class\(es\) \[2\] hold fewer distinct rows"):
        sel.fit(X, y)
    k = len(sel.indices_)
    assert k == 14 and len(np.unique(sel.indices_)) == k
    assert sel.budget_per_class_[2] > 1 and np.sum(y[sel.indices_] == 2) == sel.budget_per_class_[2]
    assert np.all(np.isfinite(sel.centroids_)) and sel.weights_.min() >= 1
    assert sel.weights_[y[sel.indices_] == 2].sum() == 6 and sel.few_distinct_pools_ == [2]
    np.testing.assert_array_equal(sel.centroid_labels_, y[sel.indices_])

    Xu = np.repeat(np.array([[0.0, 1.0], [3.0, 3.0], [7.0, 1.0], [9.0, 9.0]]), 3, axis=0)
    with pytest.warns(FewDistinctRowsWarning, match=r"the data hold fewer distinct rows"):
        unl = KMeansSelector(budget=6, class_balanced=False, random_state=0).fit(Xu)
    assert len(np.unique(unl.indices_)) == 6 and np.all(np.isfinite(unl.centroids_))
    assert unl.weights_.min() >= 1 and unl.weights_.sum() == 12
    assert unl.few_distinct_pools_ == [None]
    assert {tuple(r) for r in Xu[unl.indices_]} == {tuple(r) for r in Xu}   # every distinct row


def test_dbscan_class_smaller_than_min_samples_takes_its_medoid():
    """Issue 10 item 9: a 3-sample class under min_samples=5 used to raise "unreachable"."""
    X, y = make_blobs(120, centers=[[0, 0], [8, 8]], cluster_std=0.5, random_state=0)
    small = np.array([[20.0, 0.0], [21.0, 0.0], [20.4, 0.3]])
    X, y = np.vstack([X, small]), np.concatenate([y, [2, 2, 2]])
    sel = DBSCANSelector(budget=6, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SingleClusterWarning)
        with pytest.warns(UserWarning, match=r"class\(es\) \[2\] have fewer samples than "
                                             r"min_samples=5.*K-means medoids"):
            sel.fit(X, y)
    assert sel.small_classes_ == [2] and sel.budget_per_class_[2] == 1
    pick = sel.indices_[y[sel.indices_] == 2]
    assert pick.tolist() == [122]                        # the member nearest the class mean
    assert sel.weights_[y[sel.indices_] == 2].tolist() == [3.0]
    assert sel.n_noise_ + sel.weights_.sum() == len(X)

