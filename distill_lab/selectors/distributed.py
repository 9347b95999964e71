"""Per-class selection spread over Dask workers: each pool (a class under class_balanced=True, else
the whole data) is one task that runs the selector's `_select` on that pool's rows only, and the
client merges the picks in pool order, as `fit` does.

Each pool draws from its own generator, seeded up front from the selector's `random_state`, so the
result does not depend on which worker runs which pool or in what order: `fit_pools(...,
client=None)` runs the same tasks in this process and gives the same picks (the serial reference).
This seeding differs from `fit`'s single stream, so a stochastic selector's picks may differ from
its plain `fit` (deterministic ones, such as facility location with the lazy greedy, do not).
"""
from __future__ import annotations

import numpy as np
from sklearn.base import clone

__all__ = ["fit_pools", "fit_distributed"]


def _pool_state(state: dict, pool: np.ndarray, n: int) -> dict:
    """The state's per-sample arrays restricted to `pool` (what a worker needs, not all of X)."""
    return {key: value[pool] if isinstance(value, np.ndarray) and value.ndim and len(value) == n
            else value for key, value in state.items()}


def _select_pool(selector, state, k, seed):
    """One task: the picks of one pool, as positions within it."""
    m = len(next(v for v in state.values() if isinstance(v, np.ndarray)))
    return selector._select(state, np.arange(m), k, np.random.RandomState(seed))


def _global(pool, part):
    """Map a pool-local result back to positions in X (an info's "indices" too)."""
    local, weights, info = part
    if isinstance(info, dict) and "indices" in info:
        info = {**info, "indices": pool[np.asarray(info["indices"])]}
    return pool[np.asarray(local)], weights, info


def fit_pools(selector, X, y=None, *, client=None):
    """Fit `selector` (a BaseSelector) with every pool as a task on the Dask `client` (None: in
    this process, one after another). Returns the fitted selector, its attributes as `fit`
    sets them; the picks do not depend on the client or the number of workers."""
    task = clone(selector)      # what the workers get: the parameters only

    def select_pools(state, pools, rng):
        n = len(X)
        seeds = rng.randint(2**31 - 1, size=len(pools))
        jobs = [(_pool_state(state, pool, n), k, int(seed))
                for (pool, k), seed in zip(pools, seeds)]
        if client is None:
            parts = [_select_pool(task, *job) for job in jobs]
        else:
            futures = [client.submit(_select_pool, task, *job, pure=False) for job in jobs]
            parts = client.gather(futures)
        return [_global(pool, part) for (pool, _), part in zip(pools, parts)]

    selector._select_pools = select_pools
    try:
        return selector.fit(X, y)
    finally:
        del selector._select_pools


def fit_distributed(selector, X, y=None, *, scheduler=None, n_workers=None):
    """`fit_pools` on `distill_lab.dask_cluster.connect(scheduler, n_workers)`: an embedded
    LocalCluster of `n_workers` single-threaded processes (default: one per core), or the
    cluster at `scheduler` (an address such as tcp://10.0.0.5:8786)."""
    from distill_lab.dask_cluster import connect

    with connect(scheduler, n_workers, verbose=False) as client:
        return fit_pools(selector, X, y, client=client)
