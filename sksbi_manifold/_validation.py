"""Input checks shared by every estimator: one wording for one problem."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np

from ._compat import Interval
from ._geometry import distances

# ``n_jobs`` as joblib reads it: None, 1, 2, ... or -1 (all CPUs), -2, ...;
# 0 has no meaning there, so it is rejected up front, naming the parameter.
N_JOBS_CONSTRAINT = [
    Interval(Integral, None, -1, closed="right"),
    Interval(Integral, 1, None, closed="left"),
    None,
]


def check_min_samples(X: np.ndarray, n_min: int, who: str) -> None:
    """Raise a ValueError naming ``who`` when X has fewer than ``n_min`` rows."""
    n = X.shape[0]
    if n < n_min:
        raise ValueError(
            f"{who} needs at least {n_min} samples, got {n}. Pass more rows."
        )


def check_not_constant(X: np.ndarray, who: str) -> None:
    """Raise when all rows of X are identical (no geometry to analyse)."""
    if X.shape[0] > 1 and np.ptp(X, axis=0).max() == 0:
        raise ValueError(
            f"{who}: all {X.shape[0]} samples are identical; there is no "
            "geometry to estimate. Check the input (e.g. a collapsed encoder)."
        )


def check_radius_has_neighbors(
    counts: np.ndarray,
    radius: float,
    param: str,
    who: str,
    *,
    nearest: float | None = None,
) -> None:
    """Raise when no point has any neighbour within ``radius``.

    ``nearest`` (a typical nearest-neighbour distance), when given, is named
    as the scale to exceed.
    """
    if counts.size and counts.max() == 0:
        hint = (
            ""
            if nearest is None
            else f" above {nearest:.4g} (a typical nearest-neighbour distance)"
        )
        raise ValueError(
            f"{who}: no point has a neighbour within {param}={radius:.4g}. "
            f"Increase {param}{hint} (or use {param}='auto')."
        )


# Data spreads whose squares (the kernel's 1/epsilon**2 units) stay normal
# float64 numbers (their inverses too): sqrt(2.2e-308) ~ 1.5e-154.
_KERNEL_SCALE_RANGE = (1e-152, 1e152)


def _spread(X: np.ndarray) -> tuple[float, float]:
    """``(max |x_ij - m_j|, max_i ||x_i - m||)`` about the robust centre ``m``.

    O(n p), in row chunks, computed in units of the first so that neither
    overflows or underflows.
    """
    centre = distances.robust_centre(X)
    chunks = [X[s : s + 8192] - centre for s in range(0, X.shape[0], 8192)]
    top = max(float(np.abs(c).max()) for c in chunks)
    if not np.isfinite(top) or top == 0.0:
        return top, top
    reach = top * max(
        float(np.sqrt(np.max(np.sum((c / top) ** 2, axis=1)))) for c in chunks
    )
    return top, reach


def check_kernel_scale(X: np.ndarray, who: str) -> None:
    """Raise when X's spread is too large or small for a Gaussian kernel.

    Kernel estimators work in units of ``1/epsilon**2`` (the Laplacian, its
    eigenvalues); beyond ~1e152 (or below ~1e-152) these over/underflow
    float64, which used to surface as an OverflowError, a
    ZeroDivisionError or "no radius gives a neighbour" deep in the fit.
    """
    top, _ = _spread(X)
    lo, hi = _KERNEL_SCALE_RANGE
    if np.isfinite(top) and top > 0.0 and not lo <= top <= hi:
        raise ValueError(
            f"{who}: X spreads over {top:.3g} (largest deviation from its "
            f"median); a Gaussian kernel on it needs 1/epsilon**2, which "
            f"float64 cannot hold outside spreads of [{lo:g}, {hi:g}]. Rescale "
            "X first (e.g. X / X.std(), or StandardScaler in a Pipeline)."
        )


def check_kernel_width_below_spread(X: np.ndarray, epsilon: float, who: str) -> None:
    """Raise when a kernel of width ``epsilon`` is nearly constant over X.

    With ``epsilon`` at or above ``D = 2 max_i ||x_i - median||`` (at least the
    diameter) every pair has weight ``exp(-d^2/epsilon^2) >= 1/e``: the
    kernel sees no geometry, the spectrum collapses to ``~4/epsilon^2`` and
    the radius graph would store all n^2 pairs.
    """
    top, reach = _spread(X)
    if not np.isfinite(top) or top == 0.0:
        return
    if epsilon >= 2.0 * reach:
        raise ValueError(
            f"{who}: epsilon={epsilon:.4g} is at least the data's diameter "
            f"(<= {2.0 * reach:.4g}), so every pair has kernel weight >= 1/e and "
            "the kernel sees no geometry (all eigenvalues ~4/epsilon**2). Use "
            "epsilon='gc', or a width of a few nearest-neighbour distances."
        )


# Links followed from a meta-estimator down its ``embedding_estimator_``.
_MAX_CHAIN_DEPTH = 16


def inner_chain(estimator):
    """``estimator``, its ``embedding_estimator_``, that one's, ... (at most 16).

    Outer estimators (IESSelector, RiemannianRelaxation, function_smoothness)
    look down this chain for the estimator that built the kernel.
    """
    current = estimator
    for _ in range(_MAX_CHAIN_DEPTH):
        if current is None:
            return
        yield current
        current = getattr(current, "embedding_estimator_", None)


def fitted_kernel(estimator, who: str):
    """The :class:`~sksbi_manifold._geometry.laplacian.FittedKernel` behind a
    fitted estimator: its ``kernel_`` (the package's embedding estimators), or
    one assembled from the ``epsilon_`` / ``radius_`` / ``laplacian_`` of the
    first estimator down the ``embedding_estimator_`` chain that has them
    (estimators from elsewhere)."""
    from ._geometry.laplacian import FittedKernel

    for current in inner_chain(estimator):
        kernel = getattr(current, "kernel_", None)
        if kernel is not None:
            return kernel
        if hasattr(current, "epsilon_"):
            params = (
                current.get_params(deep=False) if hasattr(current, "get_params") else {}
            )
            epsilon = float(current.epsilon_)
            radius = getattr(current, "radius_", None)
            return FittedKernel(
                epsilon=epsilon,
                radius_ratio=float(radius) / epsilon if radius else 3.0,
                alpha=float(params.get("alpha", 1.0)),
                laplacian=getattr(current, "laplacian_", None),
                weights=getattr(current, "laplacian_weights_", None),
                precomputed=params.get("metric") == "precomputed",
            )
    raise ValueError(
        f"{who} needs the kernel of the inner embedding: no estimator in the "
        f"chain below {type(estimator).__name__} exposes kernel_ or epsilon_ "
        "(e.g. DiffusionMapsGC)."
    )


def clip_n_components(estimator, limit: int, what: str) -> int:
    """``estimator.n_components`` clipped to ``limit``, with a warning naming it.

    ``what`` says what bounds it (e.g. "columns of the inner embedding_"); the
    value used is what the estimator stores as ``n_components_``.
    """
    if estimator.n_components <= limit:
        return int(estimator.n_components)
    warnings.warn(
        f"{type(estimator).__name__}: n_components={estimator.n_components} "
        f"exceeds the {limit} {what}; using n_components_={limit}.",
        UserWarning,
        stacklevel=3,
    )
    return int(limit)
