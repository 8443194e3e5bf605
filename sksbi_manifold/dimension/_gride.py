"""GRIDE: maximum-likelihood dimension from ratios of neighbour distances."""

from __future__ import annotations

import warnings
from functools import partial
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.utils import Bunch, check_random_state

from .._compat import Interval, StrOptions, _fit_context
from .._geometry._device import check_device
from .._geometry.distances import TREE_MAX_FEATURES, knn_distances, tree_knn_distances
from .._geometry.progress import verbose_progress
from ..exceptions import UndefinedDimensionWarning
from ._base import (
    INTERVAL_CONSTRAINTS,
    SCAN_CONSTRAINTS,
    UNDEFINED_WARN_FRACTION,
    BaseDimension,
)
from ._calibration import REFERENCES, Calibration
from ._scan import select_plateau
from ._summary import local_dimension_summary

# Bisection steps of the likelihood equation: the root is bracketed within a
# factor n1 (see gride_mle), 60 halvings of log n1 reach float precision.
_BISECTION_STEPS = 60
# The plateau rule needs a scale on each side of a candidate: with fewer
# scales the estimate is the smallest rank's, with a warning.
_MIN_SCALES = 3
# A climb from the smallest rank counts as structure when it exceeds this many
# (asymptotic, optimistic) standard errors of its two ends.
RISE_SDS = 4.0
# Ranks (from the chosen one up) whose curve decides the calibration's
# reference shape.
SHAPE_RANKS = 3
# Rows queried in each reference sample (of the data's size): four samples of
# 1,000 read d = 10 to +-0.16, the data's 5,000 sampled rows to +-0.14.
REFERENCE_QUERIES = 1000


def neighbor_distances(Q, X_ref, k: int, *, n_jobs=None, device=None) -> np.ndarray:
    """Distances from each query row to its ``k`` nearest reference rows.

    A query row identical to a reference row is that reference point: one
    zero distance (itself) is dropped, so querying the fitted rows gives
    their self-excluded neighbours (a duplicate of a row is still its
    neighbour, at distance 0).
    """
    dist = knn_distances(Q, k + 1, X_ref, n_jobs=n_jobs, device=device)
    itself = dist[:, 0] == 0.0
    return np.where(itself[:, None], dist[:, 1:], dist[:, :-1])


