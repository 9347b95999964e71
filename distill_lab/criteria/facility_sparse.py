"""Facility location on a sparse k-nearest-neighbour similarity graph (Wei et al. 2014;
Mirzasoleiman et al. 2020, §5): F_G(S) = sum_i max_{j in S, j in N(i)} sim(i, j), where N(i) is
i itself and its k nearest samples (`knn_graph`). Time and memory grow as n * k, not n^2.

Adding j raises F_G by sum over the rows i whose list holds j of max(0, sim(i, j) - cover_i): a
column of the graph, so one gain costs its column's length. The lazy greedy (Minoux 1978) and the
stochastic greedy (Mirzasoleiman et al. 2015) run on these gains unchanged. With k = n - 1 the graph
is complete and F_G is the dense objective of `facility_dense.facility_location`.
"""
from __future__ import annotations

import numpy as np

from distill_lab._validation import check_array_2d, check_random_state, resolve_budget
from distill_lab.criteria.facility_dense import check_optimizer
from distill_lab.criteria.knn_graph import KNNGraph, check_knn, knn_graph, nearest
from distill_lab.criteria.lazy_greedy import lazy_greedy
from distill_lab.criteria.stochastic_greedy import stochastic_greedy

__all__ = ["GraphCover", "greedy_on_graph", "graph_objective", "assign_to_picks",
           "facility_location_knn"]


class GraphCover:
    """cover_i = max_{j in S} G[i, j] and the exact gains F_G(S + j) - F_G(S) on a KNNGraph.

    The graph's rows are regrouped by candidate (CSC: `indptr` (n + 1,), `rows`, `vals`), so a
    candidate's gain reads only the rows whose neighbour list holds it."""

    def __init__(self, graph: KNNGraph):
        n = len(graph.neighbors)
        valid = graph.neighbors >= 0                                        # (n, k + 1)
        cols = graph.neighbors[valid]
        rows = np.repeat(np.arange(n, dtype=np.int64), valid.sum(axis=1))
        order = np.argsort(cols, kind="stable")
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=n))])
        self.rows = rows[order]
        self.vals = graph.sims[valid][order].astype(np.float64)
        self.cover = np.zeros(n, dtype=np.float64)

    def singletons(self) -> np.ndarray:
        """F_G({j}) for every j, (n,): the initial gains."""
        return np.add.reduceat(np.append(self.vals, 0.0), self.indptr[:-1]) * \
            (np.diff(self.indptr) > 0)

    def gains(self, batch) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.int64)
        starts, lens = self.indptr[batch], self.indptr[batch + 1] - self.indptr[batch]
        slot = np.repeat(np.arange(len(batch)), lens)
        pos = np.arange(lens.sum()) + np.repeat(starts - np.cumsum(lens) + lens, lens)
        gain = np.maximum(self.vals[pos] - self.cover[self.rows[pos]], 0)
        return np.bincount(slot, weights=gain, minlength=len(batch))

    def add(self, j):
        pos = slice(self.indptr[j], self.indptr[j + 1])
        rows = self.rows[pos]                                               # unique within j
        self.cover[rows] = np.maximum(self.cover[rows], self.vals[pos])


def greedy_on_graph(graph: KNNGraph, k: int, *, optimizer="lazy", epsilon=0.01,
                    random_state=None, verbose=False) -> np.ndarray:
    """Greedy maximisation of F_G over k picks: "lazy" gives exactly the plain greedy's picks (ties
    to the lowest index), "stochastic" samples ceil((n / k) log(1 / epsilon)) candidates a step."""
    check_optimizer(optimizer, epsilon)
    cover = GraphCover(graph)
    n = len(graph.neighbors)
    if optimizer == "lazy":
        return lazy_greedy(cover.singletons(), k, cover.gains, cover.add, verbose=verbose)
    return stochastic_greedy(n, k, cover.gains, cover.add, epsilon=epsilon,
                             random_state=check_random_state(random_state), verbose=verbose)


def graph_objective(graph: KNNGraph, indices) -> float:
    """F_G(indices) = sum_i max over the picks in i's list of sim (0 for a row with none)."""
    is_pick = np.zeros(len(graph.neighbors), dtype=bool)
    is_pick[indices] = True
    hit = (graph.neighbors >= 0) & is_pick[graph.neighbors]
    return float(np.where(hit, graph.sims, 0).max(axis=1).sum(dtype=np.float64))


def assign_to_picks(X, graph: KNNGraph, indices, chunk_size=65536):
    """Each sample's most similar pick: from its neighbour list when a pick is in it (exact for a
    flat graph: the list holds its nearest samples), else by an exact search over the picks.
    Returns (counts (k,) float64: the CRAIG weights, sum n; F(indices) = sum_i sim(i, its pick))."""
    from distill_lab.criteria.knn_graph import edge_similarities

    n = len(graph.neighbors)
    slot = np.full(n, -1, dtype=np.int64)
    slot[indices] = np.arange(len(indices))
    hit_slot = np.where(graph.neighbors >= 0, slot[graph.neighbors], -1)    # (n, k + 1)
    sims = np.where(hit_slot >= 0, graph.sims, -np.inf)
    best = np.argmax(sims, axis=1)                  # the most similar pick in the list
    owner = hit_slot[np.arange(n), best]
    lonely = np.flatnonzero(owner < 0)              # no pick among its neighbours
    if len(lonely):
        owner[lonely] = nearest(X, indices, lonely, graph.similarity, chunk_size)
    value = edge_similarities(X, np.arange(n), np.asarray(indices)[owner], graph.similarity,
                              graph.gamma, chunk_size)
    counts = np.bincount(owner, minlength=len(indices)).astype(np.float64)
    return counts, float(value.sum(dtype=np.float64))


def facility_location_knn(X, budget, *, n_neighbors=10, index="flat", n_probe=8, similarity="rbf",
                          gamma=None, optimizer="lazy", epsilon=0.01, random_state=None,
                          verbose=False, return_objective=False):
    """Facility location on the k-nearest-neighbour graph of X: what
    `facility_dense.facility_location` computes, at n * k cost (see the module docstring).

    `n_neighbors`, `index` ("flat" exact, "ivf" approximate) and `n_probe` build the graph
    (`knn_graph`); `similarity`, `gamma`, `optimizer`, `epsilon` and `random_state` mean what they
    mean for the dense engine (gamma=None: the same median heuristic, so the same width).
    Returns (indices (k,) int64 in selection order, weights (k,) float64: how many samples have
    each pick as their most similar one, sum n); with `return_objective=True` also the dense
    facility-location value F(indices) = sum_i max_{j in S} sim(i, j) of the picks (exact with
    index="flat"; with "ivf", samples are assigned through the approximate graph).
    """
    dtype = np.float32 if getattr(X, "dtype", None) == np.float32 else np.float64
    X = check_array_2d(X, name="X", dtype=dtype)
    check_optimizer(optimizer, epsilon)
    check_knn(n_neighbors, index, n_probe)
    k = resolve_budget(budget, len(X))
    # random_state is passed on as the dense engine passes it (an int seeds each use afresh), so
    # that with k = n - 1 both engines draw the same median-heuristic pairs and candidates.
    graph = knn_graph(X, n_neighbors, similarity=similarity, gamma=gamma, index=index,
                      n_probe=n_probe, random_state=random_state)
    indices = greedy_on_graph(graph, k, optimizer=optimizer, epsilon=epsilon,
                              random_state=random_state, verbose=verbose)
    counts, objective = assign_to_picks(X, graph, indices)
    return (indices, counts, objective) if return_objective else (indices, counts)
