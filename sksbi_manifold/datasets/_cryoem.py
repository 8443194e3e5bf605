"""cryoSBI-like latents: AdK particles simulated, then encoded by the NPE network.

Two domains share the encoder (``_encoder.py``) and differ by a documented,
physical model mismatch:

``"simulated"``
    The training distribution of the encoder: 20 conformations of the DIMS
    path with C-alpha RMSD up to 6 A, the default priors of
    :func:`simulate_particles` (log SNR uniform in [log 1e-3, log 1e-1],
    defocus 0.5-2.5 um, B-factor 1-100 A^2) and white Gaussian noise.
``"experimental"``
    What a real particle stack departs from it by: conformations from the two
    other, independent transition paths (DIMS2 and targeted MD), every frame,
    so intermediate structures differ from the simulated ones and RMSDs run
    past the simulated open end (to 6.9 A); defocus 1-2.5 um and B-factor
    50-150 A^2 (a worse microscope than assumed); an SNR density biased to low
    SNR (log10 SNR = -3 + 2 Beta(1.2, 2.5)); and noise that is half white,
    half 1/f (incompletely whitened, with ice-like low-frequency structure),
    at the same variance.
"""

from __future__ import annotations

import functools
import numbers
from importlib import resources

import numpy as np
from sklearn.utils import Bunch, check_random_state

from ._adk import load_adk
from ._encoder import encode_images
from ._particles import PARAM_NAMES, simulate_particles

__all__ = ["SIMULATED_RMSD", "load_cryoem_latents", "make_cryoem_latents"]

DEFAULT_FILE = "data/cryoem_default.npz"
_ARRAY_KEYS = ("data", "params", "posterior_mean", "posterior_width")

SIMULATED_RMSD = (0.0, 6.0)  # A: the simulated conformations stop before the open end
_EXPERIMENTAL_PRIOR = {"defocus": (1.0, 2.5), "b_factor": (50.0, 150.0)}
_EXPERIMENTAL_SNR_BETA = (1.2, 2.5)  # log10 SNR = -3 + 2 Beta(a, b): mostly low SNR
_PINK_FRACTION = 0.5  # variance share of the 1/f noise component


def _conformations(domain: str) -> tuple[np.ndarray, np.ndarray]:
    if domain == "simulated":
        adk = load_adk("dims", 20, rmsd_range=SIMULATED_RMSD)
        return adk.coords, adk.rmsd
    paths = [load_adk(p, None) for p in ("dims2", "tmd")]
    return (
        np.concatenate([p.coords for p in paths]),
        np.concatenate([p.rmsd for p in paths]),
    )


def pink_noise(shape: tuple[int, int, int], rng) -> np.ndarray:
    """Gaussian noise of unit variance per pixel with power spectrum ~ 1/f."""
    n, size = shape[0], shape[-1]
    f = np.hypot(
        *np.meshgrid(np.fft.fftfreq(size), np.fft.rfftfreq(size), indexing="ij")
    )
    amplitude = 1.0 / np.sqrt(np.maximum(f, 1.0 / size))
    amplitude[0, 0] = 0.0  # no mean offset
    white = np.fft.rfft2(rng.standard_normal((n, size, size)))
    noise = np.fft.irfft2(white * amplitude, s=(size, size))
    return (noise / noise.std(axis=(1, 2), keepdims=True)).astype(np.float32)


def _experimental_noise(sim: Bunch, rng) -> None:
    """Re-draw the SNR (biased low) and add half-white, half-1/f noise, in place."""
    n = sim.images.shape[0]
    signal = sim.noise_variance * np.exp(sim.params[:, 1])
    log_snr = np.log(10.0) * (-3.0 + 2.0 * rng.beta(*_EXPERIMENTAL_SNR_BETA, n))
    variance = signal / np.exp(log_snr)
    white = rng.standard_normal(sim.images.shape).astype(np.float32)
    noise = np.sqrt(1 - _PINK_FRACTION) * white + np.sqrt(_PINK_FRACTION) * pink_noise(
        sim.images.shape, rng
    )
    sim.images += noise * np.sqrt(variance).astype(np.float32)[:, None, None]
    sim.params[:, 1] = log_snr
    sim.noise_variance = variance


def _check_domain(domain) -> None:
    if domain not in ("simulated", "experimental"):
        raise ValueError(
            f"domain must be 'simulated' or 'experimental', got {domain!r}"
        )


_CHUNK = 8192  # particles simulated and encoded at a time (bounded memory)


def _chunks(n: int, rng):
    for start in range(0, n, _CHUNK):
        yield min(_CHUNK, n - start), rng.randint(2**31)


def _latents_chunk(coords, theta, domain, n, seed, keep_images, n_jobs) -> Bunch:
    experimental = domain == "experimental"
    rng = np.random.RandomState(seed)
    sim = simulate_particles(
        coords,
        n,
        theta=theta,
        noise=not experimental,
        random_state=rng,
        n_jobs=n_jobs,
        **(_EXPERIMENTAL_PRIOR if experimental else {}),
    )
    if experimental:
        _experimental_noise(sim, rng)
    latents, mean, width = encode_images(sim.images)
    return Bunch(
        data=latents,
        params=sim.params,
        posterior_mean=mean,
        posterior_width=width,
        images=sim.images if keep_images else None,
    )


