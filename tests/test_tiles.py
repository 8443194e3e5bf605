"""The tiled self radius graph (tiles.py): the same graph, fewer GEMMs."""

import itertools

import numpy as np
import pytest
from sklearn import config_context

from sksbi_manifold._geometry import distances as D
from sksbi_manifold._geometry import tiles
from sksbi_manifold.datasets import make_lifted_manifold


@pytest.fixture
def tiled(monkeypatch):
    # test-sized sets: small leaves, and the tiled pass whatever it saves
    monkeypatch.setattr(D, "TILED_MIN_ROWS", 0)
    monkeypatch.setattr(D, "TILED_MAX_VISITED", 1.0)
    monkeypatch.setattr(tiles, "LEAF_ROWS", 16)


def _plain(X, radius, **kw):
    old = D.TILED_MIN_ROWS
    D.TILED_MIN_ROWS = 10**12
    try:
        return D.radius_graph(X, radius, **kw)
    finally:
        D.TILED_MIN_ROWS = old


def _clusters(dtype, n=900, dim=12, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6.0, size=(5, dim))
    X = centres[rng.integers(0, 5, n)] + rng.normal(size=(n, dim))
    X[:100] = rng.uniform(-10, 10, (100, dim))  # a uniform background
    X[7] = X[8]  # an exact duplicate
    X[20] = X[21] + 1e-6  # a nearly coincident pair
    return (X + offset).astype(dtype)


def _assert_same_graph(A, B, X, atol):
    np.testing.assert_array_equal(A.indptr, B.indptr)
    np.testing.assert_array_equal(A.indices, B.indices)
    assert A.has_sorted_indices and A.indices.dtype == np.int32
    rows = np.repeat(np.arange(X.shape[0]), np.diff(A.indptr))
    Xd = X.astype(np.float64)
    exact = np.linalg.norm(Xd[rows] - Xd[A.indices], axis=1)
    np.testing.assert_allclose(A.data, exact, rtol=0, atol=atol)
    assert (A.diagonal() == 0).all() and abs(A - A.T).max() == 0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("radius", [1e-9, 0.8, 2.5, 60.0])
def test_tiled_graph_equals_the_plain_pass(tiled, dtype, radius):
    X = _clusters(dtype)
    A, B = D.radius_graph(X, radius), _plain(X, radius)
    scale = float(np.linalg.norm(X.astype(float), axis=1).max())
    _assert_same_graph(A, B, X, atol=(1e-13 if dtype == np.float64 else 1e-5) * scale)
    d = np.linalg.norm(X[:, None].astype(float) - X[None].astype(float), axis=-1)
    np.testing.assert_array_equal(np.diff(A.indptr), (d <= radius).sum(1))


@pytest.mark.parametrize("dtype, offset", [(np.float64, 1e8), (np.float32, 1e4)])
def test_tiled_graph_far_from_the_origin(tiled, dtype, offset):
    X = _clusters(dtype, offset=offset)
    A, B = D.radius_graph(X, 2.0), _plain(X, 2.0)
    np.testing.assert_array_equal(A.indices, B.indices)
    np.testing.assert_array_equal(A.indptr, B.indptr)


def test_tiles_prune_a_manifold_and_keep_everything_within_reach(tiled):
    X = make_lifted_manifold("sphere", 3000, random_state=0)[0]
    tiling = tiles.radius_tiling(X, 0.2)
    assert tiling.visited < 0.3  # most tiles skipped
    assert sorted(tiling.order) == list(range(3000))
    leaves = tiling.leaves
    assert leaves[0].start == 0 and leaves[-1].stop == 3000
    assert all(a.stop == b.start for a, b in itertools.pairwise(leaves))
    A = D.radius_graph(X, 0.2, n_jobs=2)
    _assert_same_graph(A, _plain(X, 0.2), X, atol=1e-12)
    # a task split by the working memory gives the same graph
    with config_context(working_memory=0.01):
        np.testing.assert_array_equal(D.radius_graph(X, 0.2).indices, A.indices)


def test_structureless_data_take_the_plain_pass(monkeypatch):
    X = np.random.default_rng(1).normal(size=(2000, 64))
    monkeypatch.setattr(tiles, "LEAF_ROWS", 64)
    radius = float(np.median(np.linalg.norm(X[:50] - X[50:100], axis=1)))
    assert tiles.radius_tiling(X, radius).visited > D.TILED_MAX_VISITED
    monkeypatch.setattr(D, "TILED_MIN_ROWS", 0)
    called = []
    monkeypatch.setattr(D, "_tiled_radius_graph", lambda *a: called.append(1))
    D.radius_graph(X, radius)
    assert not called


@pytest.mark.parametrize("shape", [(512, 40), (30, 200)])
def test_principal_axes_are_the_top_singular_vectors(shape):
    # from the smaller Gram matrix: tall (features) and wide (rows) samples
    rng = np.random.default_rng(0)
    A = rng.normal(size=shape) * np.geomspace(10.0, 0.1, shape[1])
    A -= A.mean(axis=0)
    axes = tiles._principal_axes(A, 8)
    V = np.linalg.svd(A, full_matrices=False)[2][:8].T
    assert axes.shape == (shape[1], 8)
    np.testing.assert_allclose(np.abs((axes * V).sum(axis=0)), 1.0, atol=1e-10)
