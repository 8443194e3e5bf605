"""Shared plumbing of the dimension estimators (validation, output, warnings)."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from .._validation import check_not_constant
from ._scan import scan_bounds
from ._summary import local_dimension_summary

# Warn when more than this share of the points has an undefined local estimate.
UNDEFINED_WARN_FRACTION = 0.1

SCAN_CONSTRAINTS = {
    "n_radii": [Interval(Integral, 2, None, closed="left")],
    "min_neighbors": [Interval(Integral, 1, None, closed="left")],
    "max_fraction": [Interval(Real, 0, 1, closed="right")],
    "plateau_width": [Interval(Real, 0, None, closed="left")],
    "plateau_tol": [Interval(Real, 0, None, closed="left")],
    "sample_size": [Interval(Integral, 1, None, closed="left"), None],
    "random_state": ["random_state"],
    "n_jobs": [Integral, None],
    "device": [str, None],
}
BANDWIDTH_CONSTRAINT = [
    StrOptions({"silverman", "scott"}),
    Interval(Real, 0, None, closed="neither"),
]


class UndefinedDimensionWarning(UserWarning):
    """Many points have no neighbour at the scale used; their estimate is NaN."""


class BaseDimension(TransformerMixin, BaseEstimator):
    """Validation, feature names and tags common to the dimension estimators."""

    def _validate_fit(self, X):
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=3)
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

    def _warn_undefined(self, local, scale: str, where: str = "") -> int:
        n_bad = int(np.count_nonzero(~np.isfinite(local)))
        if local.size and n_bad > UNDEFINED_WARN_FRACTION * local.size:
            warnings.warn(
                f"{type(self).__name__}: {n_bad} of {local.size} points{where} "
                f"have no neighbour within {scale}; their local dimension is "
                "NaN. Use a larger scale or remove the isolated points.",
                UndefinedDimensionWarning,
                stacklevel=4,
            )
        return n_bad

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
