"""Tests for :mod:`sksbi_manifold.datasets`."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import kstest
from sklearn.metrics.pairwise import euclidean_distances

import sksbi_manifold.datasets as datasets
from sksbi_manifold.datasets import (
    _cryo,
    load_latents,
    load_parameters,
    make_lifted_manifold,
    make_toy_cryo_latents,
)

KINDS = ["circle", "sphere", "torus", "swiss_roll", "strip", "ball", "cube"]
NATURAL_DIM = {
    "circle": 2,
    "sphere": 3,
    "torus": 4,
    "swiss_roll": 3,
    "strip": 2,
    "ball": 3,
    "cube": 3,
}
INTRINSIC_DIM = {
    "circle": 1,
    "sphere": 2,
    "torus": 2,
    "swiss_roll": 2,
    "strip": 2,
    "ball": 3,
    "cube": 3,
}


def _nn_distances(reference: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Distance from each query row to its nearest reference row (BLAS based)."""
    return euclidean_distances(query, reference).min(axis=1)


# ---------------------------------------------------------------------------
# make_lifted_manifold
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("density", ["uniform", "nonuniform"])
@pytest.mark.parametrize("kind", KINDS)
def test_lifted_shapes_dtypes(kind, density):
    X, coords, dim = make_lifted_manifold(
        kind, 120, ambient_dim=20, noise=0.1, density=density, random_state=0
    )
    assert X.shape == (120, 20) and X.dtype == np.float64
    assert coords.shape == (120, INTRINSIC_DIM[kind])
    assert coords.dtype == np.float64
    assert isinstance(dim, int) and dim == INTRINSIC_DIM[kind]
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("kind", KINDS)
def test_lifted_info_is_isometric_image(kind):
    info = make_lifted_manifold(
        kind, 200, ambient_dim=30, noise=0.05, random_state=3, return_info=True
    )
    Q = info.embedding_matrix
    assert Q.shape == (30, NATURAL_DIM[kind])
    np.testing.assert_allclose(Q.T @ Q, np.eye(Q.shape[1]), atol=1e-12)
    np.testing.assert_allclose(info.clean, info.natural @ Q.T, atol=1e-12)
    # pairwise distances are preserved exactly by the lift
    np.testing.assert_allclose(pdist(info.clean), pdist(info.natural), atol=1e-10)
    assert info.kind == kind and info.dim == INTRINSIC_DIM[kind]
    assert len(info.coord_names) == info.coords.shape[1]
    assert not np.allclose(info.data, info.clean)  # noise was added


@pytest.mark.parametrize("kind", ["circle", "swiss_roll", "cube"])
def test_lifted_deterministic(kind):
    a = make_lifted_manifold(kind, 50, noise=0.1, random_state=7, return_info=True)
    b = make_lifted_manifold(kind, 50, noise=0.1, random_state=7, return_info=True)
    c = make_lifted_manifold(kind, 50, noise=0.1, random_state=8, return_info=True)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.coords, b.coords)
    assert not np.allclose(a.data, c.data)
    # the isometry depends only on the seed, not on the sample
    d = make_lifted_manifold(
        kind, 80, density="nonuniform", random_state=7, return_info=True
    )
    np.testing.assert_array_equal(a.embedding_matrix, d.embedding_matrix)


def test_lifted_noise_free_equals_clean():
    info = make_lifted_manifold("torus", 40, random_state=0, return_info=True)
    np.testing.assert_array_equal(info.data, info.clean)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_sphere_unit_norm_and_angles(k):
    info = make_lifted_manifold(
        "sphere",
        300,
        intrinsic_dim=k,
        ambient_dim=12,
        noise=0.3,
        random_state=1,
        return_info=True,
    )
    np.testing.assert_allclose(np.linalg.norm(info.clean, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(info.natural, axis=1), 1.0, atol=1e-12)
    assert info.coords.shape == (300, k)
    # noise takes points off the sphere
    assert np.abs(np.linalg.norm(info.data, axis=1) - 1.0).mean() > 0.1


def test_sphere_spherical_angles_reconstruct_points():
    info = make_lifted_manifold("sphere", 100, random_state=2, return_info=True)
    theta, phi = info.coords.T
    assert theta.min() >= 0 and theta.max() <= np.pi
    assert phi.min() >= 0 and phi.max() < 2 * np.pi
    rebuilt = np.column_stack(
        [np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)]
    )
    np.testing.assert_allclose(rebuilt, info.natural, atol=1e-12)


