"""Cryo-EM particle images from atomic coordinates (the paper's Appendix A.1).

The electron density of a conformation is a Gaussian mixture on its C-alpha
atoms (width ``sigma``). Each particle is the projection along z of the
density rotated by a uniform random quaternion, convolved with the point
spread function of the microscope (the CTF in Fourier space), translated, and
buried in Gaussian noise whose variance is the mean squared noise-free
intensity inside a circular mask divided by the SNR.

Conventions (those of cryoSBI's simulator code): spatial frequencies ``s`` in
1/Angstrom, defocus in micrometres (underfocus positive), B-factor ``b`` in
square Angstroms with the envelope ``exp(-b s^2 / 2)`` (``b`` is half the
B-factor of RELION's or cryojax's ``exp(-B s^2 / 4)``), and

    CTF(s) = -exp(-b s^2 / 2) [A cos(chi) + sqrt(1 - A^2) sin(chi)]
           = -exp(-b s^2 / 2) sin(chi + arcsin A),   chi = pi dz lambda s^2,

so amplitude and phase contrast add at low frequency, as in cryoSBI's code,
RELION and cryojax (the paper's Appendix A.1 prints the amplitude term with
the opposite sign, which would put a spurious zero near s = 0). lambda is the
relativistic electron wavelength at 300 kV, 0.019687 A (cryoSBI's constant
0.019866 A is the wavelength at 295.6 kV). No spherical aberration.

Two exact shortcuts keep it fast: a Gaussian's projection along z is a 2-D
Gaussian that factorises into an x and a y profile, so an image is one
``(L, n_atoms) @ (n_atoms, L)`` product; and a translation commutes with the
convolution, so it moves the atoms' centres instead of resampling pixels.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import scipy.fft
from joblib import Parallel, delayed
from scipy import constants
from sklearn.utils import Bunch, check_random_state

__all__ = ["ParticlePrior", "ctf", "simulate_particles", "uniform_quaternions"]

VOLTAGE = 300e3  # accelerating voltage, V
# Relativistic electron wavelength, Angstrom: h / sqrt(2 m e V (1 + e V / 2 m c^2)).
WAVELENGTH = (
    1e10
    * constants.h
    / math.sqrt(
        2
        * constants.m_e
        * constants.e
        * VOLTAGE
        * (1 + constants.e * VOLTAGE / (2 * constants.m_e * constants.c**2))
    )
)  # a Python float: numpy scalars would promote the float32 CTF to float64
IMAGE_SIZE = 64  # pixels per side
PIXEL_SIZE = 1.5  # Angstrom: AdK (40-55 A across) fills about half the 96 A box
_CHUNK = 256  # images per task: bounded memory, cache-sized FFTs
MASK_RADIUS = 0.375  # signal mask radius as a fraction of the box (24 px at 64)
PARAM_NAMES = (
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
    "sigma",
)

# Prior of each scalar parameter: (low, high) of a uniform draw; a float fixes
# it. log_snr is the natural log (the paper: log SNR uniform in
# [log 1e-3, log 1e-1]); defocus in micrometres (cryoSBI: 0.5-2 um for
# hemagglutinin); B-factor 1-100 A^2 as cryoSBI; shifts in pixels.
DEFAULT_PRIOR = {
    "log_snr": (float(np.log(1e-3)), float(np.log(1e-1))),
    "shift": (-3.0, 3.0),
    "defocus": (0.5, 2.5),
    "b_factor": (1.0, 100.0),
    "amplitude": (0.1, 0.1),
    "sigma": (0.5, 5.0),
}
_BOUNDS = {  # physical range of each prior: (low, high, closed at low)
    "log_snr": (-np.inf, np.inf),
    "shift": (-np.inf, np.inf),
    "defocus": (0.0, 20.0),
    "b_factor": (0.0, 1e4),
    "amplitude": (0.0, 1.0),
    "sigma": (1e-3, 50.0),
}


class ParticlePrior(dict):
    """Uniform priors of the imaging parameters, validated (a dict subclass)."""

    @classmethod
    def from_overrides(cls, **overrides) -> ParticlePrior:
        unknown = set(overrides) - set(DEFAULT_PRIOR)
        if unknown:
            raise ValueError(
                f"unknown prior(s) {sorted(unknown)}; the priors are "
                f"{sorted(DEFAULT_PRIOR)}"
            )
        prior = cls(DEFAULT_PRIOR)
        for name, value in overrides.items():
            prior[name] = _check_range(name, value)
        return prior

    def draw(self, name: str, n: int, rng) -> np.ndarray:
        low, high = self[name]
        return rng.uniform(low, high, n) if high > low else np.full(n, low)


def _check_range(name: str, value) -> tuple[float, float]:
    if isinstance(value, numbers.Real):
        value = (value, value)
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"prior {name!r} must be a number or a (low, high) pair, got {value!r}"
        ) from None
    lo, hi = _BOUNDS[name]
    if not (np.isfinite(low) and np.isfinite(high)) or low > high:
        raise ValueError(f"prior {name!r} needs finite low <= high, got {value!r}")
    if low < lo or high > hi or (name == "amplitude" and low == 0.0):
        raise ValueError(
            f"prior {name!r} = {value!r} is outside its physical range "
            f"{'(0, 1]' if name == 'amplitude' else f'[{lo}, {hi}]'}"
        )
    return low, high


# --------------------------------------------------------------------------- #
# Building blocks
# --------------------------------------------------------------------------- #
def uniform_quaternions(n: int, rng) -> np.ndarray:
    """Unit quaternions ``(w, x, y, z)`` of rotations uniform on SO(3), w >= 0."""
    q = rng.standard_normal((n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q * np.where(q[:, :1] < 0, -1.0, 1.0)  # q and -q are one rotation


def rotation_matrices(q: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(n, 3, 3)`` of unit quaternions ``(n, 4)``."""
    w, x, y, z = q.T
    return np.stack(
        [
            np.stack(
                [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1
            ),
            np.stack(
                [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1
            ),
            np.stack(
                [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1
            ),
        ],
        axis=1,
    )


def ctf(
    s2: np.ndarray,
    defocus: np.ndarray,
    b_factor: np.ndarray,
    amplitude: np.ndarray,
) -> np.ndarray:
    """The contrast transfer function at squared frequencies ``s2`` (1/A^2).

    ``-exp(-b s2 / 2) [A cos(chi) + sqrt(1 - A^2) sin(chi)]`` with
    ``chi = pi dz lambda s2``; parameters broadcast against ``s2``: defocus
    in micrometres, ``b`` in A^2, amplitude contrast ``A`` in (0, 1].
    """
    chi = np.pi * (defocus * 1e4) * WAVELENGTH * s2
    envelope = np.exp(-0.5 * b_factor * s2)
    return -envelope * (
        amplitude * np.cos(chi) + np.sqrt(1 - amplitude**2) * np.sin(chi)
    )


def _project(
    centres: np.ndarray, sigma: np.ndarray, size: int, pixel_size: float
) -> np.ndarray:
    """Projected Gaussian densities averaged over each pixel: ``(n, L, L)``.

    Rows are y, columns x; ``centres`` (n, n_atoms, 2) in A. Each atom has unit
    mass, so an image sums to ``n_atoms / pixel_area`` (atoms inside the box).
    A pixel integrates the density, as a detector does: it averages k x k
    sub-samples with ``k = ceil(1.5 pixel_size / min(sigma))``, so that
    samples are at most 2/3 of the atom width apart. Then the sampled mass is
    exact to ~1e-7 whatever the sub-pixel position, and each pixel is within
    ~4 % (of the peak) of the exact integral; sampling pixel centres only
    would make an atom's mass swing by +-50 % at the prior's smallest width
    (0.5 A at 1.5 A pixels).
    """
    k = int(_subsamples(pixel_size, sigma).max())
    offsets = (np.arange(k) + 0.5) / k - 0.5
    points = ((np.arange(size) - 0.5 * (size - 1))[:, None] + offsets).ravel()
    points *= pixel_size
    gx = _profiles(centres[..., :1], sigma, points, k)  # (n, atoms, L)
    gy = _profiles(centres[..., 1:], sigma, points, k)
    images = np.matmul(gy.transpose(0, 2, 1), gx)  # (n, L, atoms) @ (n, atoms, L)
    images *= (1.0 / (2.0 * np.pi * k * k * sigma**2)).astype(np.float32)[:, None, None]
    return images


def _subsamples(pixel_size: float, sigma: np.ndarray) -> np.ndarray:
    """Sub-samples per pixel and axis: at most 2/3 of the atom width apart."""
    return np.maximum(1, np.ceil(1.5 * pixel_size / sigma - 1e-9)).astype(int)


def _profiles(centre: np.ndarray, sigma: np.ndarray, points: np.ndarray, k: int):
    """Unnormalised 1-D Gaussians at ``points``, summed over groups of ``k``."""
    inv = (1.0 / (np.sqrt(2.0) * sigma[:, None, None])).astype(np.float32)
    z2 = np.square((points.astype(np.float32) - centre.astype(np.float32)) * inv)
    g = _tail_free_exp(z2)
    return g if k == 1 else sum(g[..., i::k] for i in range(k))


def _tail_free_exp(arg: np.ndarray) -> np.ndarray:
    """exp(-arg) set to 0 beyond arg = 40 (e^-40 ~ 4e-18), in place.

    Gaussian tails would underflow to float32 subnormals, whose arithmetic is
    ~50x slower on x86; the products of two cut profiles stay normal numbers.
    """
    inside = arg < 40.0
    out = np.exp(-np.minimum(arg, 40.0, out=arg), out=arg)
    out *= inside
    return out


_CTF_KEYS = ("defocus", "b_factor", "amplitude")


def _apply_ctf(images: np.ndarray, pixel_size: float, params: dict) -> np.ndarray:
    """Convolve with the PSF on a grid padded to twice the box (no wrap-around)."""
    size = images.shape[-1]
    pad = 2 * size
    freq = scipy.fft.fftfreq(pad, d=pixel_size)
    rfreq = scipy.fft.rfftfreq(pad, d=pixel_size)
    s2 = (freq[:, None] ** 2 + rfreq[None, :] ** 2).astype(np.float32)
    transfer = ctf(
        s2,
        *(params[k][:, None, None].astype(np.float32) for k in _CTF_KEYS),
    )
    spectrum = scipy.fft.rfft2(images, s=(pad, pad))
    out = scipy.fft.irfft2(spectrum * transfer, s=(pad, pad))
    return out[:, :size, :size]


def circular_mask(size: int, radius: float) -> np.ndarray:
    """Boolean mask of the pixels within ``radius`` pixels of the box centre."""
    r = np.arange(size) - 0.5 * (size - 1)
    return r[:, None] ** 2 + r[None, :] ** 2 <= radius**2


def signal_power(images: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean squared intensity inside ``mask`` of each image (the SNR's signal)."""
    return np.mean(images[:, mask] ** 2, axis=1)


def kabsch_rmsd(coords: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """RMSD of each conformation to ``reference`` after optimal superposition."""
    a = coords - coords.mean(axis=1, keepdims=True)
    b = reference - reference.mean(axis=0)
    u, s, vt = np.linalg.svd(np.einsum("nai,aj->nij", a, b))
    # Reflections are not rotations: flip the weakest axis where det < 0.
    s[:, -1] *= np.sign(np.linalg.det(u @ vt))
    msd = (np.sum(a**2, axis=(1, 2)) + np.sum(b**2) - 2 * s.sum(axis=1)) / b.shape[0]
    return np.sqrt(np.maximum(msd, 0.0))


# --------------------------------------------------------------------------- #
# Public simulator
# --------------------------------------------------------------------------- #
def _check_coords(coords) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    if coords.ndim == 2:
        coords = coords[None]
    if coords.ndim != 3 or coords.shape[-1] != 3 or coords.shape[1] < 1:
        raise ValueError(
            "coords must have shape (n_conformations, n_atoms, 3) or "
            f"(n_atoms, 3) in Angstrom, got {np.shape(coords)}"
        )
    if not np.isfinite(coords).all():
        raise ValueError("coords contain NaN or inf")
    return coords - coords.mean(axis=1, keepdims=True)


def _check_theta(theta, coords: np.ndarray) -> np.ndarray:
    if theta is None:
        return kabsch_rmsd(coords, coords[0])
    theta = np.asarray(theta, dtype=float).ravel()
    if theta.shape[0] != coords.shape[0] or not np.isfinite(theta).all():
        raise ValueError(
            f"theta must hold one finite value per conformation "
            f"({coords.shape[0]}), got shape {np.shape(theta)}"
        )
    return theta


def _draw_params(n, n_conf, theta, prior, rng) -> tuple[np.ndarray, dict]:
    conformation = rng.randint(n_conf, size=n)
    params = {
        "theta": theta[conformation],
        "log_snr": prior.draw("log_snr", n, rng),
        "quaternion": uniform_quaternions(n, rng),
        "shift": np.stack([prior.draw("shift", n, rng) for _ in range(2)], axis=1),
    }
    for name in ("defocus", "b_factor", "amplitude", "sigma"):
        params[name] = prior.draw(name, n, rng)
    return conformation, params


def _param_table(params: dict) -> np.ndarray:
    return np.column_stack(
        [params["theta"], params["log_snr"], params["quaternion"], params["shift"]]
        + [params[k] for k in ("defocus", "b_factor", "amplitude", "sigma")]
    )


def _render(coords, conformation, params, size, pixel_size) -> np.ndarray:
    """Noise-free images of one chunk of draws (float64)."""
    rot = rotation_matrices(params["quaternion"])
    centres = np.einsum("nij,naj->nai", rot[:, :2], coords[conformation])
    centres = centres + params["shift"][:, None, :] * pixel_size
    images = _project(centres, params["sigma"], size, pixel_size)
    return _apply_ctf(images, pixel_size, params)


def _check_sizes(n_samples, image_size, pixel_size) -> None:
    if not isinstance(n_samples, numbers.Integral) or n_samples <= 0:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not isinstance(image_size, numbers.Integral) or image_size < 8:
        raise ValueError(f"image_size must be an integer >= 8, got {image_size!r}")
    if not (isinstance(pixel_size, numbers.Real) and 0 < pixel_size < np.inf):
        raise ValueError(f"pixel_size must be a positive number, got {pixel_size!r}")


def _render_chunks(subsamples: np.ndarray) -> list[np.ndarray]:
    """Row chunks of one sub-sampling factor each: most atoms need none
    (``_project``), so one costly factor does not slow a whole chunk."""
    return [
        rows[i : i + _CHUNK]
        for rows in (np.flatnonzero(subsamples == v) for v in np.unique(subsamples))
        for i in range(0, rows.size, _CHUNK)
    ]


def simulate_particles(
    coords,
    n_samples: int,
    *,
    noise: bool = True,
    theta=None,
    image_size: int = IMAGE_SIZE,
    pixel_size: float = PIXEL_SIZE,
    random_state=None,
    n_jobs: int | None = None,
    **prior_overrides,
) -> Bunch:
    """Simulate cryo-EM particle images of a set of conformations.

    The forward model of the paper's Appendix A.1 (see the module docstring
    for units and conventions): a conformation drawn uniformly, a Gaussian
    density on its atoms, a uniform random rotation, projection along z, the
    CTF, a shift and Gaussian noise of variance ``signal / SNR``, where the
    signal is the mean squared noise-free intensity within a circular mask of
    radius ``0.375 * image_size`` pixels.

    Parameters
    ----------
    coords : array-like of shape (n_conformations, n_atoms, 3) or (n_atoms, 3)
        Atomic (e.g. C-alpha) coordinates in Angstrom; each conformation is
        centred on its centroid.
    n_samples : int
        Number of images.
    noise : bool, default=True
        Add the Gaussian noise. ``noise=False`` returns the noise-free images
        of the same draw (same parameters for the same ``random_state``).
    theta : array-like of shape (n_conformations,), default=None
        The conformation parameter of each conformation; by default its C-alpha
        RMSD (Angstrom) to the first conformation after optimal superposition.
    image_size : int, default=64
        Pixels per side.
    pixel_size : float, default=1.5
        Angstrom per pixel.
    random_state : int, RandomState instance or None, default=None
        Seed of the parameter and noise draws.
    n_jobs : int or None, default=None
        Threads over chunks of 256 images (None: 1 unless in a
        :func:`joblib.parallel_config` context; -1: all cores). The images do
        not depend on it.
    **prior_overrides : float or (low, high)
        Uniform priors replacing the defaults, by name: ``log_snr`` (natural
        log of the SNR; default ``(log 1e-3, log 1e-1)``), ``shift`` (pixels,
        ``(-3, 3)``), ``defocus`` (um, ``(0.5, 2.5)``), ``b_factor`` (A^2,
        ``(1, 100)``), ``amplitude`` (``0.1``), ``sigma`` (atom width in A,
        ``(0.5, 5)``). A single number fixes the parameter.

    Returns
    -------
    bunch : Bunch
        ``images`` (n_samples, image_size, image_size) float32 (rows y,
        columns x), ``params`` (n_samples, 12), ``param_names`` (theta,
        log_snr, q0..q3, shift_x, shift_y, defocus, b_factor, amplitude,
        sigma), ``conformation`` (n_samples,) index into ``coords``, and
        ``noise_variance`` (n_samples,).

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.datasets import simulate_particles
    >>> rng = np.random.default_rng(0)
    >>> coords = rng.normal(scale=10.0, size=(2, 50, 3))
    >>> sim = simulate_particles(coords, 8, random_state=0)
    >>> sim.images.shape, sim.params.shape
    ((8, 64, 64), (8, 12))
    """
    coords = _check_coords(coords)
    _check_sizes(n_samples, image_size, pixel_size)
    theta = _check_theta(theta, coords)
    prior = ParticlePrior.from_overrides(**prior_overrides)
    rng = check_random_state(random_state)
    conformation, params = _draw_params(n_samples, coords.shape[0], theta, prior, rng)
    chunks = _render_chunks(_subsamples(pixel_size, params["sigma"]))
    seeds = np.random.SeedSequence(rng.randint(2**31)).spawn(len(chunks))
    mask = circular_mask(image_size, MASK_RADIUS * image_size)

    def render(rows: np.ndarray, seed) -> tuple[np.ndarray, np.ndarray]:
        draw = {k: v[rows] for k, v in params.items()}
        clean = _render(coords, conformation[rows], draw, image_size, pixel_size)
        variance = signal_power(clean, mask) / np.exp(draw["log_snr"])
        if noise:  # one stream per chunk: the same images for any n_jobs
            eps = np.random.default_rng(seed).standard_normal(
                clean.shape, dtype=np.float32
            )
            clean += eps * np.sqrt(variance).astype(np.float32)[:, None, None]
        return clean, variance

    # Threads: the exponentials, products and FFTs release the GIL.
    parts = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(render)(rows, seed) for rows, seed in zip(chunks, seeds)
    )
    images = np.empty((n_samples, image_size, image_size), dtype=np.float32)
    variance = np.empty(n_samples)
    for rows, (clean, var) in zip(chunks, parts):
        images[rows], variance[rows] = clean, var
    return Bunch(
        images=images,
        params=_param_table(params),
        param_names=list(PARAM_NAMES),
        conformation=conformation,
        noise_variance=variance,
    )
