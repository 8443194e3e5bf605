"""User-reported hard cases of the dimension estimators, and variations.

Components far apart and far outliers (the scale must come from the bulk),
radii beyond the diameter or below the nearest neighbour (saturated or empty
balls are no dimension), too few rows, extreme magnitudes and offsets (the
engine rescales and centres before its GEMM), and ``n_jobs=0``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sksbi_manifold.datasets import make_lifted_manifold
from sksbi_manifold.dimension import (
    CorrelationDimension,
    DoublingDimension,
    EigengapDimension,
    GrideDimension,
    UndefinedDimensionWarning,
)
from sksbi_manifold.dimension._scan import scan_bounds

ESTIMATORS = (
    DoublingDimension,
    CorrelationDimension,
    EigengapDimension,
    GrideDimension,
)


def _sphere(n, seed, ambient=3):
    return make_lifted_manifold("sphere", n, ambient_dim=ambient, random_state=seed)[0]


def _fit_all(X, seed=0):
    """dimension_ of the three estimators, with no UndefinedDimensionWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedDimensionWarning)
        return [cls(random_state=seed).fit(X).dimension_ for cls in ESTIMATORS]


def _components(n_each, n_comp, seed, gap=1000.0):
    """``n_comp`` unit 2-spheres of ``n_each`` rows, ``gap`` apart."""
    parts = [
        _sphere(n_each, 10 * seed + c) + gap * c * np.eye(3)[c % 3]
        for c in range(n_comp)
    ]
    return np.vstack(parts)


# ------------------------------------------------ 1. components and outliers


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_far_components_give_their_dimension(seed, dtype):
    X = _sphere(300, seed)
    two = np.vstack([X, X + 1000.0 * np.eye(3)[0]]).astype(dtype)
    for d in _fit_all(two, seed):
        assert abs(d - 2.0) < 0.3, d


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_components_smaller_than_max_fraction(seed, dtype):
    """Ten components of 10 % each: the max_fraction ball reaches the others
    (1000 away). The grid used to start at 1e-3 of that, above the
    components' diameter (doubling 0.00, correlation 0.27, eigengap 3.0)."""
    X = _components(100, 10, seed).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedDimensionWarning)
        ests = [cls(random_state=seed).fit(X) for cls in ESTIMATORS]
    for est in ests:
        assert abs(est.dimension_ - 2.0) < 0.3, (type(est).__name__, est.dimension_)
    assert ests[0].radius_ < 1.0  # within a component (diameter 2)
    assert ests[1].fit_range_[1] < 2.0
    assert ests[2].radius_ < 2.0


def test_unequal_components_and_scan_bounds():
    rng = np.random.default_rng(0)
    X = np.vstack([_components(100, 6, 0), _sphere(400, 7) - 5000.0])
    X = X[rng.permutation(len(X))]  # rows of all components interleaved
    lo, hi = scan_bounds(X, min_neighbors=10, max_fraction=0.2, random_state=0)
    assert lo < 1.0 and hi < 100.0  # the bulk's scale, not the gaps'
    for d in _fit_all(X):
        assert abs(d - 2.0) < 0.3, d


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_far_outliers(seed, dtype):
    X = _sphere(600, seed)
    added = np.vstack([X, np.full((1, 3), 1e6)]).astype(dtype)
    replaced = X.copy()
    replaced[0] = 1e6
    replaced[1, 2] = -1e6
    for data in (added, replaced.astype(dtype)):
        for d in _fit_all(data, seed):
            assert np.isfinite(d) and abs(d - 2.0) < 0.3, d


# ------------------------------------------------ 2. saturated / empty balls


def test_radius_above_the_diameter_raises_naming_the_saturation_scale():
    X = _sphere(600, 1)  # diameter 2
    for radius in (1.0, 2.5, 10.0, [2.0, 10.0]):
        with pytest.raises(ValueError, match=r"radius=.*saturate.*well below 0\.99"):
            DoublingDimension(radius=radius).fit(X)
    with pytest.raises(ValueError, match=r"radii=.*saturate.*well below 1\.99"):
        CorrelationDimension(radii=[10.0, 20.0, 40.0]).fit(X)
    with pytest.raises(ValueError, match="radii="):
        CorrelationDimension(radii=[0.3, 2.5, 5.0]).fit(X)  # one radius left


