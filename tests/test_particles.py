"""Known answers of the cryo-EM forward model and the AdK structures."""

import numpy as np
import pytest
from scipy.optimize import brentq

from sksbi_manifold.datasets import load_adk, simulate_particles
from sksbi_manifold.datasets._particles import (
    WAVELENGTH,
    circular_mask,
    ctf,
    kabsch_rmsd,
    rotation_matrices,
    signal_power,
    uniform_quaternions,
)

# CTF = -1 everywhere (a pure amplitude object in focus, no envelope): images
# are the negated projections.
NO_CTF = {"amplitude": 1.0, "defocus": 0.0, "b_factor": 0.0}


def radial_profile(power: np.ndarray, pixel_size: float):
    """Radial average of a centred 2-D power spectrum, in 1-pixel rings."""
    size = power.shape[-1]
    f = np.fft.fftshift(np.fft.fftfreq(size))
    r = np.hypot(*np.meshgrid(f, f, indexing="ij")) * size
    ring = np.rint(r).astype(int)
    keep = ring < size // 2
    prof = np.bincount(ring[keep], power[keep]) / np.bincount(ring[keep])
    return np.arange(prof.size) / (size * pixel_size), prof


def test_one_atom_is_the_analytic_gaussian():
    sigma, pixel = 2.5, 1.5
    sim = simulate_particles(
        np.zeros((1, 3)),
        3,
        noise=False,
        sigma=sigma,
        shift=0.0,
        random_state=0,
        **NO_CTF,
    )
    grid = (np.arange(64) - 31.5) * pixel
    r2 = grid[:, None] ** 2 + grid[None, :] ** 2
    expected = np.exp(-r2 / (2 * sigma**2)) / (2 * np.pi * sigma**2)
    # The PSF is -identity, so only float32 rounding separates the two.
    for image in sim.images:  # any rotation of one atom at the origin
        np.testing.assert_allclose(-image, expected, atol=2e-6 * expected.max())


@pytest.mark.parametrize("sigma", [0.5, 0.8, 1.2, 1.6, 3.0])
def test_narrow_atoms_are_pixel_integrated(sigma):
    """Below a pixel, each pixel holds the atom's integral over it: exact mass."""
    from scipy.special import erf

    rng = np.random.default_rng(int(10 * sigma))
    atom = rng.uniform(-2, 2, size=(1, 1, 3))
    pair = np.concatenate([atom, -atom], axis=1)
    sim = simulate_particles(
        pair,
        50,
        noise=False,
        sigma=sigma,
        shift=(-0.5, 0.5),
        random_state=0,
        **NO_CTF,
    )
    images = -sim.images
    mass = images.sum(axis=(1, 2)) * 1.5**2
    np.testing.assert_allclose(mass, 2.0, rtol=2e-6)  # point samples: +-50 %
    edges = (np.arange(65) - 32) * 1.5
    rot = rotation_matrices(sim.params[:, 2:6])
    worst = 0.0
    for image, r, shift in zip(images, rot, sim.params[:, 6:8] * 1.5):
        exact = 0.0
        for sign in (1, -1):
            cx, cy = sign * (r @ atom[0, 0])[:2] + shift
            px = np.diff(erf((edges - cx) / (np.sqrt(2) * sigma))) / 2
            py = np.diff(erf((edges - cy) / (np.sqrt(2) * sigma))) / 2
            exact = exact + np.outer(py, px) / 1.5**2
        worst = max(worst, np.abs(image - exact).max() / exact.max())
    assert worst < 0.04


def test_off_centre_atoms_rotate_with_the_quaternion():
    # coords are centred per conformation: two symmetric atoms stay put.
    atom = np.array([[[6.0, -3.0, 9.0]]])
    pair = np.concatenate([atom, -atom], axis=1)
    sim = simulate_particles(
        pair, 5, noise=False, sigma=3.0, shift=0.0, random_state=1, **NO_CTF
    )
    rot = rotation_matrices(sim.params[:, 2:6])
    grid = (np.arange(64) - 31.5) * 1.5
    for image, r in zip(-sim.images, rot):
        xy = (r @ atom[0, 0])[:2]
        expected = sum(
            np.exp(
                -((grid[None, :] - s * xy[0]) ** 2 + (grid[:, None] - s * xy[1]) ** 2)
                / (2 * 3.0**2)
            )
            for s in (1, -1)
        ) / (2 * np.pi * 3.0**2)
        np.testing.assert_allclose(image, expected, atol=1e-5 * expected.max())


