"""Tests for DensityFlatteningSampler and near_reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn import config_context
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.utils import check_random_state
from sklearn.utils.estimator_checks import parametrize_with_checks

from sksbi_manifold._geometry.scales import radius_grid
from sksbi_manifold.sampling import DensityFlatteningSampler, near_reference
from sksbi_manifold.sampling._flattening import (
    _capped_inclusion_probabilities,
    _histogram_entropy,
)

# Test-friendly instances for sklearn's common checks (merged into test_common).
ESTIMATORS = [
    DensityFlatteningSampler(),
    DensityFlatteningSampler(
        min_neighbors=2, n_samples=0.5, replace=True, random_state=0
    ),
    DensityFlatteningSampler(
        min_neighbors=2, degree_quantile=0.1, degree_epsilon=1.0, random_state=0
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _squares(seed, n_dense=5000, n_sparse=500):
    """Two unit squares, density ratio 10 (see :ref:`conv-known-answers`)."""
    rng = np.random.default_rng(seed)
    dense = rng.uniform(0, 1, (n_dense, 2))
    sparse = rng.uniform(0, 1, (n_sparse, 2)) + np.array([2.0, 0.0])
    return np.vstack([dense, sparse])


def _dense_sparse_ratio(n_samples, radius, seeds, *, replace=False, min_neighbors=1):
    dense = sparse = 0
    for seed in seeds:
        X = _squares(seed)
        idx = (
            DensityFlatteningSampler(
                radius=radius,
                min_neighbors=min_neighbors,
                n_samples=n_samples,
                replace=replace,
                random_state=seed,
            )
            .fit(X)
            .sample_indices_
        )
        dense += int((idx < 5000).sum())
        sparse += int((idx >= 5000).sum())
    return dense / sparse


def test_two_densities_flattened_at_ten_percent():
    # 10 before; 0.93 (the bias of 1/N_R at ~4 neighbours), 1.20 with the
    # former successive draw.
    ratio = _dense_sparse_ratio(0.1, 0.05, range(4))
    assert 0.8 < ratio < 1.1


@pytest.mark.slow
def test_two_densities_known_answers():
    """The known answer in full: 20 repetitions, R = 0.05 and 0.1.

    See :ref:`conv-known-answers`.
    """
    seeds = range(20)
    for radius in (0.05, 0.1):
        ratios = [_dense_sparse_ratio(n, radius, seeds) for n in (300, 550, 1000)]
        # measured 0.84 / 0.91 / 1.29 (R = 0.05) and 0.92 / 0.93 / 1.16
        # (R = 0.1); the former successive draw gave 1.00-1.07 / 1.21-1.27 /
        # 1.68-1.76. At n = 1000 the sparse square (500 rows) is nearly
        # exhausted, so 1 is the best any sample without replacement can do.
        assert 0.8 < ratios[0] < 1.1 and 0.8 < ratios[1] < 1.1
        assert ratios[2] < 1.35
    # With replacement there is no saturation: the proportions follow the
    # weights (at R = 0.1 the counts are large enough for 1/N to be unbiased).
    assert abs(_dense_sparse_ratio(1000, 0.1, seeds, replace=True) - 1) < 0.1


def test_isolated_points_always_removed_and_indices_valid():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.uniform(0, 1, (400, 3)), [[10, 10, 10], [-10, 0, 0]]])
    for seed in range(5):
        s = DensityFlatteningSampler(
            radius=0.3, min_neighbors=1, n_samples=0.9, random_state=seed
        ).fit(X)
        assert s.outlier_mask_[-2:].all()
        assert not np.isin([400, 401], s.sample_indices_).any()
        idx = s.sample_indices_
        assert idx.dtype.kind == "i"
        assert np.all(np.diff(idx) > 0)  # sorted and unique
        assert idx.min() >= 0 and idx.max() < X.shape[0]
        assert idx.size == round(0.9 * 400)


def test_counts_masks_and_weights_match_brute_force():
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(size=(150, 4)), rng.normal(size=(50, 4)) * 3])
    radius = 1.2
    s = DensityFlatteningSampler(radius=radius, min_neighbors=3, random_state=0).fit(X)
    counts = (cdist(X, X) <= radius).sum(axis=1) - 1  # self excluded
    np.testing.assert_array_equal(s.neighbor_counts_, counts)
    np.testing.assert_array_equal(s.outlier_mask_, counts < 3)
    np.testing.assert_array_equal(s.inlier_mask_, counts >= 3)
    assert s.radius_ == radius and s.coverage_radius_ is None
    w = s.sample_weight_
    assert np.all(w[s.outlier_mask_] == 0)
    assert w[s.inlier_mask_].mean() == pytest.approx(1.0)
    inl = s.inlier_mask_
    np.testing.assert_allclose(w[inl] * counts[inl], (w[inl] * counts[inl])[0])
    assert s.degree_threshold_ is None


def test_sample_weight_flattens_without_dropping_rows():
    X = _squares(12, 1000, 100)
    w = DensityFlatteningSampler(radius=0.1, min_neighbors=1).fit(X).sample_weight_
    assert w.shape == (1100,)
    # each square gets about the same total weight (10:1 in row counts)
    assert w[:1000].sum() / w[1000:].sum() == pytest.approx(1.0, rel=0.15)


def test_n_samples_resolution_and_capping():
    X = _squares(0, 300, 30)
    s = DensityFlatteningSampler(radius=0.2, n_samples=0.25, random_state=0).fit(X)
    assert s.sample_indices_.size == round(0.25 * s.inlier_mask_.sum())
    n_inl = int(s.inlier_mask_.sum())
    full = DensityFlatteningSampler(radius=0.2, n_samples=n_inl).fit(X)
    np.testing.assert_array_equal(full.sample_indices_, np.flatnonzero(s.inlier_mask_))
    with pytest.raises(ValueError, match=r"n_samples=\d+ exceeds the \d+ inliers"):
        DensityFlatteningSampler(radius=0.2, n_samples=n_inl + 1).fit(X)
    rep = DensityFlatteningSampler(
        radius=0.2, n_samples=2 * n_inl, replace=True, random_state=0
    ).fit(X)
    idx = rep.sample_indices_
    assert idx.size == 2 * n_inl and np.all(np.diff(idx) >= 0)
    assert np.all(rep.inlier_mask_[idx])
    with pytest.raises(ValueError, match="n_samples"):
        DensityFlatteningSampler(n_samples=1.5).fit(X)


def _capped_reference(weight, n):
    """The capped-proportional iteration, step by step."""
    capped = np.zeros(weight.size, dtype=bool)
    while True:
        free = ~capped
        pi = np.where(capped, 1.0, weight * (n - capped.sum()) / weight[free].sum())
        over = free & (pi > 1)
        if not over.any():
            return pi
        capped |= over


def _check_design(s, n):
    """Fixed size, pi summing to n, capped rows drawn, 0 outside the inliers."""
    pi = s.inclusion_probabilities_
    idx = s.sample_indices_
    assert pi.shape == s.sample_weight_.shape
    assert idx.size == n and np.unique(idx).size == n
    assert pi.sum() == pytest.approx(n, rel=1e-12)
    assert np.all((pi >= 0) & (pi <= 1))
    assert np.all(pi[~s.inlier_mask_] == 0)
    assert np.all(s.inlier_mask_[idx])
    assert np.isin(np.flatnonzero(pi == 1), idx).all()
    inl = s.inlier_mask_
    np.testing.assert_allclose(
        pi[inl], _capped_reference(s.sample_weight_[inl], n), rtol=1e-8, atol=1e-8
    )


def test_capped_inclusion_probabilities_match_the_iteration():
    rng = np.random.default_rng(0)
    for _ in range(50):
        w = 1.0 / rng.integers(1, 30, size=40)  # 1 / N_R: many ties
        n = int(rng.integers(1, 41))
        pi = _capped_inclusion_probabilities(w, n)
        np.testing.assert_allclose(pi, _capped_reference(w, n), atol=1e-12)
        assert pi.sum() == pytest.approx(n)
    pi = _capped_inclusion_probabilities(np.array([100.0, 1.0, 1.0, 1.0]), 2)
    np.testing.assert_allclose(pi, [1, 1 / 3, 1 / 3, 1 / 3])


def _mc_set():
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(size=(20, 2)) * 0.3, rng.normal(size=(10, 2)) * 1.5])


@pytest.mark.parametrize("n", [1, 12, 27])
def test_inclusion_frequencies_match_inclusion_probabilities(n):
    """Monte Carlo: 2000 draws on 30 rows (one outlier, 6-7 rows at pi = 1).

    The former successive draw fails this at n = 12 and 27 (capped rows
    missed, frequencies up to 0.05 away from pi); at n = 1 both designs
    draw one row with probability proportional to its weight.
    """
    X = _mc_set()
    s = DensityFlatteningSampler(
        radius=1.5, min_neighbors=1, n_samples=n, random_state=0
    ).fit(X)
    _check_design(s, n)
    assert s.outlier_mask_.sum() == 1
    pi = s.inclusion_probabilities_
    if n == 1:
        np.testing.assert_allclose(pi, s.sample_weight_ / s.sample_weight_.sum())
    else:
        assert (pi == 1).sum() >= 6
    pool = np.flatnonzero(s.inlier_mask_)
    weight = s.sample_weight_[pool]
    rng = check_random_state(0)
    n_rep = 2000
    hits = np.zeros(X.shape[0])
    for _ in range(n_rep):
        idx, _ = s._draw(pool, weight, rng)
        assert idx.size == n
        hits[idx] += 1
    freq = hits / n_rep
    se = np.sqrt(pi * (1 - pi) / n_rep)
    assert np.all(np.abs(freq - pi) <= 4 * se)  # exact for pi in {0, 1}


def _blocks(seed, sizes):
    """Adjacent unit squares ``[k, k + 1] x [0, 1]`` of ``sizes[k]`` points."""
    rng = np.random.default_rng(seed)
    return np.vstack(
        [rng.uniform(0, 1, (m, 2)) + np.array([k, 0.0]) for k, m in enumerate(sizes)]
    )


def _block_counts(idx, sizes):
    return np.histogram(idx, bins=np.r_[0, np.cumsum(sizes)])[0]


_STEP = (9000, 900)  # the user report: density step 10 between two squares
_STEP_RADIUS = float(np.sqrt(100 / (9000 * np.pi)))  # ~100 vs ~10 neighbours


def _step_fits(fraction, seeds=range(3)):
    out = []
    for seed in seeds:
        s = DensityFlatteningSampler(
            radius=_STEP_RADIUS, min_neighbors=1, n_samples=fraction, random_state=seed
        ).fit(_blocks(seed, _STEP))
        out.append(s)
    return out


def test_density_step_flattened_at_ten_percent():
    # measured 0.93 / 0.99 / 1.01 (seeds 0-2); the former successive draw
    # gave 1.42 / 1.41 / 1.27
    counts = 0
    for s in _step_fits(0.1):
        _check_design(s, 990)
        counts = counts + _block_counts(s.sample_indices_, _STEP)
    assert 1 / 1.2 <= counts[0] / counts[1] <= 1.2  # both squares have area 1


def test_density_step_at_half_reaches_the_bound():
    """At 50% a flat sample would need 2475 of the 900 sparse rows.

    No design without replacement can beat (4950 - 900) / 900 = 4.5: the
    sparse square must be drawn whole. Measured 4.52 / 4.51 / 4.53 (a few
    sparse rows by the dense square have large counts, pi < 1); the former
    successive draw gave 4.59 / 4.57 / 4.55 and missed rows at pi = 1.
    """
    counts = 0
    for s in _step_fits(0.5):
        _check_design(s, 4950)
        counts = counts + _block_counts(s.sample_indices_, _STEP)
    assert counts[0] / counts[1] <= 1.01 * (4950 - 900) / 900


def test_density_step_two_at_half_flattened():
    # where a flat 50% sample exists (step 2): measured 1.06 over seeds 0-4,
    # the former successive draw 1.28
    sizes = (2000, 1000)
    radius = float(np.sqrt(10 / (1000 * np.pi)))
    counts = 0
    for seed in range(5):
        s = DensityFlatteningSampler(
            radius=radius, min_neighbors=1, n_samples=0.5, random_state=seed
        ).fit(_blocks(seed, sizes))
        _check_design(s, 1500)
        counts = counts + _block_counts(s.sample_indices_, sizes)
    assert 1 / 1.2 <= counts[0] / counts[1] <= 1.2


def test_three_level_density_step_flattened():
    # densities 1x, 5x, 25x (10 neighbours in the sparse square), 5% drawn:
    # measured 5x/1x 0.94 and 25x/1x 1.00 (seeds 0-2), the former
    # successive draw 1.18 and 1.37
    sizes = (400, 2000, 10000)
    radius = float(np.sqrt(10 / (400 * np.pi)))
    counts = 0
    for seed in range(3):
        s = DensityFlatteningSampler(
            radius=radius, min_neighbors=1, n_samples=0.05, random_state=seed
        ).fit(_blocks(seed, sizes))
        _check_design(s, 620)
        counts = counts + _block_counts(s.sample_indices_, sizes)
    ratios = counts[1:] / counts[0]
    assert np.all((1 / 1.2 <= ratios) & (ratios <= 1.2))


def test_smooth_density_gradient_flattened():
    # density ~ exp(x) on [0, 3] x [0, 1] (20x from end to end), ~20
    # neighbours at x = 0, 12% drawn. Measured last/first third 0.91 / 0.98 /
    # 0.89 (seeds 0-2), the former successive draw 1.45 / 1.35 / 1.29.
    n = 10000
    radius = float(np.sqrt(20 * (np.e**3 - 1) / (n * np.pi)))
    thirds = 0
    sixths = 0
    for seed in range(3):
        rng = np.random.default_rng(seed)
        x = np.log1p(rng.uniform(size=n) * (np.e**3 - 1))  # inverse CDF
        X = np.c_[x, rng.uniform(size=n)]
        s = DensityFlatteningSampler(
            radius=radius, min_neighbors=1, n_samples=0.12, random_state=seed
        ).fit(X)
        _check_design(s, 1200)
        x_kept = x[s.sample_indices_]
        thirds = thirds + np.histogram(x_kept, bins=3, range=(0, 3))[0]
        sixths = sixths + np.histogram(x_kept, bins=6, range=(0, 3))[0]
    assert 1 / 1.2 <= thirds[2] / thirds[0] <= 1.2
    # slope of log density: 1 before, ~0.15 with the former draw
    slope = np.polyfit(np.arange(6) * 0.5 + 0.25, np.log(sixths), 1)[0]
    assert abs(slope) < 0.08


@pytest.mark.parametrize("n_left", [1, 5, 20])
def test_n_samples_close_to_inliers_draws_every_capped_row(n_left):
    # 900 / 90 rows, ~100 / ~10 neighbours: most rows are capped at pi = 1.
    # The former successive draw missed capped rows in 12 of these 15 fits.
    radius = float(np.sqrt(100 / (900 * np.pi)))
    for seed in range(5):
        s = DensityFlatteningSampler(radius=radius, min_neighbors=1, random_state=seed)
        X = _blocks(seed, (900, 90))
        n = int(s.fit(X).inlier_mask_.sum()) - n_left
        s.set_params(n_samples=n).fit(X)
        _check_design(s, n)
        assert (s.inclusion_probabilities_ == 1).sum() > n // 2  # 69-100% capped


def test_single_draw_and_determinism():
    X = _blocks(0, (300, 30))
    s = DensityFlatteningSampler(radius=0.2, min_neighbors=1, n_samples=1)
    a = clone(s).set_params(random_state=3).fit(X)
    b = clone(s).set_params(random_state=3).fit(X)
    _check_design(a, 1)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    np.testing.assert_array_equal(
        a.inclusion_probabilities_, b.inclusion_probabilities_
    )
    w = a.sample_weight_
    np.testing.assert_allclose(a.inclusion_probabilities_, w / w.sum())
    drawn = {
        int(clone(s).set_params(random_state=k).fit(X).sample_indices_[0])
        for k in range(20)
    }
    assert len(drawn) > 10
    # with replacement: probability of appearing at least once
    rep = clone(s).set_params(n_samples=50, replace=True, random_state=0).fit(X)
    p = w / w.sum()
    np.testing.assert_allclose(rep.inclusion_probabilities_, 1 - (1 - p) ** 50)


@pytest.mark.parametrize("kind", ["none", "1d", "2d", "series", "frame"])
def test_fit_resample_keeps_y_aligned(kind):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 3))
    ids = np.arange(120, dtype=float)
    y = {
        "none": None,
        "1d": ids,
        "2d": np.c_[ids, -ids],
        "series": pd.Series(ids, index=ids.astype(int) + 1000),
        "frame": pd.DataFrame({"id": ids, "neg": -ids}, index=ids.astype(int) + 1000),
    }[kind]
    s = DensityFlatteningSampler(min_neighbors=2, random_state=0)
    out = s.fit_resample(X, y)
    assert isinstance(out, tuple) and len(out) == 2
    X_res, y_res = out
    np.testing.assert_array_equal(X_res, X[s.sample_indices_])
    if y is None:
        assert y_res is None
        return
    first = np.asarray(y_res)[:, 0] if np.ndim(y_res) == 2 else np.asarray(y_res)
    np.testing.assert_array_equal(first, s.sample_indices_)
    assert type(y_res) is type(y)
    if kind in ("series", "frame"):
        np.testing.assert_array_equal(y_res.index, s.sample_indices_ + 1000)


def test_pandas_x_stays_pandas_and_dtype_is_kept():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(4)
    df = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    df.index = df.index + 500
    s = DensityFlatteningSampler(min_neighbors=2, random_state=0)
    X_res, _ = s.fit_resample(df)
    assert isinstance(X_res, pd.DataFrame)
    assert list(X_res.columns) == ["a", "b", "c"]
    np.testing.assert_array_equal(X_res.index, s.sample_indices_ + 500)
    np.testing.assert_array_equal(s.feature_names_in_, ["a", "b", "c"])
    X32 = rng.normal(size=(80, 3)).astype(np.float32)
    X_res32, _ = s.fit_resample(X32)
    assert X_res32.dtype == np.float32


def test_same_seed_same_sample_at_any_n_jobs():
    X = _squares(5, 600, 60)
    a = DensityFlatteningSampler(n_samples=0.3, random_state=7).fit(X)
    b = DensityFlatteningSampler(n_samples=0.3, random_state=7, n_jobs=2).fit(X)
    c = DensityFlatteningSampler(n_samples=0.3, random_state=8).fit(X)
    np.testing.assert_array_equal(a.sample_indices_, b.sample_indices_)
    assert a.radius_ == b.radius_
    assert not np.array_equal(a.sample_indices_, c.sample_indices_)


def test_auto_radius_rule_and_flattening():
    X = _squares(6, 1500, 150)
    s = DensityFlatteningSampler(n_samples=0.1, random_state=0).fit(X)
    grid = radius_grid(X, 20, random_state=check_random_state(0))
    assert np.isclose(grid, s.radius_).any()
    counts = (cdist(X, X)[:, :, None] <= grid).sum(axis=1) - 1
    feasible = (np.median(counts, axis=0) >= 16) & (np.mean(counts < 8, axis=0) <= 0.05)
    entropy = np.array([_histogram_entropy(c) for c in counts.T])
    best = grid[np.argmax(np.where(feasible, entropy, -np.inf))]
    assert s.radius_ == pytest.approx(best)
    assert s.outlier_mask_.mean() <= 0.05
    # the sparse square survives and is flattened (10 before)
    idx = s.sample_indices_
    assert (idx < 1500).sum() / (idx >= 1500).sum() < 1.5


def test_histogram_entropy():
    assert _histogram_entropy(np.full(50, 7)) == 0.0
    uniform = np.repeat(np.arange(20) * 5 + 2, 10)  # one value per bin
    assert _histogram_entropy(uniform) == pytest.approx(np.log(20))


def test_auto_radius_warns_when_min_neighbors_unreachable():
    X = np.random.default_rng(0).normal(size=(12, 2))
    with pytest.warns(UserWarning, match="min_neighbors"):
        s = DensityFlatteningSampler(min_neighbors=11, n_samples=1).fit(X)
    assert s.outlier_mask_.mean() < 1


def test_coverage_filter_with_x_ref():
    rng = np.random.default_rng(7)
    X = rng.uniform(0, 4, (500, 2))
    X_ref = rng.uniform(0, 1, (100, 2))
    s = DensityFlatteningSampler(radius=0.3, n_samples=0.5, random_state=0)
    s.fit(X, X_ref=X_ref)
    near = cdist(X, X_ref).min(axis=1) <= 0.3
    np.testing.assert_array_equal(s.inlier_mask_, near & ~s.outlier_mask_)
    assert s.coverage_radius_ == 0.3
    assert np.all(near[s.sample_indices_])
    assert np.all(s.sample_weight_[~near] == 0)
    wide = clone(s).set_params(coverage_radius=1.0).fit(X, X_ref=X_ref)
    assert (
        wide.coverage_radius_ == 1.0 and wide.inlier_mask_.sum() > s.inlier_mask_.sum()
    )
    with pytest.raises(ValueError, match="no X_ref was passed"):
        clone(wide).fit(X)
    with pytest.raises(ValueError, match="no inlier of X lies within"):
        clone(s).fit(X, X_ref=X_ref + 100)
    with pytest.raises(ValueError, match="X_ref has 3 features"):
        clone(s).fit(X, X_ref=np.zeros((3, 3)))


def test_near_reference_matches_brute_force_and_includes_boundary():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    X_ref = rng.normal(size=(40, 5)).astype(np.float32)
    d = cdist(X.astype(np.float64), X_ref.astype(np.float64)).min(axis=1)
    r = float(np.median(d))
    mask = near_reference(X, X_ref, r, n_jobs=2)
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, d <= r)
    grid = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 4.1]])
    np.testing.assert_array_equal(near_reference(grid, [[0.0, 0.0]], 5.0), [1, 1, 0])
    with pytest.raises(ValueError, match="same space"):
        near_reference(X, X_ref[:, :3], 1.0)
    with pytest.raises(ValueError, match="radius"):
        near_reference(X, X_ref, -1.0)


def test_degree_filter_drops_bottom_quantile_of_kernel_degrees():
    rng = np.random.default_rng(9)
    X = np.vstack([rng.normal(size=(300, 3)), rng.normal(size=(30, 3)) * 4])
    eps = 0.8
    s = DensityFlatteningSampler(
        radius=1.0,
        min_neighbors=1,
        n_samples=200,
        degree_quantile=0.1,
        degree_epsilon=eps,
        random_state=0,
    ).fit(X)
    plain = clone(s).set_params(degree_quantile=0.0).fit(X)
    drawn = plain.sample_indices_  # same seed: the same draw before the filter
    d = cdist(X[drawn], X[drawn])
    degree = np.where(d <= 3 * eps, np.exp(-(d**2) / eps**2), 0).sum(axis=1)
    threshold = np.quantile(degree, 0.1)
    assert s.degree_threshold_ == pytest.approx(threshold)
    np.testing.assert_array_equal(s.sample_indices_, drawn[degree >= threshold])
    assert 175 <= s.sample_indices_.size <= 181
    with pytest.raises(ValueError, match="needs degree_epsilon"):
        clone(s).set_params(degree_epsilon=None).fit(X)


def test_clear_errors_on_bad_input():
    X = np.random.default_rng(10).normal(size=(50, 3))
    with pytest.raises(ValueError, match="no point has a neighbour within radius"):
        DensityFlatteningSampler(radius=1e-6).fit(X)
    with pytest.raises(ValueError, match="all 50 rows have fewer than min_neighbors"):
        DensityFlatteningSampler(radius=0.3, min_neighbors=40).fit(X)
    with pytest.raises(ValueError, match="identical"):
        DensityFlatteningSampler(radius=1.0).fit(np.ones((20, 3)))
    with pytest.raises(ValueError, match="1 sample"):
        DensityFlatteningSampler().fit(X[:1])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        DensityFlatteningSampler().fit_resample(X, np.arange(49))
    X_nan = X.copy()
    X_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DensityFlatteningSampler().fit(X_nan)
    with pytest.raises(ValueError, match="min_neighbors"):
        DensityFlatteningSampler(min_neighbors=0).fit(X)


def test_is_a_sampler_not_a_transformer():
    s = DensityFlatteningSampler()
    assert s._estimator_type == "sampler"
    assert s.__sklearn_tags__().estimator_type == "sampler"
    assert not hasattr(s, "transform")
    # sklearn's own Pipeline cannot host a sampler (documented)
    X = np.random.default_rng(0).normal(size=(40, 2))
    with pytest.raises(TypeError):
        make_pipeline(s, Ridge()).fit(X, X[:, 0])


def test_in_imblearn_pipeline():
    pytest.importorskip("imblearn")
    from imblearn.base import is_sampler
    from imblearn.pipeline import Pipeline
    from sklearn.model_selection import KFold, cross_val_score
    from sklearn.neighbors import KNeighborsRegressor

    rng = np.random.default_rng(11)
    X = _squares(11, 400, 40)
    y = X[:, 0] + X[:, 1] + 0.01 * rng.normal(size=X.shape[0])
    sampler = DensityFlatteningSampler(
        radius=0.2, min_neighbors=2, n_samples=0.25, random_state=0
    )
    assert is_sampler(sampler)
    pipe = Pipeline([("flatten", sampler), ("knn", KNeighborsRegressor(5))])
    pipe.fit(X, y)
    n_kept = pipe.named_steps["flatten"].sample_indices_.size
    assert n_kept == round(
        0.25 * (440 - pipe.named_steps["flatten"].outlier_mask_.sum())
    )
    assert pipe.named_steps["knn"].n_samples_fit_ == n_kept
    assert pipe.predict(X).shape == (440,)  # the sampler is skipped at predict
    scores = cross_val_score(pipe, X, y, cv=3, error_score="raise")
    assert np.all(np.isfinite(scores))
    # the coverage reference reaches the sampler through metadata routing
    X_ref = X[:60]  # part of the dense square
    with config_context(enable_metadata_routing=True):
        flat = clone(sampler).set_fit_request(X_ref=True)
        flat.set_fit_resample_request(X_ref=True)
        routed = Pipeline([("flatten", flat), ("knn", KNeighborsRegressor(5))])
        routed.fit(X, y, X_ref=X_ref)
        fitted = routed.named_steps["flatten"]
        assert fitted.coverage_radius_ == 0.2
        assert np.all(cdist(X[fitted.sample_indices_], X_ref).min(axis=1) <= 0.2)
        # X_ref is not row-aligned: every fold gets it whole
        cv = KFold(3, shuffle=True, random_state=0)
        scores = cross_val_score(
            routed, X, y, cv=cv, params={"X_ref": X_ref}, error_score="raise"
        )
    assert np.all(np.isfinite(scores))


@pytest.mark.parametrize("copies", [1, 8, 30])
def test_radius_grid_low_end_ignores_duplicated_rows(copies):
    # With every row repeated, the k_low-NN distance is 0: the grid used to
    # start at an arbitrary 1e-3 of its top; now at the same length scale as
    # without the copies (the 5th distinct neighbour).
    rng = np.random.default_rng(copies)
    base = rng.uniform(size=(400, 3))
    X = np.repeat(base, copies, axis=0)
    grid = radius_grid(X, 10, random_state=check_random_state(0))
    ref = radius_grid(base, 10, random_state=check_random_state(0))
    assert grid[0] == pytest.approx(ref[0], rel=0.25)
    assert grid[0] > 0.05 * grid[-1]
    with pytest.raises(ValueError, match="duplicate"):
        radius_grid(np.ones((50, 3)), 10, random_state=check_random_state(0))


def test_sampler_feature_names_out_are_the_input_columns():
    pd = pytest.importorskip("pandas")

    X = np.random.default_rng(0).uniform(size=(300, 3))
    s = DensityFlatteningSampler(n_samples=0.5, random_state=0)
    s.fit(pd.DataFrame(X, columns=["a", "b", "c"]))
    assert s.get_feature_names_out().tolist() == ["a", "b", "c"]
    plain = DensityFlatteningSampler(n_samples=0.5, random_state=0).fit(X)
    assert plain.get_feature_names_out().tolist() == ["x0", "x1", "x2"]
    with pytest.raises(ValueError):
        s.get_feature_names_out(["a", "b", "z"])