def make_cryoem_latents(
    n_samples: int,
    domain: str = "simulated",
    *,
    random_state=None,
    return_images: bool = False,
    n_jobs: int | None = None,
) -> Bunch:
    """Latents of simulated AdK particles from the shipped NPE summary network.

    Particles of adenylate kinase conformations (:func:`load_adk`) are
    simulated by the physical forward model (:func:`simulate_particles`) and
    encoded by a ResNet-style summary network trained by neural posterior
    estimation on the simulated domain (``scripts/train_encoder.py``), which
    also gives the posterior mean and width of theta (the C-alpha RMSD to the
    closed structure, in Angstrom) for every image, as the paper's
    theta-hat and sigma. The ``"experimental"`` domain carries a physical model
    mismatch (other transition paths and conformations past the simulated open
    end, another microscope, low-SNR-biased, partly coloured noise): see the
    module docstring. Needs torch.

    Parameters
    ----------
    n_samples : int
        Number of particles.
    domain : {"simulated", "experimental"}, default="simulated"
        Which distribution the particles come from.
    random_state : int, RandomState instance or None, default=None
        Seed of the particles.
    return_images : bool, default=False
        Also return the particle images.
    n_jobs : int or None, default=None
        Threads of the simulator.

    Returns
    -------
    bunch : Bunch
        ``data`` (n_samples, 256) float32 latents, ``params`` (n_samples, 12)
        true simulation parameters, ``param_names`` (theta, log_snr, q0..q3,
        shift_x, shift_y, defocus, b_factor, amplitude, sigma),
        ``posterior_mean`` and ``posterior_width`` (n_samples,), ``domain``,
        and ``images`` (n_samples, 64, 64) if ``return_images``.

    Examples
    --------
    >>> from sksbi_manifold.datasets import make_cryoem_latents
    >>> sim = make_cryoem_latents(200, random_state=0)
    >>> sim.data.shape, sim.param_names[:2]
    ((200, 256), ['theta', 'log_snr'])
    """
    _check_domain(domain)
    if not isinstance(n_samples, numbers.Integral) or n_samples <= 0:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    rng = check_random_state(random_state)
    coords, theta = _conformations(domain)
    parts = [
        _latents_chunk(coords, theta, domain, size, seed, return_images, n_jobs)
        for size, seed in _chunks(n_samples, rng)
    ]
    out = Bunch(
        **{k: np.concatenate([p[k] for p in parts]) for k in _ARRAY_KEYS},
        param_names=list(PARAM_NAMES),
        domain=domain,
    )
    if return_images:
        out.images = np.concatenate([p.images for p in parts])
    return out


@functools.cache
def _default_arrays() -> dict[str, np.ndarray]:
    path = resources.files(__package__).joinpath(DEFAULT_FILE)
    with path.open("rb") as fh, np.load(fh) as data:
        return {k: data[k] for k in data.files}


def load_cryoem_latents(
    domain: str = "simulated", n_samples: int | None = None
) -> Bunch:
    """The shipped latents of :func:`make_cryoem_latents` (the report's default data).

    10,000 rows per domain, made by ``scripts/make_default_latents.py`` with
    ``make_cryoem_latents(10000, domain, random_state=0 (simulated) or 1
    (experimental))``; loading needs no torch.

    Parameters
    ----------
    domain : {"simulated", "experimental"}, default="simulated"
        Which set.
    n_samples : int or None, default=None
        The first ``n_samples`` rows (all if None); more than are shipped is
        an error (generate them with :func:`make_cryoem_latents`).

    Returns
    -------
    bunch : Bunch
        ``data``, ``params``, ``param_names``, ``posterior_mean``,
        ``posterior_width`` and ``domain``, as :func:`make_cryoem_latents`.

    Examples
    --------
    >>> from sksbi_manifold.datasets import load_cryoem_latents
    >>> exp = load_cryoem_latents("experimental")
    >>> exp.data.shape
    (10000, 256)
    """
    _check_domain(domain)
    arrays = _default_arrays()
    n_shipped = arrays[f"{domain}_data"].shape[0]
    if n_samples is None:
        n_samples = n_shipped
    if not isinstance(n_samples, numbers.Integral) or not 0 < n_samples <= n_shipped:
        raise ValueError(
            f"n_samples must be an integer in [1, {n_shipped}] (the shipped rows), "
            f"got {n_samples!r}; make_cryoem_latents generates more"
        )
    rows = slice(0, n_samples)
    return Bunch(
        **{k: arrays[f"{domain}_{k}"][rows] for k in _ARRAY_KEYS},
        param_names=[str(n) for n in arrays["param_names"]],
        domain=domain,
    )