def test_ctf_zeros_of_the_radial_power_spectrum():
    """Minima of the radially averaged spectrum sit at the analytic CTF zeros."""
    rng = np.random.default_rng(0)
    pixel, amp = 1.5, 0.1
    for defocus in (0.5, 0.8, 1.5):
        # Many small atoms spread over the box: a nearly white object spectrum.
        coords = rng.uniform(-40, 40, size=(1, 2000, 3))
        sim = simulate_particles(
            coords,
            16,
            noise=False,
            sigma=0.6,
            shift=0.0,
            defocus=defocus,
            b_factor=0.0,
            amplitude=amp,
            image_size=128,
            random_state=2,
        )
        power = np.mean(
            np.abs(np.fft.fftshift(np.fft.fft2(sim.images), axes=(1, 2))) ** 2, axis=0
        )
        s, prof = radial_profile(power, pixel)

        def transfer(x, defocus=defocus):
            return ctf(x**2, defocus, 0.0, amp)

        grid = np.linspace(0.01, s[-1], 4000)
        vals = transfer(grid)
        zeros = [
            brentq(transfer, a, b)
            for a, b, fa, fb in zip(grid[:-1], grid[1:], vals[:-1], vals[1:])
            if fa * fb < 0
        ]
        # Each analytic zero that is > 3 rings from its neighbours is a local
        # minimum of the measured profile, found within one ring of it.
        ring = 1.0 / (128 * pixel)
        zeros_arr = np.asarray(zeros)
        checked = 0
        for z in zeros_arr:
            k = round(z / ring)
            nearest = np.sort(np.abs(zeros_arr - z))[1] if zeros_arr.size > 1 else 1.0
            if k < 3 or k > prof.size - 4 or nearest < 3 * ring:
                continue
            window = prof[k - 1 : k + 2]
            assert window.min() < 0.2 * prof[k - 3 : k + 4].max()
            assert abs(s[k - 1 + window.argmin()] - z) <= 1.01 * ring
            checked += 1
        assert checked >= 2
        # analytic: chi(s) = pi dz lambda s^2 = k pi - arcsin(A) at the zeros
        chi = np.pi * defocus * 1e4 * WAVELENGTH * np.square(zeros)
        np.testing.assert_allclose(
            (chi + np.arcsin(amp)) / np.pi, np.arange(1, len(zeros) + 1), atol=1e-6
        )
        assert abs(WAVELENGTH - 0.019687) < 1e-6  # relativistic, 300 kV


def test_measured_snr_matches_the_request():
    adk = load_adk()
    for snr in (0.003, 0.03, 0.1):
        kw = dict(log_snr=np.log(snr), random_state=3)
        noisy = simulate_particles(adk.coords, 400, **kw)
        clean = simulate_particles(adk.coords, 400, noise=False, **kw)
        np.testing.assert_array_equal(noisy.params, clean.params)
        mask = circular_mask(64, 0.375 * 64)
        noise = noisy.images - clean.images
        measured = signal_power(clean.images, mask) / noise.reshape(400, -1).var(axis=1)
        assert abs(np.median(measured) / snr - 1) < 0.05
        np.testing.assert_allclose(
            noise.var(axis=(1, 2)), clean.noise_variance, rtol=0.1
        )


def test_rotated_z_axis_is_uniform_on_the_sphere():
    rng = np.random.default_rng(4)
    q = uniform_quaternions(40000, rng)
    z = rotation_matrices(q)[:, :, 2]  # image of the z axis
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-12)
    # Uniform on S^2 <=> each coordinate uniform on [-1, 1] (Archimedes).
    for j in range(3):
        hist = np.histogram(z[:, j], bins=10, range=(-1, 1))[0]
        assert np.abs(hist / 4000 - 1).max() < 0.06
    assert np.abs(z.mean(axis=0)).max() < 0.02
    det = np.linalg.det(rotation_matrices(q[:50]))
    np.testing.assert_allclose(det, 1.0, atol=1e-12)