def test_sphere_uniform_has_uniform_height():
    # Archimedes: z is uniform on [-1, 1] for the uniform measure on S^2
    info = make_lifted_manifold("sphere", 2000, random_state=4, return_info=True)
    assert kstest(info.natural[:, 2], "uniform", args=(-1, 2)).pvalue > 1e-3


def test_circle_and_torus_coordinates():
    circ = make_lifted_manifold("circle", 100, random_state=0, return_info=True)
    a = circ.coords[:, 0]
    np.testing.assert_allclose(circ.natural, np.column_stack([np.cos(a), np.sin(a)]))
    tor = make_lifted_manifold("torus", 100, random_state=0, return_info=True)
    a, b = tor.coords.T
    expected = np.column_stack([np.cos(a), np.sin(a), np.cos(b), np.sin(b)])
    np.testing.assert_allclose(tor.natural, expected)


def test_noise_std_matches():
    info = make_lifted_manifold(
        "swiss_roll",
        500,
        ambient_dim=256,
        noise=0.2,
        random_state=0,
        return_info=True,
    )
    residual = info.data - info.clean
    assert abs(residual.std() - 0.2) < 0.004
    assert abs(residual.mean()) < 0.003
    # isotropic: the same std along the manifold span and off it
    Q = info.embedding_matrix
    assert abs((residual @ Q).std() - 0.2) < 0.02


def _arc_counts(angles: np.ndarray, n_bins: int = 12) -> np.ndarray:
    # bins centred on 0, pi/6, ...
    width = 2 * np.pi / n_bins
    shifted = np.mod(angles + width / 2, 2 * np.pi)
    return np.bincount((shifted // width).astype(int), minlength=n_bins)


def test_circle_nonuniform_density_ratio():
    _, coords, _ = make_lifted_manifold(
        "circle", 20000, ambient_dim=2, density="nonuniform", random_state=0
    )
    counts = _arc_counts(coords[:, 0])
    ratio = counts.max() / counts.min()
    assert 4 <= ratio <= 12  # von Mises kappa=1: ~e^2 = 7.4
    assert counts.argmax() == 0 and counts.argmin() == 6  # densest at angle 0
    _, coords, _ = make_lifted_manifold("circle", 20000, ambient_dim=2, random_state=0)
    counts = _arc_counts(coords[:, 0])
    assert counts.max() / counts.min() < 1.3


@pytest.mark.parametrize(
    ("kind", "sparse_at"), [("strip", 0.9), ("cube", 0.9), ("torus", 0.45)]
)
def test_nonuniform_tilts_first_coordinate(kind, sparse_at):
    # weight 1 + 0.9 cos(t): dense where t = 0, sparse where t = pi (the end of
    # the strip / cube range, the middle a = pi of the torus angle)
    uni = make_lifted_manifold(kind, 4000, ambient_dim=5, random_state=0)[1][:, 0]
    non = make_lifted_manifold(
        kind, 4000, ambient_dim=5, density="nonuniform", random_state=0
    )[1][:, 0]
    lo, span = uni.min(), np.ptp(uni)
    t = (non - lo) / span
    dense, sparse = np.mean(t < 0.1), np.mean((t > sparse_at) & (t < sparse_at + 0.1))
    assert dense > 5 * sparse
    t = (uni - lo) / span
    dense, sparse = np.mean(t < 0.1), np.mean((t > sparse_at) & (t < sparse_at + 0.1))
    assert 0.7 < dense / sparse < 1.4


def test_strip_aspect_ratio():
    for aspect in (2 * np.pi, 3.0):
        info = make_lifted_manifold(
            "strip", 3000, aspect_ratio=aspect, random_state=0, return_info=True
        )
        x, y = info.coords.T
        assert np.ptp(y) == pytest.approx(4.0, rel=0.01)
        assert np.ptp(x) / np.ptp(y) == pytest.approx(aspect, rel=0.02)
        assert abs(x).max() <= 2 * aspect and abs(y).max() <= 2.0
    _, coords, _ = make_lifted_manifold("strip", 500, random_state=0)
    assert np.ptp(coords[:, 0]) / np.ptp(coords[:, 1]) == pytest.approx(
        2 * np.pi, rel=0.05
    )


def test_swiss_roll_geometry_and_arc_length():
    info = make_lifted_manifold("swiss_roll", 2000, random_state=0, return_info=True)
    u, v = info.coords.T
    assert 0 <= u.min() and u.max() <= 12 and np.abs(v).max() <= 2
    expected = np.column_stack([u / 2 * np.cos(u), v, u / 2 * np.sin(u)])
    np.testing.assert_allclose(info.natural, expected, atol=1e-12)
    # arc length against the length of a fine polyline
    grid = np.linspace(0, 12, 200001)
    curve = np.column_stack([grid / 2 * np.cos(grid), grid / 2 * np.sin(grid)])
    cumulative = np.concatenate(
        [[0], np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))]
    )
    np.testing.assert_allclose(
        info.arc_length, np.interp(u, grid, cumulative), atol=1e-4
    )
    # uniform in area == arc length uniform on [0, L]
    length = cumulative[-1]
    assert kstest(info.arc_length, "uniform", args=(0, length)).pvalue > 1e-3


