"""Tests of DiffusionMapsGC.

See :ref:`conv-eigen`, :ref:`conv-gc` and :ref:`conv-known-answers`.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.linalg import subspace_angles
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.neighbors import KNeighborsTransformer, radius_neighbors_graph
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sksbi_manifold._geometry import metric as geometry_metric
from sksbi_manifold.datasets import make_lifted_manifold
from sksbi_manifold.embedding import (
    DiffusionMapsGC,
    DisconnectedGraphWarning,
    OutOfSampleWarning,
    riemannian_metric,
)

# Test-friendly instances for the common checks (tiny data, 10-30 rows).
ESTIMATORS = [
    DiffusionMapsGC(n_components=2),
    DiffusionMapsGC(n_components=2, epsilon=1.0, metric="precomputed"),
]
# Also passes every check; its distance-only local PCA makes it the slowest.
SLOW_ESTIMATORS = [
    DiffusionMapsGC(n_components=2, metric="precomputed", gc_sample_size=20),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(SLOW_ESTIMATORS)
def test_sklearn_compatible_precomputed_gc(estimator, check):
    check(estimator)


# --------------------------------------------------------------------- helpers
def lifted(kind, n, seed=0, **kw):
    return make_lifted_manifold(kind, n, random_state=seed, **kw)


def fit(X, eps, m=8, **kw):
    kw.setdefault("eigen_solver", "arpack")
    return DiffusionMapsGC(n_components=m, epsilon=eps, random_state=0, **kw).fit(X)


def rel_err(values, target):
    return np.abs(np.asarray(values) / target - 1.0).max()


def min_canonical_corr(A, B):
    """Smallest cosine of the principal angles between the column spans."""
    return float(np.cos(subspace_angles(A, B)).min())


def groups(eigenvalues, rtol):
    """Consecutive eigenvalue indices closer than ``rtol`` (relative)."""
    out, cur = [], [0]
    for k in range(1, len(eigenvalues)):
        if eigenvalues[k] / eigenvalues[k - 1] - 1.0 < rtol:
            cur.append(k)
        else:
            out.append(cur)
            cur = [k]
    return [*out, cur]


# ------------------------------------------------------------ known spectra
@pytest.fixture(scope="module")
def circle():
    X, theta, _ = lifted("circle", 1000)
    return X, theta[:, 0]


def test_spectrum_removes_the_semigroup_bias():
    # At a wide kernel (eps = 0.35 on the unit sphere) the linearised
    # eigenvalues (4/eps^2)(1 - mu) of the l = 2 shell sit ~8% below 6; the
    # generator -(4/eps^2) log(mu) of the heat semigroup is within 3%.
    X = make_lifted_manifold("sphere", 2000, random_state=0)[0]
    eps = 0.35
    dm = DiffusionMapsGC(n_components=8, epsilon=eps, random_state=0).fit(X)
    mu = 1.0 - eps**2 * dm.eigenvalues_ / 4.0
    np.testing.assert_allclose(dm.spectrum_, -4.0 / eps**2 * np.log(mu), rtol=1e-12)
    assert np.all(np.diff(dm.spectrum_) >= 0)
    shell = slice(3, 8)
    assert dm.eigenvalues_[shell].mean() / 6.0 - 1.0 < -0.05
    assert abs(dm.spectrum_[shell].mean() / 6.0 - 1.0) < 0.03
    assert abs(dm.spectrum_[:3].mean() / 2.0 - 1.0) < 0.03


def test_circle_spectrum_and_eigenvectors(circle):
    X, theta = circle
    dm = fit(X, 0.1)
    lam = dm.eigenvalues_
    assert dm.n_connected_components_ == 1
    assert lam[0] > 0 and np.all(np.diff(lam) >= 0)
    assert rel_err(lam[:2], 1.0) < 0.06  # n = 1000; 5 % at n = 3000 (slow test)
    assert rel_err(lam[2:4], 4.0) < 0.08
    assert rel_err(lam[4:6], 9.0) < 0.12
    harmonics = np.c_[np.cos(theta), np.sin(theta)]
    assert min_canonical_corr(dm.embedding_[:, :2], harmonics) > 0.99
    harmonics2 = np.c_[np.cos(2 * theta), np.sin(2 * theta)]
    assert min_canonical_corr(dm.embedding_[:, 2:4], harmonics2) > 0.99
    np.testing.assert_allclose(np.linalg.norm(dm.embedding_, axis=0), 1.0)


def test_alpha_one_removes_the_density():
    X, _, _ = lifted("circle", 1000, density="nonuniform")
    lam1 = fit(X, 0.1, m=4, alpha=1.0).eigenvalues_
    lam0 = fit(X, 0.1, m=4, alpha=0.0).eigenvalues_
    # alpha = 1: the degenerate pair survives the 7x density variation.
    assert rel_err(lam1[:2], 1.0) < 0.1 and lam1[1] / lam1[0] - 1 < 0.1
    # alpha = 0 (random walk): the pair splits (doc/conventions.rst,
    # 'Known-answer tests').
    assert lam0[1] / lam0[0] - 1 > 0.3


def test_sphere_and_torus_small():
    X, _, _ = lifted("sphere", 1000)
    lam = fit(X, 0.25, m=8).eigenvalues_
    assert rel_err(lam[:3], 2.0) < 0.1
    assert rel_err(lam[3:8], 6.0) < 0.16
    assert lam[3] / lam[2] > 2.5  # multiplicity 3, then 5
    X, _, _ = lifted("torus", 1000)
    lam = fit(X, 0.4, m=9).eigenvalues_
    assert rel_err(lam[:4], 1.0) < 0.1
    assert rel_err(lam[4:8], 2.0) < 0.15
    assert lam[8] / lam[7] > 1.5  # multiplicity 4, 4, then 4 more


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, eps, expected",
    [
        ("circle", 0.1, [(1, 2, 0.05), (4, 2, 0.05), (9, 2, 0.1), (16, 2, 0.1)]),
        ("sphere", 0.25, [(2, 3, 0.05), (6, 5, 0.1), (12, 7, 0.15)]),
        ("torus", 0.4, [(1, 4, 0.05), (2, 4, 0.1), (4, 4, 0.15)]),
    ],
)
def test_known_spectra_of_circle_sphere_torus(kind, eps, expected):
    X, _, _ = lifted(kind, 3000)
    m = sum(mult for _, mult, _ in expected)
    lam = fit(X, eps, m=m).eigenvalues_
    start = 0
    for value, mult, tol in expected:
        assert rel_err(lam[start : start + mult], value) < tol, (value, lam)
        start += mult


@pytest.mark.slow
def test_nonuniform_circle_spectrum_is_density_free():
    X, _, _ = lifted("circle", 3000, density="nonuniform")
    lam1 = fit(X, 0.1, m=4, alpha=1.0).eigenvalues_
    lam0 = fit(X, 0.1, m=4, alpha=0.0).eigenvalues_
    assert rel_err(lam1[:2], 1.0) < 0.05 and rel_err(lam1[2:4], 4.0) < 0.05
    assert lam1[3] / lam1[2] - 1 < 0.02  # the pairs stay degenerate ...
    # ... while the random-walk operator is biased by the density.
    assert rel_err(lam0[:2], 1.0) > 0.3 and lam0[3] / lam0[2] - 1 > 0.05


def test_two_circles_disconnected():
    t = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    ring = np.c_[np.cos(t), np.sin(t)]
    X = np.r_[ring, ring + 10.0]
    with pytest.warns(DisconnectedGraphWarning, match="2 connected components"):
        dm = DiffusionMapsGC(n_components=3, epsilon=0.1, random_state=0).fit(X)
    assert dm.n_connected_components_ == 2
    assert dm.eigenvalues_[0] < 1e-8 < dm.eigenvalues_[1]


# ------------------------------------------------------------ eigen-solvers
@pytest.mark.parametrize("kind, eps", [("circle", 0.15), ("sphere", 0.4)])
def test_eigen_solvers_agree(kind, eps):
    X, _, _ = lifted(kind, 500)
    fits = {s: fit(X, eps, m=8, eigen_solver=s) for s in ("dense", "arpack", "lobpcg")}
    ref = fits["dense"]
    for solver in ("arpack", "lobpcg"):
        other = fits[solver]
        np.testing.assert_allclose(other.eigenvalues_, ref.eigenvalues_, rtol=1e-6)
        for g in groups(ref.eigenvalues_, 1e-3):
            angles = subspace_angles(ref.embedding_[:, g], other.embedding_[:, g])
            assert angles.max() < 1e-4, (solver, g, angles)
    # Deterministic signs: simple eigenvectors are identical, not just parallel.
    simple = [g[0] for g in groups(ref.eigenvalues_, 1e-3) if len(g) == 1]
    np.testing.assert_allclose(
        fits["arpack"].embedding_[:, simple], ref.embedding_[:, simple], atol=1e-5
    )


# ----------------------------------------------------------- out of sample
def test_transform_reproduces_training_embedding(circle):
    X, _ = circle
    dm = fit(X[:400], 0.15, m=4, diffusion_time=2)
    np.testing.assert_allclose(dm.transform(X[:400]), dm.embedding_, atol=1e-10)
    dm32 = fit(X[:400].astype(np.float32), 0.15, m=4, diffusion_time=2)
    assert dm32.embedding_.dtype == np.float32
    Y32 = dm32.transform(X[:400].astype(np.float32))
    assert Y32.dtype == np.float32
    np.testing.assert_allclose(Y32, dm32.embedding_, atol=1e-5)
    np.testing.assert_allclose(dm32.embedding_, dm.embedding_, atol=1e-4)


def test_diffusion_time_scales_by_mu():
    X, _, _ = lifted("circle", 300)
    raw = fit(X, 0.2, m=4)
    timed = fit(X, 0.2, m=4, diffusion_time=3)
    mu = 1 - 0.2**2 * raw.eigenvalues_ / 4
    np.testing.assert_allclose(timed.embedding_, raw.embedding_ * mu**3, atol=1e-12)
    np.testing.assert_allclose(timed.eigenvalues_, raw.eigenvalues_)


def heldout_agreement(X, eps, m, n_out, seed=0):
    """Per-group agreement of the Nystrom extension with a fit on all rows."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(X.shape[0])
    held, train = perm[:n_out], perm[n_out:]
    full = fit(X, eps, m=m)
    part = fit(X[train], eps, m=m)
    Y = part.transform(X[held])
    out = []
    for g in groups(full.eigenvalues_, 0.05):
        if len(g) == 1:
            k = g[0]
            out.append(abs(np.corrcoef(Y[:, k], full.embedding_[held, k])[0, 1]))
        else:
            out.append(min_canonical_corr(Y[:, g], full.embedding_[held][:, g]))
    return np.array(out), groups(full.eigenvalues_, 0.05)


