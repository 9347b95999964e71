"""Chunked k-center and herding (criteria/chunked.py): the same picks as the unchunked
`representative` versions, whatever the chunk size, with and without pruning at work."""
import numpy as np
import pytest

from distill_lab.criteria import chunked
from distill_lab.criteria import representative as rep


def clustered(seed, n=1500, d=6, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(12, d))[rng.integers(0, 12, n)] * 3
            + rng.normal(size=(n, d))).astype(dtype)


@pytest.mark.parametrize("chunk_size", [1, 7, 256, 10**6])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kcenter_chunked_picks_what_kcenter_greedy_picks(chunk_size, dtype):
    for seed in range(3):
        X = clustered(seed, dtype=dtype)
        want = rep.kcenter_greedy(X, 120, random_state=seed)
        assert chunked.kcenter_chunked(X, 120, random_state=seed,
                                       chunk_size=chunk_size).tolist() == want.tolist()
        want = rep.kcenter_greedy(X, 40, initial=[0, 3, 99])
        got = chunked.kcenter_chunked(X, 40, initial=[0, 3, 99], chunk_size=chunk_size)
        assert got.tolist() == want.tolist()


def test_kcenter_chunked_on_duplicates_and_a_line():
    assert chunked.kcenter_chunked(np.zeros((6, 2)), 6, random_state=0).tolist() == \
        rep.kcenter_greedy(np.zeros((6, 2)), 6, random_state=0).tolist()
    line = np.arange(11.0)[:, None]
    assert chunked.kcenter_chunked(line, 3, initial=[5], chunk_size=2).tolist() == [0, 10, 2]


@pytest.mark.parametrize("chunk_size", [1, 13, 10**6])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_herding_chunked_picks_what_herding_picks(chunk_size, dtype):
    for seed in range(3):
        X = clustered(seed, n=600, dtype=dtype)
        assert chunked.herding_chunked(X, 80, chunk_size=chunk_size).tolist() == \
            rep.herding(X, 80).tolist()
    X = np.array([[-3.0], [-1.0], [1.0], [3.0], [0.5]])
    assert chunked.herding_chunked(X, 5, chunk_size=2).tolist() == [4, 1, 2, 0, 3]


@pytest.mark.parametrize("call, match", [
    (lambda: chunked.kcenter_chunked(np.ones((5, 2)), 2, chunk_size=0), "chunk_size=0"),
    (lambda: chunked.herding_chunked(np.ones((5, 2)), 2, chunk_size=True), "chunk_size=True"),
    (lambda: chunked.kcenter_chunked(np.ones((5, 2)), 4, initial=[0, 1]), "budget"),
    (lambda: chunked.kcenter_chunked(np.ones((5, 2)), 2, initial=[7]), "initial"),
    (lambda: chunked.herding_chunked(np.ones((5, 2)), 6), "budget"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
