"""Global votes and per-point summaries of local intrinsic-dimension estimates.

The paper turns local estimates into one global dimension by a "majority vote"
made robust by smoothing the histogram (see :ref:`conv-global-vote`): the global
value is the mode of a Gaussian kernel density estimate of the finite local
estimates.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.utils import Bunch

# The binned KDE never uses more bins than this (the step grows instead).
_MAX_BINS = 20_000
# The histogram's last bin: a local estimate from one neighbour ratio near 1
# (a far outlier) is finite but unbounded, and a bin per integer up to it
# would not fit in memory.
_MAX_HISTOGRAM_DIMENSION = 10_000


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).ravel()
    return values[np.isfinite(values)]


def kde_bandwidth(values, bandwidth="silverman") -> float:
    """Bandwidth of the Gaussian KDE of the finite ``values``.

    Parameters
    ----------
    values : array-like
        Local estimates; NaN and infinite entries are ignored.
    bandwidth : {"silverman", "scott"} or float, default="silverman"
        ``"silverman"``: ``0.9 * min(std, IQR / 1.34) * n ** (-1/5)`` (robust to
        the heavy upper tail of local estimates at sparse points);
        ``"scott"``: ``std * n ** (-1/5)`` (scipy's ``gaussian_kde`` rule);
        a positive float is used as is.

    Returns
    -------
    h : float
        The bandwidth; 0 when the values have no spread or fewer than two
        values are finite.
    """
    if isinstance(bandwidth, numbers.Real) and not isinstance(bandwidth, bool):
        if not bandwidth > 0:
            raise ValueError(f"bandwidth must be positive, got {bandwidth!r}.")
        return float(bandwidth)
    if bandwidth not in ("silverman", "scott"):
        raise ValueError(
            f"bandwidth must be 'silverman', 'scott' or a positive float, "
            f"got {bandwidth!r}."
        )
    x = _finite(values)
    if x.size < 2:
        return 0.0
    std = float(np.std(x, ddof=1))
    factor = x.size ** (-0.2)
    if bandwidth == "scott":
        return std * factor
    q75, q25 = np.percentile(x, [75, 25])
    spread = min(std, (q75 - q25) / 1.34) or std
    return 0.9 * spread * factor


def _binned_kde(x: np.ndarray, h: float, grid_step: float):
    """Grid and density of the Gaussian KDE of ``x`` (binned, then smoothed)."""
    lo, hi = x.min() - 4.0 * h, x.max() + 4.0 * h
    step = max(grid_step, (hi - lo) / _MAX_BINS)
    n_bins = max(int(np.ceil((hi - lo) / step)), 1)
    edges = lo + step * np.arange(n_bins + 1)
    counts, _ = np.histogram(x, bins=edges)
    density = gaussian_filter1d(
        counts.astype(np.float64), sigma=h / step, mode="constant", truncate=4.0
    )
    density /= x.size * step
    return 0.5 * (edges[:-1] + edges[1:]), density


def kde_mode(values, *, bandwidth="silverman", grid_step: float = 0.01) -> float:
    """Smoothed-histogram majority vote: the mode of a Gaussian KDE.

    Parameters
    ----------
    values : array-like
        Local dimension estimates; NaN and infinite entries are ignored.
    bandwidth : {"silverman", "scott"} or float, default="silverman"
        See :func:`kde_bandwidth`.
    grid_step : float, default=0.01
        Resolution of the evaluation grid (the KDE is binned at this step,
        which bounds the error of the returned mode by about ``grid_step``).

    Returns
    -------
    mode : float
        Location of the highest KDE peak (the smallest one in a tie); NaN if no
        value is finite, the common value if they do not spread.

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.dimension import kde_mode
    >>> rng = np.random.RandomState(0)
    >>> values = np.r_[rng.normal(2.0, 0.1, 300), rng.normal(4.0, 0.5, 100), np.nan]
    >>> round(kde_mode(values), 1)
    2.0
    """
    x = _finite(values)
    if x.size == 0:
        return float("nan")
    return _mode(x, kde_bandwidth(x, bandwidth), grid_step)[0]


def _mode(x: np.ndarray, h: float, grid_step: float):
    """KDE mode, grid and density of finite ``x`` (a point mass if no spread)."""
    if h == 0.0 or np.ptp(x) == 0.0:
        center = float(np.median(x))
        return center, np.array([center]), np.array([np.inf])
    grid, density = _binned_kde(x, h, grid_step)
    return float(grid[int(np.argmax(density))]), grid, density


def local_dimension_summary(
    values, *, bandwidth="silverman", grid_step: float = 0.01
) -> Bunch:
    """Per-point summary of local dimension estimates (what a report plots).

    Parameters
    ----------
    values : array-like of shape (n,)
        Local estimates, NaN where undefined.
    bandwidth : {"silverman", "scott"} or float, default="silverman"
        KDE bandwidth rule, see :func:`kde_bandwidth`.
    grid_step : float, default=0.01
        Resolution of the KDE grid.

    Returns
    -------
    summary : Bunch
        - ``mode``: KDE mode (the global "smoothed-histogram vote"),
        - ``vote``: plain majority vote ``argmax`` of the histogram of the
          estimates rounded to integers,
        - ``mean``, ``median``: of the finite estimates,
        - ``n_defined``, ``n_undefined``: finite and non-finite counts,
        - ``dimensions``, ``counts``: the histogram of rounded estimates
          (integers ``0 .. max`` and how many points fall on each; estimates
          above 10,000 fall on 10,000),
        - ``kde_grid``, ``kde_density``: the smoothed histogram itself,
        - ``bandwidth``: the KDE bandwidth used.

        All statistics are NaN (and the arrays empty) when nothing is finite.

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.dimension import local_dimension_summary
    >>> s = local_dimension_summary([1.9, 2.1, 2.0, 3.2, np.nan])
    >>> s.vote, s.n_undefined, s.counts.tolist()
    (2, 1, [0, 0, 3, 1])
    """
    raw = np.asarray(values, dtype=np.float64).ravel()
    x = raw[np.isfinite(raw)]
    n_undefined = int(raw.size - x.size)
    if x.size == 0:
        empty = np.zeros(0)
        return Bunch(
            mode=float("nan"),
            vote=float("nan"),
            mean=float("nan"),
            median=float("nan"),
            n_defined=0,
            n_undefined=n_undefined,
            dimensions=np.zeros(0, dtype=np.int64),
            counts=np.zeros(0, dtype=np.int64),
            kde_grid=empty,
            kde_density=empty,
            bandwidth=float("nan"),
        )
    rounded = np.rint(np.clip(x, 0.0, _MAX_HISTOGRAM_DIMENSION)).astype(np.int64)
    counts = np.bincount(rounded)
    h = kde_bandwidth(x, bandwidth)
    mode, grid, density = _mode(x, h, grid_step)
    return Bunch(
        mode=mode,
        vote=int(np.argmax(counts)),
        mean=float(np.mean(x)),
        median=float(np.median(x)),
        n_defined=int(x.size),
        n_undefined=n_undefined,
        dimensions=np.arange(counts.size),
        counts=counts,
        kde_grid=grid,
        kde_density=density,
        bandwidth=h,
    )
