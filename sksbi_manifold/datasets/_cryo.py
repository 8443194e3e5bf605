"""A toy of cryoSBI-like latents (random features of the parameters), for fast tests.

The generator mimics the 256-d summary statistics of the cryoSBI
hemagglutinin study: a low-dimensional smooth signal manifold driven by the
conformation, the orientation and the defocus, attenuated and pulled towards a
common "noise centre" as the signal-to-noise ratio falls.
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.utils import Bunch, check_random_state
from threadpoolctl import threadpool_limits

from ._particles import PARAM_NAMES as _PARTICLE_PARAMS

__all__ = ["make_toy_cryo_latents"]

# The forward model's parameters less the atom width, which the toy lacks.
PARAM_NAMES = [name for name in _PARTICLE_PARAMS if name != "sigma"]
_DOMAINS = ("simulated", "experimental")

# Priors (cryoSBI, Appendix A.3). Units: shifts in pixels, defocus in
# micrometres, b-factor in square angstroms, amplitude contrast dimensionless.
N_STATES = 20
LOG_SNR_RANGE = (float(np.log(1e-3)), float(np.log(1e-1)))
SHIFT_MAX = 5.0
DEFOCUS_RANGE = (0.5, 2.0)
B_FACTOR_RANGE = (1.0, 100.0)
AMPLITUDE_RANGE = (0.05, 0.15)
# Experimental domain: partial coverage of the prior.
_EXP_THETA_RANGE = (3, 17)  # middle 14 states 3..16
_EXP_DEFOCUS_RANGE = (0.8, 1.8)

# Fixed latent map (shared by both domains).
_MAP_SEED = 20240613
_MIN_LATENT_DIM = 8
_N_FEATURES = 64  # random Fourier features of the signal variables
_SIGNAL_SCALE = 18.0  # latent radius of the clean signal manifold
_W_THETA = 2.5  # input scale of theta / 19 (path length ~ 45 latent units)
_W_ROTATION = 0.12  # input scale of the 9 rotation-matrix entries
_W_DEFOCUS = 0.15  # input scale of the defocus mapped to [-1, 1]
_NUISANCE_AMPLITUDE = 0.4  # latent effect of shifts, b-factor, amplitude
_NOISE_CENTRE_OFFSET = 10.0  # distance of the noise centre from the signal mean
_NOISE_STD = 0.12  # isotropic latent noise per coordinate
_SNR_MIDPOINT = float(np.log(1e-2))
_SNR_SLOPE = 1.5  # s(snr) = sigmoid(1.5 (log_snr - log 1e-2))
_ICE_AMPLITUDE = 2.0  # experimental-only extra variation


@dataclass(frozen=True)
class _LatentMap:
    """Fixed random quantities defining the signal -> latent map."""

    omega: np.ndarray  # (n_features, 11) frequencies
    phase: np.ndarray  # (n_features,)
    mix: np.ndarray  # (n_features, latent_dim), orthonormal rows when possible
    nuisance_dirs: np.ndarray  # (4, latent_dim) unit vectors
    noise_centre: np.ndarray  # (latent_dim,)
    ice_dirs: np.ndarray  # (2, latent_dim), orthogonal to the signal subspace
    weights: np.ndarray  # (n_features + 4, latent_dim) float32: [18 mix; 0.4 dirs]


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------


def _random_quaternions(n: int, gen: np.random.Generator) -> np.ndarray:
    """Uniform SO(3) rotations as unit quaternions with ``q0 >= 0``."""
    q = gen.standard_normal((n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q *= np.where(q[:, :1] < 0, -1.0, 1.0)
    return q


def _quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(n, 3, 3)`` of unit quaternions ``(w, x, y, z)``."""
    w, x, y, z = q.T
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def _sample_params(n: int, domain: str, gen: np.random.Generator) -> np.ndarray:
    """Draw the 11 simulator parameters (see ``PARAM_NAMES``)."""
    lo, hi = LOG_SNR_RANGE
    if domain == "simulated":
        theta = gen.integers(0, N_STATES, size=n)
        log_snr = gen.uniform(lo, hi, size=n)
        defocus = gen.uniform(*DEFOCUS_RANGE, size=n)
    else:
        theta = gen.integers(*_EXP_THETA_RANGE, size=n)
        # density increasing linearly in log-SNR: biased to high SNR
        log_snr = lo + (hi - lo) * np.sqrt(gen.uniform(size=n))
        defocus = gen.uniform(*_EXP_DEFOCUS_RANGE, size=n)
    quats = _random_quaternions(n, gen)
    shifts = gen.uniform(-SHIFT_MAX, SHIFT_MAX, size=(n, 2))
    b_factor = gen.uniform(*B_FACTOR_RANGE, size=n)
    amplitude = gen.uniform(*AMPLITUDE_RANGE, size=n)
    return np.column_stack(
        [theta.astype(float), log_snr, quats, shifts, defocus, b_factor, amplitude]
    )


