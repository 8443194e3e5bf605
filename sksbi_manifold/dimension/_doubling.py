"""Doubling (Assouad) dimension: d(x) = log2(N_2R(x) / N_R(x))."""

from __future__ import annotations

import warnings
from numbers import Real
from typing import ClassVar

import numpy as np
from scipy.stats import trim_mean
from sklearn.utils import Bunch, check_random_state

from .._compat import StrOptions, _fit_context
from .._geometry._device import check_device
from .._geometry.progress import verbose_progress
from ._base import (
    BANDWIDTH_CONSTRAINT,
    INTERVAL_CONSTRAINTS,
    SCAN_CONSTRAINTS,
    VOTE_RESOLUTION,
    BaseDimension,
)
from ._boundary import boundary_points, tangent_shift
from ._scan import (
    doubling_estimates,
    doubling_grid,
    eligible_radii,
    neighbor_counts,
    sample_counts,
    select_plateau,
)
from ._summary import kde_mode

# boundary="exclude": fewest rows left for the vote.
MIN_INTERIOR = 30


def user_radii(radius, name: str) -> np.ndarray:
    """Sorted distinct positive finite radii from a float or an array."""
    radii = np.unique(np.atleast_1d(np.asarray(radius, dtype=np.float64)))
    if radii.ndim != 1 or radii.size == 0 or not np.all(np.isfinite(radii)):
        raise ValueError(f"{name} must be finite, got {radius!r}.")
    if radii[0] <= 0:
        raise ValueError(f"{name} must be positive, got {radius!r}.")
    return radii


