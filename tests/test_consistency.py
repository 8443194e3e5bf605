"""Tests of the geometric-consistency search.

See :ref:`conv-gc` and :ref:`conv-known-answers`.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.neighbors import kneighbors_graph, radius_neighbors_graph

from sksbi_manifold._geometry import distances
from sksbi_manifold._geometry.kernels import gaussian_affinity
from sksbi_manifold._geometry.laplacian import renormalized_laplacian
from sksbi_manifold.datasets import make_lifted_manifold
from sksbi_manifold.embedding._consistency import (
    _curves,
    _Extensions,
    geometric_consistency,
    out_of_sample_distortion,
    resolve_dims,
    select_radius,
    symmetric_distance_graph,
)
from sksbi_manifold.exceptions import BoundaryWarning


def noisy_roll(n, seed=0):
    """Roll + N(0, 0.05^2) on 3 + 7 noise coordinates.

    See :ref:`conv-known-answers`.
    """
    X, _, _ = make_lifted_manifold(
        "swiss_roll", n, ambient_dim=10, noise=0.05, random_state=seed
    )
    return X


@pytest.fixture(scope="module")
def roll():
    return noisy_roll(1500)


def test_swiss_roll_u_shape_small(roll):
    radii = np.geomspace(0.5, 4.0, 7)
    gc = geometric_consistency(roll, radii, [2, 3], sample_size=100, random_state=0)
    d2, d3 = gc.distortions
    assert gc.distortions.shape == (2, 7)
    # Isolated points are left out at the smallest radius only.
    assert gc.n_evaluated[0] < 100 and np.all(gc.n_evaluated[1:] == 100)
    # U-shape for d = 2: high at the noise scale, minimum inside, rising after.
    best = int(np.argmin(d2))
    assert 0 < best < 6
    assert d2[0] > 0.6 and d2[best] < 0.3 and d2[-1] > d2[best]
    assert 1.0 <= radii[best] <= 2.5 + 0.7  # n = 1500 shifts the optimum up
    # d = 3 coordinates cannot be isometric on a surface.
    assert d3.min() > 0.55
    # Selection uses the mean over d.
    assert gc.best_index == int(np.argmin(gc.loss))
    np.testing.assert_allclose(gc.loss, gc.distortions.mean(axis=0))
    assert gc.epsilon == pytest.approx(gc.radius / 3.0)


@pytest.mark.slow
def test_swiss_roll_gc_known_answer():
    X = noisy_roll(4000)
    radii = np.geomspace(0.3, 4.0, 12)
    gc = geometric_consistency(X, radii, 2, sample_size=200, random_state=0)
    d2 = gc.distortions[0]
    assert 1.0 <= gc.radius <= 2.5
    assert d2.min() < 0.35
    assert d2[0] > 0.85 and d2[-1] < 0.35
    d3 = geometric_consistency(X, radii, 3, sample_size=200, random_state=0)
    assert d3.distortions.min() > 0.55


def test_precomputed_radius_graph_matches_euclidean(roll):
    X = roll[:600]
    radii = np.array([1.0, 1.5, 2.2])
    gc = geometric_consistency(X, radii, [1, 2], sample_size=40, random_state=1)
    G = radius_neighbors_graph(X, 2 * radii[-1] + 1e-9, mode="distance")
    gp = geometric_consistency(
        G, radii, [1, 2], sample_size=40, random_state=1, metric="precomputed"
    )
    # The coordinate path takes its tangent bases from float32 local products
    # (the Gram path is float64): agreement to ~1e-7, far below any loss step.
    np.testing.assert_allclose(gp.distortions, gc.distortions, rtol=2e-6, atol=1e-12)
    assert gp.radius == gc.radius


def test_precomputed_knn_graph_too_sparse_raises(roll):
    G = kneighbors_graph(roll[:400], 10, mode="distance")
    with pytest.raises(ValueError, match="2\\*radius"):
        geometric_consistency(G, [1.5], 2, sample_size=20, metric="precomputed")


def test_default_grid_and_extension(roll):
    gc = geometric_consistency(roll, None, 2, sample_size=60, random_state=0)
    assert gc.radii.size >= 20 and np.all(np.diff(gc.radii) > 0)
    # The grid is extended (5 radii at most per extension) when the minimum
    # sits at its top.
    assert gc.radii.size <= 20 + 5 * 3
    assert gc.best_index < gc.radii.size - 1


def test_clean_sphere_minimum_is_bracketed():
    # On a clean manifold the distortion keeps falling past the median
    # 200-NN distance (the old grid's end, extended once, was always the
    # answer): the extensions must reach the minimum, with no BoundaryWarning.
    X = make_lifted_manifold("sphere", 2000, random_state=0)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", BoundaryWarning)
        gc = geometric_consistency(X, None, 2, sample_size=60, random_state=0)
    assert gc.radii.size > 20
    assert 20 <= gc.best_index < gc.radii.size - 1
    assert gc.loss[gc.best_index + 1] > gc.loss[gc.best_index]


def test_extension_curves_equal_stored_graph_curves():
    # The memory-free extension (sample rows + multi-bandwidth kernel sums)
    # computes the same distortions as the stored-graph walk.
    X = make_lifted_manifold("sphere", 1500, random_state=0)[0]
    sample = np.sort(np.random.RandomState(0).choice(1500, 40, replace=False))
    grid = np.geomspace(0.25, 0.7, 4)
    args = (np.array([2]), sample, 3.0, 1.0, 1, None)
    stored = _curves(X, False, grid, *args)[0]
    radii, extended = _Extensions(X, *args)(grid)[:2]
    np.testing.assert_array_equal(radii, grid[: radii.size])
    np.testing.assert_allclose(extended, stored[:, : radii.size], rtol=1e-12)
    # an extension of one radius (no progression to look ahead along)
    single = _Extensions(X, *args)(grid[:1])[1]
    np.testing.assert_allclose(single, stored[:, :1], rtol=1e-12)


def test_next_extension_reads_the_look_ahead_degrees(monkeypatch):
    # One kernel-sum pass serves an extension and the first radii of the next
    # (the same progression), and the next one's curves are those computed
    # from scratch.
    X = make_lifted_manifold("sphere", 1500, random_state=0)[0]
    sample = np.sort(np.random.RandomState(0).choice(1500, 40, replace=False))
    args = (np.array([2]), sample, 3.0, 1.0, 1, None)
    first = np.geomspace(0.2, 0.3, 3)
    step = first[1] / first[0]
    second = first[-1] * step ** np.arange(1, 4)
    passes = []
    kernel_sums = distances.kernel_sums
    monkeypatch.setattr(
        distances,
        "kernel_sums",
        lambda *a, **k: passes.append(a[3]) or kernel_sums(*a, **k),
    )
    extensions = _Extensions(X, *args)
    extensions(first)
    radii, curves = extensions(second)[:2]
    assert len(passes) == 1 and passes[0].size == 6
    fresh_radii, fresh = _Extensions(X, *args)(second)[:2]
    np.testing.assert_array_equal(radii, fresh_radii)
    np.testing.assert_array_equal(curves, fresh)
    assert len(passes) == 2


def test_out_of_sample_on_training_rows_equals_in_sample(roll):
    X, rest = roll[:800], roll[800:]
    radius = 1.6
    gc = geometric_consistency(X, [radius], [2, 3], sample_size=50, random_state=3)
    eps = radius / 3
    W = gaussian_affinity(distances.radius_graph(X, radius), eps, radius=radius)
    q = renormalized_laplacian(W, eps).degrees
    value = out_of_sample_distortion(
        X, X, q, radius, [2, 3], sample_size=50, random_state=3
    )
    assert value == pytest.approx(gc.loss[0], rel=1e-10)
    # Held-out points of the same roll are about as consistent.
    held = out_of_sample_distortion(rest, X, q, radius, [2, 3], random_state=0)
    assert abs(held - gc.loss[0]) < 0.1
    # Far-away points have no neighbour: the distortion of H = 0.
    far = out_of_sample_distortion(rest + 100.0, X, q, radius, 2)
    assert far == 1.0


def test_no_neighbours_anywhere_raises(roll):
    with pytest.raises(ValueError, match="gc_radii"):
        geometric_consistency(roll[:200], [1e-6, 2e-6], 2, random_state=0)


def test_n_jobs_and_seed_invariance(roll):
    X = roll[:700]
    radii = [0.8, 1.4]
    a = geometric_consistency(X, radii, 2, sample_size=50, random_state=0)
    b = geometric_consistency(X, radii, 2, sample_size=50, random_state=0, n_jobs=2)
    np.testing.assert_array_equal(a.distortions, b.distortions)
    np.testing.assert_array_equal(a.sample, b.sample)
    c = geometric_consistency(X, radii, 2, sample_size=50, random_state=1)
    assert not np.array_equal(a.sample, c.sample)


def test_select_radius_rules():
    loss = np.array([0.9, 0.5, 0.30, 0.31, 0.314, 0.33, 0.2 + np.nan])
    assert select_radius(loss, "argmin") == 2
    assert select_radius(loss, "argmin_plus", tol=0.05) == 4
    assert select_radius(loss, "argmin_plus", tol=0.0) == 2
    # A dip beyond a violation is not reached.
    assert select_radius(np.array([0.3, 0.4, 0.3001]), "argmin_plus", 0.05) == 0
    with pytest.raises(ValueError, match="no radius"):
        select_radius(np.array([np.nan, np.nan]))
    with pytest.raises(ValueError, match="selection"):
        select_radius(loss, "median")


def test_resolve_dims():
    np.testing.assert_array_equal(resolve_dims([3, 2, 3]), [2, 3])
    assert resolve_dims(np.int64(4)).tolist() == [4]
    for bad in (0, [], [2.5], "2"):
        with pytest.raises(ValueError, match="intrinsic_dim"):
            resolve_dims(bad)
    with pytest.raises(ValueError, match="number of features"):
        resolve_dims(5, n_features=3)


def test_symmetric_distance_graph_union():
    G = sp.csr_matrix(
        (np.array([1.0, 2.0, 2.5]), (np.array([0, 1, 1]), np.array([1, 2, 0]))),
        shape=(3, 3),
    )
    S = symmetric_distance_graph(G).toarray()
    np.testing.assert_array_equal(S, S.T)
    assert S[0, 1] == 2.5 and S[2, 1] == 2.0  # larger value, one-sided kept
    Sg = symmetric_distance_graph(G)
    diag = Sg.indices == np.repeat(np.arange(3), np.diff(Sg.indptr))
    assert diag.sum() == 3  # explicit zero self distances
