"""TSLasso, its group-lasso solver and gradient estimation: known answers."""

import warnings

import numpy as np
import pytest
from joblib import parallel_config
from scipy.stats import special_ortho_group
from sklearn.base import BaseEstimator, clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from sksbi_manifold._geometry import distances, kernels, local_pca
from sksbi_manifold.interpretation import (
    NadarayaWatsonInterpolator,
    TSLasso,
    estimate_gradients,
)
from sksbi_manifold.interpretation._group_lasso import (
    fista,
    group_norms,
    lambda_max,
    select_exactly,
)

# Test-friendly instances for the common sklearn checks (merged into
# tests/test_common.py by the lead).
CHECKED_ESTIMATORS = [
    TSLasso(n_components=1, sample_size=10, n_repeats=2, max_iter=50, random_state=0),
]


@parametrize_with_checks(CHECKED_ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --------------------------------------------------------------------------- #
# Data: the swiss roll of montlake (doc/conventions.rst, 'Known-answer tests')
# with analytic gradients
# --------------------------------------------------------------------------- #
def swiss_roll(n, ambient_dim=49, noise=0.0, seed=0):
    """Roll (t cos t, y, t sin t), rotated into R^ambient_dim.

    Returns X, the dictionary F = [t, y, ambient coordinates], analytic
    gradients (n, D, 2 + D) and the rotation Q (column k of Q = direction of
    the k-th natural axis). ``noise`` is added to the padding axes only.
    """
    rng = np.random.RandomState(seed)
    u, v = rng.uniform(size=(2, n))
    t = 0.75 * np.pi * (1 + 2 * u) + 15
    h = 101 * v
    D = ambient_dim
    P = np.zeros((n, D))
    P[:, 0], P[:, 1], P[:, 2] = t * np.cos(t), h, t * np.sin(t)
    P[:, 3:] = noise * rng.standard_normal((n, D - 3))
    Q = special_ortho_group.rvs(D, random_state=seed + 1)
    X = P @ Q.T
    dp = np.zeros((n, D))
    dp[:, 0] = np.cos(t) - t * np.sin(t)
    dp[:, 2] = np.sin(t) + t * np.cos(t)
    G = np.empty((n, D, 2 + D))
    G[:, :, 0] = (dp / (dp**2).sum(1, keepdims=True)) @ Q.T  # grad t
    G[:, :, 1] = Q[:, 1]  # grad y
    G[:, :, 2:] = np.eye(D)  # ambient coordinates
    return X, np.column_stack([t, h, X]), G, Q


# --------------------------------------------------------------------------- #
# estimate_gradients
# --------------------------------------------------------------------------- #
def test_gradients_of_linear_functions_on_a_flat_sheet_are_exact():
    rng = np.random.RandomState(0)
    Q = special_ortho_group.rvs(6, random_state=0)[:, :2]  # plane in R^6
    X = rng.uniform(size=(1500, 2)) @ Q.T
    A = rng.standard_normal((6, 3))
    F = X @ A
    rows = [3, 10, 500]
    G = estimate_gradients(X, F, rows=rows, epsilon=0.1, tangent_dim=2)
    expected = Q @ Q.T @ A  # tangential part of each gradient
    for g in G:
        np.testing.assert_allclose(g, expected, atol=1e-9)
    # d' larger than the manifold: the null directions carry no gradient
    G10 = estimate_gradients(X, F, rows=rows, epsilon=0.1, tangent_dim=5)
    np.testing.assert_allclose(G10, G, atol=1e-8)


def test_estimate_gradients_equals_full_radius_graph_construction():
    X, F, _, _ = swiss_roll(1500, ambient_dim=8)
    eps, rows = 6.0, np.array([0, 7, 99, 1200])
    W = kernels.gaussian_affinity(distances.radius_graph(X, 3 * eps), eps)
    ref, _ = local_pca.estimate_gradients(X, F, W, rows, n_components=3)
    G = estimate_gradients(X, F, rows=rows, epsilon=eps, tangent_dim=3)
    np.testing.assert_allclose(G, ref, rtol=1e-10, atol=1e-12)
    # boolean mask, repeated / unsorted indices, 1-D F
    mask = np.zeros(len(X), dtype=bool)
    mask[rows] = True
    np.testing.assert_allclose(
        estimate_gradients(X, F, rows=mask, epsilon=eps, tangent_dim=3), ref
    )
    again = estimate_gradients(X, F, rows=[99, 0, 99], epsilon=eps, tangent_dim=3)
    np.testing.assert_allclose(again, ref[[2, 0, 2]])
    g1 = estimate_gradients(X, F[:, 0], rows=rows, epsilon=eps, tangent_dim=3)
    assert g1.shape == (4, 8)
    np.testing.assert_allclose(g1, ref[:, :, 0])


def test_estimated_gradients_of_roll_coordinates_match_analytic():
    X, F, G, _ = swiss_roll(3000, ambient_dim=10)
    rows = np.arange(0, 3000, 150)
    est = estimate_gradients(X, F[:, :2], rows=rows, epsilon=3.0, tangent_dim=2)
    cos = np.einsum("mdp,mdp->mp", est, G[rows, :, :2]) / (
        np.linalg.norm(est, axis=1) * np.linalg.norm(G[rows, :, :2], axis=1)
    )
    assert cos.min() > 0.99
    ratio = np.linalg.norm(est, axis=1) / np.linalg.norm(G[rows, :, :2], axis=1)
    assert np.all(np.abs(ratio - 1) < 0.05)


def test_estimate_gradients_warns_and_rejects_bad_input():
    X, F, _, _ = swiss_roll(300, ambient_dim=5)
    with pytest.warns(UserWarning, match="Increase epsilon"):
        estimate_gradients(X, F, rows=[0, 1], epsilon=0.01)
    with pytest.raises(ValueError, match="F has 299 rows"):
        estimate_gradients(X, F[:-1])
    with pytest.raises(ValueError, match="rows must index"):
        estimate_gradients(X, F, rows=[300])
    with pytest.raises(ValueError, match="epsilon"):
        estimate_gradients(X, F, epsilon=-1.0)


# --------------------------------------------------------------------------- #
# Group lasso solver and lambda search
# --------------------------------------------------------------------------- #
def _random_design(n=40, d=2, p=6, seed=0):
    return np.random.RandomState(seed).standard_normal((n, d, p))


def test_fista_solution_satisfies_group_lasso_optimality():
    X = _random_design()
    lam = 0.7 * lambda_max(X)
    B, _ = fista(X, lam, np.zeros((40, 6, 2)), max_iter=5000, tol=1e-15)
    grad = np.swapaxes(X, 1, 2) @ (X @ B - np.eye(2))  # (n, p, d)
    norms = group_norms(B)
    gnorm = np.sqrt((grad**2).sum(axis=(0, 2)))
    active = norms > 1e-8
    assert 0 < active.sum() < 6
    for k in np.flatnonzero(active):  # stationarity: grad_k = -lam B_k/||B_k||
        np.testing.assert_allclose(grad[:, k], -lam * B[:, k] / norms[k], atol=1e-6)
    assert np.all(gnorm[~active] <= lam * (1 + 1e-6))  # inactive: ||grad_k|| <= lam


def test_lambda_max_is_the_zero_threshold():
    X = _random_design(seed=1)
    lm = lambda_max(X)
    B0 = np.linalg.pinv(X)
    B_at, _ = fista(X, lm, B0)
    assert group_norms(B_at).max() < 1e-8
    B_below, _ = fista(X, 0.95 * lm, B0)
    assert group_norms(B_below).max() > 1e-4


def test_search_selects_exactly_and_records_path():
    X = _random_design(n=60, d=2, p=8, seed=2)
    path = select_exactly(X, 3)
    assert path.status == "exact" and len(path.selected) == 3
    assert np.all(np.diff(path.lambdas) > 0) and path.lambdas[0] == 0
    assert path.coef_norms.shape == path.coef_mean_norms.shape == (len(path.lambdas), 8)
    i = np.flatnonzero(path.lambdas == path.lambda_)[0]
    assert path.n_active[i] == 3
    assert set(np.flatnonzero(path.coef_norms[i] > 1e-8)) == set(path.selected)


def test_path_points_trace_the_path_without_changing_the_selection():
    X = _random_design(n=60, d=2, p=8, seed=2)
    bare = select_exactly(X, 3)
    path = select_exactly(X, 3, path_points=12)
    assert (path.selected, path.lambda_, path.status) == (
        bare.selected,
        bare.lambda_,
        bare.status,
    )
    grid = path.lambda_max * (np.arange(1, 13) / 13) ** 2
    assert set(bare.lambdas) | set(grid) == set(path.lambdas)
    # each traced point is a group-lasso solution: the active count never
    # rises with lam, and every group is zero at lam_max
    assert np.all(np.diff(path.n_active) <= 0) and path.n_active[-1] == 0
    assert path.n_active[0] == 8 and len(np.unique(path.n_active)) >= 5
    # A trace point on a search probe keeps the probe's converged solution:
    # this design's search probes lam_max / 4, and 3 points trace (1/2)**2.
    X = _random_design(n=30, d=2, p=8, seed=1)
    bare = select_exactly(X, 7)
    three = select_exactly(X, 7, path_points=3)
    np.testing.assert_allclose(
        bare.lambdas / bare.lambda_max, [0, 0.25, 0.375, 0.4375, 0.5, 1]
    )
    assert three.lambdas.size == bare.lambdas.size + 2  # 1/16 and 9/16 added
    i, j = (
        np.flatnonzero(np.isclose(p.lambdas, bare.lambda_max / 4))[0]
        for p in (bare, three)
    )
    np.testing.assert_array_equal(three.coef_norms[j], bare.coef_norms[i])
    assert three.n_iter[j] == bare.n_iter[i]


def test_ties_are_flagged_and_fall_back():
    # Three identical columns enter the path together: the count jumps 0 -> 3.
    X = _random_design(n=30, d=2, p=1, seed=3)
    X3 = np.concatenate([X, X, X, 0.2 * _random_design(30, 2, 1, seed=4)], axis=2)
    path = select_exactly(X3, 2, max_search=12)
    assert path.status == "fallback" and path.tie
    assert set(path.selected) <= {0, 1, 2} and len(path.selected) == 2
    failed = select_exactly(X3, 2, max_search=12, fallback="fail")
    assert failed.status == "failed" and failed.selected is None
    assert np.isnan(failed.lambda_)


# --------------------------------------------------------------------------- #
# TSLasso
# --------------------------------------------------------------------------- #
def test_swiss_roll_small_selects_t_and_y_analytic_and_estimated():
    # Known answer (doc/conventions.rst, 'Known-answer tests') at n = 2000 in
    # R^20 (epsilon scaled with the density).
    X, F, G, _ = swiss_roll(2000, ambient_dim=20)
    kw = dict(n_components=2, sample_size=60, n_repeats=2, random_state=0)
    ana = TSLasso(**kw).fit(X, F, gradients=G)
    assert list(ana.selected_) == [0, 1]
    np.testing.assert_allclose(ana.lambda_max_, np.sqrt(60), rtol=1e-3)
    np.testing.assert_allclose(ana.lambdas_, ana.lambda_max_ / 2)  # first probe
    est = TSLasso(epsilon=4.2, **kw).fit(X, F)
    assert list(est.selected_) == [0, 1]
    assert est.selection_frequency_[:2].tolist() == [1.0, 1.0]


def test_float32_latents_run_float32_geometry_with_the_same_answer():
    # float32 input: float32 local PCA and differences (half the cost of the
    # stage on 256-d latents); the selection and the path must not change.
    X, F, _, _ = swiss_roll(2000, ambient_dim=20)
    kw = dict(n_components=2, sample_size=60, n_repeats=3, epsilon=4.2)
    f64 = TSLasso(random_state=0, **kw).fit(X, F)
    f32 = TSLasso(random_state=0, **kw).fit(X.astype(np.float32), F)
    assert f32.selections_ == f64.selections_
    np.testing.assert_allclose(f32.lambda_max_, f64.lambda_max_, rtol=1e-4)
    np.testing.assert_allclose(f32.lambdas_, f64.lambdas_, rtol=1e-4)


def test_distractors_normal_to_the_manifold_are_never_selected():
    # Functions whose gradients are normal to the roll (the padding axes,
    # made non-constant by small noise) next to the true coordinates t, y.
    X, F, G, Q = swiss_roll(2000, ambient_dim=12, noise=0.05, seed=5)
    pad = X @ Q[:, 3:]  # coordinates along the padding axes
    F_d = np.column_stack([pad[:, :4], F[:, 0], pad[:, 4:], F[:, 1]])
    G_d = np.concatenate(
        [
            np.repeat(Q[None, :, 3:7], 2000, 0),
            G[:, :, :1],
            np.repeat(Q[None, :, 7:], 2000, 0),
            G[:, :, 1:2],
        ],
        axis=2,
    )
    ts = TSLasso(n_components=2, sample_size=80, n_repeats=4, epsilon=4.2)
    ts.set_params(random_state=0).fit(X, F_d, gradients=G_d)
    true = [4, F_d.shape[1] - 1]
    assert list(ts.selected_) == true
    distract = np.setdiff1d(np.arange(F_d.shape[1]), true)
    assert np.all(ts.selection_frequency_[distract] == 0)
    for path in ts.coef_path_:  # the distractors never even become active
        assert path.coef_norms[1:, distract].max() < 1e-8


def test_identical_at_any_n_jobs_and_reproducible():
    X, F, G, _ = swiss_roll(1200, ambient_dim=6, noise=0.3, seed=2)
    kw = dict(n_components=2, sample_size=40, n_repeats=4, epsilon=5.0)
    a = TSLasso(random_state=7, n_jobs=1, **kw).fit(X, F[:, :5], gradients=G[..., :5])
    with parallel_config(backend="threading"):  # cheap workers for the test
        b = TSLasso(random_state=7, n_jobs=2, **kw)
        b.fit(X, F[:, :5], gradients=G[..., :5])
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    assert a.selections_ == b.selections_
    np.testing.assert_array_equal(a.lambdas_, b.lambdas_)
    for pa, pb in zip(a.coef_path_, b.coef_path_):
        np.testing.assert_array_equal(pa.coef_norms, pb.coef_norms)
    c = TSLasso(random_state=8, **kw).fit(X, F[:, :5], gradients=G[..., :5])
    assert not np.array_equal(a.sample_indices_, c.sample_indices_)


def test_names_support_transform_and_pandas_output():
    pd = pytest.importorskip("pandas")
    X, F, G, _ = swiss_roll(1500, ambient_dim=6, seed=1)
    names = ["t", "height", "a", "b", "c"]
    Fdf = pd.DataFrame(F[:, :5], columns=names)
    ts = TSLasso(n_components=2, sample_size=50, n_repeats=2, epsilon=5.0)
    ts.set_params(random_state=0).fit(X, Fdf, gradients=G[..., :5])
    assert list(ts.dictionary_names_) == names
    assert list(ts.get_feature_names_out()) == ["t", "height"]
    assert ts.get_support().tolist() == [True, True, False, False, False]
    np.testing.assert_array_equal(ts.get_support(indices=True), [0, 1])
    # transform = NW interpolation of the selected training functions
    Xq = X[:7] + 0.1
    ref = NadarayaWatsonInterpolator(bandwidth=ts.epsilon_).fit(X, F[:, :2])
    np.testing.assert_allclose(ts.transform(Xq), ref.predict(Xq))
    out = ts.set_output(transform="pandas").transform(Xq)
    assert list(out.columns) == ["t", "height"]
    np.testing.assert_allclose(out["t"], F[:7, 0], atol=1.0)


def test_sample_mask_restricts_the_sampled_rows():
    X, F, G, _ = swiss_roll(1500, ambient_dim=6, seed=3)
    top = F[:, 0] >= np.percentile(F[:, 0], 70)  # "top-q" rows of a function
    ts = TSLasso(n_components=2, sample_size=500, n_repeats=2, epsilon=5.0)
    ts.set_params(random_state=0).fit(
        X, F[:, :4], gradients=G[..., :4], sample_mask=top
    )
    assert ts.sample_size_ == top.sum()
    assert np.all(top[ts.sample_indices_])
    assert list(ts.selected_) == [0, 1]
    with pytest.raises(ValueError, match="sample_mask must be a boolean"):
        ts.fit(X, F[:, :4], sample_mask=np.arange(1500))
    with pytest.raises(ValueError, match="widen sample_mask"):
        ts.fit(X, F[:, :4], sample_mask=np.arange(1500) < 2)


def _two_regime_sheet(n=3000, seed=0):
    """A curved sheet whose dictionary changes roles across u = 0.5.

    f0 = u everywhere; left of u = 0.4, f1 = u + 0.3 v (nearly parallel to
    f0) and f2 = v, so TSLasso selects (f0, f2); right of u = 0.6 the two
    swap and it selects (f0, f1). A smoothstep joins the regimes.
    """
    rng = np.random.RandomState(seed)
    u, v = rng.uniform(size=(2, n))
    X = np.column_stack([u, v, 0.1 * np.sin(3 * u)])
    s = np.clip((u - 0.4) / 0.2, 0, 1)
    s = s * s * (3 - 2 * s)
    oblique = u + 0.3 * v
    F = np.column_stack([u, (1 - s) * oblique + s * v, (1 - s) * v + s * oblique])
    return X, F, u


def test_repeat_rows_pools_give_their_own_selection():
    X, F, u = _two_regime_sheet()
    left, right = np.flatnonzero(u < 0.35), np.flatnonzero(u > 0.65)
    ts = TSLasso(
        n_components=2, sample_size=100, n_repeats=4, epsilon=0.1, random_state=0
    )
    ts.fit(X, F, repeat_rows=[left, left, right, right])
    assert ts.selections_ == [(0, 2), (0, 2), (0, 1), (0, 1)]
    np.testing.assert_allclose(ts.selection_frequency_, [1.0, 0.5, 0.5])
    assert isinstance(ts.sample_indices_, list)
    assert all(np.isin(ts.sample_indices_[r], left).all() for r in (0, 1))
    assert all(np.isin(ts.sample_indices_[r], right).all() for r in (2, 3))
    assert [rows.size for rows in ts.sample_indices_] == [100] * 4


def test_repeat_rows_same_pools_and_seed_same_result():
    X, F, u = _two_regime_sheet(n=1500)
    pools = [u < 0.35, np.flatnonzero(u > 0.65)]  # a mask and indices
    kw = dict(n_components=2, sample_size=60, n_repeats=2, epsilon=0.1)
    a = TSLasso(**kw, random_state=3).fit(X, F, repeat_rows=pools)
    b = TSLasso(**kw, random_state=3, n_jobs=2).fit(
        X, F, repeat_rows=[np.flatnonzero(pools[0]), list(pools[1]) * 2]
    )
    assert a.selections_ == b.selections_
    for ra, rb in zip(a.sample_indices_, b.sample_indices_):
        np.testing.assert_array_equal(ra, rb)
    for pa, pb in zip(a.coef_path_, b.coef_path_):
        np.testing.assert_array_equal(pa.lambdas, pb.lambdas)
        np.testing.assert_array_equal(pa.coef_mean_norms, pb.coef_mean_norms)
    c = TSLasso(**kw, random_state=4).fit(X, F, repeat_rows=pools)
    assert not np.array_equal(c.sample_indices_[0], a.sample_indices_[0])


def test_repeat_rows_small_pool_is_used_whole():
    X, F, u = _two_regime_sheet(n=1500)
    small = np.flatnonzero(u > 0.9)[:40]
    ts = TSLasso(n_components=2, sample_size=100, n_repeats=2, epsilon=0.1)
    ts.set_params(random_state=0).fit(X, F, repeat_rows=[np.arange(1500), small])
    assert ts.sample_size_ == 100
    assert [rows.size for rows in ts.sample_indices_] == [100, 40]
    np.testing.assert_array_equal(ts.sample_indices_[1], small)


@pytest.mark.parametrize(
    "repeat_rows, match",
    [
        (5, r"repeat_rows must be a list of index arrays"),
        ("rows", r"repeat_rows must be a list of index arrays"),
        ([np.arange(10)], r"repeat_rows holds 1 pools but n_repeats=2"),
        ([np.arange(10), []], r"repeat_rows\[1\] is empty"),
        ([np.arange(10), [0, 1500]], r"repeat_rows\[1\] holds indices outside"),
        ([np.arange(10), [-1, 3, 4]], r"repeat_rows\[1\] holds indices outside"),
        ([np.arange(10), [0.0, 1.0, 2.0]], r"repeat_rows\[1\] must be a 1-D array"),
        ([np.arange(10), np.ones((3, 2), int)], r"repeat_rows\[1\] must be a 1-D"),
        ([np.ones(10, bool), np.arange(10)], r"repeat_rows\[0\] is a boolean mask"),
        ([np.arange(10), [3, 3, 3]], r"repeat_rows\[1\] holds 1 distinct rows"),
    ],
)
def test_repeat_rows_validation(repeat_rows, match):
    X, F, _ = _two_regime_sheet(n=1500)
    ts = TSLasso(n_components=2, sample_size=50, n_repeats=2, epsilon=0.1)
    with pytest.raises(ValueError, match=match):
        ts.fit(X, F, repeat_rows=repeat_rows)


def test_repeat_rows_excludes_sample_mask():
    X, F, u = _two_regime_sheet(n=1500)
    ts = TSLasso(n_components=2, sample_size=50, n_repeats=1, epsilon=0.1)
    with pytest.raises(ValueError, match=r"either sample_mask .* or repeat_rows"):
        ts.fit(X, F, sample_mask=u < 0.5, repeat_rows=[np.arange(100)])


class _FixedScale(BaseEstimator):
    """Stand-in for a bandwidth estimator such as DiffusionMapsGC."""

    def __init__(self, value=5.0):
        self.value = value

    def fit(self, X, y=None):
        self.epsilon_ = self.value
        return self


def test_epsilon_from_an_estimator_fitted_or_not():
    X, F, G, _ = swiss_roll(800, ambient_dim=5, seed=4)
    fitted = _FixedScale(4.5).fit(X)
    ts = TSLasso(n_components=2, sample_size=30, n_repeats=1, epsilon=fitted)
    ts.set_params(random_state=0).fit(X, F[:, :3], gradients=G[..., :3])
    assert ts.epsilon_ == 4.5
    cloned = clone(ts)  # clone drops the fitted state: refitted on X
    assert not hasattr(cloned.epsilon, "epsilon_")
    assert cloned.fit(X, F[:, :3], gradients=G[..., :3]).epsilon_ == 4.5
    auto = TSLasso(n_components=2, sample_size=30, n_repeats=1, random_state=0)
    auto.fit(X, F[:, :3], gradients=G[..., :3])
    k = 50 * 2  # documented rule: median distance to the 100-th neighbour / 3
    r = np.median(distances.knn_distances(X, k)[:, -1])
    assert auto.epsilon_ == pytest.approx(r / 3, rel=0.1)


def test_clear_errors():
    X, F, G, _ = swiss_roll(300, ambient_dim=5)
    ts = TSLasso(n_components=2, sample_size=20, n_repeats=1, epsilon=5.0)
    with pytest.warns(UserWarning, match="n_components=2 exceeds the 1 dictionary"):
        ts.fit(X, F[:, 0])  # clipped: the one function is selected
    assert ts.n_components_ == 1 and ts.selected_.tolist() == [0]
    assert ts.transform(X[:3]).shape == (3, 1)
    Fc = F[:, :3].copy()
    Fc[:, 2] = 1.0
    with pytest.raises(ValueError, match=r"\['f2'\] are constant"):
        ts.fit(X, Fc)
    with pytest.raises(ValueError, match="gradients must have shape"):
        ts.fit(X, F[:, :3], gradients=G[:, :, :2])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ts.fit(X, F[:-1, :3])
    with pytest.raises(ValueError, match="tangent_dim=6 exceeds n_features=5"):
        ts.set_params(tangent_dim=6).fit(X, F[:, :3])


def test_tie_warning_and_failure_modes():
    # Gradients estimated in only d' = 2 directions are all tangent: the 49
    # coordinates tie with t and y (doc/conventions.rst, 'TSLasso'); searched
    # briefly.
    X, F, _, _ = swiss_roll(1500, ambient_dim=8)
    kw = dict(n_components=2, sample_size=40, n_repeats=1, epsilon=4.0)
    kw.update(gradient_tangent_dim=2, max_search=6, random_state=0)
    with pytest.warns(UserWarning, match="no probed lambda gave exactly"):
        ts = TSLasso(**kw).fit(X, F)
    assert ts.coef_path_[0].status == "fallback" and ts.coef_path_[0].tie
    with pytest.raises(ValueError, match="no repeat selected"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            TSLasso(fallback="fail", **kw).fit(X, F)


# --------------------------------------------------------------------------- #
# Realistic size (slow lane)
# --------------------------------------------------------------------------- #
@pytest.mark.slow
def test_swiss_roll_in_R49_reference_setup():
    """n = 10,000, epsilon = 1.88, 100 sample points (:ref:`conv-known-answers`)."""
    X, F, G, _ = swiss_roll(10_000)
    kw = dict(n_components=2, sample_size=100, n_repeats=3, random_state=0)
    ana = TSLasso(epsilon=1.88, path_points=0, **kw).fit(X, F, gradients=G)
    assert list(ana.selected_) == [0, 1]
    np.testing.assert_allclose(ana.lambda_max_, 10.0, rtol=1e-3)
    for path in ana.coef_path_:  # selected at the first bisection probe
        np.testing.assert_allclose(path.lambdas, [0, 5.0, 10.0], rtol=1e-3)
        assert path.lambda_ == pytest.approx(5.0, rel=1e-3)
    est = TSLasso(epsilon=1.88, gradient_tangent_dim=10, **kw).fit(X, F)
    assert list(est.selected_) == [0, 1]
    assert est.selection_frequency_[:2].tolist() == [1.0, 1.0]
    auto = TSLasso(**kw).fit(X, F)  # epsilon="auto"
    assert list(auto.selected_) == [0, 1]
    with pytest.warns(UserWarning, match="no probed lambda"):
        two = TSLasso(epsilon=1.88, gradient_tangent_dim=2, **kw).fit(X, F)
    assert all(p.tie for p in two.coef_path_)


@pytest.mark.slow
def test_cryo_latents_select_theta_and_snr():
    from sksbi_manifold.datasets import make_toy_cryo_latents

    b = make_toy_cryo_latents(6000, random_state=0, as_frame=True)
    ts = TSLasso(n_components=4, sample_size=200, n_repeats=4, random_state=0)
    ts.set_params(n_jobs=2).fit(b.data, b.frame.iloc[:, :10])
    freq = dict(zip(ts.dictionary_names_, ts.selection_frequency_))
    assert freq["theta"] >= 0.75 and freq["log_snr"] >= 0.75


def test_estimate_gradients_on_one_row_is_a_clear_error():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="estimate_gradients needs at least 2"):
        estimate_gradients(rng.random((1, 3)), rng.random((1, 2)))
    # one query row of many is fine
    X = rng.random((200, 3))
    G = estimate_gradients(X, X[:, :2], rows=[5], epsilon=0.5, tangent_dim=3)
    assert G.shape == (1, 3, 2) and np.isfinite(G).all()