def _to_unit(values: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """Map ``[lo, hi]`` linearly onto ``[-1, 1]``."""
    lo, hi = bounds
    return (2.0 * values - (lo + hi)) / (hi - lo)


def signal_fraction(log_snr: np.ndarray) -> np.ndarray:
    """Fraction ``s(snr) = sigmoid(1.5 (log_snr - log 1e-2))`` of signal kept."""
    return 1.0 / (1.0 + np.exp(-_SNR_SLOPE * (np.asarray(log_snr) - _SNR_MIDPOINT)))


# ---------------------------------------------------------------------------
# Fixed latent map
# ---------------------------------------------------------------------------


def _signal_inputs(params: np.ndarray) -> np.ndarray:
    """Scaled signal variables: theta on [0, 1], R entries, defocus on [-1, 1]."""
    rot = _quaternion_to_matrix(params[:, 2:6]).reshape(len(params), 9)
    t = params[:, 0] / (N_STATES - 1)
    dz = _to_unit(params[:, 8], DEFOCUS_RANGE)
    return np.column_stack([_W_THETA * t, _W_ROTATION * rot, _W_DEFOCUS * dz])


def _features(inputs: np.ndarray, omega: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Random Fourier features (unit-bandwidth Gaussian kernel), float32."""
    proj = (inputs @ omega.T + phase).astype(np.float32)
    return np.sqrt(np.float32(2.0 / omega.shape[0])) * np.cos(proj)


def _orthonormal(rows: int, cols: int, gen: np.random.Generator) -> np.ndarray:
    """``(rows, cols)`` matrix with orthonormal columns (``rows >= cols``)."""
    gaussian = gen.standard_normal((rows, cols))
    # small problem: threaded BLAS only adds overhead (badly so on busy machines)
    with threadpool_limits(1, user_api="blas"):
        q, r = np.linalg.qr(gaussian)
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


@functools.lru_cache(maxsize=8)
def _latent_map(latent_dim: int) -> _LatentMap:
    """Build the latent map from the fixed internal seed (not ``random_state``)."""
    gen = np.random.default_rng(_MAP_SEED)
    omega = gen.standard_normal((_N_FEATURES, 11))
    phase = gen.uniform(0.0, 2 * np.pi, size=_N_FEATURES)
    n_signal = min(_N_FEATURES, latent_dim - 3)
    # signal subspace, noise-centre direction and two ice directions
    basis = _orthonormal(latent_dim, n_signal + 3, gen)
    mix = _orthonormal(_N_FEATURES, n_signal, gen) @ basis[:, :n_signal].T
    nuisance = gen.standard_normal((4, latent_dim))
    nuisance /= np.linalg.norm(nuisance, axis=1, keepdims=True)
    reference = _sample_params(4096, "simulated", gen)
    feats = _features(_signal_inputs(reference), omega, phase)
    mean_signal = _SIGNAL_SCALE * feats.mean(axis=0) @ mix
    centre = mean_signal + _NOISE_CENTRE_OFFSET * basis[:, n_signal]
    ice = basis[:, n_signal + 1 : n_signal + 3].T.copy()
    weights = np.vstack([_SIGNAL_SCALE * mix, _NUISANCE_AMPLITUDE * nuisance])
    arrays = [omega, phase, mix, nuisance, centre, ice, weights.astype(np.float32)]
    for a in arrays:
        a.setflags(write=False)
    return _LatentMap(*arrays)


def _clean_signal(params: np.ndarray, lmap: _LatentMap) -> np.ndarray:
    """Noise-free, full-SNR latent signal ``(n, latent_dim)`` in float32."""
    feats = _features(_signal_inputs(params), lmap.omega, lmap.phase)
    nuisance = np.column_stack(
        [
            params[:, 6] / SHIFT_MAX,
            params[:, 7] / SHIFT_MAX,
            _to_unit(params[:, 9], B_FACTOR_RANGE),
            _to_unit(params[:, 10], AMPLITUDE_RANGE),
        ]
    )
    # one float32 product: 18 phi @ M + 0.4 nuisance @ dirs
    design = np.hstack([feats, nuisance.astype(np.float32)])
    return design @ lmap.weights


def _ice_term(thickness: np.ndarray, lmap: _LatentMap) -> np.ndarray:
    """Smooth curve in two directions orthogonal to the signal subspace."""
    curve = np.column_stack([thickness - 0.5, 0.5 * np.cos(np.pi * thickness)])
    return (_ICE_AMPLITUDE * curve).astype(np.float32) @ lmap.ice_dirs.astype(
        np.float32
    )


def _posterior(
    theta: np.ndarray, s: np.ndarray, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior-like mean (shrunk to 9.5, blurred) and width of theta."""
    prior_mean = (N_STATES - 1) / 2.0
    prior_std = float(np.sqrt((N_STATES**2 - 1) / 12.0))
    width = (0.3 + (prior_std - 0.3) * (1.0 - s)) * np.exp(
        0.1 * gen.standard_normal(theta.shape)
    )
    blur = (0.2 + 2.5 * (1.0 - s)) * gen.standard_normal(theta.shape)
    mean = np.clip(theta + (1.0 - s) * (prior_mean - theta) + blur, 0.0, N_STATES - 1)
    return mean, width


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def _check_args(n_samples: object, domain: object, latent_dim: object) -> None:
    for name, value, low in (
        ("n_samples", n_samples, 1),
        ("latent_dim", latent_dim, _MIN_LATENT_DIM),
    ):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
        if value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    if domain not in _DOMAINS:
        raise ValueError(f"domain must be one of {list(_DOMAINS)}, got {domain!r}.")


def _as_frame(params: np.ndarray) -> object:
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            "as_frame=True requires pandas; install it with `pip install pandas`."
        ) from exc
    return pd.DataFrame(params, columns=list(PARAM_NAMES))


def make_toy_cryo_latents(
    n_samples: int = 20000,
    *,
    domain: str = "simulated",
    latent_dim: int = 256,
    random_state: int | np.random.RandomState | None = None,
    as_frame: bool = False,
) -> Bunch:
    """A toy of cryoSBI-like latents: a random-feature map, no images, no encoder.

    Kept for fast unit tests only: its geometry is not that of an encoder's
    latent space (the report on it finds a simulated dimension near 1 and an
    irrelevant SNR). For realistic latents use :func:`make_cryoem_latents`.

    A fast, fully synthetic stand-in for the 256-d summary statistics
    ``x = S_psi(I)`` of the cryoSBI hemagglutinin study (Evans et al.,
    "Cryo-EM images are intrinsically low dimensional", Section 2 and
    Appendix A.1-A.3). No image is simulated: the parameters are drawn from
    the cryoSBI priors and pushed through a fixed smooth map.

    **Parameters (one row each).** ``theta``: conformation index, uniform on
    the 20 states 0..19 of a 1-D conformational path (stored as float);
    ``log_snr``: natural log of the SNR, uniform on
    ``[log 1e-3, log 1e-1]``; ``q0..q3``: a uniformly random SO(3) rotation
    as a unit quaternion with ``q0 >= 0``; ``shift_x, shift_y``: image
    translation in pixels, uniform on ``[-5, 5]``; ``defocus``: uniform on
    ``[0.5, 2.0]`` micrometres; ``b_factor``: uniform on ``[1, 100]``
    square angstroms; ``amplitude``: amplitude contrast, uniform on
    ``[0.05, 0.15]``.

    **Latent model.** With ``s = sigmoid(1.5 (log_snr - log 1e-2))`` in
    ``(0.03, 0.97)`` (the fraction of signal that survives the noise),

    ``x = c + s (f(theta, R, defocus) + g(nuisance) - c) + 0.12 eps``,

    where ``eps`` is standard Gaussian in ``R^latent_dim``. ``f`` is
    ``18 * phi(u) @ M``: 64 random Fourier features ``phi`` (unit-bandwidth
    Gaussian kernel, ``|phi| ~ 1``) of ``u = (2.5 theta/19, 0.12 vec(R),
    0.15 defocus')`` (``R`` the 3x3 rotation matrix, ``defocus'`` the defocus
    mapped to ``[-1, 1]``), mixed into a 64-d subspace of the latent space by
    a matrix ``M`` with orthonormal rows. The induced geometry is that of a
    Gaussian kernel: at full SNR neighbouring conformations are ~2.7 latent
    units apart, the conformational path is ~45 units long and curls through
    many directions so that the end states are ~25 units apart; re-drawing
    the orientation moves a latent by ~5 units, the defocus by ~1.6. ``g``
    moves the latent linearly along fixed directions by at most 0.4 per
    nuisance variable (shifts, b-factor, amplitude; ~0.3 on average): they act
    weakly, below the noise scale. ``c`` is the *noise centre*, 10 units from
    the mean signal in a direction orthogonal to the signal subspace: as the
    SNR falls, latents are pulled towards it and low-SNR images become similar
    to each other (a dense noise region, as in the paper's Appendix
    Figure 4). The map (``phi``, ``M``, ``g``, ``c``) is fixed by an internal
    seed, *not* by ``random_state``, so the simulated and experimental sets
    share it.

    The noise ``0.12 eps`` has norm ~1.9, so two latents with identical
    parameters are ~2.7 apart: this is the floor of nearest-neighbour
    distances. The signal manifold is at most 5-dimensional (theta 1,
    rotation 3, defocus 1) plus the SNR direction, but theta is discrete with
    states about one noise scale apart (so it reads as one continuous
    coordinate), orientation and defocus act more weakly than theta and SNR,
    and the nuisances are buried in the noise. Measured on 20,000 simulated
    rows, the doubling dimension ``log2(N(2R) / N(R))`` at ``R = 6`` is
    ~3.5 at high SNR, ~3 at medium SNR and ~1 at low SNR, where everything
    shrinks into the noise ball; below ``R ~ 4`` (the noise floor) the 256-d
    noise inflates local estimates. Nearest-neighbour distances are ~2.4-3.4
    (median 2.8) and pairwise distances have median ~10 (5%-95%: ~3-18,
    max ~27).

    **Experimental domain.** Same map, with a controlled model mismatch: a
    hidden *ice thickness* ``h ~ U[0, 1]`` adds the smooth curve
    ``2 ((h - 0.5) e1 + 0.5 cos(pi h) e2)`` along two directions orthogonal
    to the signal subspace (absent from the simulator), and the parameters
    cover only part of the prior: ``theta`` in the middle 14 states 3..16,
    defocus in ``[0.8, 1.8]`` and ``log_snr`` with a density increasing
    linearly towards the upper bound. The experimental set thus lies mostly
    inside the simulated one, which covers it better than the converse.

    **Posterior summaries.** ``posterior_width`` grows from ~0.3 at high SNR
    towards the prior standard deviation 5.77 at low SNR (with 10%
    log-normal jitter); ``posterior_mean`` is ``theta`` shrunk towards 9.5
    by ``1 - s``, blurred by Gaussian noise of std ``0.2 + 2.5 (1 - s)`` and
    clipped to ``[0, 19]``.

    Parameters
    ----------
    n_samples : int, default=20000
        Number of latent vectors.
    domain : {"simulated", "experimental"}, default="simulated"
        Which data set to imitate, see above.
    latent_dim : int, default=256
        Dimension of the latent space (at least 8).
    random_state : int, RandomState instance or None, default=None
        Seed for the parameters, the posterior summaries and the latent
        noise. The map itself does not depend on it.
    as_frame : bool, default=False
        If True, also return the parameters as a pandas DataFrame in
        ``frame`` (requires pandas).

    Returns
    -------
    bunch : Bunch
        Fields: ``data`` (n_samples, latent_dim) float32 latents; ``params``
        (n_samples, 11) float64 in the order of ``param_names``;
        ``param_names`` (list of str); ``posterior_mean`` and
        ``posterior_width`` (n_samples,) float64; ``signal_fraction``
        (n_samples,) the factor ``s``; ``ice_thickness`` (n_samples,) for the
        experimental domain, else None; ``domain``; ``frame`` (DataFrame or
        None); ``DESCR``.

    Raises
    ------
    ValueError
        If ``n_samples < 1``, ``latent_dim < 8`` or ``domain`` is unknown.

    Examples
    --------
    >>> from sksbi_manifold.datasets import make_toy_cryo_latents
    >>> sim = make_toy_cryo_latents(500, random_state=0)
    >>> sim.data.shape, sim.data.dtype, sim.params.shape
    ((500, 256), dtype('float32'), (500, 11))
    >>> sim.param_names[:3]
    ['theta', 'log_snr', 'q0']
    >>> exp = make_toy_cryo_latents(300, domain="experimental", random_state=1)
    >>> int(exp.params[:, 0].min()) >= 3, int(exp.params[:, 0].max()) <= 16
    (True, True)
    """
    _check_args(n_samples, domain, latent_dim)
    gen = np.random.default_rng(
        check_random_state(random_state).randint(np.iinfo(np.int32).max)
    )
    lmap = _latent_map(int(latent_dim))
    params = _sample_params(int(n_samples), domain, gen)
    s = signal_fraction(params[:, 1])
    ice = gen.uniform(size=len(params)) if domain == "experimental" else None
    post_mean, post_width = _posterior(params[:, 0], s, gen)

    centre = lmap.noise_centre.astype(np.float32)
    data = _clean_signal(params, lmap)
    data -= centre
    data *= s.astype(np.float32)[:, None]
    data += centre
    if ice is not None:
        data += _ice_term(ice, lmap)
    noise = gen.standard_normal(data.shape, dtype=np.float32)
    noise *= np.float32(_NOISE_STD)
    data += noise
    return Bunch(
        data=data,
        params=params,
        param_names=list(PARAM_NAMES),
        posterior_mean=post_mean,
        posterior_width=post_width,
        signal_fraction=s,
        ice_thickness=ice,
        domain=domain,
        frame=_as_frame(params) if as_frame else None,
        DESCR=f"Synthetic cryoSBI-like latents ({domain} domain).",
    )