def test_ball_and_cube_uniform():
    _, coords, dim = make_lifted_manifold("ball", 4000, intrinsic_dim=3, random_state=0)
    radii = np.linalg.norm(coords, axis=1)
    assert dim == 3 and radii.max() <= 1.0
    assert np.mean(radii <= 0.5) == pytest.approx(0.125, abs=0.02)
    _, coords, dim = make_lifted_manifold("cube", 2000, intrinsic_dim=5, random_state=0)
    assert dim == 5 and coords.min() >= 0 and coords.max() <= 1
    np.testing.assert_allclose(coords.mean(axis=0), 0.5, atol=0.03)


def test_laplacian_spectra():
    def spectrum(kind, **kw):
        info = make_lifted_manifold(
            kind, 5, ambient_dim=6, random_state=0, return_info=True, **kw
        )
        return info.laplacian_spectrum

    circle = spectrum("circle")
    np.testing.assert_array_equal(circle[:9], [0, 1, 1, 4, 4, 9, 9, 16, 16])
    sphere = spectrum("sphere")
    values, counts = np.unique(sphere[:16], return_counts=True)
    np.testing.assert_array_equal(values, [0, 2, 6, 12])
    np.testing.assert_array_equal(counts, [1, 3, 5, 7])
    s3 = spectrum("sphere", intrinsic_dim=3)  # l (l + 2), multiplicity (l+1)^2
    np.testing.assert_array_equal(s3[:14], [0] + [3] * 4 + [8] * 9)
    torus = spectrum("torus")
    np.testing.assert_array_equal(
        torus[:21], [0] + [1] * 4 + [2] * 4 + [4] * 4 + [5] * 8
    )
    strip = spectrum("strip")
    width, height = 8 * np.pi, 4.0
    first = [0, (np.pi / width) ** 2, (2 * np.pi / width) ** 2]
    np.testing.assert_allclose(strip[:3], first)
    assert (np.pi / height) ** 2 in strip
    cube = spectrum("cube", intrinsic_dim=2) / np.pi**2
    np.testing.assert_allclose(cube[:8], [0, 1, 1, 2, 4, 4, 5, 5])
    for spec in (circle, sphere, torus, strip, cube, spectrum("swiss_roll")):
        assert spec.shape == (30,) and spec[0] == 0
        assert np.all(np.diff(spec) >= 0)
    assert spectrum("ball") is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "donut"}, r"kind must be one of .*'circle'.*'cube'"),
        ({"kind": "circle", "n_samples": 0}, "n_samples"),
        ({"kind": "circle", "n_samples": 2.5}, "n_samples"),
        ({"kind": "circle", "noise": -0.1}, "noise"),
        ({"kind": "torus", "ambient_dim": 3}, "ambient_dim"),
        ({"kind": "sphere", "intrinsic_dim": 4, "ambient_dim": 4}, "ambient_dim"),
        ({"kind": "circle", "intrinsic_dim": 2}, "intrinsic_dim"),
        ({"kind": "ball", "intrinsic_dim": 0}, "intrinsic_dim"),
        ({"kind": "circle", "density": "clumpy"}, "density"),
        ({"kind": "strip", "aspect_ratio": 0}, "aspect_ratio"),
    ],
)
def test_lifted_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_lifted_manifold(**kwargs)


