"""Known-answer manifolds isometrically lifted into a high-dimensional space.

Each generator samples points on a classical manifold in its *natural*
low-dimensional ambient space, maps them into ``R^ambient_dim`` with a random
isometry and adds isotropic Gaussian noise. Ground truth (intrinsic
coordinates, intrinsic dimension, Laplace-Beltrami spectrum) is returned so
that the estimators of this package can be checked against exact answers.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.utils import Bunch, check_random_state
from threadpoolctl import threadpool_limits

__all__ = ["make_lifted_manifold"]

_KINDS = ("circle", "sphere", "torus", "swiss_roll", "strip", "ball", "cube")
_DENSITIES = ("uniform", "nonuniform")
_N_EIGENVALUES = 30

# Swiss roll (u/2 cos u, v, u/2 sin u): parameter ranges.
_ROLL_U_MAX = 12.0
_ROLL_V_HALF = 2.0
# Strip height; the width is ``aspect_ratio * _STRIP_HEIGHT``.
_STRIP_HEIGHT = 4.0
# Non-uniform densities (except the circle) use the weight 1 + a cos(t).
_TILT = 0.9
_VON_MISES_KAPPA = 1.0


@dataclass
class _Sample:
    """Clean sample of a manifold in its natural ambient space."""

    points: np.ndarray  # (n, natural_dim)
    coords: np.ndarray  # (n, dim) intrinsic coordinates
    dim: int
    spectrum: np.ndarray | None
    extra: dict


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_positive_float(value: object, name: str, *, strict: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    bad = value <= 0 if strict else value < 0
    if not np.isfinite(value) or bad:
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}.")
    return value


def _resolve_intrinsic_dim(kind: str, intrinsic_dim: int | None) -> int:
    fixed = {"circle": 1, "torus": 2, "swiss_roll": 2, "strip": 2}
    default = {"sphere": 2, "ball": 3, "cube": 3}
    if kind in fixed:
        if intrinsic_dim is not None and intrinsic_dim != fixed[kind]:
            raise ValueError(
                f"intrinsic_dim={intrinsic_dim!r} is not supported for "
                f"kind={kind!r}, whose intrinsic dimension is {fixed[kind]}; "
                "leave intrinsic_dim=None."
            )
        return fixed[kind]
    if intrinsic_dim is None:
        return default[kind]
    return _check_int(intrinsic_dim, "intrinsic_dim", 1)


# ---------------------------------------------------------------------------
# Sampling helpers
# ---------------------------------------------------------------------------


def _rejection_sample(
    draw: Callable[[int], tuple[np.ndarray, ...]],
    weight: Callable[[tuple[np.ndarray, ...]], np.ndarray],
    n: int,
    rng: np.random.RandomState,
) -> tuple[np.ndarray, ...]:
    """Draw ``n`` samples from ``draw`` thinned by ``weight`` (values in [0, 1])."""
    kept: list[tuple[np.ndarray, ...]] = []
    n_kept = 0
    while n_kept < n:
        batch = draw(2 * (n - n_kept) + 16)
        accept = rng.uniform(size=batch[0].shape[0]) < weight(batch)
        kept.append(tuple(b[accept] for b in batch))
        n_kept += int(accept.sum())
    return tuple(np.concatenate(parts)[:n] for parts in zip(*kept))


def _tilt_weight(t: np.ndarray) -> np.ndarray:
    """Acceptance probability proportional to ``1 + 0.9 cos(t)``."""
    return (1.0 + _TILT * np.cos(t)) / (1.0 + _TILT)


def _maybe_tilt(
    draw: Callable[[int], tuple[np.ndarray, ...]],
    angle: Callable[[tuple[np.ndarray, ...]], np.ndarray],
    n: int,
    density: str,
    rng: np.random.RandomState,
) -> tuple[np.ndarray, ...]:
    """Sample uniformly or with the documented ``1 + 0.9 cos`` tilt."""
    if density == "uniform":
        return draw(n)
    return _rejection_sample(draw, lambda b: _tilt_weight(angle(b)), n, rng)


def _hyperspherical_angles(x: np.ndarray) -> np.ndarray:
    """Angles of unit vectors in ``R^(k+1)``: k-1 polar angles then an azimuth.

    For ``k = 2`` this is the usual ``(theta, phi)`` with
    ``theta = arccos(z)`` in ``[0, pi]`` and ``phi = atan2(y, x)`` in
    ``[0, 2 pi)``. In general the j-th polar angle is measured from the axis
    ``k + 2 - j`` (last axis first) and the azimuth lives in the first plane.
    """
    k = x.shape[1] - 1
    angles = np.empty((x.shape[0], k))
    tail = np.sqrt(np.cumsum(x**2, axis=1))  # tail[:, i] = ||x[:, :i+1]||
    for j in range(k - 1):
        axis = k - j
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(tail[:, axis] > 0, x[:, axis] / tail[:, axis], 1.0)
        angles[:, j] = np.arccos(np.clip(ratio, -1.0, 1.0))
    angles[:, k - 1] = np.mod(np.arctan2(x[:, 1], x[:, 0]), 2 * np.pi)
    return angles


# ---------------------------------------------------------------------------
# Analytic Laplace-Beltrami spectra
# ---------------------------------------------------------------------------


def _lattice_sums(d: int, *, signed: bool, n_values: int) -> np.ndarray:
    """Smallest ``n_values`` of ``sum_i n_i^2`` over integer vectors (multiplicity).

    ``signed=True`` ranges over ``Z^d`` (flat torus), ``signed=False`` over
    ``N^d`` (Neumann cube). Counts are obtained by polynomial convolution.
    """
    bound = n_values
    while True:
        one = np.zeros(bound + 1, dtype=np.int64)
        roots = np.arange(int(np.sqrt(bound)) + 1)
        one[roots**2] = 2 if signed else 1
        one[0] = 1
        counts = np.zeros(bound + 1, dtype=np.int64)
        counts[0] = 1
        for _ in range(d):
            counts = np.convolve(counts, one)[: bound + 1]
        if counts.sum() >= n_values:
            values = np.repeat(np.arange(bound + 1), counts)
            return values[:n_values].astype(float)
        bound *= 2


def _rectangle_spectrum(width: float, height: float) -> np.ndarray:
    """Neumann spectrum of the rectangle ``[0, width] x [0, height]``."""
    i = np.arange(_N_EIGENVALUES)
    vals = (np.pi * i[:, None] / width) ** 2 + (np.pi * i[None, :] / height) ** 2
    return np.sort(vals.ravel())[:_N_EIGENVALUES]


def _sphere_spectrum(k: int) -> np.ndarray:
    """Spectrum of the unit ``S^k``: ``l (l + k - 1)`` with its multiplicity."""
    from scipy.special import comb

    values: list[float] = []
    ell = 0
    while len(values) < _N_EIGENVALUES:
        mult = comb(ell + k, k, exact=True)
        if ell >= 2:
            mult -= comb(ell + k - 2, k, exact=True)
        values.extend([float(ell * (ell + k - 1))] * mult)
        ell += 1
    return np.asarray(values[:_N_EIGENVALUES])


# ---------------------------------------------------------------------------
# Generators in the natural ambient space
# ---------------------------------------------------------------------------


def _circle(n: int, density: str, rng: np.random.RandomState) -> _Sample:
    if density == "uniform":
        angle = rng.uniform(0.0, 2 * np.pi, size=n)
    else:
        angle = np.mod(rng.vonmises(0.0, _VON_MISES_KAPPA, size=n), 2 * np.pi)
    points = np.column_stack([np.cos(angle), np.sin(angle)])
    spectrum = _lattice_sums(1, signed=True, n_values=_N_EIGENVALUES)
    return _Sample(points, angle[:, None], 1, spectrum, {"coord_names": ["angle"]})


def _sphere(n: int, k: int, density: str, rng: np.random.RandomState) -> _Sample:
    def draw(m: int) -> tuple[np.ndarray, ...]:
        g = rng.standard_normal((m, k + 1))
        return (g / np.linalg.norm(g, axis=1, keepdims=True),)

    def first_angle(b: tuple[np.ndarray, ...]) -> np.ndarray:
        # first intrinsic coordinate: the polar angle (the azimuth for k = 1)
        return _hyperspherical_angles(b[0])[:, 0]

    (points,) = _maybe_tilt(draw, first_angle, n, density, rng)
    coords = _hyperspherical_angles(points)
    names = [f"polar_{j}" for j in range(k - 1)] + ["azimuth"]
    if k == 2:
        names = ["theta", "phi"]
    return _Sample(points, coords, k, _sphere_spectrum(k), {"coord_names": names})


def _torus(n: int, density: str, rng: np.random.RandomState) -> _Sample:
    def draw(m: int) -> tuple[np.ndarray, ...]:
        return (rng.uniform(0.0, 2 * np.pi, size=(m, 2)),)

    (angles,) = _maybe_tilt(draw, lambda b: b[0][:, 0], n, density, rng)
    a, b = angles[:, 0], angles[:, 1]
    points = np.column_stack([np.cos(a), np.sin(a), np.cos(b), np.sin(b)])
    spectrum = _lattice_sums(2, signed=True, n_values=_N_EIGENVALUES)
    return _Sample(points, angles, 2, spectrum, {"coord_names": ["a", "b"]})


def _roll_arc_length(u: np.ndarray) -> np.ndarray:
    """Arc length of the spiral ``(u/2 cos u, u/2 sin u)`` from ``u = 0``."""
    return 0.25 * (u * np.sqrt(1.0 + u**2) + np.arcsinh(u))


def _roll_inverse_arc_length(s: np.ndarray) -> np.ndarray:
    """Invert :func:`_roll_arc_length` by interpolation plus Newton steps."""
    grid = np.linspace(0.0, _ROLL_U_MAX, 2049)
    u = np.interp(s, _roll_arc_length(grid), grid)
    for _ in range(3):
        u -= (_roll_arc_length(u) - s) / (0.5 * np.sqrt(1.0 + u**2))
    return np.clip(u, 0.0, _ROLL_U_MAX)


def _swiss_roll(n: int, density: str, rng: np.random.RandomState) -> _Sample:
    length = float(_roll_arc_length(np.array(_ROLL_U_MAX)))

    def draw(m: int) -> tuple[np.ndarray, ...]:
        # Uniform in area: arc length uniform, then u = s^{-1}(arc length).
        u = _roll_inverse_arc_length(rng.uniform(0.0, length, size=m))
        return u, rng.uniform(-_ROLL_V_HALF, _ROLL_V_HALF, size=m)

    u, v = _maybe_tilt(draw, lambda b: np.pi * b[0] / _ROLL_U_MAX, n, density, rng)
    points = np.column_stack([0.5 * u * np.cos(u), v, 0.5 * u * np.sin(u)])
    spectrum = _rectangle_spectrum(length, 2 * _ROLL_V_HALF)
    extra = {"coord_names": ["u", "v"], "arc_length": _roll_arc_length(u)}
    return _Sample(points, np.column_stack([u, v]), 2, spectrum, extra)


def _strip(
    n: int, aspect_ratio: float, density: str, rng: np.random.RandomState
) -> _Sample:
    height = _STRIP_HEIGHT
    width = aspect_ratio * height

    def draw(m: int) -> tuple[np.ndarray, ...]:
        x = rng.uniform(-width / 2, width / 2, size=m)
        return x, rng.uniform(-height / 2, height / 2, size=m)

    x, y = _maybe_tilt(draw, lambda b: np.pi * (b[0] / width + 0.5), n, density, rng)
    points = np.column_stack([x, y])
    spectrum = _rectangle_spectrum(width, height)
    extra = {"coord_names": ["x", "y"], "width": width, "height": height}
    return _Sample(points, points.copy(), 2, spectrum, extra)


def _ball(n: int, d: int, density: str, rng: np.random.RandomState) -> _Sample:
    def draw(m: int) -> tuple[np.ndarray, ...]:
        g = rng.standard_normal((m, d))
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        return (g * rng.uniform(size=(m, 1)) ** (1.0 / d),)

    def angle(b: tuple[np.ndarray, ...]) -> np.ndarray:
        return np.pi * (b[0][:, 0] + 1.0) / 2.0

    (points,) = _maybe_tilt(draw, angle, n, density, rng)
    names = [f"x{j}" for j in range(d)]
    return _Sample(points, points.copy(), d, None, {"coord_names": names})


def _cube(n: int, d: int, density: str, rng: np.random.RandomState) -> _Sample:
    def draw(m: int) -> tuple[np.ndarray, ...]:
        return (rng.uniform(size=(m, d)),)

    (points,) = _maybe_tilt(draw, lambda b: np.pi * b[0][:, 0], n, density, rng)
    spectrum = np.pi**2 * _lattice_sums(d, signed=False, n_values=_N_EIGENVALUES)
    names = [f"x{j}" for j in range(d)]
    return _Sample(points, points.copy(), d, spectrum, {"coord_names": names})


def _natural_dim(kind: str, dim: int) -> int:
    return {"circle": 2, "sphere": dim + 1, "torus": 4, "swiss_roll": 3}.get(kind, dim)


def _sample_natural(
    kind: str,
    n: int,
    dim: int,
    aspect_ratio: float,
    density: str,
    rng: np.random.RandomState,
) -> _Sample:
    if kind == "circle":
        return _circle(n, density, rng)
    if kind == "sphere":
        return _sphere(n, dim, density, rng)
    if kind == "torus":
        return _torus(n, density, rng)
    if kind == "swiss_roll":
        return _swiss_roll(n, density, rng)
    if kind == "strip":
        return _strip(n, aspect_ratio, density, rng)
    if kind == "ball":
        return _ball(n, dim, density, rng)
    return _cube(n, dim, density, rng)


def _random_isometry(
    ambient_dim: int, natural_dim: int, rng: np.random.RandomState
) -> np.ndarray:
    """Haar-random ``(ambient_dim, natural_dim)`` matrix with orthonormal columns."""
    gaussian = rng.standard_normal((ambient_dim, natural_dim))
    # small problem: threaded BLAS only adds overhead (badly so on busy machines)
    with threadpool_limits(1, user_api="blas"):
        q, r = np.linalg.qr(gaussian)
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    return q * signs


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def make_lifted_manifold(
    kind: str,
    n_samples: int = 1000,
    *,
    ambient_dim: int = 256,
    noise: float = 0.0,
    intrinsic_dim: int | None = None,
    aspect_ratio: float = 2 * np.pi,
    density: str = "uniform",
    random_state: int | np.random.RandomState | None = None,
    return_info: bool = False,
) -> tuple[np.ndarray, np.ndarray, int] | Bunch:
    """Sample a known manifold and lift it isometrically into ``R^ambient_dim``.

    Points are drawn on a classical manifold in its natural low-dimensional
    space ``R^D``, mapped into ``R^ambient_dim`` by a random linear isometry
    ``x -> Q x`` (``Q`` has orthonormal columns, from the QR decomposition of a
    Gaussian matrix) and finally perturbed by isotropic Gaussian noise of
    standard deviation ``noise`` in *every* ambient coordinate. Pairwise
    distances of the clean lifted points therefore equal those of the points
    in ``R^D`` exactly.

    Parameters
    ----------
    kind : {"circle", "sphere", "torus", "swiss_roll", "strip", "ball", "cube"}
        The manifold:

        - ``"circle"``: unit circle in ``R^2`` (d = 1); coordinate: the angle
          in ``[0, 2 pi)``.
        - ``"sphere"``: unit sphere ``S^k`` in ``R^(k+1)`` with
          ``k = intrinsic_dim`` (default 2); coordinates: hyperspherical
          angles, for ``k = 2`` the polar angle ``theta = arccos(z)`` in
          ``[0, pi]`` and the azimuth ``phi = atan2(y, x)`` in ``[0, 2 pi)``.
        - ``"torus"``: the *flat* torus ``(cos a, sin a, cos b, sin b)`` in
          ``R^4`` (d = 2); coordinates ``(a, b)`` in ``[0, 2 pi)^2``.
        - ``"swiss_roll"``: ``(u/2 cos u, v, u/2 sin u)`` with ``u`` in
          ``[0, 12]`` and ``v`` in ``[-2, 2]`` (d = 2); coordinates
          ``(u, v)``. The roll is intrinsically flat: it is isometric to the
          rectangle ``[0, L] x [-2, 2]`` through ``(arc_length(u), v)`` where
          ``arc_length(u) = (u sqrt(1 + u^2) + arcsinh(u)) / 4`` and
          ``L = arc_length(12) ~ 36.5``. The arc length is returned in the
          ``return_info`` bunch.
        - ``"strip"``: ``x ~ U[-W/2, W/2]``, ``y ~ U[-H/2, H/2]`` with
          ``H = 4`` and ``W = aspect_ratio * H`` (d = 2); coordinates
          ``(x, y)``.
        - ``"ball"``: unit ball in ``R^d``, ``d = intrinsic_dim`` (default 3);
          coordinates: the points themselves.
        - ``"cube"``: ``[0, 1]^d``, ``d = intrinsic_dim`` (default 3);
          coordinates: the points themselves.
    n_samples : int, default=1000
        Number of points, at least 1.
    ambient_dim : int, default=256
        Dimension of the output space; must be at least the natural dimension
        ``D`` of the manifold (2 circle, ``k + 1`` sphere, 4 torus, 3 swiss
        roll, 2 strip, ``d`` ball and cube).
    noise : float, default=0.0
        Standard deviation of the Gaussian noise added to each ambient
        coordinate after lifting.
    intrinsic_dim : int or None, default=None
        Dimension of ``"sphere"`` (``S^k``), ``"ball"`` and ``"cube"``. For the
        other kinds it must be ``None`` or equal to their fixed dimension.
    aspect_ratio : float, default=2*pi
        Width over height of the ``"strip"`` (ignored for the other kinds).
        The default ``2 pi`` is the long strip of the IES paper.
    density : {"uniform", "nonuniform"}, default="uniform"
        ``"uniform"`` samples from the Riemannian volume (circle: uniform
        angle; sphere: normalised Gaussian; torus: uniform angles; swiss roll:
        uniform arc length and ``v``, i.e. uniform in area; ball: direction
        times ``U^(1/d)``). ``"nonuniform"`` samples the circle with a von
        Mises angle (``kappa = 1``, densest/sparsest ratio ``e^2 ~ 7.4``);
        every other kind is thinned by rejection with acceptance proportional
        to ``1 + 0.9 cos(t)``, where ``t`` is the first intrinsic coordinate
        mapped to an angle: the angle itself for the sphere (polar angle
        ``theta``; azimuth for ``S^1``) and torus (``a``), otherwise its
        range rescaled linearly onto ``[0, pi]`` (``u`` for the roll, ``x``
        for the strip, the first coordinate for ball and cube). This gives a
        smooth density with ratio 19 between its densest and sparsest ends.
    random_state : int, RandomState instance or None, default=None
        Seed for the isometry, the sample and the noise (drawn in that order,
        so the isometry depends only on the seed and the dimensions).
    return_info : bool, default=False
        If True return a :class:`~sklearn.utils.Bunch` instead of a tuple.

    Returns
    -------
    X : ndarray of shape (n_samples, ambient_dim)
        Lifted, noisy points (float64).
    coords : ndarray of shape (n_samples, dim)
        Intrinsic coordinates, see ``kind``.
    dim : int
        True intrinsic dimension.
    info : Bunch
        Only when ``return_info=True`` (returned alone). Fields: ``data``,
        ``coords``, ``dim``, ``clean`` (noise-free lifted points),
        ``natural`` (clean points in ``R^D``), ``embedding_matrix`` (``Q``, of
        shape ``(ambient_dim, D)``, so ``clean = natural @ Q.T``), ``kind``,
        ``coord_names``, ``arc_length`` (swiss roll, else None) and
        ``laplacian_spectrum``: the first 30 eigenvalues (with multiplicity,
        sorted, starting with 0) of the Laplace-Beltrami operator, or None
        where unknown (ball). Circle: ``k^2`` (multiplicity 2); ``S^k``:
        ``l (l + k - 1)``; flat torus with period ``2 pi``: ``a^2 + b^2``;
        strip and swiss roll (Neumann, rectangle ``W x H``):
        ``(pi i / W)^2 + (pi j / H)^2``; cube (Neumann):
        ``pi^2 sum_i n_i^2``. Eigenvalues are those of ``-Delta`` on the
        uniform manifold, irrespective of ``density``.

    Raises
    ------
    ValueError
        For an unknown ``kind`` or ``density``, ``n_samples < 1``,
        ``noise < 0``, an ``ambient_dim`` below the natural dimension or an
        unsupported ``intrinsic_dim``.

    Examples
    --------
    >>> from sksbi_manifold.datasets import make_lifted_manifold
    >>> X, coords, dim = make_lifted_manifold("circle", 200, random_state=0)
    >>> X.shape, coords.shape, dim
    ((200, 256), (200, 1), 1)
    >>> info = make_lifted_manifold("sphere", 50, ambient_dim=10, random_state=0,
    ...                             return_info=True)
    >>> info.laplacian_spectrum[:4]
    array([0., 2., 2., 2.])
    """
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"kind must be one of {list(_KINDS)}, got {kind!r}.")
    if density not in _DENSITIES:
        raise ValueError(f"density must be one of {list(_DENSITIES)}, got {density!r}.")
    n_samples = _check_int(n_samples, "n_samples", 1)
    noise = _check_positive_float(noise, "noise", strict=False)
    aspect_ratio = _check_positive_float(aspect_ratio, "aspect_ratio", strict=True)
    dim = _resolve_intrinsic_dim(kind, intrinsic_dim)
    natural_dim = _natural_dim(kind, dim)
    ambient_dim = _check_int(ambient_dim, "ambient_dim", 1)
    if ambient_dim < natural_dim:
        raise ValueError(
            f"ambient_dim={ambient_dim} is smaller than the natural dimension "
            f"{natural_dim} of kind={kind!r}; use ambient_dim >= {natural_dim}."
        )

    rng = check_random_state(random_state)
    embedding = _random_isometry(ambient_dim, natural_dim, rng)
    sample = _sample_natural(kind, n_samples, dim, aspect_ratio, density, rng)
    clean = sample.points @ embedding.T
    data = clean + noise * rng.standard_normal(clean.shape) if noise > 0 else clean
    data = np.array(data, dtype=np.float64)
    coords = np.asarray(sample.coords, dtype=np.float64)
    if not return_info:
        return data, coords, dim
    return Bunch(
        data=data,
        coords=coords,
        dim=dim,
        clean=clean,
        natural=sample.points,
        embedding_matrix=embedding,
        kind=kind,
        coord_names=sample.extra["coord_names"],
        arc_length=sample.extra.get("arc_length"),
        laplacian_spectrum=sample.spectrum,
    )
