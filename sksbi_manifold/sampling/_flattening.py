"""Outlier removal and density-flattening resampling (paper Appendix A.4).

:class:`DensityFlatteningSampler` drops low-connectivity rows (fewer than
``min_neighbors`` other rows within ``radius``), optionally keeps only rows
near a reference set, and draws a fixed-size sample whose inclusion
probabilities are proportional to ``1 / N_R(x)`` (capped at 1), so that the
sample is close to uniform over the data manifold. It follows the
imbalanced-learn sampler protocol (``fit_resample``) and also exposes the
flattening weights (``sample_weight_``) for users who reweight instead of
dropping rows, and the inclusion probabilities of the draw
(``inclusion_probabilities_``).

:func:`near_reference` is the coverage filter on its own.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from .._compat import (
    Interval,
    RealNotInt,
    RequestMethod,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
    _safe_indexing,
    validate_params,
)
from .._geometry.distances import kernel_sums, radius_counts
from .._geometry.progress import verbose_progress
from .._geometry.scales import radius_grid
from .._validation import (
    N_JOBS_CONSTRAINT,
    check_not_constant,
    check_radius_has_neighbors,
)

__all__ = ["DensityFlatteningSampler", "near_reference"]

_N_RADII = 20  # candidate radii for radius="auto"
_N_BINS = 20  # bins of the neighbour-count histogram for radius="auto"
_MAX_OUTLIER_FRACTION = 0.05  # radius="auto" keeps at least 95% of the rows
_RADIUS_RATIO = 3.0  # kernel cutoff / epsilon (package convention)


def _near(X, X_ref, radius, n_jobs) -> np.ndarray:
    return radius_counts(X, [radius], Y=X_ref, n_jobs=n_jobs)[:, 0] > 0


@validate_params(
    {
        "X": ["array-like"],
        "X_ref": ["array-like"],
        "radius": [Interval(Real, 0, None, closed="left")],
        "n_jobs": N_JOBS_CONSTRAINT,
    },
    prefer_skip_nested_validation=True,
)
def near_reference(X, X_ref, radius: float, *, n_jobs: int | None = None) -> np.ndarray:
    """Mask of the rows of ``X`` within ``radius`` of some row of ``X_ref``.

    The coverage filter of the paper (Appendix A.4): simulated latents are
    kept only if some experimental latent lies within ``R = 7.5`` of them.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Rows to test.
    X_ref : array-like of shape (n_reference, n_features)
        Reference rows.
    radius : float
        Euclidean radius; a row at distance exactly ``radius`` is near.
    n_jobs : int, default=None
        Parallel row blocks in the distance engine (threads).

    Returns
    -------
    mask : ndarray of shape (n_samples,), dtype bool
        ``mask[i]`` is True when ``min_j ||X[i] - X_ref[j]|| <= radius``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.sampling import near_reference
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0]])
    >>> near_reference(X, [[0.0, 0.5]], radius=1.2)
    array([ True,  True, False])
    """
    X = check_array(X, dtype=[np.float64, np.float32])
    X_ref = check_array(X_ref, dtype=[np.float64, np.float32], input_name="X_ref")
    if X_ref.shape[1] != X.shape[1]:
        raise ValueError(
            f"X_ref has {X_ref.shape[1]} features but X has {X.shape[1]}; both "
            "must live in the same space."
        )
    return _near(X, X_ref, radius, n_jobs)


def _capped_inclusion_probabilities(weight: np.ndarray, size: int) -> np.ndarray:
    """``min(1, c * weight)`` with ``c`` such that the values sum to ``size``.

    The capped-proportional iteration (units whose proportional value
    exceeds 1 are set to 1, the rest rescaled, until none exceeds 1) in
    closed form: with the weights sorted in decreasing order and ``S_k`` the
    sum of all but the ``k`` largest, the ``k`` largest are capped for the
    smallest ``k`` with ``(size - k) * w_(k) <= S_k``. Values within a
    rounding tolerance of 1 are capped too, so that in the systematic draw
    no uncapped interval can hold two points.
    """
    n_pool = weight.size
    if size >= n_pool:
        return np.ones(n_pool)
    order = np.argsort(-weight, kind="stable")
    w = weight[order]
    tail = np.cumsum(w[::-1])[::-1]  # tail[k] = sum of w[k:]
    tol = 1e-9 + 8 * np.finfo(float).eps * size
    k = np.arange(size)
    ok = (size - k) * w[:size] <= (1 - tol) * tail[:size]
    n_cap = int(np.argmax(ok)) if ok.any() else size  # monotone in k
    pi = np.empty(n_pool)
    pi[order[:n_cap]] = 1.0
    if n_cap < n_pool:
        rest = w[n_cap:]
        pi[order[n_cap:]] = rest * ((size - n_cap) / rest.sum())
    return pi


def _systematic_pps(pi: np.ndarray, size: int, rng) -> np.ndarray:
    """Indices drawn by systematic PPS sampling in random order.

    Rows with ``pi == 1`` are taken; the others, in a random order, cover
    consecutive intervals of lengths ``pi`` on ``[0, size - n_certain)``,
    and the rows whose interval holds one of ``u, u + 1, ...`` are drawn
    (``u ~ U[0, 1)``). Row ``i`` is drawn with probability ``pi[i]`` and
    exactly ``size`` rows are drawn (``pi`` sums to ``size``, entries < 1
    hold at most one point).
    """
    certain = np.flatnonzero(pi >= 1.0)
    m = size - certain.size
    if m == 0:
        return certain
    rest = np.flatnonzero(pi < 1.0)
    perm = rest[rng.permutation(rest.size)]
    cum = np.cumsum(pi[perm])
    cum *= m / cum[-1]
    u = rng.uniform()
    # number of points u + j below the end of each interval
    ends = np.ceil(cum - u)
    ends[-1] = m
    hit = np.diff(ends, prepend=0.0) > 0
    return np.concatenate([certain, perm[hit]])


def _histogram_entropy(counts: np.ndarray) -> float:
    """Entropy of the histogram of neighbour counts (20 bins up to the max)."""
    top = max(int(counts.max()), 1)
    hist, _ = np.histogram(counts, bins=_N_BINS, range=(0, top))
    p = hist[hist > 0] / counts.size
    return float(-(p * np.log(p)).sum())


class DensityFlatteningSampler(BaseEstimator):
    """Drop low-connectivity rows, then resample with inclusion ∝ 1/N_R.

    The pre-processing of the paper's Appendix A.4 (see :ref:`conv-flattening`):

    1. count, for every row ``x``, the other rows within ``radius``:
       ``N_R(x)`` (self excluded);
    2. drop *outliers*, the rows with ``N_R(x) < min_neighbors`` (paper: 8);
    3. optionally keep only rows within ``coverage_radius`` of a reference
       set ``X_ref`` passed to ``fit``/``fit_resample`` (paper: simulated
       rows within 7.5 of an experimental row);
    4. draw exactly ``n_samples`` of the remaining rows (the *inliers*)
       without replacement, row ``x`` with inclusion probability
       ``min(1, c / N_R(x))``, ``c`` set so that the probabilities sum to
       ``n_samples`` (paper: 20 000 rows), which flattens the density over
       the data manifold (see Notes);
    5. optionally drop the drawn rows whose Gaussian kernel degree at
       ``degree_epsilon`` is in the bottom ``degree_quantile`` (paper: 5%
       at the geometric-consistency epsilon, before Diffusion Maps).

    This is a *sampler* in the imbalanced-learn sense: it has no
    ``transform``; ``fit_resample(X, y)`` returns the kept rows of ``X`` and
    ``y``. Use it in :class:`imblearn.pipeline.Pipeline` (sklearn's
    ``Pipeline`` cannot host samplers) or call it directly; users who must
    stay in a plain sklearn pipeline can pass ``sample_weight_`` (the
    flattening weights) to a weighted estimator instead.

    Parameters
    ----------
    radius : float or "auto", default="auto"
        Radius ``R`` of the neighbour counts (paper: 7.5 for the
        experimental and 9.0 for the simulated latents, chosen by looking at
        count histograms). ``"auto"`` is a package heuristic, not the paper's
        rule: among 20 log-spaced radii from the median 5th- to the median
        200th-neighbour distance, pick the one whose histogram of ``N_R``
        (20 bins from 0 to its maximum) has maximal entropy -- the paper's
        "approximately uniform distribution over the number of neighbours",
        avoiding a pile-up at zero and saturation -- subject to a median
        count of at least ``2 * min_neighbors`` and at most 5% of the rows
        being outliers (without the last condition a sparse region holding
        less than half of the rows could be dropped whole). A warning says
        when no candidate qualifies; the radius with the fewest outliers is
        then used.
    min_neighbors : int, default=8
        Rows with fewer than ``min_neighbors`` neighbours within ``radius``
        are outliers and never drawn. At least 1, so that ``1 / N_R`` is
        finite.
    n_samples : int or float, default=0.5
        Number of rows to draw, or a fraction in ``(0, 1]`` of the inliers.
        Without replacement an integer larger than the number of inliers
        raises a ``ValueError``. The paper drew 20 000 of about 40 000
        inliers. A sample cannot be flatter than the sparsest regions allow:
        once ``c / N_R(x) >= 1`` there, all their rows are drawn and the
        rest of the sample comes from denser regions (see Notes).
    replace : bool, default=False
        Draw with replacement (i.i.d. draws ∝ ``1 / N_R``; rows may repeat,
        ``n_samples`` may exceed the number of inliers).
    coverage_radius : float, default=None
        Radius of the coverage filter (step 3); ``None`` means ``radius_``.
        The filter runs only when ``X_ref`` is passed to ``fit``.
    degree_quantile : float in [0, 1), default=0.0
        Drop the drawn rows whose kernel degree
        ``q_i = sum_j exp(-||x_i - x_j||^2 / epsilon^2)`` (over the drawn
        rows, self included, cut off at ``3 * epsilon``) is below this
        quantile of the degrees. ``0`` disables the filter. The output then
        has about ``(1 - degree_quantile) * n_samples`` rows.
    degree_epsilon : float, default=None
        Kernel width ``epsilon`` of the degree filter, e.g. the ``epsilon_``
        of a fitted :class:`DiffusionMapsGC` (the paper used the
        geometric-consistency width). Required when ``degree_quantile > 0``.
    random_state : int, RandomState instance or None, default=None
        Seeds the draw and the subsample behind ``radius="auto"``.
    n_jobs : int, default=None
        Parallel row blocks in the distance engine (threads).
    verbose : int, default=0
        Report the progress of the distance passes on stderr (a tqdm bar if
        tqdm is installed).

    Attributes
    ----------
    radius_ : float
        Radius used for the counts.
    neighbor_counts_ : ndarray of shape (n_samples,), dtype int64
        ``N_R(x)`` of every row of the fitted ``X`` (self excluded).
    outlier_mask_ : ndarray of shape (n_samples,), dtype bool
        Rows with ``N_R(x) < min_neighbors``.
    inlier_mask_ : ndarray of shape (n_samples,), dtype bool
        Rows that may be drawn: not outliers and, with ``X_ref``, within
        ``coverage_radius_`` of it.
    coverage_radius_ : float or None
        Radius of the coverage filter, ``None`` when no ``X_ref`` was given.
    sample_weight_ : ndarray of shape (n_samples,)
        Flattening weights ``∝ 1 / N_R(x)`` on the inliers, 0 elsewhere,
        normalised to mean 1 over the inliers (with ``replace=True`` each
        draw picks row ``i`` with probability
        ``sample_weight_[i] / sample_weight_.sum()``). Not affected by the
        degree filter.
    inclusion_probabilities_ : ndarray of shape (n_samples,)
        Probability that each row of the fitted ``X`` is drawn, 0 for the
        outliers and the rows outside the coverage filter. Without
        replacement ``min(1, c * sample_weight_)``, summing to the number
        of drawn rows; rows at 1 are always drawn. With ``replace=True``
        the probability ``1 - (1 - p_i) ** n_draws`` of appearing at least
        once. Computed before the degree filter.
    sample_indices_ : ndarray of shape (n_kept,), dtype intp
        Rows of the fitted ``X`` returned by ``fit_resample``, sorted;
        unique unless ``replace=True``.
    degree_threshold_ : float or None
        Kernel-degree cut of the degree filter, ``None`` when it is off.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when ``X`` has string column names.

    See Also
    --------
    near_reference : The coverage filter alone.
    sksbi_manifold.sampling.density_coverage : KDE coverage of two sets.

    Notes
    -----
    ``N_R`` is counted once, on all rows of ``X``; the filters do not
    recount it. Outliers barely touch other rows' counts, and counting
    before the coverage cut avoids an artificial edge at the cut.

    **Sampling design.** Flattening needs the *inclusion* probabilities
    ``pi_i`` to be proportional to ``1 / N_R(x_i)``. Drawing rows one after
    the other without replacement with probabilities proportional to the
    weights (``numpy.random.choice(replace=False, p=...)``) does not give
    that: each draw removes a row from the pool, so the rows of sparse
    regions, drawn early, have inclusion probabilities below proportional
    and the dense regions fill the rest (in two squares with a density
    ratio of 10, a 10% sample stayed 1.3 times denser in the dense square).
    The draw is instead systematic sampling with probabilities proportional
    to size in random order (Madow's design): the target
    ``pi_i = min(1, c / N_R(x_i))`` with ``sum_i pi_i = n_samples`` is
    found by the usual capping (rows whose proportional value exceeds 1 are
    set to 1, the others rescaled until none does); the rows at 1 are
    taken, and the others are laid in a random order as consecutive
    intervals of lengths ``pi_i``, and the rows whose interval contains one
    of ``u, u + 1, u + 2, ...`` (``u`` uniform in [0, 1)) are drawn. This
    gives exactly these inclusion probabilities and exactly ``n_samples``
    rows in O(n); the random order keeps neighbouring rows of ``X`` from
    being drawn or skipped together. ``replace=True`` draws i.i.d. with the weights'
    proportions but repeats rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.sampling import DensityFlatteningSampler
    >>> rng = np.random.default_rng(0)
    >>> dense = rng.uniform(0, 1, size=(900, 2))
    >>> sparse = rng.uniform(2, 3, size=(100, 2))
    >>> X = np.vstack([dense, sparse])
    >>> y = np.r_[np.zeros(900), np.ones(100)]
    >>> sampler = DensityFlatteningSampler(radius=0.3, n_samples=100,
    ...                                    random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape
    (100, 2)
    >>> bool(35 < y_res.sum() < 65)  # 10% before, about half after
    True
    """

    _estimator_type = "sampler"
    # Always offer the setter that imbalanced-learn's Pipeline routes X_ref
    # through, whichever of the two packages is imported first (sklearn only
    # generates it for classes defined after imblearn registered the method).
    set_fit_resample_request = RequestMethod("fit_resample", ["X_ref"])

    _parameter_constraints: ClassVar[dict] = {
        "radius": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "min_neighbors": [Interval(Integral, 1, None, closed="left")],
        "n_samples": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "replace": ["boolean"],
        "coverage_radius": [Interval(Real, 0, None, closed="neither"), None],
        "degree_quantile": [Interval(Real, 0, 1, closed="left")],
        "degree_epsilon": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS_CONSTRAINT,
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        radius="auto",
        *,
        min_neighbors=8,
        n_samples=0.5,
        replace=False,
        coverage_radius=None,
        degree_quantile=0.0,
        degree_epsilon=None,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.radius = radius
        self.min_neighbors = min_neighbors
        self.n_samples = n_samples
        self.replace = replace
        self.coverage_radius = coverage_radius
        self.degree_quantile = degree_quantile
        self.degree_epsilon = degree_epsilon
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def get_feature_names_out(self, input_features=None):
        """The input feature names: resampling keeps the columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Checked against ``feature_names_in_``; ``None``: those names, or
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        return _check_feature_names_in(self, input_features)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "sampler"
        tags.target_tags.required = False
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    @verbose_progress
    def fit(self, X, y=None, *, X_ref=None):
        """Count neighbours, find the outliers and draw the sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to resample.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
            Ignored by the computation; its length is checked against ``X``.
        X_ref : array-like of shape (n_reference, n_features), default=None
            Reference set of the coverage filter: only rows of ``X`` within
            ``coverage_radius`` of some row of ``X_ref`` are drawn. A fit
            parameter rather than a constructor argument, so that the
            estimator stays cheap to clone. In an imbalanced-learn
            ``Pipeline`` it arrives through sklearn's metadata routing
            (imblearn's ``step__param`` shortcut does not reach samplers):
            ``sklearn.set_config(enable_metadata_routing=True)``,
            ``sampler.set_fit_request(X_ref=True).set_fit_resample_request(
            X_ref=True)``, then ``pipe.fit(X, y, X_ref=X_ref)``; it is not
            row-aligned with ``X``, so cross-validation passes it whole.

        Returns
        -------
        self : DensityFlatteningSampler
            The fitted sampler.
        """
        X = validate_data(
            self, X, reset=True, dtype=[np.float64, np.float32], ensure_min_samples=2
        )
        if y is not None:
            check_consistent_length(X, y)
        check_not_constant(X, type(self).__name__)
        rng = check_random_state(self.random_state)
        inliers = self._count_neighbors(X, rng)
        self.inlier_mask_ = self._coverage_filter(X, X_ref, inliers)
        self.sample_indices_ = self._sample(X, self.inlier_mask_, rng)
        return self

    def _count_neighbors(self, X, rng):
        """Radius, neighbour counts and outliers; returns the inlier mask."""
        who = type(self).__name__
        if self.radius == "auto":
            self.radius_, counts = self._auto_radius(X, rng)
        else:
            self.radius_ = float(self.radius)
            counts = radius_counts(X, [self.radius_], n_jobs=self.n_jobs)[:, 0]
        check_radius_has_neighbors(counts, self.radius_, "radius", who)
        self.neighbor_counts_ = counts
        self.outlier_mask_ = counts < self.min_neighbors
        inliers = ~self.outlier_mask_
        if not inliers.any():
            raise ValueError(
                f"{who}: all {X.shape[0]} rows have fewer than min_neighbors="
                f"{self.min_neighbors} neighbours within radius={self.radius_:.4g} "
                f"(largest count {int(counts.max())}). Increase radius or lower "
                "min_neighbors."
            )
        return inliers

    def _coverage_filter(self, X, X_ref, inliers):
        """The inliers within ``coverage_radius_`` of ``X_ref`` (all without it)."""
        who = type(self).__name__
        self.coverage_radius_ = None
        if X_ref is None:
            if self.coverage_radius is not None:
                raise ValueError(
                    f"{who}: coverage_radius={self.coverage_radius} is set but no "
                    "X_ref was passed to fit/fit_resample. Pass X_ref=... (the "
                    "reference set) or leave coverage_radius=None."
                )
            return inliers
        X_ref = check_array(X_ref, dtype=[np.float64, np.float32], input_name="X_ref")
        if X_ref.shape[1] != X.shape[1]:
            raise ValueError(
                f"X_ref has {X_ref.shape[1]} features but X has {X.shape[1]}."
            )
        cov = self.radius_ if self.coverage_radius is None else self.coverage_radius
        self.coverage_radius_ = float(cov)
        near = _near(X, X_ref, self.coverage_radius_, self.n_jobs)
        if not (near & inliers).any():
            raise ValueError(
                f"{who}: no inlier of X lies within coverage_radius="
                f"{self.coverage_radius_:.4g} of X_ref. Increase "
                "coverage_radius or check that X and X_ref share a space."
            )
        return inliers & near

    def _sample(self, X, inliers, rng):
        """Weights 1 / count, the draw among the inliers, the degree filter."""
        n = X.shape[0]
        weight = np.zeros(n)
        weight[inliers] = 1.0 / self.neighbor_counts_[inliers]
        weight /= weight[inliers].mean()
        self.sample_weight_ = weight
        pool = np.flatnonzero(inliers)
        idx, pi = self._draw(pool, weight[inliers], rng)
        self.inclusion_probabilities_ = np.zeros(n)
        self.inclusion_probabilities_[pool] = pi
        self.degree_threshold_ = None
        if self.degree_quantile > 0:
            idx = self._degree_filter(X, idx)
        return idx

    def fit_resample(self, X, y=None, *, X_ref=None):
        """Fit and return the drawn rows of ``X`` and ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to resample. A pandas DataFrame stays a DataFrame (with its
            index), an array an array of the same dtype.
        y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
            Targets or parameters kept aligned with ``X`` (vector, 2-D
            table, Series or DataFrame).
        X_ref : array-like of shape (n_reference, n_features), default=None
            Reference set of the coverage filter, see :meth:`fit`.

        Returns
        -------
        X_resampled : array-like of shape (n_kept, n_features)
            ``X`` at ``sample_indices_``.
        y_resampled : array-like of shape (n_kept, ...) or None
            ``y`` at ``sample_indices_``; ``None`` when ``y`` is None.
        """
        self.fit(X, y, X_ref=X_ref)
        idx = self.sample_indices_
        X_res = _safe_indexing(X, idx)
        y_res = None if y is None else _safe_indexing(y, idx)
        return X_res, y_res

    # ------------------------------------------------------------------ #
    def _auto_radius(self, X, rng):
        """Max-entropy count histogram among radii with few outliers."""
        n = X.shape[0]
        grid = radius_grid(X, _N_RADII, random_state=rng, n_jobs=self.n_jobs)
        counts = radius_counts(X, grid, n_jobs=self.n_jobs)
        median = np.median(counts, axis=0)
        outliers = np.mean(counts < self.min_neighbors, axis=0)
        ok = (median >= min(2 * self.min_neighbors, n - 1)) & (
            outliers <= _MAX_OUTLIER_FRACTION
        )
        if ok.any():
            entropy = np.array([_histogram_entropy(c) for c in counts.T])
            t = int(np.argmax(np.where(ok, entropy, -np.inf)))
        else:
            t = int(np.lexsort((-median, outliers))[0])  # fewest outliers
            warnings.warn(
                f"{type(self).__name__}: no candidate radius up to {grid[-1]:.4g} "
                f"gives a median neighbour count of at least 2 * min_neighbors with "
                f"at most {_MAX_OUTLIER_FRACTION:.0%} outliers; using radius="
                f"{grid[t]:.4g}, where {outliers[t]:.0%} of the rows are outliers. "
                "Lower min_neighbors or pass a radius.",
                UserWarning,
                stacklevel=3,
            )
        return float(grid[t]), np.ascontiguousarray(counts[:, t])

    def _draw(self, pool, weight, rng):
        n_pool = pool.size
        if isinstance(self.n_samples, Integral):
            size = int(self.n_samples)
            if size > n_pool and not self.replace:
                raise ValueError(
                    f"n_samples={size} exceeds the {n_pool} inliers that can be "
                    "drawn without replacement. Lower n_samples, give a "
                    "fraction (e.g. n_samples=0.5) or set replace=True."
                )
        else:
            size = max(1, round(float(self.n_samples) * n_pool))
        if self.replace:
            p = weight / weight.sum()
            chosen = rng.choice(n_pool, size=size, replace=True, p=p)
            with np.errstate(divide="ignore"):  # p == 1 for a single inlier
                pi = -np.expm1(size * np.log1p(-p))  # 1 - (1 - p) ** size
        else:
            pi = _capped_inclusion_probabilities(weight, size)
            chosen = _systematic_pps(pi, size, rng)
        return np.sort(pool[chosen]), pi

    def _degree_filter(self, X, idx):
        if self.degree_epsilon is None:
            raise ValueError(
                f"{type(self).__name__}: degree_quantile={self.degree_quantile} "
                "needs degree_epsilon, the kernel width of the degrees (e.g. "
                "DiffusionMapsGC().fit(X).epsilon_, as in the paper)."
            )
        degrees, _ = kernel_sums(
            X[idx],
            None,
            None,
            self.degree_epsilon,
            radius_ratio=_RADIUS_RATIO,
            n_jobs=self.n_jobs,
        )
        degrees = degrees[:, 0]
        self.degree_threshold_ = float(np.quantile(degrees, self.degree_quantile))
        return idx[degrees >= self.degree_threshold_]