# ---------------------------------------------------------------------------
# make_toy_cryo_latents
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim():
    return make_toy_cryo_latents(4000, random_state=0)


@pytest.fixture(scope="module")
def exp():
    return make_toy_cryo_latents(2000, domain="experimental", random_state=1)


def test_cryo_shapes_dtypes(sim):
    assert sim.data.shape == (4000, 256) and sim.data.dtype == np.float32
    assert sim.params.shape == (4000, 11) and sim.params.dtype == np.float64
    assert sim.param_names == [
        "theta",
        "log_snr",
        "q0",
        "q1",
        "q2",
        "q3",
        "shift_x",
        "shift_y",
        "defocus",
        "b_factor",
        "amplitude",
    ]
    assert sim.posterior_mean.shape == sim.posterior_width.shape == (4000,)
    assert sim.domain == "simulated" and sim.frame is None
    assert sim.ice_thickness is None
    small = make_toy_cryo_latents(10, latent_dim=16, random_state=0)
    assert small.data.shape == (10, 16) and small.data.dtype == np.float32


def test_cryo_deterministic():
    a = make_toy_cryo_latents(300, random_state=5)
    b = make_toy_cryo_latents(300, random_state=5)
    c = make_toy_cryo_latents(300, random_state=6)
    for field in ("data", "params", "posterior_mean", "posterior_width"):
        np.testing.assert_array_equal(a[field], b[field])
    assert not np.allclose(a.params, c.params)
    rs = np.random.RandomState(5)
    d = make_toy_cryo_latents(300, random_state=rs)
    assert d.data.shape == (300, 256)


def test_cryo_map_independent_of_random_state():
    # the same parameters give the same clean signal whatever the seed
    lmap = _cryo._latent_map(256)
    a = make_toy_cryo_latents(5, random_state=0)
    np.testing.assert_array_equal(lmap.mix, _cryo._latent_map.__wrapped__(256).mix)
    clean = _cryo._clean_signal(a.params, lmap)
    s = a.signal_fraction[:, None]
    centre = lmap.noise_centre
    residual = a.data - (centre + s * (clean - centre))
    assert np.abs(residual).max() < 0.12 * 6  # only the latent noise is left


def test_cryo_parameter_ranges(sim):
    p = dict(zip(sim.param_names, sim.params.T))
    theta = p["theta"]
    np.testing.assert_array_equal(theta, np.round(theta))
    assert set(np.unique(theta)) == set(range(20))
    assert np.log(1e-3) <= p["log_snr"].min() and p["log_snr"].max() <= np.log(1e-1)
    q = sim.params[:, 2:6]
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    assert q[:, 0].min() >= 0
    assert np.abs(p["shift_x"]).max() <= 5 and np.abs(p["shift_y"]).max() <= 5
    assert 0.5 <= p["defocus"].min() and p["defocus"].max() <= 2.0
    assert 1 <= p["b_factor"].min() and p["b_factor"].max() <= 100
    assert 0.05 <= p["amplitude"].min() and p["amplitude"].max() <= 0.15
    # uniform rotations: the rotation angle 2 arccos(q0) has mean pi/2 + 2/pi
    angle = 2 * np.arccos(np.clip(q[:, 0], -1, 1))
    assert angle.mean() == pytest.approx(np.pi / 2 + 2 / np.pi, abs=0.05)


def test_cryo_latents_smooth_in_theta_fixed_params():
    params = make_toy_cryo_latents(64, random_state=3).params
    params[:, 1] = np.log(1e-1)  # high SNR
    lmap = _cryo._latent_map(256)
    curves = []
    for state in range(20):
        p = params.copy()
        p[:, 0] = state
        curves.append(_cryo._clean_signal(p, lmap))
    curves = np.asarray(curves, dtype=np.float64)  # (20, 64, 256)

    def dist(i: int, j: int) -> float:
        return np.linalg.norm(curves[i] - curves[j], axis=1).mean()

    neighbour = np.mean([dist(i, i + 1) for i in range(19)])
    distant = np.mean([dist(i, i + 10) for i in range(10)])
    assert neighbour < 4 and distant > 3 * neighbour
    assert dist(0, 1) < dist(0, 3) < dist(0, 10)