@pytest.mark.parametrize("radius", [0.4, 0.6, 0.9, 1.0, 1.5, 3.0, 100.0])
def test_a_fixed_radius_never_reads_zero(radius):
    """Either a real estimate (a 2-sphere: near 2 below saturation) or an
    error; log2(1) = 0 from saturated counts is never returned."""
    X = _sphere(2000, 0)
    try:
        est = DoublingDimension(radius=radius, random_state=0).fit(X)
    except ValueError as exc:
        assert "saturate" in str(exc) and radius >= 1.0
        return
    assert radius < 1.0 and est.dimension_ > 1.0


def test_saturated_radii_of_a_grid_are_not_chosen():
    X = _sphere(600, 1)
    est = DoublingDimension(radius=[0.2, 0.3, 1.5, 5.0]).fit(X)
    assert est.radius_ in (0.2, 0.3) and abs(est.dimension_ - 2.0) < 0.4
    with pytest.warns(UndefinedDimensionWarning, match=r"radii \[2\.5, 5\.0\]"):
        cd = CorrelationDimension(radii=[0.1, 0.2, 0.4, 2.5, 5.0]).fit(X)
    assert cd.fit_radii_.max() == 0.4 and abs(cd.dimension_ - 2.0) < 0.3


def test_radius_below_the_nearest_neighbour_names_that_scale():
    X = _sphere(600, 1)
    for est, param in (
        (DoublingDimension(radius=1e-6), "radius"),
        (DoublingDimension(radius=[1e-7, 1e-6]), "radius"),
        (CorrelationDimension(radii=[1e-7, 1e-6]), "radii"),
    ):
        with pytest.raises(ValueError, match=rf"Increase {param} above 0\.0"):
            est.fit(X)


# ------------------------------------------------ 3. too few rows


@pytest.mark.parametrize("n", [3, 5, 9])
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fewer_than_ten_rows_raise(cls, n):
    X = np.random.default_rng(0).normal(size=(n, 3))
    with pytest.raises(ValueError, match="minimum of 10 is required"):
        cls().fit(X)


@pytest.mark.parametrize("n", [10, 12, 16])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_few_rows_warn_and_never_read_zero(n, seed):
    """Below 2 * min_neighbors + 2 rows: warned, and not the silent near-0 of
    the saturated counts (10 rows of 3-D data: doubling 0.00, correlation
    0.02-0.04 before; 12-16 rows at most 0.45 and 0.07 over 8 seeds; now at
    least 0.61 and 0.45 -- a few rows cannot show 3 dimensions)."""
    X = np.random.default_rng(seed).normal(size=(n, 3))
    for cls, floor in zip(ESTIMATORS, (0.5, 0.3, 0.5, 0.5)):
        with pytest.warns(UndefinedDimensionWarning, match=f"{n} rows are too few"):
            est = cls(random_state=seed).fit(X)
        assert est.dimension_ > floor, (cls.__name__, est.dimension_)


def test_enough_rows_for_a_curve_do_not_warn():
    X = make_lifted_manifold("circle", 100, ambient_dim=3, random_state=0)[0]
    for d in _fit_all(X):  # no UndefinedDimensionWarning
        assert abs(d - 1.0) < 0.3


def test_saturation_at_every_radius_warns():
    """56 rows of a 10-cube: every ball with neighbours doubles into all rows."""
    X = np.random.default_rng(0).uniform(size=(56, 10))
    with pytest.warns(UndefinedDimensionWarning, match="holds all other rows"):
        est = DoublingDimension(random_state=0).fit(X)
    outer = np.searchsorted(est.count_radii_, 2 * est.radius_ * (1 - 1e-12))
    inner = np.searchsorted(est.count_radii_, est.radius_ * (1 - 1e-12))
    full = est.counts_[:, outer] >= len(X) - 1
    assert full.any() and np.isnan(est.local_dimension_[full]).all()
    defined = ~full & (est.counts_[:, inner] > 0)
    assert np.isfinite(est.local_dimension_[defined]).all()


# ------------------------------------------------ 4. magnitudes


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("exponent", [-700, -300, -60, 60, 300, 700])
def test_power_of_two_scaling_gives_identical_estimates(cls, exponent):
    X = _sphere(600, 1)
    base = cls(random_state=0).fit(X)
    scaled = cls(random_state=0).fit(X * 2.0**exponent)
    # exact rescaling: same counts and radii (the correlation slope differs in
    # the last bit: its log radii are shifted by exponent * log 2)
    np.testing.assert_allclose(scaled.dimension_, base.dimension_, rtol=1e-12)
    np.testing.assert_allclose(
        scaled.local_dimension_, base.local_dimension_, rtol=1e-12
    )
    attr = "fit_range_" if cls is CorrelationDimension else "radius_"
    np.testing.assert_array_equal(
        np.divide(getattr(scaled, attr), 2.0**exponent), getattr(base, attr)
    )