def test_nystrom_heldout_matches_refit(circle):
    X, _ = circle
    corr, grp = heldout_agreement(X, 0.1, m=6, n_out=100)
    assert any(len(g) == 2 for g in grp)  # degenerate pairs compared as spans
    assert corr.min() > 0.99, corr
    X, _, _ = lifted("strip", 1500, aspect_ratio=4.0)
    corr, grp = heldout_agreement(X, 0.5, m=5, n_out=150)
    assert all(len(g) == 1 for g in grp)
    assert corr.min() > 0.99, corr


def test_transform_far_rows_fall_back_to_nearest(circle):
    X, _ = circle
    dm = fit(X[:300], 0.15, m=3)
    far = X[:2] * 50.0
    with pytest.warns(OutOfSampleWarning, match="2 of 3 rows"):
        Y = dm.transform(np.r_[far, X[5:6]])
    assert np.all(np.isfinite(Y))
    nearest = np.argmin(((X[:300, None] - far[None]) ** 2).sum(-1), axis=0)
    np.testing.assert_array_equal(Y[:2], dm.embedding_[nearest])
    np.testing.assert_allclose(Y[2], dm.embedding_[5], atol=1e-10)


# ------------------------------------------------------ GC, score, search
@pytest.fixture(scope="module")
def small_roll():
    X, _, _ = make_lifted_manifold(
        "swiss_roll", 1000, ambient_dim=10, noise=0.05, random_state=0
    )
    return X


