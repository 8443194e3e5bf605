"""Tests of the intrinsic-dimension estimators.

See :ref:`conv-dimension` and :ref:`conv-known-answers`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.special import betainc
from sklearn.base import BaseEstimator, clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from sksbi_manifold.datasets import make_lifted_manifold
from sksbi_manifold.dimension import (
    CorrelationDimension,
    DoublingDimension,
    EigengapDimension,
    GrideDimension,
    UndefinedDimensionWarning,
    _scan,
    kde_bandwidth,
    kde_mode,
    local_dimension_summary,
)
from sksbi_manifold.dimension._eigengap import eigengap_estimates

# Test-friendly instances for sklearn's common checks (merged into test_common).
ESTIMATORS = [
    DoublingDimension(random_state=0),
    DoublingDimension(radius=[0.5, 1.0, 2.0]),
    CorrelationDimension(random_state=0),
    CorrelationDimension(radii=[0.5, 1.0, 2.0, 4.0]),
    EigengapDimension(random_state=0),
    EigengapDimension(epsilon=1.0, sample_size=8, random_state=0),
    DoublingDimension(sample_size=8, random_state=0),
    DoublingDimension(boundary="exclude", random_state=0),
    CorrelationDimension(sample_size=8, random_state=0),
    GrideDimension(n1=2, random_state=0),
    GrideDimension(sample_size=8, random_state=0),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        # tiny random data leave isolated points at fixed radii: NaN + warning
        warnings.simplefilter("ignore", UndefinedDimensionWarning)
        check(estimator)


def _manifold(kind, n, *, dim=None, ambient=10, noise=0.0, seed=0):
    X, _, d = make_lifted_manifold(
        kind, n, ambient_dim=ambient, intrinsic_dim=dim, noise=noise, random_state=seed
    )
    return X, d


# ---------------------------------------------------------------- vote helpers


def test_kde_mode_finds_the_main_peak_and_ignores_nan():
    rng = np.random.RandomState(0)
    values = np.r_[rng.normal(3.0, 0.2, 400), rng.normal(6.0, 0.2, 150), np.nan, np.inf]
    assert abs(kde_mode(values) - 3.0) < 0.05
    assert abs(kde_mode(values, bandwidth="scott") - 3.0) < 0.05
    assert abs(kde_mode(values, bandwidth=0.3) - 3.0) < 0.1
    # the mode is not the mean: a heavy tail does not drag it
    assert np.nanmean(values[np.isfinite(values)]) > 3.5


def test_kde_mode_degenerate_inputs():
    assert np.isnan(kde_mode([np.nan, np.nan]))
    assert kde_mode([2.5, 2.5, 2.5]) == 2.5
    assert kde_mode([4.0]) == 4.0
    assert kde_bandwidth([1.0]) == 0.0
    with pytest.raises(ValueError, match="bandwidth"):
        kde_bandwidth([1.0, 2.0], "wide")
    with pytest.raises(ValueError, match="bandwidth"):
        kde_bandwidth([1.0, 2.0], -1.0)


def test_local_dimension_summary_histogram():
    s = local_dimension_summary([0.9, 1.2, 2.1, 1.8, 2.2, 2.0, np.nan, 7.4])
    assert s.n_undefined == 1 and s.n_defined == 7
    assert s.vote == 2
    np.testing.assert_array_equal(s.counts, [0, 2, 4, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(s.dimensions, np.arange(8))
    assert s.kde_grid.shape == s.kde_density.shape
    # the KDE is a density: it integrates to about one
    step = s.kde_grid[1] - s.kde_grid[0]
    assert abs(s.kde_density.sum() * step - 1.0) < 0.02
    empty = local_dimension_summary([np.nan])
    assert np.isnan(empty.mode) and empty.n_undefined == 1 and empty.counts.size == 0


# ---------------------------------------------------------------- scan helpers


def test_doubling_grid_contains_every_double():
    radii, edges, pos_r, pos_2r = _scan.doubling_grid(0.1, 1.7, 16)
    np.testing.assert_allclose(edges[pos_r], radii)
    np.testing.assert_allclose(edges[pos_2r], 2 * radii)
    assert edges.size <= 16 and radii[0] == pytest.approx(0.1)
    assert edges[-1] <= 1.7 * (1 + 1e-9)
    # a range narrower than one octave still yields one radius and its double
    radii, edges, pos_r, pos_2r = _scan.doubling_grid(1.0, 1.2, 16)
    assert radii.size == 1 and edges[pos_2r[0]] == pytest.approx(2.0)


def test_select_plateau_picks_the_middle_of_the_flattest_stretch():
    radii = 2.0 ** np.arange(10)
    # noise-inflated start, plateau at 2, curvature drop at the end
    curve = np.array([9.0, 5.0, 3.0, 2.0, 2.0, 2.0, 2.0, 1.6, 1.1, 0.6])
    index, flat = _scan.select_plateau(
        radii, curve, np.ones(10, bool), width=0.5, tol=0.02
    )
    assert index in (4, 5)  # the radii whose window is flat (a tie)
    assert np.all(np.isfinite(flat))
    # a clear plateau wins whatever the tolerance
    for tol in (0.0, 0.1, 0.5):
        index, _ = _scan.select_plateau(
            radii, curve, np.ones(10, bool), width=0.5, tol=tol
        )
        assert index in (4, 5)
    # nearly constant flatness (no plateau): a smooth choice, so a small change
    # of one flatness value does not move the chosen radius
    base = radii ** -np.linspace(0.6, 0.7, 10)
    picks = set()
    for bump in np.linspace(-0.01, 0.01, 9):
        curve2 = base.copy()
        curve2[-1] *= 1.0 + bump
        picks.add(
            _scan.select_plateau(radii, curve2, np.ones(10, bool), width=0.5, tol=0.1)[
                0
            ]
        )
    assert len(picks) == 1
    # no plateau (a power law throughout): the middle of the grid, not an end
    index, _ = _scan.select_plateau(
        radii, radii**-0.5, np.ones(10, bool), width=0.5, tol=0.1
    )
    assert index == 5
    # ineligible radii are never chosen
    eligible = np.ones(10, bool)
    eligible[3:7] = False
    index, _ = _scan.select_plateau(radii, curve, eligible, width=0.5, tol=0.02)
    assert not 3 <= index <= 6
    # the smallest radius is never chosen (its window sits at the noise floor)
    index, _ = _scan.select_plateau(
        radii[:3], np.array([2.0, 2.01, 5.0]), np.ones(3, bool), width=0.5, tol=0.0
    )
    assert index == 1
    # the largest is, when the curve flattens into the top of the grid
    index, _ = _scan.select_plateau(
        radii[:3], np.array([9.0, 3.0, 2.9]), np.ones(3, bool), width=0.5, tol=0.0
    )
    assert index == 2


# ---------------------------------------------------------------- doubling


@pytest.mark.parametrize(
    "kind, dim, n",
    [("circle", None, 800), ("sphere", None, 1500), ("torus", None, 2000)],
)
def test_doubling_known_dimension_clean(kind, dim, n):
    X, d = _manifold(kind, n, dim=dim)
    est = DoublingDimension(random_state=0).fit(X)
    assert abs(est.dimension_ - d) < 0.3
    assert abs(est.dimension_median_ - d) < 0.3
    assert est.dimension_vote_ == d
    assert est.n_undefined_ == 0
    assert est.radius_ in est.radii_
    assert est.local_dimension_.shape == (n,)
    assert est.local_dimension_by_radius_.shape == (n, est.radii_.size)
    assert est.dimension_by_radius_.shape == est.radii_.shape


def _ball_fraction_inside(rho, r, d):
    """Fraction of the d-ball B(x, r), |x| = rho, inside the unit d-ball.

    Two spherical caps cut by the plane through the spheres' intersection; a
    cap beyond a plane at signed distance a (unit radius) has the fraction
    I_{1-a^2}((d+1)/2, 1/2) / 2 of the ball.
    """

    def cap(a):
        a = np.clip(a, -1.0, 1.0)
        half = 0.5 * betainc((d + 1) / 2, 0.5, 1.0 - a**2)
        return np.where(a >= 0, half, 1.0 - half)

    rho = np.maximum(rho, 1e-12)
    c = (rho**2 + 1.0 - r**2) / (2.0 * rho)  # plane's distance from the centre
    frac = (cap(c) + r**d * cap((rho - c) / r)) / r**d
    return np.where(rho + r <= 1.0, 1.0, np.minimum(frac, 1.0))


def test_doubling_boundary_bias_matches_the_exact_volumes():
    """Unit 5-ball, n=20000: near the boundary the 2R-ball is cut more than
    the R-ball, so log2(N_2R/N_R) < 5 in expectation. The estimates follow the
    exact volume ratio (the bias is the estimator's, not the code's), and
    points whose 2R-ball lies inside give 5."""
    d, R = 5, 0.3
    X, _, _ = make_lifted_manifold(
        "ball", 20000, ambient_dim=d, intrinsic_dim=d, random_state=0
    )
    est = DoublingDimension(radius=R, sample_size=None).fit(X)
    rho = np.linalg.norm(X, axis=1)
    exact = d + np.log2(
        _ball_fraction_inside(rho, 2 * R, d) / _ball_fraction_inside(rho, R, d)
    )
    local = est.local_dimension_
    assert abs(np.nanmedian(local) - np.median(exact)) < 0.08
    assert np.median(exact) < d - 0.4  # a real bias, of the size measured
    interior = rho + 2 * R <= 1.0
    assert interior.sum() > 100
    assert abs(np.nanmedian(local[interior]) - d) < 0.15


def test_doubling_boundary_exclusion_on_a_cube():
    """Unit 3-cube: the detector flags the points whose 2R-ball is cut (near a
    face) and not those deep inside; the vote of the rest moves to 3."""
    X, U, d = make_lifted_manifold(
        "cube", 6000, ambient_dim=10, intrinsic_dim=3, random_state=0
    )
    kw = dict(radius=0.1, sample_size=None, random_state=0)
    keep = DoublingDimension(boundary="keep", **kw).fit(X)
    est = DoublingDimension(boundary="exclude", **kw).fit(X)
    assert keep.interior_mask_.all() and np.isnan(keep.boundary_shift_).all()
    depth = np.minimum(U, 1.0 - U).min(axis=1)  # distance to the surface
    flagged = ~est.interior_mask_
    assert flagged[depth < 0.05].mean() > 0.95  # half-cut 2R-balls
    assert flagged[depth > 0.25].mean() < 0.05  # 2R-ball inside
    assert np.median(est.boundary_shift_[depth < 0.05]) > 0.15
    # inside only sampling noise: |shift| / 2R ~ sqrt(d / ((d + 2) N_2R)) ~ 0.05
    assert np.median(est.boundary_shift_[depth > 0.25]) < 0.08
    assert keep.dimension_ < d - 0.1
    assert abs(est.dimension_ - d) < 0.08
    np.testing.assert_array_equal(est.local_dimension_, keep.local_dimension_)


def test_doubling_boundary_exclusion_ignores_curvature_and_noise():
    """A sphere has no boundary: its neighbourhood centroids move along the
    normal (curvature) and with the ambient noise, not within the tangent
    plane, so almost no point is excluded."""
    X, _, _ = make_lifted_manifold(
        "sphere", 3000, ambient_dim=50, noise=0.01, random_state=0
    )
    est = DoublingDimension(boundary="exclude", sample_size=None, random_state=0)
    est.fit(X)
    assert est.interior_mask_.mean() > 0.95
    keep = DoublingDimension(sample_size=None, random_state=0).fit(X)
    assert abs(est.dimension_ - keep.dimension_) < 0.05


def test_tangent_shift_without_neighbours_flags_nothing():
    from sksbi_manifold.dimension._boundary import boundary_points, tangent_shift

    X = np.random.default_rng(0).standard_normal((50, 5))
    # a one-column subset and a tiny radius: no neighbour is found
    shift = tangent_shift(X, np.arange(10), 1e-6, 2, 1e9, np.random.RandomState(1))
    ratio, boundary = boundary_points(shift, 2)
    assert not shift.n_neighbors.any() and not boundary.any()
    np.testing.assert_array_equal(ratio, 0.0)


def test_doubling_boundary_everywhere_warns_and_keeps_all_points(monkeypatch):
    from sksbi_manifold.dimension import _doubling

    X, _, _ = make_lifted_manifold(
        "ball", 2000, ambient_dim=8, intrinsic_dim=3, random_state=0
    )
    monkeypatch.setattr(_doubling, "MIN_INTERIOR", 2001)  # no vote is enough
    est = DoublingDimension(radius=0.2, boundary="exclude", random_state=0)
    with pytest.warns(UserWarning, match="clear of the boundary"):
        est.fit(X)
    assert est.interior_mask_.all()
    assert est.dimension_ == DoublingDimension(radius=0.2).fit(X).dimension_


def test_doubling_counts_come_from_one_engine_call(monkeypatch):
    calls = []
    original = _scan.radius_counts

    def spy(*args, **kwargs):
        calls.append(np.atleast_1d(args[1]).size)
        return original(*args, **kwargs)

    monkeypatch.setattr(_scan, "radius_counts", spy)
    X, _ = _manifold("sphere", 600)
    est = DoublingDimension(random_state=0).fit(X)
    assert len(calls) == 1 and calls[0] == est.count_radii_.size
    # every R and 2R of the scan is among the radii of that one call
    assert np.all(np.isclose(est.count_radii_[:, None], est.radii_).any(axis=0))
    assert np.all(np.isclose(est.count_radii_[:, None], 2 * est.radii_).any(axis=0))
    CorrelationDimension(random_state=0).fit(X)
    assert len(calls) == 2


def test_doubling_matches_brute_force_counts():
    X, _ = _manifold("sphere", 400, noise=0.02)
    R = 0.4
    est = DoublingDimension(radius=R).fit(X)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    n1 = (D <= R).sum(1) - 1
    n2 = (D <= 2 * R).sum(1) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(n1 > 0, np.log2(n2 / n1), np.nan)
    np.testing.assert_allclose(est.local_dimension_, expected, equal_nan=True)
    assert est.radius_ == R and est.radii_.tolist() == [R]


def test_doubling_transform_of_fitted_rows_reproduces_fit_with_duplicates():
    X, _ = _manifold("circle", 300, noise=0.01)
    X = np.vstack([X, X[:20]])  # exact duplicates
    est = DoublingDimension(radius=0.1).fit(X)
    np.testing.assert_array_equal(est.transform(X)[:, 0], est.local_dimension_)
    np.testing.assert_array_equal(
        clone(est).fit_transform(X)[:, 0], est.local_dimension_
    )


@pytest.mark.parametrize(
    "make", [DoublingDimension, CorrelationDimension, GrideDimension]
)
def test_automatic_scale_transform_of_fitted_rows_reproduces_fit(make):
    X, _ = _manifold("circle", 400, noise=0.01)
    est = make(random_state=0).fit(X)
    np.testing.assert_allclose(est.transform(X)[:, 0], est.local_dimension_, rtol=1e-12)


def test_doubling_transform_new_points_on_the_manifold():
    X, _ = _manifold("sphere", 3300, seed=0)
    X, X_new = X[:3000], X[3000:]  # held-out points of the same sample
    est = DoublingDimension(random_state=0).fit(X)
    out = est.transform(X_new)[:, 0]
    assert abs(np.median(out) - 2.0) < 0.2
    with pytest.warns(UndefinedDimensionWarning, match="of X"):
        far = est.transform(X_new + 100.0)[:, 0]
    assert np.all(np.isnan(far))


def test_doubling_noise_bias_and_automatic_scale_above_noise():
    # noise of 0.02 per coordinate in R^64: noise distance 0.02 * sqrt(128) = 0.23
    X, _ = _manifold("sphere", 4000, ambient=64, noise=0.02, seed=2)
    X = X.astype(np.float32)
    est = DoublingDimension(random_state=0).fit(X)
    noise_scale = 0.02 * np.sqrt(2 * 64)
    assert est.radius_ > 1.5 * noise_scale
    assert abs(est.dimension_ - 2.0) < 0.5
    # the small radii of the scan show the noise bias (Appendix Figure 1)
    assert est.dimension_by_radius_[0] > est.dimension_ + 1.0
    assert est.local_dimension_.dtype == np.float32
    assert est.transform(X[:5]).dtype == np.float32


def test_doubling_radius_grid_picks_a_given_radius():
    X, _ = _manifold("torus", 1500)
    grid = [0.15, 0.2, 0.3, 0.4, 0.6]
    est = DoublingDimension(radius=grid).fit(X)
    assert est.radius_ in grid and est.radii_.tolist() == sorted(grid)
    assert abs(est.dimension_ - 2) < 0.3
    assert est.flatness_.shape == (5,)


def test_doubling_isolated_points_are_nan_and_counted():
    X, _ = _manifold("circle", 400)
    outliers = 50.0 + 10.0 * np.eye(10)[:3]
    X = np.vstack([X, outliers])
    est = DoublingDimension(radius=0.1).fit(X)
    assert est.n_undefined_ == 3
    assert np.all(np.isnan(est.local_dimension_[-3:]))
    assert np.all(np.isfinite(est.local_dimension_[:-3]))
    assert est.summary_.n_undefined == 3
    with pytest.warns(UndefinedDimensionWarning, match="radius_"):
        DoublingDimension(radius=0.02).fit(X[::8])


def test_set_output_pandas():
    pd = pytest.importorskip("pandas")
    X, _ = _manifold("circle", 200)
    for est in (
        DoublingDimension(random_state=0),
        CorrelationDimension(random_state=0),
        EigengapDimension(random_state=0),
    ):
        out = est.set_output(transform="pandas").fit_transform(X)
        assert isinstance(out, pd.DataFrame)
        assert out.columns.tolist() == ["local_dimension"]
        assert est.transform(X[:4]).columns.tolist() == ["local_dimension"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: DoublingDimension(random_state=0),
        lambda: CorrelationDimension(random_state=0),
        lambda: EigengapDimension(random_state=0),
        lambda: GrideDimension(random_state=0),
    ],
)
def test_bad_input_errors(make):
    X, _ = _manifold("circle", 50)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make().fit(bad)
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        make().fit(bad)
    with pytest.raises(ValueError, match="minimum of 10 is required"):
        make().fit(X[:9])
    with pytest.raises(ValueError, match="identical"):
        make().fit(np.ones((20, 4)))
    est = make().fit(X)
    with pytest.raises(ValueError, match="features"):
        est.transform(X[:, :3])


def test_tiny_data_with_automatic_scale():
    """10 rows (the minimum) of 3-D data: a warned estimate, never a silent 0."""
    X = np.random.RandomState(0).normal(size=(10, 3))
    for est in (
        DoublingDimension(),
        CorrelationDimension(),
        EigengapDimension(),
        GrideDimension(),
    ):
        with pytest.warns(UndefinedDimensionWarning, match="10 rows are too few"):
            out = est.fit_transform(X)
        assert out.shape == (10, 1)
        assert np.isfinite(est.dimension_) and est.dimension_ > 0.5


def test_radius_without_neighbours_raises():
    X, _ = _manifold("circle", 100)
    with pytest.raises(ValueError, match="radius"):
        DoublingDimension(radius=1e-6).fit(X)
    with pytest.raises(ValueError, match="radius"):
        DoublingDimension(radius=[1e-7, 1e-6]).fit(X)
    with pytest.raises(ValueError, match="radii"):
        CorrelationDimension(radii=[1e-7, 1e-6]).fit(X)
    with pytest.raises(ValueError, match="epsilon"):
        EigengapDimension(epsilon=1e-7).fit(X)
    with pytest.raises(ValueError, match="at least two"):
        CorrelationDimension(radii=[0.5]).fit(X)
    with pytest.raises(ValueError, match="positive"):
        DoublingDimension(radius=[-1.0, 1.0]).fit(X)


def test_results_do_not_depend_on_n_jobs_and_are_seeded():
    X, _ = _manifold("sphere", 800)
    for make in (
        DoublingDimension,
        CorrelationDimension,
        EigengapDimension,
        GrideDimension,
    ):
        a = make(random_state=0, n_jobs=1).fit(X)
        b = make(random_state=0, n_jobs=2).fit(X)
        np.testing.assert_array_equal(a.local_dimension_, b.local_dimension_)
        assert a.dimension_ == b.dimension_


# ---------------------------------------------------------------- correlation


def test_correlation_known_dimension_and_curve():
    X, _ = _manifold("torus", 2000)
    est = CorrelationDimension(random_state=0).fit(X)
    assert abs(est.dimension_ - 2.0) < 0.15
    assert est.rvalue_ > 0.99
    lo, hi = est.fit_range_
    assert hi == pytest.approx(2 * lo)
    assert est.log_correlation_.shape == est.count_radii_.shape
    # the fitted line goes through the scaling range of the curve
    inside = (est.count_radii_ >= lo) & (est.count_radii_ <= hi)
    pred = est.intercept_ + est.dimension_ * est.log_radii_[inside]
    np.testing.assert_allclose(pred, est.log_correlation_[inside], atol=0.05)
    # per-row slopes of the fitted rows are reproduced by transform
    np.testing.assert_allclose(est.transform(X)[:, 0], est.local_dimension_)
    assert abs(np.nanmedian(est.local_dimension_) - 2.0) < 0.3


def test_correlation_user_radii_is_plain_least_squares():
    X, _ = _manifold("sphere", 1500)
    radii = np.geomspace(0.2, 0.8, 6)
    est = CorrelationDimension(radii=radii).fit(X)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    C = np.array([((D <= r).sum() - len(X)) / len(X) for r in radii])
    slope = np.polyfit(np.log(radii), np.log(C), 1)[0]
    assert est.dimension_ == pytest.approx(slope, rel=1e-9)
    assert abs(slope - 2.0) < 0.1  # chordal counts on S^2 grow exactly as R^2
    assert np.all(np.isnan(est.flatness_))


# ---------------------------------------------------------------- eigengap


def test_eigengap_estimates_normalisation():
    lam = np.array([[1.0, 0.98, 0.02, 0.01, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    hard, soft, gaps = eigengap_estimates(
        lam, 100, normalization="max", temperature=0.1
    )
    assert hard[0] == 2 and abs(soft[0] - 2.0) < 0.01
    assert np.isnan(hard[1]) and np.isnan(soft[1]) and np.all(np.isnan(gaps[1]))
    # raw gaps, tau = 1 (reference code): scale dependent, fails on small data
    small = lam[:1] * 1e-4
    _, soft_raw, _ = eigengap_estimates(small, 100, normalization="none", temperature=1)
    assert abs(soft_raw[0] - 2.5) < 0.01  # mean position of the 4 gaps
    _, soft_max, _ = eigengap_estimates(
        small, 100, normalization="max", temperature=0.1
    )
    assert soft_max[0] == pytest.approx(soft[0])
    # with every eigenvalue present the last one is compared with 0
    hard, _, gaps = eigengap_estimates(
        np.array([[1.0, 0.9, 0.8]]), 3, normalization="trace", temperature=0.1
    )
    assert hard[0] == 3 and gaps.shape == (1, 3)


def test_eigengap_log_gaps_ignore_a_smooth_spectrum():
    # 10 tangent directions with the sampling spread of ~100 neighbours,
    # then curvature and exact zeros (data in a subspace of R^40)
    tangent = 0.8 ** np.arange(10)
    lam = np.r_[tangent, 0.004, 0.002, np.zeros(28)][None, :16]
    hard, soft, gaps = eigengap_estimates(
        lam, 40, normalization="log", temperature=0.1, noise_floor=0.01
    )
    assert hard[0] == 10 and abs(soft[0] - 10) < 0.05
    assert np.all(np.isfinite(gaps)) and gaps[0, 11:].max() == 0.0  # floor
    # the difference rule takes the first step of the smooth spectrum
    max_rule = eigengap_estimates(lam, 40, normalization="max", temperature=0.1)
    assert max_rule[0][0] == 1
    # all 3 eigenvalues of R^3: the last meets sqrt(floor), not the floor
    sphere = np.array([[1.0, 0.64, 0.088]])
    full = np.array([[1.0, 0.8, 0.5]])
    for spectrum, d in ((sphere, 2), (full, 3)):
        h, _, _ = eigengap_estimates(
            spectrum, 3, normalization="log", temperature=0.1, noise_floor=0.01
        )
        assert h[0] == d


@pytest.mark.parametrize("d", [6, 8])
def test_eigengap_high_dimension_nonuniform_density(d):
    """Skewed beta(10, 0.5) coordinates curled into R^(4d), 2,500 rows (the
    benchmark's Mbeta): the largest difference gap read 1.13-1.23, the
    log-ratio against the floor reads d."""
    rng = np.random.default_rng(0)
    Z = rng.beta(10, 0.5, size=(2500, d))
    A = np.c_[Z * np.sin(np.cos(2 * np.pi * Z)), Z * np.cos(np.sin(2 * np.pi * Z))]
    X = np.c_[A, A]
    est = EigengapDimension(random_state=0).fit(X)
    assert abs(est.dimension_ - d) < 0.3 and not est.dimension_is_lower_bound_
    old = EigengapDimension(gap_normalization="max", random_state=0).fit(X)
    assert old.dimension_ < d / 2


@pytest.mark.parametrize("kind, n", [("circle", 600), ("sphere", 1200)])
def test_eigengap_known_dimension(kind, n):
    X, d = _manifold(kind, n, noise=0.001)
    est = EigengapDimension(random_state=0).fit(X)
    assert abs(est.dimension_ - d) < 0.3
    assert est.dimension_vote_ == d
    assert np.mean(est.local_dimension_hard_ == d) > 0.9
    assert est.epsilon_ == pytest.approx(est.radius_ / 3.0)
    m = min(n, 1000)  # default sample_size
    assert est.eigenvalues_.shape == (m, 10)  # n_eigen clipped to 10 features


def test_eigengap_is_scale_free_and_reference_setting_is_not():
    X, _ = _manifold("sphere", 600, noise=0.001)
    a = EigengapDimension(epsilon=0.3).fit(X)
    b = EigengapDimension(epsilon=0.3e-3).fit(X * 1e-3)
    np.testing.assert_allclose(a.local_dimension_, b.local_dimension_, atol=1e-6)
    ref = EigengapDimension(epsilon=0.3e-3, gap_normalization="none", temperature=1.0)
    ref.fit(X * 1e-3)
    # raw gaps with tau = 1 weigh all positions equally on small-scale data:
    # 10 features, so 10 gaps (the last against 0) and a mean position of 5.5
    assert abs(ref.dimension_ - 5.5) < 0.05


def test_eigengap_float32_data_give_the_float64_estimates():
    X, _ = _manifold("sphere", 1500, ambient=150, noise=0.01, seed=3)
    f64 = EigengapDimension(epsilon=0.3, sample_size=200, random_state=0).fit(X)
    f32 = clone(f64).fit(X.astype(np.float32))
    assert f32.local_dimension_.dtype == np.float32
    np.testing.assert_allclose(f32.local_dimension_, f64.local_dimension_, atol=1e-3)
    top = f64.eigenvalues_[:, :1]
    np.testing.assert_allclose(
        f32.eigenvalues_, f64.eigenvalues_, atol=1e-5 * top.max()
    )


def test_eigengap_epsilon_from_an_estimator():
    class FittedScale:
        epsilon_ = 0.3

        def fit(self, X, y=None):
            return self

    class Scale(BaseEstimator):
        def __init__(self, value=0.25):
            self.value = value

        def fit(self, X, y=None):
            self.epsilon_ = self.value
            return self

    X, _ = _manifold("sphere", 500)
    est = EigengapDimension(epsilon=FittedScale()).fit(X)
    assert est.epsilon_ == 0.3 and est.radius_ == pytest.approx(0.9)
    unfitted = Scale()
    est = EigengapDimension(epsilon=unfitted).fit(X)
    assert est.epsilon_ == 0.25 and not hasattr(unfitted, "epsilon_")
    assert est.epsilon_estimator_.epsilon_ == 0.25


def test_eigengap_sample_and_transform():
    X, _ = _manifold("sphere", 1500, noise=0.001)
    est = EigengapDimension(sample_size=300, random_state=0).fit(X)
    assert est.sample_indices_.shape == (300,)
    assert est.local_dimension_.shape == (300,)
    np.testing.assert_allclose(
        est.transform(X[est.sample_indices_])[:, 0], est.local_dimension_, atol=1e-8
    )
    out = est.fit_transform(X)
    assert out.shape == (1500, 1)
    np.testing.assert_allclose(
        out[est.sample_indices_, 0], est.local_dimension_, atol=1e-8
    )
    with pytest.warns(UndefinedDimensionWarning):
        assert np.all(np.isnan(est.transform(X[:3] + 100.0)))


@pytest.mark.parametrize("make", [DoublingDimension, CorrelationDimension])
def test_sampled_rows_and_transform(make):
    X, _ = _manifold("sphere", 2400, noise=0.001)
    full = make(random_state=0, sample_size=None).fit(X)
    est = make(random_state=0, sample_size=600).fit(X)
    rows = est.sample_indices_
    assert rows.shape == (600,) and np.all(np.diff(rows) > 0)
    assert est.local_dimension_.shape == (600,)
    assert est.counts_.shape == (600, est.count_radii_.size)
    # the sampled rows' counts are those of the full pass (all rows as references)
    sel = np.isin(full.count_radii_, est.count_radii_)
    if sel.sum() == est.count_radii_.size:
        np.testing.assert_array_equal(est.counts_, full.counts_[rows][:, sel])
    np.testing.assert_allclose(
        est.transform(X[rows])[:, 0], est.local_dimension_, rtol=1e-12
    )
    out = clone(est).fit_transform(X)
    assert out.shape == (2400, 1)
    np.testing.assert_allclose(out[rows, 0], est.local_dimension_, rtol=1e-12)
    assert abs(est.dimension_ - 2.0) < 0.2
    assert abs(est.dimension_ - full.dimension_) < 0.1


def test_correlation_fit_starts_where_pairs_suffice():
    X, _ = _manifold("ball", 4000, dim=4, noise=0.0)
    est = CorrelationDimension(random_state=0).fit(X)
    start = np.flatnonzero(est.radii_ == est.fit_range_[0])[0]
    assert est.n_pairs_[start] >= est.min_pairs
    # the grid reaches below the radius where a typical point has min_neighbors
    assert est.median_neighbors_[start] < est.min_neighbors
    strict = CorrelationDimension(random_state=0, min_pairs=10**9).fit(X)
    assert np.isfinite(strict.dimension_)  # nothing eligible: documented fallback


# ---------------------------------------------------------------- realistic sizes


@pytest.mark.slow
@pytest.mark.parametrize("kind, dim", [("sphere", None), ("ball", 5)])
def test_noisy_256d_default_scale_within_half(kind, dim):
    """Isotropic noise 0.01 per coordinate in R^256 (noise radius ~0.16), n=20000:
    every scikit-dimension estimator reports 9-54 here."""
    X, d = _manifold(kind, 20000, dim=dim, ambient=256, noise=0.01, seed=0)
    X = X.astype(np.float32)
    noise_scale = 0.01 * np.sqrt(2 * 256)
    for est in (
        DoublingDimension(random_state=0),
        CorrelationDimension(random_state=0),
        EigengapDimension(random_state=0),
    ):
        est.fit(X)
        assert abs(est.dimension_ - d) < 0.5, (type(est).__name__, est.dimension_)
        scale = getattr(est, "radius_", None) or est.fit_range_[0]
        assert scale > 1.5 * noise_scale


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind, dim",
    [
        ("circle", None),
        ("sphere", None),
        ("swiss_roll", None),
        ("torus", None),
        ("ball", 3),
    ],
)
def test_small_noise_256d_known_dimension(kind, dim):
    X, d = _manifold(kind, 20000, dim=dim, ambient=256, noise=0.001, seed=0)
    X = X.astype(np.float32)
    for est in (
        DoublingDimension(random_state=0),
        CorrelationDimension(random_state=0),
        EigengapDimension(random_state=0),
    ):
        est.fit(X)
        assert abs(est.dimension_ - d) < 0.3, (type(est).__name__, est.dimension_)


@pytest.mark.slow
def test_small_noise_5ball_256d():
    """Correlation (small radii: pairs suffice) and eigengap (directions) are
    within 0.3 of 5; the doubling estimate carries the boundary bias that
    test_doubling_boundary_bias_matches_the_exact_volumes quantifies, unless
    the boundary points are left out of the vote."""
    X, d = _manifold("ball", 20000, dim=5, ambient=256, noise=0.001, seed=0)
    X = X.astype(np.float32)
    for est in (
        CorrelationDimension(random_state=0),
        EigengapDimension(random_state=0),
    ):
        est.fit(X)
        assert abs(est.dimension_ - d) < 0.3, (type(est).__name__, est.dimension_)
    # every point's vote (the default leaves boundary points out since
    # issue 15): the boundary bias
    doubling = DoublingDimension(boundary="keep", random_state=0).fit(X)
    assert 4.3 < doubling.dimension_ < 4.9
    # the vote of the points whose 2R-ball is clear of the boundary
    est = DoublingDimension(boundary="exclude", random_state=0).fit(X)
    assert abs(est.dimension_ - d) < 0.3, est.dimension_
    assert est.interior_mask_.sum() >= 100
