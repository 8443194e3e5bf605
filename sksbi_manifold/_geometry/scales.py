"""Data-driven length scales: the one place automatic radii come from."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from .distances import farthest_distances, knn_distances


def knn_scale_quantiles(
    X: np.ndarray,
    n_neighbors: int,
    quantiles,
    *,
    sample_size: int = 1000,
    random_state=None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Quantiles of the distance to the ``n_neighbors``-th neighbour.

    Distances are measured from a random subsample of ``sample_size`` rows
    against all rows, so the cost is ``O(sample_size * n * D)``.
    """
    n = X.shape[0]
    k = int(min(max(n_neighbors, 1), n - 1))
    rng = check_random_state(random_state)
    rows = rng.choice(n, size=min(sample_size, n), replace=False)
    rows.sort()
    dist = _knn_from_sample(X, rows, k, n_jobs)[:, -1]
    return np.quantile(dist, quantiles)


def saturation_scale(
    X: np.ndarray,
    *,
    sample_size: int = 300,
    random_state=None,
    n_jobs: int | None = None,
) -> float:
    """Median distance from a random row to its farthest row.

    From this radius on the ball around a typical point holds every other
    row: neighbour counts saturate and stop measuring anything but the
    sample size (their ratios tend to 1, ``log 1 = 0``).
    """
    n = X.shape[0]
    rng = check_random_state(random_state)
    rows = np.sort(rng.choice(n, size=min(sample_size, n), replace=False))
    return float(np.median(farthest_distances(X[rows], X, n_jobs=n_jobs)))


def _knn_from_sample(X, rows, k, n_jobs):
    # The sample is part of X, so its own zero distance is dropped.
    dist = knn_distances(X[rows], k + 1, X, n_jobs=n_jobs)
    return dist[:, 1:]


def _kth_distinct(dist: np.ndarray, k: int) -> np.ndarray:
    """Per row of ascending ``dist``, the k-th distinct positive value (or the
    largest one); rows of zeros are dropped."""
    step = np.diff(dist, axis=1, prepend=0.0) > 0  # a new distinct positive value
    rank = np.cumsum(step, axis=1)
    col = np.minimum((rank < k).sum(axis=1), dist.shape[1] - 1)
    kth = dist[np.arange(len(dist)), col]
    return kth[kth > 0]


def radius_grid(
    X: np.ndarray,
    n_radii: int = 20,
    *,
    k_low: int = 5,
    k_high: int = 200,
    sample_size: int = 1000,
    random_state=None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Log-spaced radii from the median ``k_low``-NN to the median ``k_high``-NN
    distance (see :ref:`conv-radius-grids`): a scan from the noise scale up to
    neighbourhoods of a few hundred points, on which scale-selection rules
    (geometric consistency, dimension plateaus) then look across radii.

    Duplicated rows are not neighbours at a length scale: the low end is the
    ``k_low``-th *distinct* positive distance of each sampled row (its
    largest if it has fewer), so duplicates neither collapse the grid to
    zero nor need an arbitrary floor."""
    n = X.shape[0]
    k_high = int(min(k_high, n - 1))
    k_low = int(min(k_low, k_high))
    rng = check_random_state(random_state)
    rows = rng.choice(n, size=min(sample_size, n), replace=False)
    rows.sort()
    dist = _knn_from_sample(X, rows, k_high, n_jobs)
    hi = float(np.median(dist[:, k_high - 1]))
    if not hi > 0:
        raise ValueError(
            "All sampled neighbour distances are zero: the data "
            "has (near-)duplicate rows only."
        )
    lo = float(np.median(_kth_distinct(dist, k_low)))
    if hi <= lo:
        hi = lo * 2.0
    return np.geomspace(lo, hi, n_radii)