def test_cryo_theta_recoverable_at_high_snr(sim):
    high = sim.params[:, 1] > np.log(3e-2)
    X = sim.data[high].astype(np.float64)
    theta = sim.params[high, 0]
    dist = euclidean_distances(X)
    np.fill_diagonal(dist, np.inf)
    neighbour_theta = theta[dist.argmin(axis=1)]
    assert np.mean(np.abs(neighbour_theta - theta) <= 1) > 0.8
    # mean distance grows with the conformational gap
    gap = np.abs(theta[:, None] - theta[None, :])
    by_gap = [dist[(gap == g) & np.isfinite(dist)].mean() for g in (1, 3, 10)]
    assert by_gap[0] < by_gap[1] < by_gap[2]


def test_cryo_low_snr_concentrated(sim):
    log_snr = sim.params[:, 1]
    lo, hi = np.quantile(log_snr, [1 / 3, 2 / 3])
    X = sim.data.astype(np.float64)

    def spread(mask):
        Y = X[mask]
        return np.linalg.norm(Y - Y.mean(axis=0), axis=1).mean()

    assert spread(log_snr < lo) < 0.5 * spread(log_snr > hi)
    # and low-SNR latents crowd one region: small nearest-neighbour distances
    low = X[log_snr < lo][:800]
    high = X[log_snr > hi][:800]
    d_low = euclidean_distances(low)
    d_high = euclidean_distances(high)
    np.fill_diagonal(d_low, np.inf)
    np.fill_diagonal(d_high, np.inf)
    assert np.median(d_low.min(1)) < np.median(d_high.min(1))


def test_cryo_distance_scale(sim):
    X = sim.data[:1500].astype(np.float64)
    pair = pdist(X)
    assert 6 < np.median(pair) < 16
    assert np.quantile(pair, 0.95) < 30


def test_cryo_posterior_summaries(sim):
    snr = sim.params[:, 1]
    theta = sim.params[:, 0]
    high, low = snr > np.log(5e-2), snr < np.log(2e-3)
    assert sim.posterior_mean.min() >= 0 and sim.posterior_mean.max() <= 19
    assert np.all(sim.posterior_width > 0)
    assert sim.posterior_width[low].mean() > 3 * sim.posterior_width[high].mean()
    err = np.abs(sim.posterior_mean - theta)
    assert err[high].mean() < 1 and err[low].mean() > 2 * err[high].mean()


def test_cryo_experimental_domain(sim, exp):
    assert exp.domain == "experimental" and exp.data.shape == (2000, 256)
    theta = exp.params[:, 0]
    assert theta.min() >= 3 and theta.max() <= 16
    assert set(np.unique(theta)) == set(range(3, 17))
    # log-SNR biased to the upper part of the prior
    mid = np.mean(np.log([1e-3, 1e-1]))
    assert np.mean(exp.params[:, 1] > mid) > 0.65
    assert np.mean(sim.params[:, 1] > mid) == pytest.approx(0.5, abs=0.05)
    assert exp.ice_thickness.shape == (2000,)


def test_cryo_experimental_overlaps_but_differs(sim):
    sim_a = sim.data[:2000].astype(np.float64)
    sim_b = sim.data[2000:].astype(np.float64)
    exp = make_toy_cryo_latents(2000, domain="experimental", random_state=1)
    exp_x = exp.data.astype(np.float64)
    exp_to_sim = _nn_distances(sim_a, exp_x)
    sim_to_sim = _nn_distances(sim_a, sim_b)
    sim_to_exp = _nn_distances(exp_x, sim_b)
    # overlapping: experimental points have simulated neighbours nearly as
    # close as simulated points do
    assert np.median(exp_to_sim) < 1.3 * np.median(sim_to_sim)
    # but not the same distribution (model mismatch)
    assert np.median(exp_to_sim) > np.median(sim_to_sim)
    # simulated covers experimental better than the converse
    assert np.quantile(sim_to_exp, 0.95) > 1.2 * np.quantile(exp_to_sim, 0.95)
    # the mismatch lies along directions absent from simulated data
    lmap = _cryo._latent_map(256)
    ice_sim = (sim_a - sim_a.mean(0)) @ lmap.ice_dirs.T
    ice_exp = (exp_x - exp_x.mean(0)) @ lmap.ice_dirs.T
    assert ice_exp[:, 0].std() > 3 * ice_sim[:, 0].std()