def test_gc_fit_attributes(small_roll):
    radii = np.geomspace(0.6, 3.5, 6)
    dm = DiffusionMapsGC(
        n_components=3,
        gc_radii=radii,
        intrinsic_dim=[2, 3],
        gc_sample_size=60,
        eigen_solver="arpack",
        random_state=0,
    ).fit(small_roll)
    np.testing.assert_allclose(dm.gc_radii_, radii)
    assert dm.gc_distortions_.shape == (2, 6)
    np.testing.assert_allclose(dm.gc_loss_, dm.gc_distortions_.mean(axis=0))
    assert dm.radius_ == pytest.approx(radii[np.argmin(dm.gc_loss_)])
    assert dm.epsilon_ == pytest.approx(dm.radius_ / 3)
    assert dm.intrinsic_dim_.tolist() == [2, 3]
    # The fitted Laplacian is the scaled one with the reference sign.
    L = dm.laplacian_
    np.testing.assert_allclose(L @ np.ones(L.shape[0]), 0, atol=1e-8)
    assert L.diagonal().max() < 0
    n = L.shape[0]
    assert dm.affinity_.shape == (n, n) and dm.affinity_.diagonal().min() == 1.0
    assert dm.degrees_.min() >= 1.0 and dm.laplacian_weights_.shape == (n,)
    # argmin_plus never picks a smaller radius.
    plus = DiffusionMapsGC(
        n_components=3,
        gc_radii=radii,
        intrinsic_dim=[2, 3],
        gc_sample_size=60,
        gc_selection="argmin_plus",
        gc_tol=0.2,
        eigen_solver="arpack",
        random_state=0,
    ).fit(small_roll)
    assert plus.radius_ >= dm.radius_