def test_shift_moves_the_centroid_by_the_given_pixels():
    adk = load_adk()
    kw = dict(noise=False, sigma=2.0, random_state=5, **NO_CTF)
    base = simulate_particles(adk.coords, 6, shift=0.0, **kw)
    moved = simulate_particles(adk.coords, 6, shift=(-4.0, 4.0), **kw)
    grid = np.arange(64)

    def centroid(images):
        w = images.sum(axis=(1, 2))
        return np.stack(
            [
                (images.sum(axis=1) * grid).sum(1) / w,
                (images.sum(axis=2) * grid).sum(1) / w,
            ],
            axis=1,
        )  # (x, y) in pixels

    delta = centroid(moved.images) - centroid(base.images)
    np.testing.assert_allclose(delta, moved.params[:, 6:8], atol=0.02)
    assert np.abs(moved.params[:, 6:8]).max() > 1.0


def test_ctf_envelope_and_amplitude():
    s2 = np.linspace(0, 0.1, 50)
    np.testing.assert_allclose(ctf(s2, 0.0, 0.0, 0.07), -0.07)
    np.testing.assert_allclose(ctf(s2, 0.0, 40.0, 1.0), -np.exp(-20.0 * s2))
    # amplitude and phase contrast add: -sin(chi + arcsin A)
    chi = np.pi * 1.5e4 * WAVELENGTH * s2
    np.testing.assert_allclose(
        ctf(s2, 1.5, 0.0, 0.1), -np.sin(chi + np.arcsin(0.1)), atol=1e-12
    )


def test_same_draw_for_any_n_jobs_and_seed():
    adk = load_adk(n_conformations=3)
    a = simulate_particles(adk.coords, 300, random_state=7, n_jobs=1)
    b = simulate_particles(adk.coords, 300, random_state=7, n_jobs=2)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.images.dtype == np.float32 and a.images.shape == (300, 64, 64)
    assert a.param_names[:2] == ["theta", "log_snr"]
    theta = kabsch_rmsd(adk.coords, adk.coords[0])
    np.testing.assert_allclose(a.params[:, 0], theta[a.conformation])


def test_default_theta_is_rmsd_to_the_first_conformation():
    adk = load_adk()
    theta = kabsch_rmsd(adk.coords, adk.coords[0])
    assert theta[0] < 1e-6 and np.all(np.diff(theta) > 0)
    # the shipped RMSDs are to the closed crystal structure (frame 0 is 0.46 A off)
    assert abs(np.corrcoef(theta, adk.rmsd)[0, 1] - 1) < 1e-3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(coords=np.zeros((5, 2))), "coords must have shape"),
        (dict(coords=np.full((2, 3), np.nan)), "NaN"),
        (dict(n_samples=0), "n_samples"),
        (dict(n_samples=2.5), "n_samples"),
        (dict(amplitude=0.0), "amplitude"),
        (dict(amplitude=1.5), "amplitude"),
        (dict(defocus=(-1.0, 2.0)), "defocus"),
        (dict(sigma=0.0), "sigma"),
        (dict(b_factor=(5.0, 1.0)), "low <= high"),
        (dict(snr=0.1), "unknown prior"),
        (dict(log_snr=np.inf), "finite"),
        (dict(pixel_size=0.0), "pixel_size"),
        (dict(image_size=4), "image_size"),
        (dict(theta=[1.0, 2.0, 3.0]), "theta"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"coords": np.ones((2, 4, 3)) * np.arange(4)[:, None], "n_samples": 4}
    args.update({k: kwargs.pop(k) for k in list(kwargs) if k in args})
    with pytest.raises(ValueError, match=match):
        simulate_particles(args["coords"], args["n_samples"], **kwargs)


def test_load_adk_paths():
    for path, n_frames in (("dims", 98), ("dims2", 102), ("tmd", 100)):
        adk = load_adk(path, None)
        assert adk.coords.shape == (n_frames, 214, 3)
        assert np.all(np.diff(adk.rmsd) > -0.05)  # monotone closed -> open
        assert 0.3 < adk.rmsd[0] < 0.6 and 6.8 < adk.rmsd.max() < 7.0
        np.testing.assert_allclose(adk.coords.mean(axis=1), 0.0, atol=1e-2)
    sub = load_adk("dims", 20, rmsd_range=(0.0, 6.0))
    assert sub.coords.shape[0] == 20 and sub.rmsd.max() <= 6.0
    assert np.ptp(np.diff(sub.rmsd)) < 0.25  # evenly spaced in RMSD
    with pytest.raises(ValueError, match="rmsd_range"):
        load_adk(rmsd_range=(10, 11))
    with pytest.raises(ValueError, match="path"):
        load_adk("open")
    with pytest.raises(ValueError, match="n_conformations"):
        load_adk(n_conformations=0)