def test_cryo_as_frame():
    pd = pytest.importorskip("pandas")
    b = make_toy_cryo_latents(20, random_state=0, as_frame=True)
    assert isinstance(b.frame, pd.DataFrame)
    assert list(b.frame.columns) == b.param_names
    np.testing.assert_array_equal(b.frame.to_numpy(), b.params)


def test_cryo_as_frame_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    assert make_toy_cryo_latents(5, random_state=0).frame is None
    with pytest.raises(ImportError, match="pip install pandas"):
        make_toy_cryo_latents(5, random_state=0, as_frame=True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_samples": 0}, "n_samples"),
        ({"domain": "real"}, "domain must be one of"),
        ({"latent_dim": 4}, "latent_dim"),
    ],
)
def test_cryo_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_toy_cryo_latents(**kwargs)


@pytest.mark.slow
def test_cryo_fast_at_scale():
    import time

    make_toy_cryo_latents(10, random_state=0)
    start = time.perf_counter()
    b = make_toy_cryo_latents(100_000, random_state=0)
    assert time.perf_counter() - start < 5
    assert b.data.shape == (100_000, 256)


def test_optional_dependencies_imported_lazily():
    root = Path(datasets.__file__).parent
    for source in root.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in {"pandas", "torch"}, (source.name, name)
                assert "_geometry" not in name, (source.name, name)


# ---------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------


@pytest.fixture
def latents():
    return np.random.default_rng(0).standard_normal((7, 4)).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_load_npy_round_trip(tmp_path, latents, dtype):
    path = tmp_path / "x.npy"
    np.save(path, latents.astype(dtype))
    out = load_latents(path)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, latents.astype(dtype))
    np.save(tmp_path / "i.npy", np.arange(6).reshape(3, 2))
    ints = load_latents(str(tmp_path / "i.npy"))
    assert ints.dtype == np.float64 and ints.shape == (3, 2)


def test_load_npz_keys(tmp_path, latents):
    single = tmp_path / "single.npz"
    np.savez(single, anything=latents)
    np.testing.assert_array_equal(load_latents(single), latents)
    named = tmp_path / "named.npz"
    np.savez(named, params=np.zeros((7, 2)), latents=latents)
    np.testing.assert_array_equal(load_latents(named), latents)
    big_x = tmp_path / "X.npz"
    np.savez(big_x, y=np.zeros((7, 1)), X=latents)
    np.testing.assert_array_equal(load_latents(big_x), latents)
    np.testing.assert_array_equal(load_latents(named, key="params"), np.zeros((7, 2)))
    ambiguous = tmp_path / "ambiguous.npz"
    np.savez(ambiguous, a=latents, b=latents)
    with pytest.raises(ValueError, match="key"):
        load_latents(ambiguous)
    with pytest.raises(KeyError, match="nope"):
        load_latents(named, key="nope")


def test_load_csv_round_trip(tmp_path, latents):
    data = latents.astype(np.float64)
    plain = tmp_path / "plain.csv"
    np.savetxt(plain, data, delimiter=",", fmt="%.17g")
    np.testing.assert_array_equal(load_latents(plain), data)
    header = tmp_path / "header.csv"
    np.savetxt(header, data, delimiter=",", fmt="%.17g", header="a,b,c,d", comments="")
    out = load_latents(header)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, data)


def test_load_pt_round_trip(tmp_path, latents):
    torch = pytest.importorskip("torch")
    tensor_path = tmp_path / "x.pt"
    torch.save(torch.from_numpy(latents), tensor_path)
    out = load_latents(tensor_path)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, latents)
    dict_path = tmp_path / "d.pt"
    torch.save(
        {
            "latents": torch.from_numpy(latents),
            "theta": torch.arange(7.0, dtype=torch.float64),
        },
        dict_path,
    )
    np.testing.assert_array_equal(load_latents(dict_path), latents)
    with pytest.raises(ValueError, match="2-D"):
        load_latents(dict_path, key="theta")
    half = tmp_path / "h.pt"
    torch.save(torch.from_numpy(latents).half().requires_grad_(), half)
    assert load_latents(half).dtype == np.float32


def test_load_pt_without_torch(tmp_path, latents, monkeypatch):
    path = tmp_path / "x.pt"
    path.write_bytes(b"not really a tensor")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="pip install torch"):
        load_latents(path)