def test_score_on_training_rows_is_gc_loss(small_roll):
    radii = np.geomspace(0.8, 3.0, 4)
    dm = DiffusionMapsGC(
        n_components=2,
        gc_radii=radii,
        intrinsic_dim=2,
        gc_sample_size=1000,  # every row: same evaluation set as the search
        eigen_solver="arpack",
        random_state=0,
    ).fit(small_roll)
    assert dm.score(small_roll) == pytest.approx(-dm.gc_loss_.min(), rel=1e-9)


@pytest.mark.slow
def test_grid_search_picks_the_gc_epsilon(small_roll):
    radii = np.geomspace(1.0, 6.0, 6)
    common = dict(
        n_components=2,
        intrinsic_dim=2,
        gc_sample_size=80,
        eigen_solver="arpack",
        eigen_tol=1e-6,
        random_state=0,
    )
    builtin = DiffusionMapsGC(gc_radii=radii, **common).fit(small_roll)
    assert 0 < np.argmin(builtin.gc_loss_) < radii.size - 1  # interior minimum
    search = GridSearchCV(
        DiffusionMapsGC(**common),
        {"epsilon": list(radii / 3.0)},
        cv=KFold(3, shuffle=True, random_state=0),
    ).fit(small_roll)
    assert search.best_params_["epsilon"] == pytest.approx(builtin.epsilon_)


def test_grid_search_runs_on_the_score(small_roll):
    X = small_roll[:400]
    search = GridSearchCV(
        DiffusionMapsGC(
            n_components=2, intrinsic_dim=2, gc_sample_size=40, random_state=0
        ),
        {"epsilon": [0.2, 1.2]},
        cv=2,
    )
    with pytest.warns(DisconnectedGraphWarning):  # epsilon = 0.2 is too small
        search.fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(scores < 0) and scores[1] > -1
    assert search.best_params_["epsilon"] == 1.2
    assert search.best_estimator_.embedding_.shape == (400, 2)


def test_pipeline_and_pandas_output(small_roll):
    pipe = make_pipeline(
        StandardScaler(),
        DiffusionMapsGC(n_components=3, epsilon=0.3, eigen_solver="arpack"),
    )
    frame = pd.DataFrame(small_roll, columns=[f"z{i}" for i in range(10)])
    Y = pipe.fit_transform(frame)
    assert Y.shape == (1000, 3)
    np.testing.assert_allclose(pipe.transform(frame), Y, atol=1e-10)
    pipe.set_output(transform="pandas").fit(frame)
    df = pipe.transform(frame.iloc[:5])
    assert list(df.columns) == ["dm0", "dm1", "dm2"]
    np.testing.assert_allclose(df.to_numpy(), Y[:5], atol=1e-10)