@pytest.mark.parametrize("factor", [1e200, 1e-200, 1e300])
def test_huge_and_tiny_float64(factor):
    X = _sphere(600, 1)
    for d, d0 in zip(_fit_all(X * factor), _fit_all(X)):
        assert abs(d - d0) < 0.02


@pytest.mark.parametrize("factor", [1e20, 1e-20, 2.0**100, 1e36])
def test_huge_and_tiny_float32(factor):
    """Legal float32 data whose squared distances overflow (1e20: 0.0 before)."""
    X = _sphere(600, 1).astype(np.float32)
    for d, d0 in zip(_fit_all(X * np.float32(factor)), _fit_all(X)):
        assert abs(d - d0) < 0.05


def test_eigengap_spectrum_in_user_units():
    X = _sphere(600, 1)
    base = EigengapDimension(random_state=0).fit(X)
    est = EigengapDimension(random_state=0).fit(X * 2.0**40)
    np.testing.assert_allclose(est.eigenvalues_, base.eigenvalues_ * 2.0**80)
    assert est.epsilon_ == base.epsilon_ * 2.0**40


# ------------------------------------------------ 5. offsets


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ambient", [3, 20])
def test_far_offset_float64(seed, ambient):
    """A 2-sphere shifted by 1e8 (doubling 1.37 and 0.75 before)."""
    X = _sphere(2000, seed, ambient)
    for d, d0 in zip(_fit_all(X + 1e8, seed), _fit_all(X, seed)):
        assert abs(d - d0) < 0.05, (d, d0)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("offset", [1e3, 1e5])
def test_far_offset_float32(seed, offset):
    """float32 shifted by 1e5 (doubling 0.34 before; the offset quantises the
    coordinates to 0.008, which moves the estimate a little)."""
    X = _sphere(2000, seed)
    shifted = (X + offset).astype(np.float32)
    for d in _fit_all(shifted, seed):
        assert abs(d - 2.0) < 0.15, d


# ------------------------------------------------ 6. n_jobs


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_n_jobs_zero_is_rejected_naming_it(cls):
    X = _sphere(200, 0)
    with pytest.raises(ValueError, match="'n_jobs' parameter"):
        cls(n_jobs=0).fit(X)
    for n_jobs in (None, 1, -1, -2):
        cls(n_jobs=n_jobs, random_state=0).fit(X)


# ------------------------------------- high dimension: a bound, never silent
def _high_dim(kind, d, seed, n=2500):
    rng = np.random.default_rng(seed)
    Z = rng.uniform(size=(n, d)) if kind == "cube" else rng.normal(size=(n, d))
    rotation = np.linalg.qr(rng.normal(size=(d + 3, d + 3)))[0]
    return np.c_[Z, np.zeros((n, 3))] @ rotation


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kind, d", [("cube", 17), ("gaussian", 20)])
def test_dimension_out_of_reach_is_flagged_as_a_lower_bound(kind, d, seed):
    # 2,500 rows cannot show a 17-20 dimensional manifold at a local scale:
    # Eigengap collapsed to ~1.1 and Doubling read 6-9, both silently.
    X = _high_dim(kind, d, seed)
    for Est in ESTIMATORS:
        with pytest.warns(UndefinedDimensionWarning, match="only a lower bound"):
            est = Est(random_state=seed).fit(X)
        assert est.dimension_is_lower_bound_
        # a bound, and below the truth; GRIDE's calibration on uniform
        # references lifts its reading (cube 17: 14.2 -> 16.1-16.7) but no
        # further than 5 % past the truth (the Gaussian has no boundary)
        assert getattr(est, "dimension_uncalibrated_", est.dimension_) < d
        assert est.dimension_ < 1.05 * d


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("d", [8, 12])
def test_never_below_half_the_dimension_without_a_warning(d, seed):
    X = _high_dim("cube", d, seed)
    for Est in ESTIMATORS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedDimensionWarning)
            est = Est(random_state=seed).fit(X)
        assert est.dimension_is_lower_bound_ or est.dimension_ >= d / 2


@pytest.mark.parametrize("kind, d", [("ball", 3), ("sphere", 2), ("swiss_roll", 2)])
def test_resolvable_dimension_is_not_flagged(kind, d):
    X, _, _ = make_lifted_manifold(
        kind,
        4000,
        intrinsic_dim=d if kind != "swiss_roll" else None,
        ambient_dim=20,
        random_state=0,
    )
    for Est in ESTIMATORS:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UndefinedDimensionWarning)
            est = Est(random_state=0).fit(X)
        assert not est.dimension_is_lower_bound_


