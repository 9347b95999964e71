"""Per-class selection over Dask workers (selectors/distributed.py): on a loopback LocalCluster of
two workers, the same picks, weights and fitted attributes as the same tasks run serially."""
import numpy as np
import pytest

from distill_lab import make_selector
from distill_lab.selectors.distributed import fit_pools


@pytest.fixture(scope="module")
def client():
    from distill_lab.dask_cluster import connect

    with connect(n_workers=2, verbose=False) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    return (rng.normal(size=(4, 5))[y] * 3 + rng.normal(size=(400, 5))).astype(np.float32), y


@pytest.mark.parametrize("name, params", [
    ("facility_location", {"graph": "knn", "optimizer": "stochastic"}),
    ("facility_location", {}),
    ("kcenter", {"chunk_size": 64}),
    ("kmeans", {}),
    ("random", {}),
])
def test_dask_pools_equal_the_serial_pools(client, blobs, name, params):
    X, y = blobs
    make = lambda: make_selector(name, budget=24, class_balanced=True, random_state=3,  # noqa
                                 **({"features": "raw"} if name != "random" else {}), **params)
    serial, dask = fit_pools(make(), X, y), fit_pools(make(), X, y, client=client)
    assert np.array_equal(serial.indices_, dask.indices_) and len(serial.indices_) == 24
    assert (serial.weights_ is None) == (dask.weights_ is None)
    if serial.weights_ is not None:
        assert np.array_equal(serial.weights_, dask.weights_)
    assert serial.budget_per_class_ == dask.budget_per_class_
    for c, kc in serial.budget_per_class_.items():
        assert np.sum(y[serial.indices_] == c) == kc


def test_deterministic_selector_pools_equal_its_plain_fit(blobs):
    X, y = blobs
    make = lambda: make_selector("facility_location", budget=24, class_balanced=True,  # noqa
                                 features="raw", random_state=0)
    plain, pools = make().fit(X, y), fit_pools(make(), X, y)
    assert np.array_equal(plain.indices_, pools.indices_)
    assert np.isclose(plain.objective_, pools.objective_)