def test_load_latents_errors(tmp_path):
    missing = tmp_path / "missing.npy"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        load_latents(missing)
    bad_suffix = tmp_path / "x.txt"
    bad_suffix.write_text("1,2\n")
    with pytest.raises(ValueError, match=r"\.npy.*\.npz.*\.csv.*\.pt"):
        load_latents(bad_suffix)
    one_d = tmp_path / "one.npy"
    np.save(one_d, np.arange(5.0))
    with pytest.raises(ValueError, match="2-D"):
        load_latents(one_d)
    three_d = tmp_path / "three.npy"
    np.save(three_d, np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="2-D"):
        load_latents(three_d)
    text = tmp_path / "text.csv"
    text.write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(ValueError, match=r"non-numeric.*'b'"):
        load_latents(text)
    strings = tmp_path / "s.npy"
    np.save(strings, np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="numeric"):
        load_latents(strings)


def test_load_parameters_csv_round_trip(tmp_path):
    sim = make_toy_cryo_latents(25, random_state=0)
    path = tmp_path / "params.csv"
    np.savetxt(
        path,
        sim.params,
        delimiter=",",
        fmt="%.17g",
        header=",".join(sim.param_names),
        comments="",
    )
    values, names = load_parameters(path)
    assert names == sim.param_names
    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, sim.params)
    bare = tmp_path / "bare.csv"
    np.savetxt(bare, sim.params[:, :2], delimiter=",", fmt="%.17g")
    values, names = load_parameters(bare)
    assert names == ["param_0", "param_1"] and values.shape == (25, 2)
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('theta, "log snr"\n1, -3.5\n2,-4e-1\n')
    values, names = load_parameters(quoted)
    assert names == ["theta", "log snr"]
    np.testing.assert_array_equal(values, [[1, -3.5], [2, -0.4]])


def test_load_parameters_npz(tmp_path):
    theta, snr = np.arange(5.0), np.linspace(-6, -2, 5)
    columns = tmp_path / "columns.npz"
    np.savez(columns, theta=theta, log_snr=snr)
    values, names = load_parameters(columns)
    assert names == ["theta", "log_snr"]
    np.testing.assert_array_equal(values, np.column_stack([theta, snr]))
    values, names = load_parameters(columns, key="log_snr")
    assert names == ["log_snr"] and values.shape == (5, 1)
    table = tmp_path / "table.npz"
    np.savez(
        table,
        params=np.column_stack([theta, snr]).astype(np.float32),
        names=np.array(["theta", "log_snr"]),
    )
    values, names = load_parameters(table)
    assert names == ["theta", "log_snr"] and values.dtype == np.float64
    np.testing.assert_allclose(values[:, 1], snr, rtol=1e-6)
    ints = tmp_path / "ints.npz"
    np.savez(ints, theta=np.arange(3))
    values, names = load_parameters(ints)
    assert values.dtype == np.float64 and names == ["theta"]


def test_load_parameters_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.csv"):
        load_parameters(tmp_path / "nowhere.csv")
    pt = tmp_path / "p.pt"
    pt.write_bytes(b"")
    with pytest.raises(ValueError, match=r"\.csv"):
        load_parameters(pt)
    text = tmp_path / "text.csv"
    text.write_text("theta,label\n1,open\n2,closed\n")
    with pytest.raises(ValueError, match=r"non-numeric.*'label'"):
        load_parameters(text)
    mixed = tmp_path / "mixed.npz"
    np.savez(mixed, theta=np.arange(2.0), label=np.array(["open", "closed"]))
    with pytest.raises(ValueError, match=r"non-numeric.*'label'"):
        load_parameters(mixed)
    ragged = tmp_path / "ragged.npz"
    np.savez(ragged, theta=np.arange(2.0), snr=np.arange(3.0))
    with pytest.raises(ValueError, match="equal length"):
        load_parameters(ragged)
    wrong_names = tmp_path / "wrong.npz"
    np.savez(wrong_names, params=np.zeros((4, 3)), names=np.array(["a", "b"]))
    with pytest.raises(ValueError, match="names"):
        load_parameters(wrong_names)
    one_d = tmp_path / "one.npy"
    np.save(one_d, np.arange(4.0))
    with pytest.raises(ValueError, match="2-D"):
        load_parameters(one_d)
    short_header = tmp_path / "short.csv"
    short_header.write_text("a,b\n1,2,3\n")
    with pytest.raises(ValueError):
        load_parameters(short_header)
