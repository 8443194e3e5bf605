"""The spectral k-NN width rule, DiffusionMapsGC(epsilon="knn") (issue 20;
see :ref:`conv-knn`), and the mixed-precision ARPACK of eigen_tol="auto"."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import subspace_angles
from threadpoolctl import threadpool_limits

from sksbi_manifold import DiffusionMapsGC
from sksbi_manifold._geometry import distances, eigen
from sksbi_manifold._geometry.kernels import radius_affinity
from sksbi_manifold._geometry.laplacian import renormalized_laplacian
from sksbi_manifold._geometry.scales import (
    knn_mle_dimension,
    knn_rule_epsilon,
    knn_rule_neighbors,
)
from sksbi_manifold.datasets import make_lifted_manifold


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def ratio_error(dm, info) -> float:
    exact = np.asarray(info.laplacian_spectrum)
    exact = exact[exact > 1e-9][:16]
    lam = np.sort(dm.spectrum_)[:16]
    return float(np.mean(np.abs((lam / lam[0])[1:] / (exact / exact[0])[1:] - 1)))


def lifted(kind, n=3000, **kw):
    return make_lifted_manifold(kind, n, random_state=0, return_info=True, **kw)


def test_neighbour_count_formula():
    """k = round(0.068 n^(4/(d+4))), floored at 8: 20 and 50 at d = 2."""
    assert knn_rule_neighbors(5000, 2) == 20
    assert knn_rule_neighbors(20000, 2) == 50
    assert knn_rule_neighbors(50000, 2) == 92
    assert knn_rule_neighbors(20000, 1) > knn_rule_neighbors(20000, 2)
    assert knn_rule_neighbors(3000, 9) == 8  # the floor
    assert knn_rule_neighbors(5, 2) == 4  # below n


def test_mle_dimension_of_known_manifolds():
    rng = np.random.RandomState(0)
    for d in (1, 2, 3):
        X = rng.rand(4000, d)
        dist = distances.knn_distances(X[:500], 31, X)[:, 1:]
        assert abs(knn_mle_dimension(dist) - d) < 0.3
    assert np.isnan(knn_mle_dimension(np.zeros((5, 10))))


@pytest.mark.parametrize(
    "kind, width, worst",
    [
        # measured: 0.136 -> 0.0212 (0.0214 at 1.4x, 0.0307 at 0.7x the width)
        ("sphere", (0.12, 0.15), 0.025),
        # measured: 0.240 -> 0.0194 (0.0214 at 1.4x, 0.0256 at 0.7x)
        ("torus", (0.21, 0.27), 0.023),
    ],
)
def test_knn_width_is_spectrally_accurate(kind, width, worst):
    """Known answer on clean manifolds: near the best width of a scan, and
    better than a width 2.5x wider (where GC lands, relative to it)."""
    info = lifted(kind)
    dm = DiffusionMapsGC(16, epsilon="knn", random_state=0).fit(info.data)
    assert dm.knn_neighbors_ == 14
    assert list(dm.intrinsic_dim_) == [2]
    assert dm.gc_radii_ is None and dm.gc_loss_ is None
    assert width[0] < dm.epsilon_ < width[1]
    err = ratio_error(dm, info)
    assert err < worst
    wide = DiffusionMapsGC(16, epsilon=2.5 * dm.epsilon_, random_state=0)
    assert err < 0.8 * ratio_error(wide.fit(info.data), info)


def test_given_dimension_is_used():
    info = lifted("sphere")
    dm = DiffusionMapsGC(4, epsilon="knn", intrinsic_dim=1, random_state=0)
    dm.fit(info.data)
    assert dm.knn_neighbors_ == knn_rule_neighbors(3000, 1)
    assert list(dm.intrinsic_dim_) == [1]


def test_nonuniform_density_prefers_adaptive_kernel():
    """Density ratio 19: the median width is too narrow for the sparse end of
    the fixed kernel; the adaptive kernel at the same epsilon widens there
    (measured: 0.145 fixed, 0.081 adaptive)."""
    info = lifted("sphere", density="nonuniform")
    fixed = DiffusionMapsGC(16, epsilon="knn", random_state=0).fit(info.data)
    adaptive = DiffusionMapsGC(
        16, epsilon="knn", kernel="adaptive", random_state=0
    ).fit(info.data)
    assert adaptive.epsilon_ == fixed.epsilon_
    assert adaptive.n_connected_components_ == 1
    assert ratio_error(adaptive, info) < 0.7 * ratio_error(fixed, info)


@pytest.mark.parametrize("noise", [0.003, 0.01])
def test_noisy_data(noise):
    """Noise inflates the small-scale dimension estimate (smaller k) and the
    distances (wider k-th neighbour): the width stays usable."""
    info = lifted("sphere", noise=noise)
    dm = DiffusionMapsGC(16, epsilon="knn", random_state=0).fit(info.data)
    assert dm.n_connected_components_ == 1
    assert ratio_error(dm, info) < 0.04


def test_precomputed_graph_gives_the_same_width():
    info = lifted("sphere", n=1500)
    X = info.data
    dm = DiffusionMapsGC(4, epsilon="knn", random_state=0).fit(X)
    graph = distances.radius_graph(X, 3 * dm.epsilon_)
    dg = DiffusionMapsGC(4, epsilon="knn", metric="precomputed", random_state=0)
    dg.fit(graph)
    assert dg.epsilon_ == pytest.approx(dm.epsilon_, rel=1e-12)
    assert dg.knn_neighbors_ == dm.knn_neighbors_
    np.testing.assert_allclose(dg.eigenvalues_, dm.eigenvalues_, rtol=1e-8)


def test_precomputed_graph_with_too_few_neighbours_raises():
    X = lifted("sphere", n=1500).data
    graph = distances.radius_graph(X, 1e-3)
    with pytest.raises(ValueError, match="nearest neighbours"):
        knn_rule_epsilon(graph, 2, random_state=0)


def test_knn_rule_transform_and_score():
    X = lifted("torus", n=1200).data
    dm = DiffusionMapsGC(4, epsilon="knn", random_state=0).fit(X[:1000])
    Y = dm.transform(X[:1000])
    np.testing.assert_allclose(Y, dm.embedding_, atol=1e-8)
    assert -1.0 <= dm.score(X[1000:]) <= 0.0


def test_mixed_precision_arpack_matches_float64():
    """eigen_tol='auto' from 5,000 rows: float32 Lanczos + float64
    Rayleigh-Ritz; eigenvalues agree with float64 ARPACK to ~1e-10."""
    X = lifted("sphere", n=5000).data
    W = radius_affinity(X, 0.13)
    lap = renormalized_laplacian(W, 0.13)
    assert lap.n_samples >= eigen.MIXED_MIN_SAMPLES
    lam, phi = eigen.laplacian_eigenpairs(lap, 8, random_state=0)
    lam64, phi64 = eigen.laplacian_eigenpairs(lap, 8, tol=1e-14, random_state=0)
    np.testing.assert_allclose(lam, lam64, rtol=1e-9, atol=1e-9)
    S = lap.symmetric
    V = phi * np.sqrt(lap.weights)[:, None]
    V /= np.linalg.norm(V, axis=0)
    mu = 1.0 - lam * lap.epsilon**2 / 4
    assert np.linalg.norm(S @ V - V * mu, axis=0).max() < 1e-4
    # the first three non-trivial eigenvectors span the same space
    angles = subspace_angles(phi[:, 1:4], phi64[:, 1:4])
    assert angles.max() < 1e-4


def test_mixed_precision_falls_back(monkeypatch):
    monkeypatch.setattr(eigen, "MIXED_MAX_RESIDUAL", 0.0)
    S = sp.random(6000, 6000, density=1e-3, random_state=0)
    S = ((S + S.T) * 0.5 + sp.identity(6000)).tocsr()
    mu, V = eigen._arpack(S, 3, None, None, np.random.RandomState(0), None)
    assert np.linalg.norm(S @ V - V * mu, axis=0).max() < 1e-10