def log_ratios(dist: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """``log(r_{2 n1} / r_{n1})`` per row and rank ``n1`` (NaN if degenerate).

    A ratio is degenerate where ``r_{n1} = 0`` (duplicate rows: a ratio of
    zero distances) or ``r_{2 n1} = r_{n1}`` (tied distances, e.g. gridded
    data): neither carries a length ratio, and each would give a silent
    infinite or undefined likelihood.
    """
    inner, outer = dist[:, ranks - 1], dist[:, 2 * ranks - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(outer / inner)
    out[~((inner > 0) & (outer > inner) & np.isfinite(out))] = np.nan
    return out


def gride_mle(log_mu: np.ndarray, n1: int, axis=None) -> np.ndarray:
    """Maximum-likelihood dimension of GRIDE ratios ``mu = r_{2 n1} / r_{n1}``.

    For a Poisson process of locally constant density in dimension ``d``
    (Denti et al. 2022), ``mu`` has the density
    ``d (mu^d - 1)^(n1 - 1) / (B(n1, n1) mu^(d (2 n1 - 1) + 1))`` on
    ``mu > 1``. The log-likelihood of ``N`` ratios is concave in ``d``; its
    root of ``N / d + (n1 - 1) sum l / (1 - e^{-d l}) - (2 n1 - 1) sum l``
    (``l = log mu``) lies in ``[N / (n1 L), N / L]``, ``L = sum l``, and is
    found by bisection in ``log d``. ``n1 = 1`` is TwoNN's ``N / L``. NaN
    entries (degenerate ratios) are left out; NaN where none is left.

    Parameters
    ----------
    log_mu : ndarray
    n1 : int
    axis : int or None
        Axis of the ratios pooled into one estimate (None: all).
    """
    log_mu = np.asarray(log_mu, dtype=np.float64)
    used = np.isfinite(log_mu)
    ell = np.where(used, log_mu, 0.0)
    count = used.sum(axis=axis)
    total = ell.sum(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        hi = count / total
        lo = hi / n1
    lo, hi = np.log(lo), np.log(hi)
    if n1 > 1:
        for _ in range(_BISECTION_STEPS):
            mid = 0.5 * (lo + hi)
            d = np.exp(mid)
            d_b = np.expand_dims(d, axis) if axis is not None else d
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                share = np.where(used, ell / -np.expm1(-d_b * ell), 0.0)
            score = count / d + (n1 - 1) * share.sum(axis=axis) - (2 * n1 - 1) * total
            up = score > 0
            lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    d = np.exp(0.5 * (lo + hi))
    return np.where(count > 0, d, np.nan)


def gride_std(log_mu: np.ndarray, n1: int, d: float) -> float:
    """Asymptotic standard error of the pooled estimate ``d`` (Fisher).

    The information of ``N`` ratios is ``N / d^2 + (n1 - 1) sum l^2
    e^{-d l} / (1 - e^{-d l})^2``; neighbouring rows share neighbours, so
    this is a lower bound on the true spread.
    """
    ell = log_mu[np.isfinite(log_mu)]
    if ell.size == 0 or not np.isfinite(d):
        return float("nan")
    e = np.exp(-d * ell)
    info = ell.size / d**2 + (n1 - 1) * np.sum(ell**2 * e / (1.0 - e) ** 2)
    return float(1.0 / np.sqrt(info))


def _estimates_by_rank(sample, *, ranks, n_queries, n_jobs) -> np.ndarray:
    """GRIDE at each of ``ranks`` from the first ``n_queries`` rows of ``sample``.

    The calibration's statistic: one k-NN pass against the whole sample (its
    rows are exchangeable, so the first ones are a random sample); a k-d tree
    in the few dimensions where it beats the blocked GEMMs.
    """
    k = int(2 * ranks[-1])
    if sample.shape[1] <= TREE_MAX_FEATURES:
        dist = tree_knn_distances(sample[:n_queries], k + 1, sample)[:, 1:]
    else:
        dist = neighbor_distances(sample[:n_queries], sample, k, n_jobs=n_jobs)
    return gride_curve(log_ratios(dist, ranks), ranks)


def gride_curve(log_mu: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Pooled estimate at each rank from the ratios ``log_mu[:, j]`` of ``ranks[j]``."""
    return np.array([gride_mle(log_mu[:, j], r) for j, r in enumerate(ranks)])


def rank_grid(n: int, max_neighbors: int, max_fraction: float) -> np.ndarray:
    """Ranks ``n1 = 1, 2, 4, ...`` with ``2 n1`` at most the largest rank.

    The largest rank is ``max_neighbors``, at most ``max_fraction (n - 1)``
    (a local neighbourhood) and at least 2 (one TwoNN ratio), at most
    ``n - 1``.
    """
    top = min(max_neighbors, int(np.floor(max_fraction * (n - 1))))
    top = int(np.clip(top, 2, n - 1))
    return 2 ** np.arange(int(np.floor(np.log2(top))))


class GrideDimension(BaseDimension):
    """Intrinsic dimension from ratios of neighbour distances (GRIDE).

    With ``r_k(x)`` the distance from ``x`` to its ``k``-th nearest
    neighbour, the ratios ``mu = r_{2 n1} / r_{n1}`` of a ``d``-dimensional
    sample of locally constant density follow a known law that depends only
    on ``d`` (Denti, Doimo, Laio and Mira 2022, "The generalized ratios
    intrinsic dimension estimator"); ``dimension_`` is its maximum-likelihood
    estimate from the ratios of all sampled rows. ``n1 = 1`` is TwoNN
    (Facco et al. 2017). The rank ``n1`` is the scale: small ranks see
    ambient noise (the estimate climbs towards the ambient dimension), large
    ranks curvature, boundaries and density changes; see
    :ref:`conv-gride`.

    Parameters
    ----------
    n1 : "auto" or int, default="auto"
        Neighbour rank of the ratio ``r_{2 n1} / r_{n1}``. ``"auto"`` scans
        ``n1 = 1, 2, 4, ...`` (``2 n1`` at most ``max_neighbors`` and
        ``max_fraction (n - 1)``) and picks ``n1`` with the package's plateau
        rule (:ref:`conv-radius-grids`), each rank placed at its typical
        radius ``R(n1)``, the median distance to the ``2 n1``-th neighbour:
        the flatness ``F`` at ``n1`` is the mean of ``|d log D / d log R|``
        within ``plateau_width / 2`` octaves of ``R`` (at least one rank to
        each side; one-sided at the ends, and the smallest rank may be
        chosen: it has no count floor). Ranks where more than 10 % of the
        ratios are degenerate are not chosen. The chosen rank is the
        smallest with ``F <= (1 + plateau_tol) F*``, ``F*`` the smallest
        flatness: the start of the flattest stretch. Measured in radius, the
        noise regime is steep (the radius barely grows while the estimate
        falls); beyond the plateau curvature, boundaries and density changes
        make the estimate drift as slowly as a plateau, so the centre of the
        flattest stretch would sit too far out (see :ref:`conv-gride`).
    calibration : {"auto", "ball", "sphere"} or None, default="auto"
        Finite-sample calibration of the estimate at the chosen rank: the same
        estimator (same rank and number of rows, 1,000 of them queried) run on
        uniform samples of a reference shape of dimension ``d`` reads
        ``g(d)``, and ``dimension_`` is the ``d`` with ``g(d)`` equal to the
        data's reading (``dimension_uncalibrated_``). ``"ball"``: the unit
        ``d``-ball, whose boundary cuts the neighbourhoods as a bounded
        parameter range does; ``"sphere"``: ``S^d``, no boundary, curvature
        only; ``"auto"``: the one whose curve over the chosen rank and the
        next two is closer to the data's (the sphere when only one rank is
        read). None: the likelihood's estimate as is. On 2,500 rows TwoNN
        reads 8.9 on a 10-ball and 9.3-9.8 on a 10-sphere; see
        :ref:`conv-gride`.
    max_neighbors : int, default=256
        Largest neighbour rank ``2 n1`` of the automatic scan.
    max_fraction : float in (0, 1], default=0.2
        The largest rank is at most this fraction of the rows (a larger
        neighbourhood is not local).
    plateau_width : float, default=1.0
        Width (octaves of radius) of the flatness window.
    plateau_tol : float, default=0.5
        Relative flatness excess of the chosen rank over the flattest.
    sample_size : int or None, default=5000
        Number of random rows whose ratios enter the likelihood (their
        neighbours are searched among all rows); all rows if None or at least
        ``n_samples``.
    n_bootstrap : int, default=20
        Bootstrap replicates of ``dimension_`` behind ``dimension_ci_``: the
        sampled rows' neighbour-distance ratios are resampled and the rank
        re-selected in each replicate. Replicates cost no distance pass (a few
        ms each); 0 turns the interval off, 100 or more gives steadier ends (the
        report uses 100).
    confidence_level : float, default=0.95
        Level of the percentile interval ``dimension_ci_``.
    random_state : int, RandomState instance or None, default=None
        Seed of the row sample.
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
        Calibrated maximum-likelihood dimension at ``n1_`` (at most the
        number of features).
    dimension_uncalibrated_ : float
        The maximum-likelihood dimension at ``n1_`` itself.
    calibration_factor_ : float
        ``dimension_ / dimension_uncalibrated_`` (1 without calibration); the
        per-row estimates are scaled by it.
    calibration_ : Bunch or None
        ``reference`` (the shape used), ``dimensions`` (those sampled),
        ``estimates`` (their mean reading by rank, shape (n_dimensions,
        n_ranks)) and ``ranks``; None with ``calibration=None``.
    dimension_std_ : float
        Its asymptotic standard error (a lower bound: neighbourhoods overlap),
        through the calibration.
    n1_ : int
        Chosen rank (the ratio is ``r_{2 n1_} / r_{n1_}``).
    radius_ : float
        Median distance to the ``2 n1_``-th neighbour: the length scale read.
    ranks_ : ndarray of shape (n_scales,)
        Ranks ``n1`` of the scan (one entry for a fixed ``n1``).
    dimension_by_scale_ : ndarray of shape (n_scales,)
        Uncalibrated estimate at each rank (the curve read by the plateau
        rule).
    std_by_scale_ : ndarray of shape (n_scales,)
        Its standard errors.
    radius_by_scale_ : ndarray of shape (n_scales,)
        Median ``r_{2 n1}`` at each rank.
    flatness_ : ndarray of shape (n_scales,)
        Plateau criterion (NaN where undefined and for a fixed ``n1``).
    sample_indices_ : ndarray of shape (n_sampled,)
        Rows whose ratios were used (sorted).
    local_dimension_ : ndarray of shape (n_sampled,)
        Maximum-likelihood dimension of each sampled row's own ratio at
        ``n1_`` times ``calibration_factor_`` (one ratio: a noisy estimate,
        about ``d / sqrt(n1_)`` spread; NaN where the ratio is degenerate).
    summary_ : Bunch
        :func:`local_dimension_summary` of ``local_dimension_``.
    n_undefined_ : int
        Sampled rows with a degenerate ratio at ``n1_`` (duplicates or ties).
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
        True (with a warning) when ``2**d * 2 n1_`` exceeds the number of
        rows, ``d = dimension_uncalibrated_``: the ``2 n1_``-neighbourhood
        could not double its radius inside the data, so it spans the data
        and its boundaries, curvature and density changes bias every ratio
        down by more than a reference shape can be trusted to undo.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, defined when X has string feature names

    See Also
    --------
    DoublingDimension : ball counts at ``R`` and ``2 R`` (a radius scan).
    EigengapDimension : directions of the local covariance, not volumes.

    Notes
    -----
    The neighbours of the sampled rows come from one k-NN pass of the
    distance engine (blocks of rows against all rows, no ``n x n`` matrix).
    Degenerate ratios (duplicate rows, tied distances) are left out of the
    likelihood; more than 10 % of them at ``n1_`` give an
    :class:`UndefinedDimensionWarning`, and a ValueError when no sampled row
    has a usable ratio at any rank.

    Measured with default parameters (10,000 rows lifted into R^256, float32,
    seed 0; true d in brackets, the uncalibrated reading in parentheses):
    5-ball 5.03 (4.75) [5], 3-ball 3.01 (2.95) [3], swiss roll 1.97 [2],
    torus 2.00 [2], 4-sphere 3.99 (3.98) [4]. With ambient noise 0.01 per
    coordinate (noise radius 0.16) no rank up to 256 reaches the manifold's
    scale and the calibration lifts the inflated reading further: torus 3.12
    (2.94), 2-sphere 3.49 (3.42), 4-cube 6.31 (5.81), 5-ball 6.61 (5.77);
    :class:`EigengapDimension` reads all of these exactly. Its strength is
    the clean or mildly noisy data of the standard benchmark, where the
    calibration removes most of the finite-sample bias of high dimensions
    (see :ref:`conv-gride`).

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.dimension import GrideDimension
    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[rng.uniform(size=(2000, 3)), np.zeros((2000, 2))]
    >>> est = GrideDimension(random_state=0).fit(X)
    >>> round(est.dimension_)
    3
    >>> est.transform(X[:4]).shape
    (4, 1)
    """

    _parameter_constraints: ClassVar[dict] = {
        "n1": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "calibration": [StrOptions({"auto", "ball", "sphere"}), None],
        "max_neighbors": [Interval(Integral, 2, None, closed="left")],
        "max_fraction": SCAN_CONSTRAINTS["max_fraction"],
        "plateau_width": SCAN_CONSTRAINTS["plateau_width"],
        "plateau_tol": [Interval(Real, 0, None, closed="left")],
        "sample_size": SCAN_CONSTRAINTS["sample_size"],
        "random_state": SCAN_CONSTRAINTS["random_state"],
        "n_jobs": SCAN_CONSTRAINTS["n_jobs"],
        "device": SCAN_CONSTRAINTS["device"],
        "verbose": SCAN_CONSTRAINTS["verbose"],
        **INTERVAL_CONSTRAINTS,
    }

    def __init__(
        self,
        n1="auto",
        *,
        calibration="auto",
        max_neighbors=256,
        max_fraction=0.2,
        plateau_width=1.0,
        plateau_tol=0.5,
        sample_size=5000,
        n_bootstrap=20,
        confidence_level=0.95,
        random_state=None,
        n_jobs=None,
        device=None,
        verbose=0,
    ):
        self.n1 = n1
        self.calibration = calibration
        self.max_neighbors = max_neighbors
        self.max_fraction = max_fraction
        self.plateau_width = plateau_width
        self.plateau_tol = plateau_tol
        self.sample_size = sample_size
        self.n_bootstrap = n_bootstrap
        self.confidence_level = confidence_level
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    def _ranks(self, n: int) -> np.ndarray:
        if isinstance(self.n1, str):
            return rank_grid(n, self.max_neighbors, self.max_fraction)
        if 2 * self.n1 > n - 1:
            raise ValueError(
                f"GrideDimension: n1={self.n1} needs 2 * n1 = {2 * self.n1} "
                f"neighbours per row, but there are only {n - 1} other rows. "
                f"Pass n1 <= {(n - 1) // 2} or n1='auto'."
            )
        return np.array([self.n1])

    @_fit_context(prefer_skip_nested_validation=True)
    @verbose_progress
    def fit(self, X, y=None):
        """Find the neighbours of the sampled rows and fit the ratio law.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data, at least 10 rows.
        y : None
            Ignored.

        Returns
        -------
        self : GrideDimension
        """
        check_device(self.device)
        X = self._validate_fit(X)
        rng = check_random_state(self.random_state)
        self._fit_X = X
        index = self._scan(X, rng)
        seed = rng.randint(np.iinfo(np.int32).max)  # drawn whether used or not
        choices = self._bootstrap(self._raw_replicate, rng)
        self._calibration = self._calibration_map(X, index, choices, seed)
        self._set_estimate(index)
        self._flag_lower_bound(self._out_of_reach(X.shape[0]))
        reps = None
        if choices is not None:
            reps = np.array([self._calibrated(v, j) for j, v in choices])
        self._store_interval(reps, 0.0)
        self.calibration_ = self._calibration_table()
        return self

    def _scan(self, X, rng) -> int:
        """One k-NN pass of the sampled rows: the curve over ranks; the chosen index."""
        n = X.shape[0]
        rows = self._sample_rows(n, rng)
        ranks = self._ranks(n)
        dist = neighbor_distances(
            X[rows], X, int(2 * ranks[-1]), n_jobs=self.n_jobs, device=self.device
        )
        log_mu = log_ratios(dist, ranks)
        curve = gride_curve(log_mu, ranks)
        radii = np.median(dist[:, 2 * ranks - 1], axis=0)
        index, self.flatness_ = self._select(ranks, radii, curve, log_mu, n)
        self.sample_indices_, self.ranks_, self._log_mu = rows, ranks, log_mu
        self.dimension_by_scale_ = curve
        self.std_by_scale_ = np.array(
            [gride_std(log_mu[:, j], r, curve[j]) for j, r in enumerate(ranks)]
        )
        self.radius_by_scale_ = radii
        self.n1_ = int(ranks[index])
        self.radius_ = float(radii[index])
        return index

    def _set_estimate(self, index: int) -> None:
        """``dimension_`` (calibrated), its spread and the per-row estimates."""
        raw = float(self.dimension_by_scale_[index])
        self.dimension_uncalibrated_ = raw
        self.dimension_ = self._calibrated(raw, index)
        # the per-row values are scaled by the same factor, the spread by the
        # map's local slope
        self.calibration_factor_ = self.dimension_ / raw if raw > 0 else 1.0
        sd = float(self.std_by_scale_[index])
        self.dimension_std_ = self._calibrated(raw + sd, index) - self.dimension_
        log_mu = self._log_mu[:, index : index + 1]
        local = gride_mle(log_mu, self.n1_, axis=1) * self.calibration_factor_
        self.local_dimension_ = local.astype(self._fit_X.dtype)
        self.summary_ = local_dimension_summary(self.local_dimension_)
        self.n_undefined_ = self._warn_degenerate(log_mu[:, 0], "")

    def _calibration_map(self, X, index, choices, seed) -> Calibration | None:
        """The calibration of the ranks that the fit and its replicates chose.

        Each reference sample has the data's number of rows,
        ``REFERENCE_QUERIES`` of them queried, and one k-NN pass reads every
        rank up to the largest needed. With ``calibration="auto"`` the ball
        and the sphere are both calibrated at the chosen rank and the one
        whose curve over it and the next ``SHAPE_RANKS - 1`` ranks is closer
        to the data's (in units of its standard errors) is kept: a curve
        falling with the rank is a boundary's, a flat one a closed
        manifold's. A single rank (a
        fixed ``n1``, or the last rank chosen) shows no shape, and the sphere
        is kept: its correction is the smaller. None with
        ``calibration=None``.
        """
        if self.calibration is None:
            return None
        end = min(index + SHAPE_RANKS, self.ranks_.size)
        chosen = [end - 1]
        if choices is not None:
            chosen += [int(j) for j in choices[:, 0] if np.isfinite(j)]
        statistic = self._reference_statistic(self.ranks_[: max(chosen) + 1])
        if self.calibration != "auto":
            return Calibration(statistic, self.calibration, *X.shape, seed)
        ball, sphere = (Calibration(statistic, m, *X.shape, seed) for m in REFERENCES)
        if end - index < 2:  # one rank: no shape to read; the smaller correction
            return sphere
        window = slice(index, end)
        curve = self.dimension_by_scale_[window]
        sd = np.maximum(self.std_by_scale_[window], 1e-12)

        def mismatch(cal):
            reference = cal(self.dimension_by_scale_[index], index)[1][window]
            return float(np.nansum(((curve - reference) / sd) ** 2))

        return ball if mismatch(ball) < mismatch(sphere) else sphere

    def _reference_statistic(self, ranks):
        """The estimate at each of ``ranks`` on a reference sample (picklable)."""
        return partial(
            _estimates_by_rank,
            ranks=ranks,
            n_queries=min(self.sample_indices_.size, REFERENCE_QUERIES),
            n_jobs=self.n_jobs,
        )

    def _calibrated(self, value: float, index) -> float:
        """``value`` read at scale ``index``, calibrated (as is without a map)."""
        if self._calibration is None or not np.isfinite(index):
            return float(value)
        return self._calibration(value, int(index))[0]

    def _calibration_table(self) -> Bunch | None:
        """``calibration_``: the balls drawn and their estimates by rank."""
        if self._calibration is None:
            return None
        dims, values = self._calibration.table()
        return Bunch(
            reference=self._calibration.reference,
            dimensions=dims,
            estimates=values,
            ranks=self.ranks_[: values.shape[1]],
        )

    def _raw_replicate(self, idx: np.ndarray) -> tuple[float, float]:
        """Chosen scale index and uncalibrated estimate from the ratios ``idx``."""
        log_mu, ranks = self._log_mu[idx], self.ranks_
        curve = gride_curve(log_mu, ranks)
        try:
            index, _ = self._select(
                ranks, self.radius_by_scale_, curve, log_mu, self._fit_X.shape[0]
            )
        except ValueError:  # every resampled ratio degenerate
            return np.nan, np.nan
        return index, float(curve[index])

    def _replicate(self, idx: np.ndarray) -> float:
        """``dimension_`` from the distance ratios of the sampled rows ``idx``."""
        index, value = self._raw_replicate(idx)
        return self._calibrated(value, index)

    def _select(self, ranks, radii, curve, log_mu, n: int):
        """Index of the chosen rank (plateau rule) and the flatness curve.

        The flatness is measured against the log of the typical radius of
        each rank (ranks themselves where radii tie, e.g. duplicates).
        """
        degenerate = np.mean(~np.isfinite(log_mu), axis=0)
        if np.all(degenerate == 1.0):
            raise ValueError(
                "GrideDimension: no sampled row has neighbour distances "
                f"r_(2 n1) > r_n1 > 0 at any rank n1 in {ranks.tolist()}: the "
                "rows are duplicated (or their distances tied) beyond these "
                "ranks. Remove the duplicates, or pass a larger n1 / "
                "max_neighbors."
            )
        if not isinstance(self.n1, str):
            return 0, np.full(1, np.nan)
        eligible = degenerate <= UNDEFINED_WARN_FRACTION
        if not eligible.any():
            eligible = degenerate < 1.0
        first = int(np.flatnonzero(eligible)[0])
        if ranks.size < _MIN_SCALES:
            self._warn_few_rows(n, log_mu.shape[0], ranks[first])
            return first, np.full(ranks.size, np.nan)
        positive = np.all(radii > 0) and np.all(np.diff(radii) > 0)
        index, flatness = select_plateau(
            (radii if positive else ranks).astype(np.float64),
            curve,
            eligible,
            width=self.plateau_width,
            tol=self.plateau_tol,
            skip_smallest=False,
            onset=True,
        )
        if index is None:
            return first, flatness
        return self._before_rise(first, index, curve, log_mu, ranks), flatness

    def _before_rise(self, first, index, curve, log_mu, ranks) -> int:
        """``first`` when the curve climbs from rank 1 to ``index`` without a dip.

        Ambient noise inflates the estimate at the smallest ranks only (the
        curve falls from them towards the plateau); a curve that never dips
        below its smallest rank's value and ends well above it is seeing
        larger-scale structure instead (sheets of a helicoid or of a tightly
        rolled sheet stacking into a volume: 1.98 at n1 = 1, a plateau of 2.77
        from n1 = 16), so the small-scale value is the dimension. Noise keeps
        its larger ranks (``test_noise_larger_ranks_beat_twonn``).
        """
        if index == first or first > 0:  # (ties at rank 1 bias the next ranks)
            return index
        sd0 = gride_std(log_mu[:, first], ranks[first], curve[first])
        sd1 = gride_std(log_mu[:, index], ranks[index], curve[index])
        no_dip = curve[first : index + 1].min() >= curve[first] - sd0
        if no_dip and curve[index] - curve[first] > RISE_SDS * (sd0 + sd1):
            return first
        return index

    def _warn_few_rows(self, n: int, n_sampled: int, rank: int) -> None:
        need = int(np.ceil(2**_MIN_SCALES / self.max_fraction)) + 1
        warnings.warn(
            f"GrideDimension: {n} rows are too few for the automatic scale: "
            f"max_fraction={self.max_fraction:g} of them allows fewer than "
            f"{_MIN_SCALES} ranks, so no plateau can be seen across ranks; the "
            f"estimate is the rank-{rank} one from {n_sampled} ratios and "
            f"unreliable. Pass at least {need} rows.",
            UndefinedDimensionWarning,
            stacklevel=4,
        )

    def _warn_degenerate(self, log_mu: np.ndarray, where: str) -> int:
        """Warn when many ratios are degenerate (duplicates, ties); their count."""
        n_bad = int(np.count_nonzero(~np.isfinite(log_mu)))
        if log_mu.size and n_bad > UNDEFINED_WARN_FRACTION * log_mu.size:
            warnings.warn(
                f"GrideDimension: {n_bad} of {log_mu.size} rows{where} have a "
                f"degenerate ratio r_{2 * self.n1_} / r_{self.n1_} (a zero "
                "distance to a duplicate row, or tied distances); they are left "
                "out and get a NaN local dimension. Remove duplicate rows.",
                UndefinedDimensionWarning,
                stacklevel=4,
            )
        return n_bad

    def _out_of_reach(self, n: int) -> str | None:
        """Why ``dimension_`` is a lower bound, or None.

        In dimension ``d`` (the uncalibrated estimate) the ball holding
        ``2 n1`` neighbours holds ``2**d * 2 n1`` at twice its radius: where
        that exceeds the rows, the neighbourhood spans the data, whose
        boundaries and curvature shrink every ratio's spread below a
        ``d``-ball's, and the calibration assumes a ball's boundary.
        """
        k, d = 2 * self.n1_, self.dimension_uncalibrated_
        ceiling = float(np.log2((n - 1) / k))
        if not d > ceiling:
            return None
        return (
            f"the ratios read {d:.3g} dimensions, and a {d:.3g}-dimensional "
            f"ball holding the {k} neighbours of rank 2 n1_ would hold "
            f"2**{d:.3g} * {k} = {2**d * k:.3g} rows at twice its radius, more "
            f"than the {n} there are: the neighbourhoods span the data, whose "
            "boundaries, curvature and density changes bias the ratios towards "
            "lower dimensions beyond what the calibration's reference shapes correct. "
            "Pass more rows (each dimension needs twice as many)."
        )

    def transform(self, X):
        """Local GRIDE dimension of rows from their neighbours among the fitted rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        local_dimension : ndarray of shape (n_samples, 1)
            Maximum-likelihood dimension of the row's ratio at ``n1_`` (a row
            identical to a fitted row is that point); NaN where degenerate.
        """
        X, Xc = self._validate_new(X)
        dist = neighbor_distances(
            Xc, self._fit_X, 2 * self.n1_, n_jobs=self.n_jobs, device=self.device
        )
        log_mu = log_ratios(dist, np.array([self.n1_]))
        self._warn_degenerate(log_mu[:, 0], " of X")
        local = gride_mle(log_mu, self.n1_, axis=1) * self.calibration_factor_
        return local.astype(X.dtype)[:, None]
