"""Shared plumbing of the dimension estimators (validation, output, warnings)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import Interval, StrOptions, _check_feature_names_in
from .._geometry.scales import knn_scale_quantiles, saturation_scale
from .._validation import (
    N_JOBS_CONSTRAINT,
    check_not_constant,
    check_radius_has_neighbors,
)
from ..exceptions import UndefinedDimensionWarning
from ._scan import min_rows, scan_bounds
from ._summary import local_dimension_summary

# Warn when more than this share of the points has an undefined local estimate.
UNDEFINED_WARN_FRACTION = 0.1
# Count-based estimates below this share of the neighbour-ratio (GRIDE)
# dimension of the same data are flagged as lower bounds (see
# _nonuniform_measure); rows of its cross-check. On the 24 benchmark
# manifolds (n = 2,500, clean and noisy) the share is >= 0.92 (correlation)
# and >= 0.82 (doubling) on near-uniform ones, and 0.19-0.69 on the
# dense-core densities where the counts read far below the ID.
MEASURE_RATIO = 0.75
MEASURE_CHECK_ROWS = 1000
# The densest tenth of the sampled points holding this share of the pairs at
# the outer fitted radius (mean count >= DENSE_MIN_COUNT) also flags a count
# estimate: there the counts measure a dense core. Benchmark manifolds
# (n = 2,500): <= 0.48 on the 24 and on Gaussian data, 0.70-0.71 on
# Beta(10, 0.5) coordinates (Mbeta and its variants: median ball 1-2 points,
# mean 10-21), where the neighbour-ratio check can itself fail to resolve.
DENSE_TENTH_SHARE = 0.6
DENSE_MIN_COUNT = 5.0
# Half the KDE grid step of the vote (kde_mode's default 0.01): the accuracy
# of a voted dimension_, added to both ends of its interval.
VOTE_RESOLUTION = 0.005
# Fewest rows of a fit: a count ratio N_2R / N_R among n rows is at most
# n - 2 (one neighbour within R, all the others but one within 2R), so n rows
# read dimensions up to log2(n - 2); below 10 rows not even 3 (fewer give a
# ValueError naming this minimum; up to 2 * min_neighbors + 2 a warning).
MIN_ROWS = 10

SCAN_CONSTRAINTS = {
    "n_radii": [Interval(Integral, 2, None, closed="left")],
    "min_neighbors": [Interval(Integral, 1, None, closed="left")],
    "max_fraction": [Interval(Real, 0, 1, closed="right")],
    "plateau_width": [Interval(Real, 0, None, closed="left")],
    "plateau_tol": [Interval(Real, 0, None, closed="left")],
    "sample_size": [Interval(Integral, 1, None, closed="left"), None],
    "random_state": ["random_state"],
    "n_jobs": N_JOBS_CONSTRAINT,
    "device": [str, None],
    "verbose": ["verbose"],
}
# Every estimator's interval parameters (see BaseDimension._set_interval).
INTERVAL_CONSTRAINTS = {
    "n_bootstrap": [Interval(Integral, 0, None, closed="left")],
    "confidence_level": [Interval(Real, 0, 1, closed="neither")],
}
BANDWIDTH_CONSTRAINT = [
    StrOptions({"silverman", "scott"}),
    Interval(Real, 0, None, closed="neither"),
]


class BaseDimension(TransformerMixin, BaseEstimator):
    """Validation, feature names and tags common to the dimension estimators."""

    def _validate_fit(self, X):
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_min_samples=MIN_ROWS
        )
        check_not_constant(X, type(self).__name__)
        return X

    def _validate_new(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return X, X.astype(self._fit_X.dtype, copy=False)

    def _scan_bounds(self, X, rng) -> tuple[float, float]:
        """Ends ``(lo, hi)`` of the automatic radius grid (see ``scan_bounds``)."""
        return scan_bounds(
            X,
            min_neighbors=self.min_neighbors,
            max_fraction=self.max_fraction,
            random_state=rng,
            n_jobs=self.n_jobs,
        )

    def _check_neighbors(self, X, counts, radius, param: str, rng) -> None:
        """Raise when no point has a neighbour within a user ``param``."""
        if counts.size and counts.max() == 0:
            nearest = knn_scale_quantiles(
                X, 1, 0.5, sample_size=300, random_state=rng, n_jobs=self.n_jobs
            )
            check_radius_has_neighbors(
                counts, radius, param, type(self).__name__, nearest=float(nearest)
            )

    def _raise_saturated(self, X, param: str, value, ball: str, rng):
        """ValueError: at every user radius the typical ``ball`` holds all rows."""
        far = saturation_scale(X, random_state=rng, n_jobs=self.n_jobs)
        limit = far / 2.0 if ball == "2R" else far
        raise ValueError(
            f"{type(self).__name__}: at {param}={value!r} the {ball}-ball of a "
            f"typical point holds all {X.shape[0] - 1} other rows: the ball "
            f"counts saturate (a typical row's farthest row is {far:.4g} away) "
            "and their growth measures the sample size, not a dimension (above "
            "the data's diameter the count ratio is 1 and log 1 = 0). Use "
            f"{param} well below {limit:.4g}, or {param}='auto'."
        )

    def _check_scan(self, X, scan, radii) -> None:
        """Warn when the automatic scan met data too small for it.

        ``scan.level`` is the fallback of :func:`eligible_radii`: 1-2, no
        radius with ``min_neighbors`` neighbours and room to double; 3,
        every radius saturated.
        """
        if scan.level == 0:
            return
        name, n, k = type(self).__name__, X.shape[0], self.min_neighbors
        if scan.level >= 3:
            why = (
                "at every radius where a typical point has a neighbour its "
                "2R-ball holds all other rows (saturated counts; dimension d "
                f"needs well over 2**d * min_neighbors + 2 = 2**d * {k} + 2 rows)"
            )
        else:
            why = (
                f"no radius R gives a typical point min_neighbors={k} neighbours "
                "while its 2R-ball still misses some of the other rows (that "
                f"needs at least {min_rows(k)} rows, 2**d * {k} + 2 in dimension d)"
            )
        at = scan.index
        warnings.warn(
            f"{name}: {n} rows are too few for the automatic scale: {why}. The "
            f"estimate at radius {radii[at]:.4g} rests on a median of "
            f"{scan.median_neighbors[at]:.3g} neighbours per point (NaN where "
            "the 2R-ball is saturated) and is unreliable; pass more rows or a "
            "smaller min_neighbors.",
            UndefinedDimensionWarning,
            stacklevel=4,
        )

    def _scan_params(self) -> dict:
        """Keywords of ``doubling_scan`` from the shared scan parameters."""
        return dict(
            min_neighbors=self.min_neighbors,
            width=self.plateau_width,
            tol=self.plateau_tol,
            bandwidth=self.bandwidth,
        )

    def _set_vote(self, local):
        """Set ``summary_``, ``dimension_`` (KDE mode), its mean and median."""
        summary = local_dimension_summary(local, bandwidth=self.bandwidth)
        self.summary_ = summary
        self.dimension_ = summary.mode
        self.dimension_mean_ = summary.mean
        self.dimension_median_ = summary.median
        return summary

    def _sample_rows(self, n: int, rng) -> np.ndarray:
        """Sorted rows where fit computes local estimates (``sample_size``)."""
        if self.sample_size is None or self.sample_size >= n:
            return np.arange(n)
        return np.sort(rng.choice(n, size=self.sample_size, replace=False))

    def fit_transform(self, X, y=None):
        """Fit, then the local estimates of every row of X.

        Reuses the fitted estimates when every row was sampled (one distance
        pass); otherwise ``transform`` computes them for all rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        local_dimension : ndarray of shape (n_samples, 1)
        """
        self.fit(X)
        if self.sample_indices_.size == self._fit_X.shape[0]:
            return self.local_dimension_[:, None].copy()
        return self.transform(X)

    def _warn_undefined(
        self, local, scale: str, where: str = "", *, n_full: int = 0
    ) -> int:
        """Warn when many local estimates are NaN, naming the cause.

        ``n_full`` of them have a ``2R``-ball holding all other rows
        (saturated counts), the others no neighbour.
        """
        n_bad = int(np.count_nonzero(~np.isfinite(local)))
        if local.size and n_bad > UNDEFINED_WARN_FRACTION * local.size:
            lonely = n_bad - n_full
            causes = [f"{lonely} have no neighbour within {scale}"] if lonely else []
            if n_full:
                causes.append(
                    f"{n_full} a 2R-ball holding all other rows (saturated "
                    "counts: use a smaller scale or more rows)"
                )
            warnings.warn(
                f"{type(self).__name__}: {n_bad} of {local.size} points{where} "
                f"have a NaN local dimension: {'; '.join(causes)}. Isolated "
                "points need a larger scale, or removing.",
                UndefinedDimensionWarning,
                stacklevel=4,
            )
        return n_bad

    def _nonuniform_measure(self, X, rng, counts) -> str | None:
        """Why a count-based ``dimension_`` is a lower bound, or None.

        ``counts`` are the sampled points' neighbour counts at the outer
        fitted radius: a dense minority holding most pairs is one reason
        (:func:`_dense_minority`); the other is this cross-check.

        Ball counts measure the correlation dimension of the sample's
        measure, which is at most its pointwise (information) dimension and
        falls far below the support's where the density is strongly
        non-uniform (a density singular at a corner, heavy tails: the counts
        grow with the dense core). The ratios of neighbour distances of
        :class:`GrideDimension` (1000 sampled rows, uncalibrated) estimate
        the pointwise dimension; a ``dimension_`` below ``MEASURE_RATIO`` of theirs is
        flagged, unless that estimate is itself only a lower bound. Sets
        ``ratio_dimension_``.
        """
        from ._gride import GrideDimension

        dense = _dense_minority(counts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedDimensionWarning)
            ratio = GrideDimension(
                # uncalibrated: the check reads a factor of two, not percents
                calibration=None,
                sample_size=MEASURE_CHECK_ROWS,
                random_state=rng.randint(np.iinfo(np.int32).max),
                n_jobs=self.n_jobs,
                device=self.device,
            ).fit(X)
        self.ratio_dimension_ = float(ratio.dimension_)
        # A check that cannot resolve its own dimension (its neighbourhoods
        # span the data: too few rows, or ratios raised by ambient noise
        # across all ranks, as on 10,000 cryo-EM latents in R^256) certifies
        # nothing.
        if ratio.dimension_is_lower_bound_:
            return dense
        if not self.dimension_ < MEASURE_RATIO * self.ratio_dimension_:
            return dense
        return (
            f"it is below {MEASURE_RATIO:.0%} of the dimension "
            f"{self.ratio_dimension_:.3g} that "
            "the ratios of neighbour distances read (GrideDimension): the ball "
            "counts grow with a dense core of a strongly non-uniform density "
            "(their correlation dimension is at most the pointwise one), not "
            "with the support's dimension. Use GrideDimension or "
            "EigengapDimension."
        )

    def _flag_lower_bound(self, why: str | None) -> None:
        """Set ``dimension_is_lower_bound_``; warn, saying ``why``, when it is."""
        self.dimension_is_lower_bound_ = why is not None
        if why is not None:
            warnings.warn(
                f"{type(self).__name__}: dimension_={self.dimension_:.3g} is only "
                f"a lower bound: {why}",
                UndefinedDimensionWarning,
                stacklevel=4,
            )

    def _set_interval(self, replicate, rng, *, resolution: float = 0.0) -> None:
        """Set ``dimension_bootstrap_`` and ``dimension_ci_``.

        ``replicate(idx)`` recomputes ``dimension_`` from the per-row
        statistics of the sampled rows ``idx`` (drawn with replacement from
        ``sample_indices_``), re-selecting the scale where the estimator's
        statistics allow it; no distance is computed. The interval is the
        percentile interval of ``n_bootstrap`` replicates. ``resolution``
        widens both ends by the accuracy of the estimate itself (a KDE vote
        is read on a grid).
        """
        self._store_interval(self._bootstrap(replicate, rng), resolution)

    def _bootstrap(self, replicate, rng) -> np.ndarray | None:
        """``replicate(idx)`` for ``n_bootstrap`` resamplings (None for 0).

        The stream is drawn from ``rng`` after everything else, so
        ``dimension_`` does not depend on ``n_bootstrap``.
        """
        if self.n_bootstrap == 0:
            return None
        stream = np.random.default_rng(rng.randint(np.iinfo(np.int32).max))
        m = self.sample_indices_.size
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            # a replicate's warnings repeat the fit's (or its resampling's)
            warnings.simplefilter("ignore", UndefinedDimensionWarning)
            return np.array(
                [replicate(stream.integers(0, m, m)) for _ in range(self.n_bootstrap)],
                dtype=np.float64,
            )

    def _store_interval(self, reps: np.ndarray | None, resolution: float) -> None:
        """``dimension_bootstrap_`` and its percentile ``dimension_ci_``."""
        self.dimension_bootstrap_ = reps
        self.dimension_ci_ = None
        if reps is None:
            return
        finite = reps[np.isfinite(reps)]
        tail = 50.0 * (1.0 - self.confidence_level)
        if not finite.size:
            self.dimension_ci_ = (np.nan, np.nan)
            return
        lo, hi = np.percentile(finite, [tail, 100.0 - tail])
        self.dimension_ci_ = (float(lo - resolution), float(hi + resolution))

    def get_feature_names_out(self, input_features=None):
        """Output feature name: ``["local_dimension"]``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen in ``fit``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features)
        return np.asarray(["local_dimension"], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _dense_minority(counts: np.ndarray) -> str | None:
    """Why counts at a radius measure a dense core, or None.

    Counts of a near-uniform sample are close to Poisson: the densest tenth
    of the points holds 15-50 % of the pairs. Where it holds most of them,
    the slope of the counts is that of the dense core's measure, below the
    support's dimension (their correlation dimension is at most the
    pointwise one).
    """
    counts = np.sort(np.asarray(counts, dtype=np.float64))[::-1]
    total = counts.sum()
    if counts.size < 10 or not total >= DENSE_MIN_COUNT * counts.size:
        return None
    share = counts[: counts.size // 10].sum() / total
    if share < DENSE_TENTH_SHARE:
        return None
    return (
        f"at the outer fitted radius the densest tenth of the sampled points "
        f"holds {share:.0%} of the pairs (median ball {np.median(counts):.0f} "
        f"points, mean {total / counts.size:.1f}): the counts grow with the "
        "dense core of a strongly non-uniform density, not with the support's "
        "dimension. Use GrideDimension or EigengapDimension."
    )
