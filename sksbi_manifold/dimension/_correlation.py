"""Correlation dimension (Grassberger-Procaccia): slope of log C(R) on log R."""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.utils import check_random_state

from .._compat import Interval, StrOptions, _fit_context
from .._geometry._device import check_device
from .._geometry.progress import verbose_progress
from ..exceptions import UndefinedDimensionWarning
from ._base import SCAN_CONSTRAINTS, BaseDimension
from ._doubling import user_radii
from ._scan import (
    doubling_grid,
    neighbor_counts,
    sample_counts,
    select_plateau,
    window,
)
from ._summary import local_dimension_summary

# The automatic grid starts this many octaves below the doubling scan's low
# end: the global slope needs enough PAIRS, not enough neighbours per point,
# and smaller radii suffer less from curvature and boundaries.
_EXTRA_OCTAVES = 2


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Slope, intercept and correlation of the least-squares line."""
    xc, yc = x - x.mean(), y - y.mean()
    sxx, syy = float(xc @ xc), float(yc @ yc)
    slope = float(xc @ yc) / sxx
    r = float(xc @ yc) / np.sqrt(sxx * syy) if syy > 0 else 1.0
    return slope, float(y.mean() - slope * x.mean()), r


def octave_slopes(log_r, log_c, pos_r, pos_2r) -> np.ndarray:
    """Least-squares slope of ``log C`` over each octave ``[R, 2R]`` of a grid."""
    ok = np.isfinite(log_c)
    slopes = np.full(len(pos_r), np.nan)
    for j, (a, b) in enumerate(zip(pos_r, pos_2r)):
        members = np.arange(a, b + 1)[ok[a : b + 1]]
        if members.size >= 2:
            slopes[j] = _ols(log_r[members], log_c[members])[0]
    return slopes


def neighbour_slopes(log_r, log_c) -> np.ndarray:
    """Local slope of ``log C`` at each radius from it and its two neighbours."""
    ok = np.isfinite(log_c)
    slopes = np.full(log_r.shape, np.nan)
    for j in np.flatnonzero(ok):
        members = window(log_r, j, 0.0, ok)
        if members.size >= 2:
            slopes[j] = _ols(log_r[members], log_c[members])[0]
    return slopes


def row_slopes(counts: np.ndarray, log_radii: np.ndarray) -> np.ndarray:
    """Per-row least-squares slope of ``log N_R(x)`` against ``log R``.

    Radii with ``N_R(x) = 0`` are left out of that row's fit; rows with fewer
    than two usable radii get NaN.
    """
    # centred: the slope is shift invariant, and uncentred sums cancel when
    # the units make |log R| large (data at 1e200)
    log_radii = log_radii - log_radii.mean()
    valid = counts > 0
    w = valid.astype(np.float64)
    y = np.log(np.where(valid, counts, 1).astype(np.float64))
    n_valid = w.sum(axis=1)
    sx, sxx = w @ log_radii, w @ log_radii**2
    sy, sxy = y.sum(axis=1), y @ log_radii
    den = n_valid * sxx - sx**2
    out = np.full(counts.shape[0], np.nan)
    ok = (n_valid >= 2) & (den > 1e-12 * np.maximum(n_valid * sxx, 1e-300))
    out[ok] = (n_valid[ok] * sxy[ok] - sx[ok] * sy[ok]) / den[ok]
    return out


class CorrelationDimension(BaseDimension):
    """Global intrinsic dimension from the growth of the correlation integral.

    With ``C(R)`` the mean number of other points within distance ``R`` of a
    data point, ``log C(R) ~ d log R + const`` on the scaling range, and the
    estimate is the least-squares slope over that range (Grassberger and
    Procaccia; paper Section 3, Figure 2a; see :ref:`conv-correlation`).
    ``transform`` gives per-row slopes of ``log N_R(x)``.

    All counts of a fit come from ONE pass of the distance engine: the
    ``sample_size`` sampled rows against all rows (``C(R)`` is a mean over
    points, which a few thousand rows estimate well).

    Parameters
    ----------
    radii : "auto" or array-like of float, default="auto"
        Radii of the fit. An array (at least two distinct radii) is used as the
        scaling range, as in the paper (e.g. 8 to 18); radii where the ball of
        every sampled row holds all other rows (saturated counts: ``log C``
        is flat above the diameter) are left out with a warning, and a
        ValueError naming the saturation scale is raised when fewer than two
        remain. ``"auto"`` uses the scan of :class:`DoublingDimension` on the
        mean counts (saturated radii left out likewise):

        1. count radii ``lo * 2**(j/m)`` from ``lo`` (two octaves below the
           median distance to the ``min_neighbors``-th neighbour) to ``hi``
           (median radius of a ball holding ``max_fraction`` of the data),
           ``m`` per octave;
        2. for each grid radius ``R`` whose double is counted, the slope
           ``s(R)`` of ``log C`` over the octave ``[R, 2R]`` (least squares);
        3. plateau rule: the flatness at ``R`` is the mean of
           ``|d log s / d log R|`` over grid steps within ``plateau_width / 2``
           octaves (at least one step each side); radii with fewer than
           ``min_pairs`` counted pairs and the smallest radius are not
           chosen; the radius is chosen by the weights
           ``exp(-(F(R) / F* - 1) / plateau_tol)`` as in
           :class:`DoublingDimension`, and its octave is the fit range.

        Small radii measure ambient noise (slopes climb towards the ambient
        dimension), large radii saturation and curvature; the flattest stretch
        between them is the scaling range. The whole curve is kept
        (``log_radii_``, ``log_correlation_``; ``radii_``,
        ``dimension_by_radius_``).
    n_radii : int, default=32
        Largest number of count radii of the automatic grid (at most 8 per
        octave).
    min_neighbors : int, default=10
        Sets the low end of the automatic grid (see above).
    min_pairs : int, default=1000
        Radii with fewer (sampled row, neighbour) pairs within ``R`` do not
        start the automatic fit range (the slope of ``log C`` has a relative
        error of about ``1 / sqrt(pairs)``). When no radius has that many
        (fewer than about ``sqrt(min_pairs / max_fraction)`` rows) the fit
        falls back to the largest radius with a positive slope and warns
        (:class:`UndefinedDimensionWarning`).
    max_fraction : float in (0, 1], default=0.2
        The largest automatic radius holds about this fraction of the data.
    plateau_width : float, default=0.5
        Width (octaves) of the flatness window.
    plateau_tol : float, default=0.1
        Relative flatness scale of the plateau weights (see above).
    sample_size : int or None, default=5000
        Number of random rows whose neighbours are counted (against all
        rows); all rows if None or at least ``n_samples``.
    random_state : int, RandomState instance or None, default=None
        Seed of the row sample and of the automatic grid.
    n_jobs : int, default=None
        Parallel row blocks of the distance engine.
    device : str, default=None
        Torch device of the distance engine, if torch is installed.
    verbose : int, default=0
        Report the progress of the distance passes on stderr (a tqdm bar if
        tqdm is installed).

    Attributes
    ----------
    dimension_ : float
        Slope of ``log C(R)`` against ``log R`` over ``fit_radii_``.
    intercept_ : float
        Intercept of that line.
    rvalue_ : float
        Correlation coefficient of the fit.
    fit_radii_ : ndarray
        Radii of the fit (the scaling range).
    fit_range_ : tuple of float
        ``(min, max)`` of ``fit_radii_``.
    count_radii_ : ndarray of shape (n_count_radii,)
        All radii counted.
    log_radii_ : ndarray of shape (n_count_radii,)
        ``log(count_radii_)``.
    log_correlation_ : ndarray of shape (n_count_radii,)
        ``log C(R)`` (NaN where ``C(R) = 0``); plot against ``log_radii_``.
    radii_ : ndarray of shape (n_radii,)
        Scan radii: with ``"auto"`` the grid radii ``R`` (octave starts), with
        user radii the radii themselves.
    dimension_by_radius_ : ndarray of shape (n_radii,)
        With ``"auto"`` the slope over ``[R, 2R]``; with user radii the slope
        between neighbouring radii. NaN where undefined.
    flatness_ : ndarray of shape (n_radii,)
        Plateau criterion (NaN where undefined and with user radii).
    median_neighbors_ : ndarray of shape (n_radii,)
        Median ``N_R`` at ``radii_``.
    n_pairs_ : ndarray of shape (n_radii,)
        (Sampled row, neighbour) pairs within each of ``radii_``.
    sample_indices_ : ndarray of shape (n_sampled,)
        Rows whose neighbours were counted (sorted).
    local_dimension_ : ndarray of shape (n_sampled,)
        Per-row slopes of ``log N_R(x)`` over ``fit_radii_`` (NaN for rows
        with fewer than two fit radii holding a neighbour: at the small radii
        the global fit may use, many rows have none; no warning in ``fit``).
    summary_ : Bunch
        :func:`local_dimension_summary` of ``local_dimension_``.
    n_undefined_ : int
        Sampled rows with fewer than two fit radii holding a neighbour.
    counts_ : ndarray of shape (n_sampled, n_count_radii)
        Self-excluded neighbour counts at ``count_radii_``.
    dimension_is_lower_bound_ : bool
        True (with a warning) when ``dimension_`` is within one of the largest
        slope the counts could show over ``fit_range_`` (higher dimensions
        would read the same), or below half of ``ratio_dimension_`` (a
        strongly non-uniform density: the counts grow with its dense core).
    ratio_dimension_ : float
        :class:`GrideDimension` estimate of the data (1000 sampled rows), the
        cross-check of the lower-bound flag.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, defined when X has string feature names

    See Also
    --------
    DoublingDimension : local ``log2(N_2R / N_R)``.

    Notes
    -----
    Measured with default parameters (10,000 rows lifted into R^256, float32;
    true d in brackets): 5-ball 4.85 [5], 3-ball 2.95 [3], swiss roll 1.99
    [2], torus 2.00 [2], 4-sphere 3.97 [4]; with ambient noise 0.01 per
    coordinate: torus 2.28, 2-sphere 2.29 [2], 5-ball 4.81 [5], 4-cube 3.56
    [4]. What it cannot do: one global slope mixes the noise scale (which
    adds dimensions) with the boundary (which removes them), so a noisy
    bounded 4-manifold reads ~0.45 low; :class:`EigengapDimension` stays
    within 0.2 on all of these.

    Examples
    --------
    >>> from sksbi_manifold.datasets import make_lifted_manifold
    >>> from sksbi_manifold.dimension import CorrelationDimension
    >>> X, _, _ = make_lifted_manifold("torus", 2000, ambient_dim=20, random_state=0)
    >>> est = CorrelationDimension(random_state=0).fit(X)
    >>> round(est.dimension_)
    2
    >>> est.transform(X[:3]).shape
    (3, 1)
    """

    _parameter_constraints: ClassVar[dict] = {
        "radii": [StrOptions({"auto"}), "array-like"],
        "min_pairs": [Interval(Integral, 1, None, closed="left")],
        **SCAN_CONSTRAINTS,
    }

    def __init__(
        self,
        radii="auto",
        *,
        n_radii=32,
        min_neighbors=10,
        min_pairs=1000,
        max_fraction=0.2,
        plateau_width=0.5,
        plateau_tol=0.1,
        sample_size=5000,
        random_state=None,
        n_jobs=None,
        device=None,
        verbose=0,
    ):
        self.radii = radii
        self.n_radii = n_radii
        self.min_neighbors = min_neighbors
        self.min_pairs = min_pairs
        self.max_fraction = max_fraction
        self.plateau_width = plateau_width
        self.plateau_tol = plateau_tol
        self.sample_size = sample_size
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    @verbose_progress
    def fit(self, X, y=None):
        """Count neighbours at every radius and fit the scaling law.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data, at least 10 rows.
        y : None
            Ignored.

        Returns
        -------
        self : CorrelationDimension
        """
        check_device(self.device)
        X = self._validate_fit(X)
        rng = check_random_state(self.random_state)
        rows = self._sample_rows(X.shape[0], rng)
        auto = isinstance(self.radii, str)
        if auto:
            lo, hi = self._scan_bounds(X, rng)
            radii, edges, pos_r, pos_2r = doubling_grid(
                lo / 2.0**_EXTRA_OCTAVES, hi, self.n_radii
            )
        else:
            edges = user_radii(self.radii, "radii")
            if edges.size < 2:
                raise ValueError(
                    "CorrelationDimension needs at least two distinct radii to fit "
                    f"a slope, got radii={self.radii!r}. Pass a range of radii or "
                    "radii='auto'."
                )
        counts = sample_counts(X, rows, edges, n_jobs=self.n_jobs, device=self.device)
        if not auto:
            self._check_neighbors(X, counts[:, -1], edges[-1], "radii", rng)
        mean_counts = counts.mean(axis=0)
        log_e = np.log(edges)
        with np.errstate(divide="ignore"):
            log_c = np.where(mean_counts > 0, np.log(mean_counts), np.nan)
        # Every sampled ball holds all other rows: log C is flat by saturation.
        full = mean_counts >= X.shape[0] - 1
        log_fit = np.where(full, np.nan, log_c)
        ok = np.isfinite(log_fit)
        if auto:
            slopes = octave_slopes(log_e, log_fit, pos_r, pos_2r)
            median = np.median(counts[:, pos_r], axis=0)
            eligible = counts[:, pos_r].sum(axis=0) >= self.min_pairs
            index, flatness = select_plateau(
                radii, slopes, eligible, width=self.plateau_width, tol=self.plateau_tol
            )
            if index is None:  # tiny data: no plateau seen from both sides
                usable = np.flatnonzero(np.isfinite(slopes) & (slopes > 0))
                index = int(usable[-1]) if usable.size else radii.size - 1
                self._warn_few_pairs(X, counts[:, pos_r].sum(axis=0).max())
            fit = np.arange(pos_r[index], pos_2r[index] + 1)
            fit = fit[ok[fit]]
        else:
            pos_r = np.arange(edges.size)
            radii, median = edges, np.median(counts, axis=0)
            slopes = neighbour_slopes(log_e, log_fit)
            flatness = np.full(radii.shape, np.nan)
            fit = np.flatnonzero(ok)
            if full.any():
                self._drop_saturated(X, edges, full, fit.size, rng)
        if fit.size < 2:
            raise ValueError(
                f"CorrelationDimension: fewer than two radii have neighbours "
                f"short of all {X.shape[0] - 1} other rows ({X.shape[0]} rows); "
                "pass more rows, or radii with neighbours (or radii='auto')."
            )
        self.dimension_, self.intercept_, self.rvalue_ = _ols(log_e[fit], log_c[fit])
        self._fit_X = X
        self.sample_indices_ = rows
        self.n_pairs_ = counts[:, pos_r].sum(axis=0)
        self.counts_ = counts
        self.count_radii_ = edges
        self.log_radii_ = log_e
        self.log_correlation_ = log_c
        self.radii_ = radii
        self.dimension_by_radius_ = slopes
        self.flatness_ = flatness
        self.median_neighbors_ = median
        self.fit_radii_ = edges[fit]
        self.fit_range_ = (float(edges[fit[0]]), float(edges[fit[-1]]))
        self.local_dimension_ = row_slopes(counts[:, fit], log_e[fit]).astype(X.dtype)
        self.summary_ = local_dimension_summary(self.local_dimension_)
        self.n_undefined_ = int(np.count_nonzero(np.isnan(self.local_dimension_)))
        nonuniform = self._nonuniform_measure(X, rng)
        self._flag_lower_bound(
            self._out_of_reach(mean_counts[fit[0]], X.shape[0]) or nonuniform
        )
        return self

    def _out_of_reach(self, c_lo: float, n: int) -> str | None:
        """Why ``dimension_`` is a lower bound, or None.

        Over the fit range ``[r_lo, r_hi]`` the mean count can grow at most
        from ``C(r_lo)`` to ``n - 1``: slope ``<= log((n-1)/C(r_lo)) /
        log(r_hi/r_lo)``. Within one of that ceiling, a manifold of one more
        dimension would read the same.
        """
        r_lo, r_hi = self.fit_range_
        ceiling = float(np.log((n - 1) / max(c_lo, 1.0)) / np.log(r_hi / r_lo))
        if not self.dimension_ > ceiling - 1.0:
            return None
        return (
            f"over the fitted radii {r_lo:.4g}-{r_hi:.4g} the mean count can "
            f"grow at most from {c_lo:.3g} to {n - 1}, a slope of {ceiling:.2f}, "
            f"so any dimension above ~{ceiling - 1.0:.1f} reads about as this "
            "one. The data may be of much higher dimension: pass more rows, or "
            "use EigengapDimension."
        )

    def _drop_saturated(self, X, edges, full, n_fit: int, rng) -> None:
        """Raise (fewer than two radii left) or warn about saturated user radii."""
        if n_fit < 2:
            self._raise_saturated(X, "radii", self.radii, "R", rng)
        warnings.warn(
            f"CorrelationDimension: at radii {np.round(edges[full], 6).tolist()} "
            f"the ball of every sampled row holds all {X.shape[0] - 1} other "
            "rows (saturated counts, flat log C); they are left out of the fit. "
            "Pass radii below the data's diameter.",
            UndefinedDimensionWarning,
            stacklevel=4,
        )

    def _warn_few_pairs(self, X, most_pairs: int) -> None:
        # ~ n^2 max_fraction pairs lie within the top of the automatic grid
        need = int(np.ceil(np.sqrt(self.min_pairs / self.max_fraction)))
        warnings.warn(
            f"CorrelationDimension: {X.shape[0]} rows are too few for the "
            f"automatic fit range: no scan radius holds min_pairs="
            f"{self.min_pairs} (sampled row, neighbour) pairs (at most "
            f"{int(most_pairs)}), so the slope rests on few pairs and is "
            f"unreliable. Pass about {need} rows or more, or lower min_pairs.",
            UndefinedDimensionWarning,
            stacklevel=4,
        )

    def transform(self, X):
        """Per-row slopes of ``log N_R(x)`` over ``fit_radii_`` (fitted points).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        local_dimension : ndarray of shape (n_samples, 1)
            NaN for rows with fewer than two fit radii holding a fitted point.
        """
        X, Xc = self._validate_new(X)
        counts = neighbor_counts(
            Xc, self.fit_radii_, self._fit_X, n_jobs=self.n_jobs, device=self.device
        )
        local = row_slopes(counts, np.log(self.fit_radii_))
        self._warn_undefined(local, f"radius {self.fit_radii_[-2]:.4g}", " of X")
        return local.astype(X.dtype)[:, None]
