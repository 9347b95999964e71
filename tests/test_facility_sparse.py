"""Facility location on a k-nearest-neighbour graph (criteria/knn_graph.py, facility_sparse.py):
the graph against brute-force neighbours, the greedy against the naive greedy and the brute-force
optimum of the graph objective, and the complete graph (k = n - 1) against the dense engine."""
import numpy as np
import pytest

from distill_lab import problem
from distill_lab.criteria import facility_sparse as fs
from distill_lab.criteria import knn_graph as kg
from distill_lab.criteria import representative as rep


def dense_graph(graph):
    """The graph as an (n, n) matrix W[i, j] = sim(i, j) for j in i's list, else 0."""
    n = len(graph.neighbors)
    W = np.zeros((n, n))
    for i, (cols, vals) in enumerate(zip(graph.neighbors, graph.sims)):
        W[i, cols[cols >= 0]] = vals[cols >= 0]
    return W


def naive_gaps(W, picks):
    """How far each pick falls short of the best plain-greedy gain on W (rows i, candidates j)."""
    cover, gaps = np.zeros(len(W)), []
    for t, j in enumerate(picks):
        gains = np.maximum(W - cover[:, None], 0).sum(axis=0)
        gains[picks[:t]] = -np.inf
        gaps.append(gains.max() - gains[j])
        cover = np.maximum(cover, W[:, j])
    return np.array(gaps)


@pytest.mark.parametrize("similarity", ["rbf", "cosine"])
def test_flat_graph_holds_each_rows_nearest_samples_and_exact_similarities(similarity):
    X = np.random.default_rng(0).normal(size=(60, 3))
    g = kg.knn_graph(X, 5, similarity=similarity, gamma=0.7 if similarity == "rbf" else None)
    S = rep.similarity_matrix(X, similarity=similarity, gamma=0.7 if similarity == "rbf" else None)
    assert g.neighbors.shape == (60, 6) and g.neighbors[:, 0].tolist() == list(range(60))
    for i in range(60):
        others = np.delete(np.argsort(-S[i], kind="stable"), np.flatnonzero(
            np.argsort(-S[i], kind="stable") == i))
        assert set(g.neighbors[i, 1:]) == set(others[:5])
        np.testing.assert_allclose(g.sims[i], S[i, g.neighbors[i]], rtol=1e-12)


@pytest.mark.parametrize("n_neighbors", [1, 3, 8])
def test_lazy_greedy_on_the_graph_is_the_plain_greedy_and_below_brute_force(n_neighbors):
    rng = np.random.default_rng(n_neighbors)
    for trial in range(4):
        n, k = int(rng.integers(8, 12)), int(rng.integers(1, 4))
        X = rng.normal(size=(n, 2))
        if trial % 2:
            X = np.round(X, 1)                                      # duplicates, ties
        g = kg.knn_graph(X, n_neighbors, gamma=0.5)
        W = dense_graph(g)
        picks = fs.greedy_on_graph(g, k)
        assert np.all(naive_gaps(W, list(picks)) <= 1e-12)
        value = lambda s: float(W[:, list(s)].max(axis=1).sum())   # noqa: E731
        _, opt = problem.brute_force(value, n, k, maximize=True)
        assert np.isclose(fs.graph_objective(g, picks), value(picks)) and value(picks) <= opt
        sto = fs.greedy_on_graph(g, k, optimizer="stochastic", epsilon=1e-12, random_state=0)
        assert sto.tolist() == picks.tolist()                      # every candidate sampled


def test_gains_are_marginal_gains_of_the_graph_objective():
    X = np.random.default_rng(5).normal(size=(40, 3))
    g = kg.knn_graph(X, 4, gamma=1.0)
    cover = fs.GraphCover(g)
    np.testing.assert_allclose(cover.singletons(), [fs.graph_objective(g, [j]) for j in range(40)])
    S = [3, 17]
    for j in S:
        cover.add(j)
    want = [fs.graph_objective(g, S + [j]) - fs.graph_objective(g, S) for j in range(40)]
    np.testing.assert_allclose(cover.gains(np.arange(40)), want, atol=1e-12)


@pytest.mark.parametrize("optimizer", ["lazy", "stochastic"])
@pytest.mark.parametrize("similarity", ["rbf", "cosine"])
def test_complete_graph_is_the_dense_engine(similarity, optimizer):
    for seed in range(3):
        X = np.random.default_rng(seed).normal(size=(70, 4))
        dense = rep.facility_location(X, 9, similarity=similarity, optimizer=optimizer,
                                      random_state=seed, return_objective=True)
        knn = fs.facility_location_knn(X, 9, n_neighbors=69, similarity=similarity,
                                       optimizer=optimizer, random_state=seed,
                                       return_objective=True)
        assert np.array_equal(dense[0], knn[0]) and np.array_equal(dense[1], knn[1])
        assert np.isclose(dense[2], knn[2], rtol=1e-10)


def test_sparse_graph_weights_objective_and_ivf():
    rng = np.random.default_rng(2)
    X = (rng.normal(size=(8, 6))[rng.integers(0, 8, 3000)] * 4
         + rng.normal(size=(3000, 6))).astype(np.float32)
    dense = rep.facility_location(X, 30, random_state=0, return_objective=True)
    for index in ("flat", "ivf"):
        idx, w, f = fs.facility_location_knn(X, 30, n_neighbors=10, index=index,
                                             optimizer="stochastic", random_state=0,
                                             return_objective=True)
        assert len(np.unique(idx)) == 30 and w.sum() == 3000 and idx.dtype == np.int64
        assert 0.97 * dense[2] <= f <= dense[2] * (1 + 1e-6)
    idx, w, f = fs.facility_location_knn(X, 30, n_neighbors=10, random_state=0,
                                         return_objective=True)
    # flat graph: the objective and weights are those of the exact nearest pick
    S = rep.similarity_matrix(X.astype(np.float64), X[idx].astype(np.float64),
                              gamma=rep.median_gamma(X - X.mean(0), random_state=0))
    assert np.isclose(f, S.max(axis=1).sum(), rtol=1e-5)
    assert np.array_equal(w, np.bincount(S.argmax(axis=1), minlength=30))


@pytest.mark.parametrize("kwargs, match", [
    ({"n_neighbors": 0}, r"n_neighbors=0 must be an int >= 1"),
    ({"n_neighbors": 2.5}, r"n_neighbors=2.5"),
    ({"index": "hnsw"}, r"index='hnsw' is not supported; use one of \('flat', 'ivf'\)"),
    ({"n_probe": 0}, r"n_probe=0 must be an int >= 1"),
    ({"optimizer": "naive"}, r"optimizer='naive' is not supported"),
    ({"similarity": "l1"}, r"similarity='l1' is not supported"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fs.facility_location_knn(np.arange(10.0)[:, None], 3, **kwargs)