# --------------------------------------------------------------- precomputed
def test_precomputed_radius_and_knn_graphs_match_euclidean(circle):
    X, _ = circle
    X = X[:500]
    eps = 0.15
    ref = fit(X, eps, m=4)
    G = radius_neighbors_graph(X, 3 * eps, mode="distance")
    dm = fit(G, eps, m=4, metric="precomputed")
    np.testing.assert_allclose(dm.embedding_, ref.embedding_, atol=1e-8)
    np.testing.assert_allclose(dm.eigenvalues_, ref.eigenvalues_, rtol=1e-8)
    # A kNN graph covering the kernel support gives the same embedding, and
    # transform takes new-vs-training graphs through a Pipeline.
    k = int(ref.affinity_.getnnz(axis=1).max())
    pipe = make_pipeline(
        KNeighborsTransformer(n_neighbors=k + 5, mode="distance"),
        DiffusionMapsGC(
            n_components=4,
            epsilon=eps,
            metric="precomputed",
            eigen_solver="arpack",
            random_state=0,
        ),
    )
    Y = pipe.fit_transform(X)
    np.testing.assert_allclose(Y, ref.embedding_, atol=1e-8)
    Xnew = X[:20] + 1e-3
    np.testing.assert_allclose(pipe.transform(Xnew), ref.transform(Xnew), atol=1e-8)


def test_precomputed_truncated_graph_warns(circle):
    X, _ = circle
    G = radius_neighbors_graph(X[:300], 0.1, mode="distance")
    with pytest.warns(UserWarning, match="truncated"):
        fit(G, 0.2, m=2, metric="precomputed")


def test_precomputed_gc_needs_twice_the_radius(circle):
    X, _ = circle
    X = X[:200]
    G = radius_neighbors_graph(X, 0.8, mode="distance")
    common = dict(n_components=2, intrinsic_dim=1, gc_sample_size=20, random_state=0)
    dm = DiffusionMapsGC(metric="precomputed", **common).fit(G)
    assert dm.gc_radii_.max() <= 0.4 + 1e-12
    ref = DiffusionMapsGC(gc_radii=dm.gc_radii_, **common).fit(X)
    # float32 tangent bases on the coordinate path, float64 Gram on the graph's
    np.testing.assert_allclose(dm.gc_loss_, ref.gc_loss_, rtol=2e-6)


# ------------------------------------------------------------------- errors
def test_input_errors(circle):
    X, _ = circle
    with pytest.raises(ValueError, match="1 sample"):
        DiffusionMapsGC().fit(X[:1])
    with pytest.raises(ValueError, match="identical"):
        DiffusionMapsGC(n_components=1).fit(np.ones((10, 3)))
    with pytest.raises(ValueError, match="square"):
        DiffusionMapsGC(metric="precomputed").fit(sp.random(10, 12, format="csr"))
    with pytest.raises(ValueError, match="Negative values"):
        DiffusionMapsGC(metric="precomputed").fit(-np.ones((10, 10)))
    with pytest.raises(ValueError, match="number of features"):
        DiffusionMapsGC(intrinsic_dim=3).fit(X[:50, :2])
    with pytest.raises(ValueError, match="epsilon"):
        DiffusionMapsGC(epsilon=-1.0).fit(X[:50])