def interquartile_mean(values) -> float:
    """Mean of the finite values between their quartiles (NaN if none)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float(trim_mean(x, 0.25)) if x.size else float("nan")


def doubling_scan(
    counts,
    radii,
    pos_r,
    pos_2r,
    *,
    n_ref,
    auto=True,
    min_neighbors,
    width,
    tol,
    bandwidth,
    modes=True,
):
    """Doubling estimates at every radius and the plateau choice.

    The plateau rule reads the interquartile mean of the local estimates at
    each radius: unlike the KDE mode it varies smoothly with the radius when
    the counts are small and discrete. Radii whose typical ``2R``-ball holds
    all ``n_ref - 1`` other rows are never chosen (saturated counts).

    Returns a Bunch with ``local`` (n, K), ``mode`` (K,) (KDE mode per
    radius; None with ``modes=False``), ``center`` (K,) (interquartile mean per radius),
    ``median_neighbors`` (K,), ``flatness`` (K,), ``index`` (the chosen
    radius) and ``level`` (the fallback of :func:`eligible_radii`, 0 when
    ``min_neighbors`` was met). When every radius is saturated (level 3)
    ``index`` is the radius with the most defined local estimates, or None
    for a user radius (the caller raises).
    """
    n_r, n_2r = counts[:, pos_r], counts[:, pos_2r]
    local = doubling_estimates(n_r, n_2r, n_ref - 1)
    mode = (
        np.array([kde_mode(col, bandwidth=bandwidth) for col in local.T])
        if modes  # the plateau reads the centres; the KDEs cost most
        else None
    )
    center = np.array([interquartile_mean(col) for col in local.T])
    median = np.median(n_r, axis=0)
    eligible, level = eligible_radii(
        median, np.median(n_2r, axis=0), min_neighbors, n_ref
    )
    index, flatness = select_plateau(radii, center, eligible, width=width, tol=tol)
    if index is None and eligible.any():
        usable = np.flatnonzero(eligible & np.isfinite(center))
        open_ = np.flatnonzero(eligible)
        index = int(usable.max() if usable.size else open_[np.argmax(median[open_])])
    elif index is None and auto:
        index = int(np.argmax(np.isfinite(local).sum(axis=0)))
    return Bunch(
        local=local,
        mode=mode,
        center=center,
        median_neighbors=median,
        flatness=flatness,
        index=index,
        level=level,
    )


class DoublingDimension(BaseDimension):
    """Local and global intrinsic dimension from the doubling of ball counts.

    With ``N_R(x)`` the number of other data points within distance ``R`` of
    ``x``, a ``d``-dimensional manifold has ``N_2R(x) / N_R(x) ~ 2^d``, so the
    local estimate is ``d_R(x) = log2(N_2R(x) / N_R(x))`` (Assouad; paper
    Section 3 and Appendix Figure 1; see :ref:`conv-doubling`). It is NaN where
    ``N_R(x) = 0`` and where the ``2R``-ball holds all other rows (a ratio
    capped by the sample size, see Notes). The global dimension is the mode
    of a Gaussian KDE of the local estimates (the paper's smoothed-histogram
    majority vote).

    Every count of a fit comes from ONE pass of the distance engine, at all
    radii ``R`` and ``2 R`` of the scan at once: the ``sample_size`` sampled
    rows against all rows (the vote needs a few thousand estimates, not one
    per row; ``transform`` gives any row its estimate).

    Parameters
    ----------
    radius : "auto", float or array-like of float, default="auto"
        Scale ``R``. A float fixes it. An array is a radius grid: the estimate
        is computed at every radius and the plateau rule below picks
        ``radius_`` among them. ``"auto"`` builds the grid from the data:

        1. ``lo`` = median distance to the ``min_neighbors``-th neighbour,
           ``hi`` = median radius of a ball holding ``max_fraction`` of the data
           (from 1000 random rows);
        2. count radii ``lo * 2**(j/m)`` up to ``hi`` with ``m`` radii per octave
           (at most ``n_radii`` radii, ``1 <= m <= 8``); the grid radii ``R``
           are those whose double is also counted;
        3. at each ``R`` the local estimates are summarised by their
           interquartile mean ``D(R)`` (smooth in ``R``, unlike the KDE mode);
        4. plateau rule: the flatness at ``R`` is the mean of
           ``|d log D / d log R|`` over grid steps within ``plateau_width / 2``
           octaves of ``R`` (at least one step each side); radii whose median
           neighbour count is below ``min_neighbors`` are discarded; among the
           rest (never the smallest radius of the grid), with ``F*`` the
           smallest flatness, radius ``R`` gets the weight
           ``exp(-(F(R) / F* - 1) / plateau_tol)`` and the radius nearest to
           the weighted mean of ``log R`` is chosen: the flattest radius of a
           clear plateau, the centre of the flattest stretch where there is
           none.

        With isotropic ambient noise the small radii measure the noise (the
        estimate climbs towards the ambient dimension) and large radii measure
        curvature, boundaries and saturation (it falls); the flattest stretch in
        between is the manifold scale. The whole curve is kept in
        ``radii_`` / ``dimension_by_radius_`` (Appendix Figure 1). A radius
        whose typical ``2R``-ball holds all other rows is never chosen, and a
        fixed radius (or grid) where every radius does raises a ValueError
        (see Notes).
    n_radii : int, default=32
        Largest number of count radii of the automatic grid (at most 8 per
        octave; more radii cost little, the counts share one pass).
    min_neighbors : int, default=10
        Radii whose median ``N_R`` is below this are not chosen; also sets the
        low end of the automatic grid.
    max_fraction : float in (0, 1], default=0.2
        The largest automatic count radius (``2 R`` at the top of the grid)
        holds about this fraction of the data around a typical point.
    plateau_width : float, default=0.5
        Width (octaves of ``R``) of the window of the flatness measure.
    plateau_tol : float, default=0.1
        Relative flatness scale of the plateau weights (see above). 0 picks
        the flattest radius, which jumps with sampling noise where the curve
        has no clear plateau (e.g. noise giving way to a boundary).
    bandwidth : {"silverman", "scott"} or float, default="silverman"
        KDE bandwidth of the vote (see :func:`kde_bandwidth`).
    boundary : {"exclude", "keep"}, default="exclude"
        ``"exclude"`` leaves boundary points out of the vote (their ``2R``-ball
        is cut, which biases the estimate down; see Notes). A sampled point is
        a boundary point when the centroid of its ``2R``-neighbourhood is
        shifted within the tangent space (top ``k`` directions of a local PCA
        of 32 random neighbours) significantly (Hotelling test, level 0.01)
        and by more than 5 % of ``2R``. The tangent dimension ``k`` is the
        rounded vote ``k0`` or ``k0 + 1`` (the boundary biases the vote down):
        the larger one whose remaining points vote for at least ``k`` (on a
        curved manifold direction ``d + 1`` is the normal, the curvature
        shift flags nearly every point there and ``k = d`` is kept). The
        shift is measured on a random column subset holding about 256
        neighbours per point (one more distance pass at that fraction of the
        data, plus a local PCA of each sampled point). When fewer than 30
        points remain (every ``2R``-ball at this scale meets the boundary) a
        warning says so and all points vote. Where the boundary bias exceeds
        0.5 and almost no point has an uncut ``2R``-ball (a 5-ball with 2,000
        points), ``k`` is too low and the correction partial.
    sample_size : int or None, default=5000
        Number of random rows whose local estimates are computed in ``fit``
        (against all rows); all rows if None or at least ``n_samples``.
    n_bootstrap : int, default=20
        Bootstrap replicates of ``dimension_`` behind ``dimension_ci_``: the
        sampled rows' ball counts are resampled and the radius re-selected in
        each replicate. Replicates cost no distance pass (a few ms each); 0
        turns the interval off, 100 or more gives steadier ends (the report uses
        100).
    confidence_level : float, default=0.95
        Level of the percentile interval ``dimension_ci_``.
    random_state : int, RandomState instance or None, default=None
        Seed of the row sample and of the automatic grid.
    n_jobs : int, default=None
        Parallel row blocks of the distance engine.
    device : str, default=None
        Torch device of the distance engine (``"cuda"``), if torch is installed.
    verbose : int, default=0
        Report the progress of the distance passes on stderr (a tqdm bar if
        tqdm is installed).

    Attributes
    ----------
    radius_ : float
        Scale ``R`` of ``local_dimension_`` and ``transform``.
    radii_ : ndarray of shape (n_radii,)
        Grid radii ``R`` (one entry for a fixed radius).
    dimension_by_radius_ : ndarray of shape (n_radii,)
        Global estimate (KDE mode) at each grid radius.
    center_by_radius_ : ndarray of shape (n_radii,)
        Interquartile mean of the local estimates at each grid radius (the
        curve read by the plateau rule).
    sample_indices_ : ndarray of shape (n_sampled,)
        Rows whose local estimates were computed (sorted).
    local_dimension_by_radius_ : ndarray of shape (n_sampled, n_radii)
        Local estimates at every grid radius (NaN where ``N_R = 0`` or
        ``N_2R = n_samples - 1``).
    median_neighbors_ : ndarray of shape (n_radii,)
        Median ``N_R`` at each grid radius.
    flatness_ : ndarray of shape (n_radii,)
        Plateau criterion at each grid radius (NaN where undefined).
    local_dimension_ : ndarray of shape (n_sampled,)
        Local estimates of the sampled rows at ``radius_``.
    dimension_ : float
        KDE mode of ``local_dimension_``.
    dimension_mean_, dimension_median_ : float
        Mean and median of the finite local estimates.
    dimension_vote_ : int
        Plain vote: most frequent rounded local estimate.
    summary_ : Bunch
        :func:`local_dimension_summary` of ``local_dimension_`` (histogram and
        KDE for plots).
    n_undefined_ : int
        Sampled points with no neighbour within ``radius_`` or a ``2R``-ball
        holding all other rows (NaN estimate).
    interior_mask_ : ndarray of bool of shape (n_sampled,)
        Sampled points whose estimate enters the vote (all with
        ``boundary="keep"``).
    dimension_ci_ : tuple of float or None
        ``(low, high)``: the ``confidence_level`` percentile interval of the
        bootstrap replicates (None with ``n_bootstrap=0``). It measures the
        sampling variability of ``dimension_`` including its scale choice,
        not its bias (noise raises a count-based estimate, curvature and
        boundaries lower it; see :ref:`conv-intervals`); when
        ``dimension_is_lower_bound_`` its high end bounds nothing.
    dimension_bootstrap_ : ndarray of shape (n_bootstrap,) or None
        The replicates (NaN where a replicate found no estimate).
    dimension_is_lower_bound_ : bool
        True (with a warning) when ``dimension_`` is within one of the largest
        dimension the data can show at ``radius_``, ``log2((n - 1) / N_R)``
        (typical ``N_R``): higher dimensions would read the same; also when
        it is NaN, or below 3/4 of ``ratio_dimension_``, or the densest tenth of the
        sampled points holds most pairs (a strongly non-uniform density: the
        counts grow with its dense core).
    ratio_dimension_ : float
        :class:`GrideDimension` estimate of the data (1000 sampled rows), the
        cross-check of the lower-bound flag.
    boundary_shift_ : ndarray of shape (n_sampled,)
        Tangent shift of the ``2R``-neighbourhood centroid over ``2R``
        (``boundary="exclude"``; NaN with ``"keep"``).
    counts_ : ndarray of shape (n_sampled, n_count_radii)
        Self-excluded neighbour counts at ``count_radii_``.
    count_radii_ : ndarray of shape (n_count_radii,)
        All radii counted (every ``R`` and ``2 R``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str, defined when X has string feature names

    See Also
    --------
    CorrelationDimension : global slope of log C(R) against log R.
    EigengapDimension : local PCA eigengap.

    Notes
    -----
    A boundary biases the estimate down: near it the ``2 R``-ball loses more
    of its volume than the ``R``-ball. Where few points lie ``2 R`` away from
    the boundary (a 5-ball sampled with 20,000 points, whose smallest usable
    ``R`` is a quarter of its radius) the local estimates centre near 4.6,
    as the exact volume ratio predicts (see the tests); ``boundary="exclude"``
    lets only the points with an uncut ``2R``-ball vote (4.9 there), and is
    the default. The
    global slope of :class:`CorrelationDimension` can use smaller radii (it
    needs pairs, not neighbours of every point) and
    :class:`EigengapDimension` counts directions, not volume; both are less
    affected.

    Measured with default parameters (10,000 rows lifted into R^256, float32;
    true d in brackets): 5-ball 4.84 [5], 3-ball 2.98 [3], swiss roll 1.99
    [2], torus 1.96 [2], 4-sphere 3.93 [4]; with ambient noise 0.01 per
    coordinate (a noise radius of 0.16 on unit-sized manifolds): torus 2.29,
    2-sphere 2.29 [2], 5-ball 4.56 [5], 4-cube 3.43 [4]. What it cannot do:
    in 4+ dimensions with both a boundary and such noise the radii where the
    counts scale are the ones where the boundary cuts most balls and the
    noise hides the centroid shift that would flag them, so the estimate is
    0.4-0.6 low; :class:`EigengapDimension` stays within 0.2 on all of these
    and is the one to trust there.

    Ball counts saturate at the data's diameter: where the ``2R``-ball of a
    typical point holds all other rows, ``N_2R / N_R`` is capped by the sample
    size (above the diameter it is 1 and ``log2(1) = 0``), which is no
    dimension. Such radii are never chosen; when every radius given is one,
    a ValueError names the scale where the counts saturate. Data too small
    for ``min_neighbors`` (fewer than ``2 * min_neighbors + 2`` rows, and
    ``2**d * min_neighbors + 2`` in dimension ``d``) get the estimate at the
    unsaturated radius chosen among those with at least one neighbour and an
    :class:`UndefinedDimensionWarning`; fewer than 10 rows raise (``n`` rows
    read dimensions up to ``log2(n - 2)`` at best).

    Counts exclude the point itself (``N_R(x) = |{y : d(x, y) <= R}| - 1``).
    ``transform`` counts fitted points around new rows; a new row identical to
    a fitted row is treated as that point (its copy is not counted), so
    ``transform(X_fit[sample_indices_])`` equals ``local_dimension_``.

    Examples
    --------
    >>> from sksbi_manifold.datasets import make_lifted_manifold
    >>> from sksbi_manifold.dimension import DoublingDimension
    >>> X, _, _ = make_lifted_manifold("sphere", 2000, ambient_dim=20, random_state=0)
    >>> est = DoublingDimension(random_state=0).fit(X)
    >>> round(est.dimension_)
    2
    >>> low, high = est.dimension_ci_  # 95 % bootstrap interval
    >>> bool(low < 2.0 < high)
    True
    >>> est.transform(X[:5]).shape
    (5, 1)
    """

    _parameter_constraints: ClassVar[dict] = {
        "radius": [StrOptions({"auto"}), Real, "array-like"],
        "bandwidth": BANDWIDTH_CONSTRAINT,
        "boundary": [StrOptions({"keep", "exclude"})],
        **SCAN_CONSTRAINTS,
        **INTERVAL_CONSTRAINTS,
    }

    def __init__(
        self,
        radius="auto",
        *,
        n_radii=32,
        min_neighbors=10,
        max_fraction=0.2,
        plateau_width=0.5,
        plateau_tol=0.1,
        bandwidth="silverman",
        boundary="exclude",
        sample_size=5000,
        n_bootstrap=20,
        confidence_level=0.95,
        random_state=None,
        n_jobs=None,
        device=None,
        verbose=0,
    ):
        self.radius = radius
        self.n_radii = n_radii
        self.min_neighbors = min_neighbors
        self.max_fraction = max_fraction
        self.plateau_width = plateau_width
        self.plateau_tol = plateau_tol
        self.bandwidth = bandwidth
        self.boundary = boundary
        self.sample_size = sample_size
        self.n_bootstrap = n_bootstrap
        self.confidence_level = confidence_level
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def _grid(self, X, rng):
        if isinstance(self.radius, str):
            lo, hi = self._scan_bounds(X, rng)
            return doubling_grid(lo, hi, self.n_radii)
        radii = user_radii(self.radius, "radius")
        edges = np.unique(np.r_[radii, 2.0 * radii])
        return (
            radii,
            edges,
            np.searchsorted(edges, radii),
            np.searchsorted(edges, 2.0 * radii),
        )

    @_fit_context(prefer_skip_nested_validation=True)
    @verbose_progress
    def fit(self, X, y=None):
        """Count neighbours at every radius and estimate the dimension.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data, at least 10 rows (fewer than ``2 * min_neighbors + 2``
            give a warning: see Notes).
        y : None
            Ignored.

        Returns
        -------
        self : DoublingDimension
        """
        check_device(self.device)
        X = self._validate_fit(X)
        rng = check_random_state(self.random_state)
        rows = self._sample_rows(X.shape[0], rng)
        radii, edges, pos_r, pos_2r = self._grid(X, rng)
        counts = sample_counts(X, rows, edges, n_jobs=self.n_jobs, device=self.device)
        scan = self._scan(X, counts, radii, pos_r, pos_2r, rng)
        self._fit_X = X
        self.sample_indices_ = rows
        self.counts_ = counts
        self.count_radii_ = edges
        self._positions = (pos_r, pos_2r)
        self._set_scan(scan, radii, X.dtype)
        at_2r = counts[:, pos_2r[scan.index]]
        if self.boundary == "exclude":
            self._exclude_boundary(X, rows, np.median(at_2r), rng)
        summary = self._set_vote(self.local_dimension_[self.interior_mask_])
        self.dimension_vote_ = summary.vote
        n = X.shape[0]
        self.n_undefined_ = self._warn_undefined(
            self.local_dimension_,
            f"radius_={self.radius_:.4g}",
            n_full=np.count_nonzero(at_2r >= n - 1),
        )
        nonuniform = self._nonuniform_measure(X, rng, at_2r)
        self._flag_lower_bound(
            self._out_of_reach(np.median(counts[:, pos_r[scan.index]]), n) or nonuniform
        )
        self._set_interval(self._replicate, rng, resolution=VOTE_RESOLUTION)
        return self

    def _scan(self, X, counts, radii, pos_r, pos_2r, rng):
        """The doubling scan of ``counts``; errors and warnings of its choice."""
        auto = isinstance(self.radius, str)
        if not auto:
            # a fixed radius (or every radius of a grid) without any neighbour
            self._check_neighbors(X, counts[:, pos_r[-1]], radii[-1], "radius", rng)
        scan = doubling_scan(
            counts,
            radii,
            pos_r,
            pos_2r,
            n_ref=X.shape[0],
            auto=auto,
            **self._scan_params(),
        )
        if scan.index is None:
            self._raise_saturated(X, "radius", self.radius, "2R", rng)
        if auto:
            self._check_scan(X, scan, radii)
        return scan

    def _set_scan(self, scan, radii, dtype) -> None:
        """The scan's curves and the local estimates at the chosen radius."""
        pos_2r = self._positions[1]
        self.radii_ = radii
        self.dimension_by_radius_ = scan.mode
        self.center_by_radius_ = scan.center
        self.local_dimension_by_radius_ = scan.local
        self.median_neighbors_ = scan.median_neighbors
        self.flatness_ = scan.flatness
        self.radius_ = float(radii[scan.index])
        self._outer_radius = float(self.count_radii_[pos_2r[scan.index]])  # 2 R
        self.local_dimension_ = scan.local[:, scan.index].astype(dtype)
        n_rows = scan.local.shape[0]
        self.interior_mask_ = np.ones(n_rows, dtype=bool)
        self.boundary_shift_ = np.full(n_rows, np.nan)

    def _replicate(self, idx: np.ndarray) -> float:
        """``dimension_`` from the counts of the sampled rows ``idx``.

        The radius is re-selected (automatic scan); the boundary rows of the
        fit stay excluded (their test needs distances).
        """
        pos_r, pos_2r = self._positions
        scan = doubling_scan(
            self.counts_[idx],
            self.radii_,
            pos_r,
            pos_2r,
            n_ref=self._fit_X.shape[0],
            auto=isinstance(self.radius, str),
            modes=False,
            **self._scan_params(),
        )
        if scan.index is None:
            return np.nan
        local = scan.local[self.interior_mask_[idx], scan.index]
        return kde_mode(local, bandwidth=self.bandwidth)

    def _out_of_reach(self, n_r: float, n: int) -> str | None:
        """Why ``dimension_`` is a lower bound, or None.

        ``N_2R / N_R`` cannot exceed ``(n - 1) / N_R``: where ``2**(d + 1)``
        already does, dimension ``d + 1`` would look like ``d`` (the 2R-ball
        of a (d+1)-manifold needs more rows than there are), so data of any
        higher dimension read about as ``d``.
        """
        ceiling = float(np.log2((n - 1) / max(n_r, 1.0)))
        # NaN: every 2R-ball saturated, nothing at all is resolved
        if np.isfinite(self.dimension_) and not self.dimension_ > ceiling - 1.0:
            return None
        return (
            f"at radius_={self.radius_:.4g} a typical point has {n_r:.0f} "
            f"neighbours, so the count ratio N_2R / N_R cannot exceed "
            f"{n - 1} / {n_r:.0f} = 2**{ceiling:.2f}, and any dimension above "
            f"~{ceiling - 1.0:.1f} reads about as this one. The data may be of "
            "much higher dimension: pass more rows (each extra dimension needs "
            "twice as many), or use EigengapDimension."
        )

    def _exclude_boundary(self, X, rows, typical_count, rng) -> None:
        """Set ``interior_mask_`` / ``boundary_shift_`` (``boundary="exclude"``).

        The tangent dimension ``k`` is the rounded vote ``k0`` or ``k0 + 1``
        (the boundary biases the vote down, by more than 0.5 in 5+
        dimensions at usable scales): the largest one whose remaining points
        vote for at least ``k``; ``k0`` when neither does.
        """
        local, D = self.local_dimension_, X.shape[1]
        vote = kde_mode(local, bandwidth=self.bandwidth)
        k0 = int(np.clip(np.round(np.nan_to_num(vote, nan=1.0)), 1, D))
        candidates = range(k0, min(k0 + 1, D) + 1)
        shift = tangent_shift(
            X,
            rows,
            self._outer_radius,
            candidates[-1],
            typical_count,
            rng,
            n_jobs=self.n_jobs,
            device=self.device,
        )
        chosen = None
        for k in candidates:
            ratio, boundary = boundary_points(shift, k)
            if np.count_nonzero(~boundary) < MIN_INTERIOR:
                continue
            vote = kde_mode(local[~boundary], bandwidth=self.bandwidth)
            if chosen is None or np.round(vote) >= k:
                chosen = (~boundary, ratio)
        if chosen is None:
            warnings.warn(
                f"DoublingDimension: fewer than {MIN_INTERIOR} sampled points "
                f"have a 2R-ball clear of the boundary at radius_="
                f"{self.radius_:.4g}; all points vote (the estimate is biased "
                "down by the boundary). Use a smaller radius or more data.",
                UserWarning,
                stacklevel=4,
            )
            return
        self.interior_mask_, self.boundary_shift_ = chosen

    def transform(self, X):
        """Local doubling dimension of new rows against the fitted data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        local_dimension : ndarray of shape (n_samples, 1)
            ``log2(N_2R / N_R)`` at ``radius_`` counting fitted points; NaN
            where no fitted point lies within ``radius_`` or all but at most
            one within ``2 * radius_`` (saturated counts).
        """
        X, Xc = self._validate_new(X)
        radii = [self.radius_, self._outer_radius]
        counts = neighbor_counts(
            Xc, radii, self._fit_X, n_jobs=self.n_jobs, device=self.device
        )
        # a 2R-ball holding all fitted rows but (at most) the row's twin
        n_max = self._fit_X.shape[0] - 1
        local = doubling_estimates(counts[:, 0], counts[:, 1], n_max)
        self._warn_undefined(
            local,
            f"radius_={self.radius_:.4g}",
            " of X",
            n_full=np.count_nonzero(counts[:, 1] >= n_max),
        )
        return local.astype(X.dtype)[:, None]
