"""cluster_medoids (the medoid of summed distance, behind notebook 05's exercise) against brute
force, and how it relates to kmeans_medoids' member nearest the centroid."""
import numpy as np
import pytest

from distill_lab.selectors.kmeans_dbscan import cluster_medoids, kmeans_medoids


def _brute_force(X, labels):
    out = []
    for j in range(labels.max() + 1):
        members = np.flatnonzero(labels == j)
        costs = [sum(np.linalg.norm(X[i] - X[m]) for m in members) for i in members]
        out.append(members[int(np.argmin(costs))])
    return np.array(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cluster_medoids_match_brute_force(seed):
    X = np.random.default_rng(seed).normal(size=(60, 3))
    labels = kmeans_medoids(X, 4, random_state=seed).labels
    np.testing.assert_array_equal(cluster_medoids(X, labels), _brute_force(X, labels))


def test_medoid_differs_from_the_member_nearest_the_centroid():
    # one far outlier drags the mean towards it; the medoid of summed distance stays in the crowd
    X = np.array([[0.0], [1.0], [2.0], [3.0], [30.0]])
    labels = np.zeros(5, dtype=np.int64)
    assert cluster_medoids(X, labels).tolist() == [2]                  # sum of |x - m| smallest
    assert int(np.argmin(np.abs(X[:, 0] - X.mean()))) == 3             # nearest the mean (7.2)


def test_ties_go_to_the_lower_index_and_bad_labels_are_refused():
    X = np.array([[0.0], [1.0], [5.0], [6.0]])
    assert cluster_medoids(X, np.array([0, 0, 1, 1])).tolist() == [0, 2]
    with pytest.raises(ValueError, match="every cluster id"):
        cluster_medoids(X, np.array([0, 0, 2, 2]))
    with pytest.raises(ValueError, match="shape"):
        cluster_medoids(X, np.array([0, 0, 1]))