def test_n_components_clipped_to_what_the_graph_allows(circle):
    # 15 rows have 13 non-trivial eigenvectors: more are clipped, with a warning.
    X, _ = circle
    dm = DiffusionMapsGC(n_components=20, epsilon=0.5, random_state=0)
    with pytest.warns(UserWarning, match="n_components=20 exceeds the 13"):
        dm.fit(X[:15])
    assert dm.n_components == 20 and dm.n_components_ == 13
    assert dm.embedding_.shape == (15, 13) and dm.eigenvalues_.shape == (13,)
    assert dm.transform(X[15:20]).shape == (5, 13)
    assert dm.get_feature_names_out().tolist() == [f"dm{k}" for k in range(13)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert DiffusionMapsGC(13, epsilon=0.5).fit(X[:15]).n_components_ == 13
    assert not [w for w in caught if "n_components" in str(w.message)]


def test_verbose_prints_only_when_set(capsys, circle):
    X, _ = circle
    fit(X[:200], 0.2, m=2)
    assert capsys.readouterr().out == ""
    fit(X[:200], 0.2, m=2, verbose=1)
    assert "eigenpairs" in capsys.readouterr().out


def test_riemannian_metric_reexport_isometry():
    assert riemannian_metric is geometry_metric.riemannian_metric
    X, _, _ = lifted("strip", 1200, ambient_dim=3, aspect_ratio=1.0)
    dm = fit(X, 0.4, m=2)
    # Interior points of the flat strip: H of the identity coordinates ~ I.
    natural = X @ np.linalg.svd(X - X.mean(0))[2][:2].T
    inner = np.flatnonzero(np.abs(natural).max(axis=1) < 2.0 - 3 * 0.4)
    H = riemannian_metric(dm.laplacian_, natural, rows=inner)
    assert np.abs(H.mean(axis=0) - np.eye(2)).max() < 0.08


def test_store_graph_false_keeps_only_what_transform_needs():
    import pickle

    from sksbi_manifold import IESSelector

    rng = np.random.RandomState(0)
    t = rng.uniform(0, 2 * np.pi, 1500)
    X = np.c_[np.cos(t), np.sin(t), 0.05 * rng.randn(1500, 8)]
    full = DiffusionMapsGC(n_components=4, epsilon=0.3, random_state=0).fit(X)
    lean = DiffusionMapsGC(
        n_components=4, epsilon=0.3, random_state=0, store_graph=False
    ).fit(X)
    assert lean.affinity_ is None and lean.laplacian_ is None
    np.testing.assert_array_equal(lean.embedding_, full.embedding_)
    Q = X[:300] + 0.01
    np.testing.assert_array_equal(lean.transform(Q), full.transform(Q))
    assert lean.score(Q) == full.score(Q)
    # the two n x n sparse matrices were most of the pickle
    assert len(pickle.dumps(lean)) < 0.3 * len(pickle.dumps(full))
    with pytest.raises(ValueError, match="store_graph=True"):
        IESSelector(n_components=2, embedding=lean, prefit=True).fit(X)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    "scale, shift, factor", [(1.0, 0.0, 1e6), (1e-150, 0.0, 3.0), (1.0, 1e8, 2.5)]
)
def test_kernel_wider_than_the_data_is_a_clear_error(seed, scale, shift, factor):
    # epsilon above the diameter: every weight >= 1/e, spectrum ~4/eps^2 (the
    # issue's 1e6 case); the same at tiny magnitudes and far from the origin.
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(400, 5)) * scale + shift
    diameter = np.sqrt(5) * scale
    with pytest.raises(ValueError, match=r"epsilon=.* diameter"):
        DiffusionMapsGC(n_components=4, epsilon=factor * diameter).fit(X)
    from sksbi_manifold import IESSelector

    with pytest.raises(ValueError, match="diameter"):
        IESSelector(
            n_components=2,
            embedding=DiffusionMapsGC(n_components=6, epsilon=factor * diameter),
        ).fit(X)


@pytest.mark.parametrize("factor", [1e160, 1e200, 1e-160, 1e-200])
def test_kernel_estimators_on_unrepresentable_scales_say_rescale(factor):
    # 1/epsilon**2 over/underflows: was an OverflowError, a ZeroDivisionError or
    # "no radius gives any sample point a neighbour" from deep in the fit.
    from sksbi_manifold import TSLasso

    rng = np.random.RandomState(0)
    X = rng.uniform(size=(300, 4)) * factor
    for est in (
        DiffusionMapsGC(n_components=3),
        DiffusionMapsGC(n_components=3, epsilon=0.3 * factor),
        TSLasso(n_components=1),
    ):
        with pytest.raises(ValueError, match=r"spreads over .* Rescale X"):
            est.fit(X, X[:, :2] / factor)


@pytest.mark.parametrize("factor", [1e-140, 1e140])
def test_kernel_estimators_at_large_but_representable_scales(factor):
    rng = np.random.RandomState(1)
    t = rng.uniform(0, 2 * np.pi, 600)
    X = np.c_[np.cos(t), np.sin(t), 0.01 * rng.standard_normal(600)]
    ref = DiffusionMapsGC(n_components=3, random_state=0).fit(X)
    big = DiffusionMapsGC(n_components=3, random_state=0).fit(X * factor)
    assert big.epsilon_ == pytest.approx(ref.epsilon_ * factor, rel=1e-6)
    # (eigensolver tolerance: relative to the largest eigenvalue)
    np.testing.assert_allclose(
        big.eigenvalues_ * factor**2,
        ref.eigenvalues_,
        rtol=1e-6,
        atol=1e-5 * ref.eigenvalues_.max(),
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_kernel_below_the_diameter_still_fits(seed):
    rng = np.random.RandomState(seed)
    X = rng.uniform(size=(400, 2))
    dm = DiffusionMapsGC(n_components=4, epsilon=0.6, random_state=0).fit(X)
    assert np.all(np.isfinite(dm.eigenvalues_)) and dm.eigenvalues_[0] > 0