def _burr_paraboloid(d, n, seed):
    """The benchmark's Mp manifolds: a d-paraboloid of Burr-distributed
    coordinates (a density with a dense core and heavy tails), in R^(3(d+1))."""
    E = np.random.default_rng(seed).exponential(size=(d + 1, n))
    Z = (1 + E[1:] / E[0]).T ** -1.0
    Z = np.c_[Z, (Z**2).sum(axis=1)]
    return np.hstack([Z, np.sin(Z), Z**2])


@pytest.mark.parametrize("d", [6, 9])
def test_nonuniform_density_is_flagged_for_the_counts(d):
    """Ball counts grow with the dense core: correlation read 2.7-2.9 and
    doubling 1.4-3.9 on these (d = 6, 9), silently; the neighbour ratios
    read 5.5-7.3 and cross-check them."""
    X = _burr_paraboloid(d, 2500, 0)
    for Est in (CorrelationDimension, DoublingDimension):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UndefinedDimensionWarning)
            est = Est(random_state=0).fit(X)
        if Est is CorrelationDimension or est.dimension_ < d / 2:
            assert est.dimension_ < d / 2 and est.dimension_is_lower_bound_
            assert any("non-uniform density" in str(w.message) for w in caught)
        assert est.ratio_dimension_ > d / 2
    gride = GrideDimension(random_state=0).fit(X)
    assert gride.dimension_ > 0.75 * d


def _beta_core(d, n, seed, fold=True):
    """Coordinates Beta(10, 0.5) (density singular at 1: a dense corner) in
    R^(4d): folded as the benchmark's Mbeta (``x sin(cos(2 pi x))``, ...) or
    lifted by plain smooth maps."""
    Z = np.random.default_rng(seed).beta(10.0, 0.5, size=(n, d))
    if not fold:
        return np.hstack([Z, np.sin(3 * Z), np.cos(2 * Z), Z**3])
    a = Z * np.sin(np.cos(2 * np.pi * Z))
    b = Z * np.cos(np.sin(2 * np.pi * Z))
    return np.hstack([a, b, a, b])


def _check_no_silent_collapse(est, caught, d):
    if est.dimension_ < 0.75 * est.ratio_dimension_ or not est.dimension_ > d / 2:
        assert est.dimension_is_lower_bound_
        assert any("non-uniform density" in str(w.message) for w in caught)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("fold", [True, False])
@pytest.mark.parametrize("d", [8, 10])
def test_dense_corner_never_collapses_silently(d, fold, seed):
    """Mbeta: correlation read 4.05 for ID 10 (0.61 of the neighbour-ratio
    estimate) without a warning; near-uniform manifolds read >= 0.92 of it.
    On these variants the neighbour-ratio check itself is sometimes only a
    lower bound; the dense-minority share of the counts still flags them."""
    X = _beta_core(d, 2500, seed, fold)
    for Est in (CorrelationDimension, DoublingDimension):
        if Est is DoublingDimension and fold and seed == 1:
            continue  # test_doubling_on_a_folded_dense_corner
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UndefinedDimensionWarning)
            est = Est(random_state=0).fit(X)
        _check_no_silent_collapse(est, caught, d)
        if fold and Est is CorrelationDimension:
            assert est.dimension_is_lower_bound_  # the benchmark's collapse


@pytest.mark.xfail(
    strict=True,
    reason="known weakness: the doubling scan settles at a radius whose "
    "2R-balls hold a fifth of the rows and reads 1.5-1.8 for ID 8-10, with "
    "counts that look uniform there and a neighbour-ratio check that is only "
    "a lower bound (issue 19)",
)
@pytest.mark.parametrize("d", [8, 10])
def test_doubling_on_a_folded_dense_corner(d):
    X = _beta_core(d, 2500, 1, fold=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedDimensionWarning)
        est = DoublingDimension(random_state=0).fit(X)
    _check_no_silent_collapse(est, caught, d)


def test_unresolved_ratio_check_flags_nothing():
    # On the shipped cryo-EM latents (noisy, R^256) the GRIDE check of 1,000
    # rows reads ~15 and is itself only a lower bound (its neighbourhoods span
    # the rows): it cannot certify that the doubling estimate is one.
    from sksbi_manifold.datasets import load_cryoem_latents

    X = load_cryoem_latents("experimental", n_samples=5000).data
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedDimensionWarning)
        est = DoublingDimension(random_state=0).fit(X)
    assert est.ratio_dimension_ > 2 * est.dimension_  # would have been flagged
    assert not est.dimension_is_lower_bound_
