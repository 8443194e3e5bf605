"""Nadaraya-Watson kernel regression on the shared kernel-sum engine (paper A.6).

Carries simulation parameters (conformation, SNR, nuisances) from simulated to
experimental latents, and embeds new rows into an existing embedding by
interpolating its coordinates (Appendix Figure 4; see
:ref:`conv-nadaraya-watson`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import Interval, StrOptions, _check_feature_names_in, _fit_context
from .._geometry import distances, scales
from .._geometry._device import check_device
from .._geometry.progress import verbose_progress
from .._validation import N_JOBS_CONSTRAINT
from ..exceptions import UnsupportedRowsWarning

__all__ = ["NadarayaWatsonInterpolator", "UnsupportedRowsWarning"]

# Automatic bandwidth grid: from (median 1-NN distance) / radius_ratio, where
# about half of the rows have a neighbour inside the cutoff, up to the median
# distance to the _GRID_NEIGHBORS-th neighbour; extended past an edge optimum.
_GRID_NEIGHBORS = 50
_EXTEND_SIZE = 5
_MAX_EXTENSIONS = 8
# Adaptive kernel: neighbour counts and width factors tried by "auto".
_ADAPTIVE_NEIGHBORS = (5, 10, 20, 40, 80)
_ADAPTIVE_SCALES = (0.5, 1.0, 2.0)
_ADAPTIVE_MAX_NEIGHBORS = 1280  # the grid grows past 80 up to this


def _target_names(y, n_outputs: int, prefix: str) -> np.ndarray:
    """Column names of a DataFrame / name of a Series target, else generated."""
    columns = getattr(y, "columns", None)
    if columns is not None and len(columns) == n_outputs:
        return np.asarray([str(c) for c in columns], dtype=object)
    name = getattr(y, "name", None)
    if n_outputs == 1 and name is not None and getattr(y, "ndim", 2) == 1:
        return np.asarray([str(name)], dtype=object)
    return np.asarray([f"{prefix}{i}" for i in range(n_outputs)], dtype=object)


def _offsets(y: np.ndarray) -> np.ndarray:
    """Per column, the training value closest to the mean.

    Targets are centred by a value *taken from the data*, so that a constant
    column is exactly zero after centring and predicts its constant exactly.
    """
    idx = np.argmin(np.abs(y - y.mean(axis=0)), axis=0)
    return y[idx, np.arange(y.shape[1])]


@dataclass
class _KernelChoice:
    """A fitted candidate kernel: its least leave-one-out error, the fitted
    attributes it sets (the others stay None) and the rows that scored it."""

    kernel: str
    error: float
    attributes: dict
    rows: np.ndarray | None = None
    row_errors: np.ndarray | None = None  # per scored row, at the optimum

    def __post_init__(self):
        unset = dict.fromkeys(_SEARCH_ATTRIBUTES)
        self.attributes = {**unset, **self.attributes}


_SEARCH_ATTRIBUTES = (
    "bandwidths_",
    "loo_errors_",
    "neighbor_grid_",
    "n_neighbors_",
    "bandwidth_scale_",
)


def _row_errors(pred, truth, scale) -> np.ndarray:
    """Squared errors over the target variances, mean over the non-constant
    targets (last axis): per row (and per bandwidth when ``pred`` has one)."""
    fit = scale > 0
    if not fit.any():
        return np.zeros(pred.shape[:-1])
    return (((pred - truth) ** 2)[..., fit] / scale[fit]).mean(axis=-1)


def _preferred(choices: list[_KernelChoice]) -> _KernelChoice:
    """The fixed kernel (listed first, the paper's), unless the adaptive one
    is better beyond the noise of the sampled rows: the mean of their paired
    error differences above two standard errors, or a fixed kernel with no
    usable width (error inf)."""
    if len(choices) == 1:
        return choices[0]
    fixed, adaptive = choices
    if not np.isfinite(fixed.error):
        return adaptive
    diff = fixed.row_errors - adaptive.row_errors
    noise = diff.std(ddof=1) / np.sqrt(diff.size) if diff.size > 1 else 0.0
    return adaptive if diff.mean() > 2.0 * noise else fixed


class NadarayaWatsonInterpolator(RegressorMixin, TransformerMixin, BaseEstimator):
    """Nadaraya-Watson kernel regression of one or several targets.

    ``F(x) = sum_j K(x, x_j) y_j / sum_j K(x, x_j)`` with the package kernel
    ``K(x, x') = exp(-||x - x'||^2 / bandwidth^2)`` truncated at
    ``radius_ratio * bandwidth`` (see :ref:`conv-kernel` and
    :ref:`conv-nadaraya-watson`), or with ``kernel="adaptive"`` the same
    Gaussian over the ``k`` nearest training rows with a width
    ``bandwidth_scale * d_k(x)`` that follows the local density. This is
    how the paper infers the simulation parameters of experimental latents
    from nearby simulated ones, and how it embeds new rows into an existing
    embedding (Appendix A.6, Appendix Figure 4). Sums run through the
    blocked distance engine: exact, bounded memory, float32 ``X`` stays
    float32.

    Parameters
    ----------
    bandwidth : float or "auto", default="auto"
        Kernel width ``epsilon``. ``"auto"`` minimises the leave-one-out
        error (each training row predicted without its own weight) over a log
        grid of ``n_bandwidths`` values from ``median 1-NN distance /
        radius_ratio`` to the median 50-NN distance. Its lower half is scored
        first and larger values only while the optimum sits at the top
        (larger widths hold more pairs inside the cutoff: they are most of the
        cost); the grid is extended past either edge while the optimum sits
        there. Each stage is one pass over the distances. The error is the
        mean over targets of
        ``LOO-MSE / variance`` (one minus the leave-one-out R^2, the quantity
        the default ``score`` measures). The paper uses the geometric
        consistency ``epsilon`` of the training set, e.g.
        ``DiffusionMapsGC().fit(X).epsilon_``.
    kernel : {"auto", "fixed", "adaptive"}, default="auto"
        ``"auto"``: with ``bandwidth="auto"``, both kernels below are searched
        on the same sampled rows and the adaptive one is kept only where its
        leave-one-out error is lower beyond the sampling noise (the mean of
        the rows' paired differences above two standard errors), else the
        fixed one; with a float ``bandwidth``, the fixed kernel. ``"fixed"``:
        one global ``bandwidth`` (the paper's). ``"adaptive"``: at each query
        ``x``, ``K(x, x_j) = exp(-d_j^2 / (s d_k(x))^2)`` over its
        ``k = n_neighbors`` nearest training rows, ``d_k(x)`` the distance to
        the k-th of them and ``s`` the width factor; with
        ``bandwidth="auto"`` the pair ``(k, s)`` minimises the same
        leave-one-out error over ``k`` in (5, 10, 20, 40, 80) (doubled
        further, up to 1280, while the largest wins) and ``s`` in (0.5, 1, 2),
        from one neighbour search per extension (a float ``bandwidth`` is
        ``s``). Every row has ``k`` neighbours, so none needs the fallback:
        for data whose density varies over decades (latents whose SNR spans
        several) one global width either starves sparse rows or blurs dense
        ones (:ref:`conv-nadaraya-watson`).
    n_neighbors : int or "auto", default="auto"
        ``k`` of the adaptive kernel (``"auto"``: chosen with ``s``).
    radius_ratio : float, default=3.0
        Kernel cutoff in units of the bandwidth (fixed kernel).
    fallback : {"nearest", "mean", "nan", "raise"}, default="nearest"
        Prediction for rows with no training point within the cutoff: the
        target of the nearest training point, the training mean, NaN, or a
        ``ValueError``. Such rows are counted in ``n_outside_`` and reported
        by an :class:`UnsupportedRowsWarning`. During the ``"auto"`` search
        they are scored with the fallback prediction ("nan" and "raise" are
        scored with the training mean).
    n_bandwidths : int, default=16
        Size of the automatic grid.
    loo_sample_size : int or None, default=2000
        Number of training rows (drawn at random) whose leave-one-out
        predictions score the automatic grid; ``None`` uses all rows. The cost
        is one ``loo_sample_size x n_train`` distance pass per grid stage, each
        pair evaluated at the widths whose cutoff holds it.
    random_state : int, RandomState instance or None, default=None
        Rows sampled for the automatic grid and the leave-one-out score.
        Unused with a float ``bandwidth``.
    n_jobs : int, default=None
        Parallel row blocks of the distance engine.
    device : str, default=None
        Torch device for the distance engine (``"cuda"``); ``None`` is numpy.
    verbose : int, default=0
        Report the progress of the distance passes on stderr (a tqdm bar if
        tqdm is installed).

    Attributes
    ----------
    kernel_ : {"fixed", "adaptive"}
        The kernel ``predict`` uses.
    kernel_loo_errors_ : dict or None
        With ``kernel="auto"`` and ``bandwidth="auto"``: the least
        leave-one-out error of each kernel (``{"fixed": ., "adaptive": .}``),
        the evidence for ``kernel_``; else None.
    bandwidth_ : float
        Kernel width used by ``predict``; adaptive kernel: the median width
        ``s d_k`` over the leave-one-out rows (for information).
    n_neighbors_ : int or None
        ``k`` of the adaptive kernel, else None.
    bandwidth_scale_ : float or None
        ``s`` of the adaptive kernel, else None.
    bandwidths_ : ndarray of shape (n_grid,) or None
        Every bandwidth tried by ``"auto"`` (ascending), else None.
    loo_errors_ : ndarray of shape (n_grid,) or (n_k, n_s) or None
        Leave-one-out error of each of ``bandwidths_`` (mean squared error over
        the target variance); ``inf`` where fewer than 95 % of the rows have
        another training row inside the cutoff, so that ``"auto"`` never
        picks a bandwidth that leaves most rows to the fallback. Adaptive
        kernel: one row per ``k`` of ``neighbor_grid_``, one column per ``s``.
    neighbor_grid_ : ndarray of int or None
        The ``k`` tried by the adaptive ``"auto"`` search, else None.
    n_outside_ : int
        Number of rows of the last ``predict``/``transform`` call (0 after
        ``fit``) with no training point within ``radius_ratio * bandwidth_``.
    target_names_ : ndarray of str
        Names of the targets (DataFrame columns or Series name when ``y`` had
        them), also the output feature names of ``transform``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features seen during fit (DataFrame input only).

    See Also
    --------
    sklearn.neighbors.RadiusNeighborsRegressor : Radius regression with NaN
        for empty neighbourhoods.

    Notes
    -----
    Targets are averaged componentwise. Quaternion targets (the rotation
    parameters) have the ``q = -q`` ambiguity: averaging raw components of
    nearby quaternions of opposite sign cancels them, so canonicalise the
    signs first (e.g. ``q0 >= 0`` as ``make_toy_cryo_latents`` does) or
    interpolate a sign-free representation such as the rotation matrix. The
    paper averages raw components.

    ``n_outside_`` is written by ``predict``; do not share one fitted instance
    between threads that read it.

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.interpretation import NadarayaWatsonInterpolator
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(400, 2))
    >>> y = np.sin(3 * X[:, 0])
    >>> nw = NadarayaWatsonInterpolator(bandwidth=0.1).fit(X, y)
    >>> nw.predict([[0.2, 0.0]]).round(1)
    array([0.6])
    >>> auto = NadarayaWatsonInterpolator(random_state=0).fit(X, y)
    >>> bool(auto.score(X, y) > 0.95)
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "bandwidth": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "kernel": [StrOptions({"auto", "fixed", "adaptive"})],
        "n_neighbors": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "radius_ratio": [Interval(Real, 0, None, closed="neither")],
        "fallback": [StrOptions({"nearest", "mean", "nan", "raise"})],
        "n_bandwidths": [Interval(Integral, 2, None, closed="left")],
        "loo_sample_size": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS_CONSTRAINT,
        "device": [str, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        bandwidth="auto",
        *,
        kernel="auto",
        n_neighbors="auto",
        radius_ratio=3.0,
        fallback="nearest",
        n_bandwidths=16,
        loo_sample_size=2000,
        random_state=None,
        n_jobs=None,
        device=None,
        verbose=0,
    ):
        self.bandwidth = bandwidth
        self.kernel = kernel
        self.n_neighbors = n_neighbors
        self.radius_ratio = radius_ratio
        self.fallback = fallback
        self.n_bandwidths = n_bandwidths
        self.loo_sample_size = loo_sample_size
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    @verbose_progress
    def fit(self, X, y):
        """Store the training rows and choose the bandwidth.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training points (float32 is kept as float32).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets; DataFrame columns (or a Series name) become
            ``target_names_``.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        check_device(self.device)
        y_raw = y
        auto = isinstance(self.bandwidth, str)
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2 if auto or self.kernel == "adaptive" else 1,
        )
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        Y = y.reshape(len(y), -1)
        self.target_names_ = _target_names(
            y_raw, Y.shape[1], type(self).__name__.lower()
        )
        self.X_fit_ = X
        self.y_fit_ = Y
        self.y_offset_ = _offsets(Y)
        self._y_centered = Y - self.y_offset_
        self.n_outside_ = 0
        rng = check_random_state(self.random_state)
        choices = self._kernel_choices(X, rng, auto)
        best = _preferred(choices)
        self.kernel_ = best.kernel
        self.kernel_loo_errors_ = (
            {c.kernel: c.error for c in choices} if len(choices) > 1 else None
        )
        for name, value in best.attributes.items():
            setattr(self, name, value)
        return self

    def _kernel_choices(self, X, rng, auto: bool) -> list[_KernelChoice]:
        """The candidate kernels, fitted: one, or with ``kernel="auto"`` and an
        automatic bandwidth both, scored on the same leave-one-out rows."""
        if self.kernel == "adaptive":
            return [self._select_adaptive(X, self._loo_rows(X.shape[0], rng))]
        if not auto:  # a given width is a fixed kernel's
            return [_KernelChoice("fixed", 0.0, {"bandwidth_": float(self.bandwidth)})]
        fixed = self._select_bandwidth(X, rng)
        if self.kernel == "fixed":
            return [fixed]
        rows = np.arange(X.shape[0]) if fixed.rows is None else fixed.rows
        return [fixed, self._select_adaptive(X, rows)]

    def _loo_rows(self, n: int, rng) -> np.ndarray | None:
        """Rows whose leave-one-out predictions score a search (None: all)."""
        if self.loo_sample_size is not None and self.loo_sample_size < n:
            return np.sort(rng.choice(n, size=self.loo_sample_size, replace=False))
        return None

    def _select_adaptive(self, X, rows) -> _KernelChoice:
        """``(k, s)`` of the adaptive kernel by leave-one-out on ``rows``.

        One neighbour search serves every ``(k, s)``; while the best ``k`` is
        the largest tried, the grid grows by two doublings (one new search).
        """
        n = X.shape[0]
        ks = self._adaptive_neighbor_grid(n)
        auto = isinstance(self.bandwidth, str)
        scales_ = _ADAPTIVE_SCALES if auto else (float(self.bandwidth),)
        rows = np.arange(n) if rows is None else rows
        cap = min(n - 1, _ADAPTIVE_MAX_NEIGHBORS)
        d, idx = _neighbours_without_self(X, rows, ks[-1], self.n_jobs, self.device)
        err = self._adaptive_errors(d, idx, rows, ks, scales_)
        while self.n_neighbors == "auto" and ks[-1] < cap:
            best_k = len(ks) - 1 - np.argmin(err.min(axis=1)[::-1])
            if best_k != len(ks) - 1:
                break
            more = sorted({min(2 * ks[-1], cap), min(4 * ks[-1], cap)})
            d, idx = _neighbours_without_self(
                X, rows, more[-1], self.n_jobs, self.device
            )
            err = np.vstack([err, self._adaptive_errors(d, idx, rows, more, scales_)])
            ks = ks + more
        # ties: the larger k, then the larger s (the smoother choice)
        a, b = np.unravel_index(np.argmin(err[::-1, ::-1]), err.shape)
        a, b = len(ks) - 1 - a, len(scales_) - 1 - b
        attributes = {
            "n_neighbors_": int(ks[a]),
            "bandwidth_scale_": float(scales_[b]),
            "bandwidth_": float(np.median(scales_[b] * d[:, ks[a] - 1])),
            "neighbor_grid_": np.asarray(ks),
            "loo_errors_": err,
        }
        pred = _adaptive_average(d, idx, self._y_centered, ks[a], scales_[b])
        row_err = _row_errors(pred, self._y_centered[rows], self._y_centered.var(0))
        return _KernelChoice("adaptive", float(err[a, b]), attributes, rows, row_err)

    def _adaptive_neighbor_grid(self, n: int) -> list[int]:
        if self.n_neighbors != "auto":
            if self.n_neighbors > n - 1:
                raise ValueError(
                    f"n_neighbors={self.n_neighbors} needs more than "
                    f"{self.n_neighbors} training rows; X has {n}. Use a smaller "
                    "n_neighbors."
                )
            return [int(self.n_neighbors)]
        return [k for k in _ADAPTIVE_NEIGHBORS if k < n] or [n - 1]

    def _adaptive_errors(self, d, idx, rows, ks, scales_) -> np.ndarray:
        """Leave-one-out error (one minus R^2, mean over targets) per (k, s)."""
        truth, scale = self._y_centered[rows], self._y_centered.var(axis=0)
        fit_cols = scale > 0
        err = np.zeros((len(ks), len(scales_)))
        if not fit_cols.any():  # constant targets: every choice is exact
            return err
        for a, k in enumerate(ks):
            for b, s in enumerate(scales_):
                pred = _adaptive_average(d, idx, self._y_centered, k, s)
                mse = ((pred - truth) ** 2).mean(axis=0)
                err[a, b] = (mse[fit_cols] / scale[fit_cols]).mean()
        return err

    def _initial_grid(self, X, rng) -> np.ndarray:
        k_high = min(_GRID_NEIGHBORS, X.shape[0] - 1)
        try:
            radii = scales.radius_grid(
                X,
                2,
                k_low=1,
                k_high=k_high,
                random_state=rng,
                n_jobs=self.n_jobs,
            )
        except ValueError as exc:
            raise ValueError(
                f"{type(self).__name__}: cannot choose bandwidth='auto' ({exc}) "
                "Pass a float bandwidth."
            ) from exc
        lo, hi = radii[0] / self.radius_ratio, radii[-1]
        if hi <= lo * 1.01:
            hi = lo * 4.0
        return np.geomspace(lo, hi, self.n_bandwidths)

    def _select_bandwidth(self, X, rng) -> _KernelChoice:
        grid = self._initial_grid(X, rng)
        rows = self._loo_rows(X.shape[0], rng)
        truth = self._y_centered if rows is None else self._y_centered[rows]
        scale = self._y_centered.var(axis=0)
        fit_cols = scale > 0
        fallback_pred = _LazyLooFallback(self, X, rows)
        per_row = {}  # bandwidth -> the rows' own errors (the auto-kernel test)

        def errors(eps: np.ndarray) -> np.ndarray:
            pred, support = self._loo_predictions(X, rows, eps, fallback_pred)
            per_row.update(zip(eps, _row_errors(pred, truth[:, None, :], scale).T))
            if not fit_cols.any():  # constant targets: every bandwidth is exact
                err = np.zeros(eps.size)
            else:
                mse = ((pred - truth[:, None, :]) ** 2).mean(axis=0)  # (n_eps, q)
                err = (mse[:, fit_cols] / scale[fit_cols]).mean(axis=1)
            # A bandwidth that leaves many rows without a neighbour inside the
            # cutoff is a nearest-neighbour regressor in disguise: not a choice.
            return np.where(support >= _MIN_SUPPORT, err, np.inf)

        # The upper half is reached, at the same log spacing, by the upward
        # extensions: hence the extra ones on top of the usual budget.
        first = grid[: max(2, (grid.size + 1) // 2)]
        search = scales.search_log_grid(
            errors,
            first,
            n_extend=_EXTEND_SIZE,
            max_extensions=_MAX_EXTENSIONS + grid.size // _EXTEND_SIZE,
        )
        attributes = {
            "bandwidths_": search.values,
            "loo_errors_": search.scores,
            "bandwidth_": float(search.values[search.best]),
        }
        best = search.values[search.best]
        error = float(search.scores[search.best])
        return _KernelChoice("fixed", error, attributes, rows, per_row[best])

    def _loo_predictions(self, X, rows, eps, fallback_pred):
        """Leave-one-out predictions (m, n_eps, q) of the centred targets, and
        the fraction of rows with a neighbour inside the cutoff (n_eps,)."""
        yc = self._y_centered
        kw = {"radius_ratio": self.radius_ratio, "n_jobs": self.n_jobs}
        if rows is None:
            w, s = distances.kernel_sums(
                X, None, yc, eps, exclude_self=True, device=self.device, **kw
            )
        else:
            # Sampled query rows against all training rows; a row's own pair is
            # at distance exactly 0 (weight exactly 1), removed here -- the same
            # quantity as exclude_self=True.
            w, s = distances.kernel_sums(X[rows], X, yc, eps, device=self.device, **kw)
            w -= 1.0
            s -= yc[rows][:, None, :]
        inside = w > 0
        pred = s / np.where(inside, w, 1.0)[:, :, None]
        if not inside.all():
            missing = ~inside.all(axis=1)
            fb = fallback_pred(np.flatnonzero(missing))  # (n_missing, q)
            sub = pred[missing]
            sub[~inside[missing]] = np.repeat(
                fb, (~inside[missing]).sum(axis=1), axis=0
            )
            pred[missing] = sub
        return pred, inside.mean(axis=0)

    # -------------------------------------------------------------- predict
    @verbose_progress
    def predict(self, X):
        """Kernel-weighted average of the training targets at ``X``.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query points.

        Returns
        -------
        y_pred : ndarray of shape (n_queries,) or (n_queries, n_targets)
            1-D when ``y`` was 1-D at fit.

        Raises
        ------
        ValueError
            With ``fallback="raise"``, when a row has no training point within
            ``radius_ratio * bandwidth_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        if self.kernel_ == "adaptive":
            d, idx = distances.knn_distances(
                X,
                self.n_neighbors_,
                self.X_fit_,
                return_indices=True,
                n_jobs=self.n_jobs,
                device=self.device,
            )
            pred = _adaptive_average(
                d, idx, self._y_centered, self.n_neighbors_, self.bandwidth_scale_
            )
            self.n_outside_ = 0
            pred += self.y_offset_
            return pred[:, 0] if self._y_1d else pred
        w, s = distances.kernel_sums(
            X,
            self.X_fit_,
            self._y_centered,
            self.bandwidth_,
            radius_ratio=self.radius_ratio,
            n_jobs=self.n_jobs,
            device=self.device,
        )
        w, s = w[:, 0], s[:, 0, :]
        outside = w == 0
        pred = s / np.where(outside, 1.0, w)[:, None] + self.y_offset_
        self.n_outside_ = int(outside.sum())
        if self.n_outside_:
            pred[outside] = self._fallback(X[outside])
        return pred[:, 0] if self._y_1d else pred

    def _fallback(self, X_out) -> np.ndarray:
        n_out = X_out.shape[0]
        fix = (
            f"no training point within radius_ratio * bandwidth_ = "
            f"{self.radius_ratio:.3g} * {self.bandwidth_:.4g}; increase bandwidth "
            "or radius_ratio if these rows should be interpolated"
        )
        if self.fallback == "raise":
            raise ValueError(f"{n_out} row(s) have {fix}.")
        warnings.warn(
            f"{type(self).__name__}: {n_out} row(s) have {fix}; they get the "
            f"fallback={self.fallback!r} prediction.",
            UnsupportedRowsWarning,
            stacklevel=3,
        )
        if self.fallback == "nearest":
            _, idx = distances.knn_distances(
                X_out, 1, self.X_fit_, return_indices=True, n_jobs=self.n_jobs
            )
            return self.y_fit_[idx[:, 0]]
        if self.fallback == "mean":
            return np.broadcast_to(self.y_fit_.mean(axis=0), (n_out, self.n_outputs_))
        return np.full((n_out, self.n_outputs_), np.nan)

    @property
    def n_outputs_(self) -> int:
        """Number of targets."""
        return self.y_fit_.shape[1]

    def transform(self, X):
        """Predictions as a 2-D array, so the interpolator can sit mid-pipeline.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query points.

        Returns
        -------
        Y : ndarray of shape (n_queries, n_targets)
            Same values as ``predict``.
        """
        pred = self.predict(X)
        return pred.reshape(pred.shape[0], -1)

    def get_feature_names_out(self, input_features=None):
        """Output names: the target names seen at fit.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only validated against the fitted input features.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``target_names_``.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return self.target_names_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


class _LazyLooFallback:
    """Leave-one-out fallback predictions (centred) for unsupported rows.

    ``"nearest"``: target of the nearest *other* training row (k-NN search
    only for the rows that need it, remembered across grid extensions);
    ``"mean"``, ``"nan"`` and ``"raise"``: the training mean.
    """

    def __init__(self, est: NadarayaWatsonInterpolator, X, rows):
        self.est, self.X, self.rows = est, X, rows
        n_query = X.shape[0] if rows is None else rows.size
        self.nearest = np.full(n_query, -1, dtype=np.intp)

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        yc = self.est._y_centered
        if self.est.fallback != "nearest":
            return np.broadcast_to(yc.mean(axis=0), (positions.size, yc.shape[1]))
        todo = positions[self.nearest[positions] < 0]
        if todo.size:
            train_rows = todo if self.rows is None else self.rows[todo]
            _, idx = distances.knn_distances(
                self.X[train_rows],
                2,
                self.X,
                exclude_self=False,
                return_indices=True,
                n_jobs=self.est.n_jobs,
            )
            # The row itself is one of its two nearest (distance 0); take the other.
            self.nearest[todo] = np.where(idx[:, 0] == train_rows, idx[:, 1], idx[:, 0])
        return yc[self.nearest[positions]]


_MIN_SUPPORT = 0.95  # fraction of LOO rows that must have a kernel neighbour


def _neighbours_without_self(X, rows, k: int, n_jobs, device):
    """The ``k`` nearest *other* training rows of ``X[rows]`` (distances, indices)."""
    d, idx = distances.knn_distances(
        X[rows], k + 1, X, return_indices=True, n_jobs=n_jobs, device=device
    )
    # Drop the row itself (at distance 0; with duplicates not always first).
    is_self = idx == rows[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(is_self)
    keep[np.arange(rows.size), drop] = False
    return d[keep].reshape(rows.size, k), idx[keep].reshape(rows.size, k)


def _adaptive_average(d, idx, y, k: int, s: float) -> np.ndarray:
    """Gaussian average of ``y`` over the k nearest, width ``s * d_k`` per row."""
    d, idx = d[:, :k], idx[:, :k]
    width = s * d[:, -1:]
    # All k neighbours at distance 0 (duplicates): average them equally.
    z = np.divide(d, width, out=np.zeros_like(d, dtype=np.float64), where=width > 0)
    w = np.exp(-(z**2))
    return np.einsum("mk,mkq->mq", w, y[idx]) / w.sum(axis=1, keepdims=True)
