"""Input checks shared by every estimator: one wording for one problem."""

from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval

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
