"""Does one data set cover another?  Kernel-density cross-entropies and KLs.

Section 3 of the paper ("Does the simulated data cover the experimental data
well?", Table 1): fit a Gaussian kernel density estimate (KDE) on a training
split of each set, with the bandwidth chosen by cross-validated held-out
log-likelihood, then report the mean negative log-likelihood of each set's
held-out rows under each density and the two Kullback-Leibler divergences.

All kernel sums go through the package's blocked distance engine
(:func:`~sksbi_manifold._geometry.distances.gaussian_log_sums`), which reduces
every bandwidth of a grid from one pass over the distances and stays exact in
the log domain where the Gaussian kernel underflows (``R^256``).
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_array, check_random_state

from .._compat import Interval, StrOptions, validate_params
from .._geometry.distances import gaussian_log_sums, knn_distances
from .._geometry.scales import search_log_grid
from .._validation import N_JOBS_CONSTRAINT

__all__ = ["CoverageResult", "density_coverage"]

_GRID_SIZE = 8  # first automatic grid
_GRID_SAMPLE = 500  # rows whose neighbour distances set the automatic grid
_REFINE_SIZE = 4  # extra points between the neighbours of the coarse optimum
_EXTEND_SIZE = 4  # points added per extension past a grid edge
_EXTEND_RATIO = 1.5  # smallest ratio between extension points
_MAX_EXTENSIONS = 10
_GRID_NEIGHBORS = 50


# --------------------------------------------------------------------------- #
# Result object
# --------------------------------------------------------------------------- #
def _frozen(a) -> np.ndarray | None:
    if a is None:
        return None
    a = np.array(a, dtype=float if np.asarray(a).dtype.kind == "f" else None)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False, repr=False)
class CoverageResult:
    """Result of :func:`density_coverage` (the paper's Table 1 and KLs).

    Attributes
    ----------
    names : tuple of str
        Names of the two sets, ``(a, b)``.
    neg_log_likelihood : ndarray of shape (2, 2)
        ``neg_log_likelihood[i, j]`` is the mean negative log-likelihood
        (cross-entropy, in nats) of the held-out rows of set ``j`` under the
        density fitted on set ``i``: rows are densities, columns are test
        sets, as in the paper's Table 1.
    kl_divergence : tuple of float
        ``(D(p_a || p_b), D(p_b || p_a))`` estimated on the held-out rows:
        ``D(p_a || p_b) = mean_{x in test_a} [log p_a(x) - log p_b(x)]``.
    bandwidths : tuple of float
        Kernel standard deviations ``(h_a, h_b)`` used for the two densities.
    bandwidth_method : str
        ``"cv"`` when chosen by cross-validation, ``"given"`` otherwise.
    n_train, n_test : tuple of int
        Training (KDE) and held-out rows of each set.
    test_indices : tuple of ndarray
        Row indices of the held-out rows of ``X_a`` and ``X_b`` (sorted).
    neg_log_likelihood_se : ndarray of shape (2, 2)
        Standard error of each table entry over the held-out rows (the
        standard error of a mean, which a bootstrap of the test rows
        estimates).
    kl_divergence_se : tuple of float
        Standard errors of the two KL estimates (of the per-row
        log-density differences). A KL divergence is >= 0, but its
        finite-sample KDE estimate is not: a negative estimate is flagged in
        the printed table, and :func:`density_coverage` warns when it lies
        more than two standard errors below zero (the two KDEs are then not
        comparable, e.g. bandwidths chosen on very different sets).
    cv_bandwidths, cv_scores : tuple of (ndarray or None)
        Every bandwidth tried for each set (ascending) and its mean held-out
        log-likelihood per row; ``None`` when the bandwidths were given.
    """

    names: tuple[str, str]
    neg_log_likelihood: np.ndarray
    kl_divergence: tuple[float, float]
    bandwidths: tuple[float, float]
    bandwidth_method: str
    n_train: tuple[int, int]
    n_test: tuple[int, int]
    test_indices: tuple = (None, None)
    neg_log_likelihood_se: np.ndarray | None = None
    kl_divergence_se: tuple = (np.nan, np.nan)
    cv_bandwidths: tuple = (None, None)
    cv_scores: tuple = (None, None)

    def __post_init__(self):
        object.__setattr__(self, "neg_log_likelihood", _frozen(self.neg_log_likelihood))
        se = self.neg_log_likelihood_se
        se = np.full((2, 2), np.nan) if se is None else se
        object.__setattr__(self, "neg_log_likelihood_se", _frozen(se))
        for name in ("test_indices", "cv_bandwidths", "cv_scores"):
            object.__setattr__(
                self, name, tuple(_frozen(a) for a in getattr(self, name))
            )

    def _table_lines(self) -> list[str]:
        a, b = self.names
        rows = [f"p_{a}", f"p_{b}"]
        cols = [f"test {a}", f"test {b}"]
        cells = [
            [f"{v:.4g} +- {e:.2g}" for v, e in zip(row, row_se)]
            for row, row_se in zip(self.neg_log_likelihood, self.neg_log_likelihood_se)
        ]
        w0 = max(len(r) for r in rows)
        widths = [
            max(len(c), *(len(cells[i][j]) for i in range(2)))
            for j, c in enumerate(cols)
        ]
        head = " " * w0 + "".join(f"  {c:>{w}}" for c, w in zip(cols, widths))
        body = [
            f"{r:<{w0}}" + "".join(f"  {v:>{w}}" for v, w in zip(cells[i], widths))
            for i, r in enumerate(rows)
        ]
        return [head, *body]

    def __str__(self) -> str:
        a, b = self.names
        ha, hb = self.bandwidths
        how = "cross-validated" if self.bandwidth_method == "cv" else "given"
        return "\n".join(
            [
                "Mean negative log-likelihood of held-out rows "
                "(rows: density, columns: test set)",
                *self._table_lines(),
                f"KL(p_{a} || p_{b}) = {self._kl_text(0)}    "
                f"KL(p_{b} || p_{a}) = {self._kl_text(1)}",
                f"bandwidths ({how}): h_{a} = {ha:.4g}, h_{b} = {hb:.4g}; "
                f"train {self.n_train[0]} / {self.n_train[1]}, "
                f"test {self.n_test[0]} / {self.n_test[1]}",
            ]
        )

    __repr__ = __str__

    def _kl_text(self, i: int) -> str:
        kl, se = self.kl_divergence[i], self.kl_divergence_se[i]
        text = f"{kl:.4g} +- {se:.2g}"
        if kl < 0:
            text += " (negative: a finite-sample estimate of a KL >= 0"
            text += ", not significant)" if kl > -2 * se else ", biased KDEs)"
        return text

    def to_dict(self) -> dict:
        """Plain-Python summary (JSON-serialisable, no arrays)."""
        a, b = self.names
        nll = self.neg_log_likelihood
        return {
            "names": [a, b],
            "neg_log_likelihood": {
                f"p_{a}": {
                    f"test_{a}": float(nll[0, 0]),
                    f"test_{b}": float(nll[0, 1]),
                },
                f"p_{b}": {
                    f"test_{a}": float(nll[1, 0]),
                    f"test_{b}": float(nll[1, 1]),
                },
            },
            "kl_divergence": {
                f"{a}||{b}": float(self.kl_divergence[0]),
                f"{b}||{a}": float(self.kl_divergence[1]),
            },
            "neg_log_likelihood_se": self.neg_log_likelihood_se.tolist(),
            "kl_divergence_se": {
                f"{a}||{b}": float(self.kl_divergence_se[0]),
                f"{b}||{a}": float(self.kl_divergence_se[1]),
            },
            "bandwidths": {a: float(self.bandwidths[0]), b: float(self.bandwidths[1])},
            "bandwidth_method": self.bandwidth_method,
            "n_train": {a: int(self.n_train[0]), b: int(self.n_train[1])},
            "n_test": {a: int(self.n_test[0]), b: int(self.n_test[1])},
        }

    def to_frame(self):
        """The negative log-likelihood table as a pandas DataFrame.

        Rows are the densities (``p_<name>``), columns the held-out sets
        (``test_<name>``). The KL divergences and bandwidths are attached in
        ``DataFrame.attrs``. Requires pandas.
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the env
            raise ImportError("CoverageResult.to_frame requires pandas.") from exc
        a, b = self.names
        df = pd.DataFrame(
            np.array(self.neg_log_likelihood),
            index=pd.Index([f"p_{a}", f"p_{b}"], name="density"),
            columns=pd.Index([f"test_{a}", f"test_{b}"], name="test set"),
        )
        info = self.to_dict()
        df.attrs.update(
            kl_divergence=info["kl_divergence"], bandwidths=info["bandwidths"]
        )
        return df


def _sem(values: np.ndarray) -> float:
    """Standard error of the mean of finite per-row values (nan for < 2 rows)."""
    if values.size < 2:
        return float("nan")
    return float(np.std(values, ddof=1) / math.sqrt(values.size))


def _warn_negative_kl(kl, kl_se, names) -> None:
    for value, se, (p, q) in zip(kl, kl_se, (names, names[::-1])):
        if value < -2 * se:
            warnings.warn(
                f"density_coverage: KL(p_{p} || p_{q}) = {value:.4g} is more than "
                f"two standard errors ({se:.2g}) below 0, which no KL divergence "
                "is: the two kernel density estimates are not comparable (e.g. "
                "bandwidths chosen on very different sets or duplicated rows). "
                "Pass one bandwidth for both sets or remove duplicated rows.",
                UserWarning,
                stacklevel=3,
            )


# --------------------------------------------------------------------------- #
# Gaussian KDE through the distance engine
# --------------------------------------------------------------------------- #
def _log_normaliser(bandwidths: np.ndarray, n_ref: int, n_features: int) -> np.ndarray:
    """log of ``n_ref (2 pi h^2)^{D/2}``: sklearn's Gaussian KDE convention."""
    return math.log(n_ref) + 0.5 * n_features * np.log(2.0 * np.pi * bandwidths**2)


def _kde_log_density(X, X_ref, bandwidths, n_jobs=None) -> np.ndarray:
    """``log p(x)`` of the Gaussian KDE on ``X_ref`` for every bandwidth.

    ``p(x) = (1/m) sum_j (2 pi h^2)^{-D/2} exp(-||x - y_j||^2 / (2 h^2))``,
    the density of :class:`sklearn.neighbors.KernelDensity` with
    ``kernel="gaussian"``; returns an array of shape (n, n_bandwidths).
    """
    h = np.atleast_1d(np.asarray(bandwidths, dtype=np.float64))
    log_sums = gaussian_log_sums(X, X_ref, h, n_jobs=n_jobs)
    return log_sums - _log_normaliser(h, X_ref.shape[0], X.shape[1])


def _cv_log_likelihood(X, grid, folds, scored, n_jobs) -> np.ndarray:
    """Mean held-out log-likelihood per row for each bandwidth of ``grid``.

    ``folds[i]`` is the fold of training row ``i``; ``scored`` the rows whose
    held-out density is evaluated. The KDE of fold ``g`` uses every row not
    in ``g``. Its log-sum is assembled from one engine pass per reference
    fold (all scored rows of the other folds at once), combined in the log
    domain, so the cost is that of exact k-fold CV on the scored rows.
    """
    n_folds = int(folds.max()) + 1
    parts = np.full((scored.size, n_folds, grid.size), -np.inf)
    for h in range(n_folds):
        query = folds[scored] != h
        parts[query, h] = gaussian_log_sums(
            X[scored[query]], X[folds == h], grid, n_jobs=n_jobs
        )
    fold_size = np.bincount(folds, minlength=n_folds)
    n_ref = X.shape[0] - fold_size[folds[scored]]
    log_p = logsumexp(parts, axis=1) - np.log(n_ref)[:, None]
    log_p -= 0.5 * X.shape[1] * np.log(2.0 * np.pi * grid**2)
    return log_p.mean(axis=0)


def _auto_grid(X, rng, n_jobs) -> np.ndarray:
    """Log grid of bandwidths bracketing the likelihood-optimal one.

    The held-out log-likelihood ``log sum_j exp(-d_j^2 / 2h^2) - D log h``
    of a Gaussian KDE in ``R^D`` is stationary where ``D h^2`` equals the
    mean over held-out rows of their kernel-weighted mean ``d_j^2``, which
    is at least the mean squared nearest-neighbour distance. So the optimum
    lies above ``rms(d_1) / sqrt(D)`` (the grid starts at 0.8 times that);
    densities smooth over tens of neighbours peak near ``rms(d_50) /
    sqrt(D)`` (the grid ends there, or at twice its start). The caller
    extends the grid while the optimum sits at an edge.
    """
    n = X.shape[0]
    k = min(_GRID_NEIGHBORS, n - 1)
    rows = np.sort(rng.choice(n, size=min(_GRID_SAMPLE, n), replace=False))
    # The sample is part of X: its first neighbour is itself.
    dist = knn_distances(X[rows], k + 1, X, n_jobs=n_jobs)[:, 1:]
    root_d = math.sqrt(X.shape[1])
    lo = 0.8 * math.sqrt(np.mean(dist[:, 0] ** 2)) / root_d
    hi = math.sqrt(np.mean(dist[:, -1] ** 2)) / root_d
    if not hi > 0:
        raise ValueError(
            "density_coverage: the neighbour distances of a training set are "
            "all zero (duplicated rows); pass an explicit bandwidth."
        )
    lo = max(lo, hi * 1e-3)
    return np.geomspace(lo, max(hi, 2.0 * lo), _GRID_SIZE)


def _select_bandwidth(X, grid, auto, cv, cv_sample_size, rng, n_jobs, name):
    """Cross-validate the KDE bandwidth; returns (h, tried, scores)."""
    n = X.shape[0]
    # Identical rows share a fold: a copy in another fold would make the
    # held-out likelihood grow without bound as h -> 0.
    group = _row_groups(X)
    folds = rng.permutation(group.max() + 1)[group] % cv
    per_fold = n if cv_sample_size is None else -(-cv_sample_size // cv)
    scored = np.sort(
        np.concatenate(
            [rng.permutation(np.flatnonzero(folds == g))[:per_fold] for g in range(cv)]
        )
    )
    search = search_log_grid(
        lambda h: -_cv_log_likelihood(X, h, folds, scored, n_jobs),
        grid,
        n_extend=_EXTEND_SIZE if auto else 0,
        max_extensions=_MAX_EXTENSIONS if auto else 0,
        min_ratio=_EXTEND_RATIO,
        n_refine=_REFINE_SIZE if auto else 0,
    )
    tried, scores, best = search.values, -search.scores, search.best
    if search.at_edge:
        where = "smallest" if best == 0 else "largest"
        hint = (
            " Duplicated rows across folds make the likelihood grow without "
            "bound as h -> 0."
            if best == 0
            else ""
        )
        warnings.warn(
            f"density_coverage: the cross-validated bandwidth of set {name!r} is "
            f"the {where} value tried (h={tried[best]:.4g}); the optimum may lie "
            f"outside the grid. Widen bandwidth_grid or pass a bandwidth." + hint,
            UserWarning,
            stacklevel=3,
        )
    return float(tried[best]), tried, scores


def _row_groups(X: np.ndarray) -> np.ndarray:
    """Index of each row's group of identical rows."""
    return np.unique(X, axis=0, return_inverse=True)[1].ravel()


def _split(X, test_size, rng, name):
    """Train and test rows; identical rows fall on the same side."""
    n = X.shape[0]
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    else:
        n_test = math.ceil(float(test_size) * n)
    n_train = n - n_test
    if n_test < 1 or n_train < 2:
        raise ValueError(
            f"density_coverage: test_size={test_size!r} leaves {n_train} training "
            f"and {n_test} test rows of the {n} rows of {name}; at least 2 "
            "training rows and 1 test row are needed. Pass more rows or "
            "change test_size."
        )
    rank = rng.permutation(_row_groups(X).max() + 1)[_row_groups(X)]
    order = np.argsort(rank, kind="stable")
    cut = int(np.searchsorted(rank[order], rank[order[n_test - 1]], side="right"))
    if n - cut < 2:
        cut = n_test  # too few distinct rows to keep copies together
    return np.sort(order[cut:]), np.sort(order[:cut])


@validate_params(
    {
        "X_a": ["array-like"],
        "X_b": ["array-like"],
        "bandwidth": [
            StrOptions({"cv"}),
            Interval(numbers.Real, 0, None, closed="neither"),
            tuple,
            list,
        ],
        "test_size": [
            Interval(numbers.Real, 0, 1, closed="neither"),
            Interval(numbers.Integral, 1, None, closed="left"),
        ],
        "cv": [Interval(numbers.Integral, 2, None, closed="left")],
        "bandwidth_grid": ["array-like", None],
        "cv_sample_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS_CONSTRAINT,
        "names": [tuple, list],
    },
    prefer_skip_nested_validation=True,
)
def density_coverage(
    X_a,
    X_b,
    *,
    bandwidth="cv",
    test_size=0.15,
    cv: int = 5,
    bandwidth_grid=None,
    cv_sample_size: int | None = 2000,
    random_state=None,
    n_jobs: int | None = None,
    names=("a", "b"),
) -> CoverageResult:
    """Cross-entropies and KL divergences of two sets through Gaussian KDEs.

    The coverage analysis of the paper (Section 3, Table 1). Each set is split
    into a training part, on which a Gaussian kernel density is fitted, and a
    held-out test part. The mean negative log-likelihood of every test part
    under every density gives a 2 x 2 table; a set whose test rows are
    predicted about as well by the other set's density as by its own is
    *covered* by the other set. The KL divergences are differences of the
    table's entries::

        D(p_a || p_b) = NLL(test_a | p_b) - NLL(test_a | p_a)

    The density is sklearn's Gaussian KDE,
    ``p(x) = (1/m) sum_j (2 pi h^2)^{-D/2} exp(-||x - y_j||^2 / (2 h^2))``
    (:class:`sklearn.neighbors.KernelDensity`, ``kernel="gaussian"``),
    evaluated exactly in the log domain by the package's blocked distance
    engine, which reduces a whole bandwidth grid per pass (fast in
    ``R^256``, where tree-based KDE degrades to brute force).

    Parameters
    ----------
    X_a, X_b : array-like of shape (n_a, n_features), (n_b, n_features)
        The two data sets (e.g. simulated and experimental latents).
    bandwidth : "cv", float or (float, float), default="cv"
        Kernel standard deviation ``h``. ``"cv"`` chooses ``h`` for each
        set separately by ``cv``-fold cross-validation of the held-out
        log-likelihood on its training part (the paper's procedure); a float
        is used for both sets; a pair gives ``(h_a, h_b)``.
    test_size : float or int, default=0.15
        Held-out part of each set: a fraction of its rows (rounded up, as in
        :func:`sklearn.model_selection.train_test_split`) or a number of rows.
        The paper used 17 000 training and 3 000 test rows per set.
    cv : int, default=5
        Number of folds for ``bandwidth="cv"``.
    bandwidth_grid : array-like of float, default=None
        Bandwidths to try. ``None`` builds a log grid of 8 values from
        neighbour distances of the training rows (from 0.8 times the
        root-mean-square nearest-neighbour distance to the root-mean-square
        50th-neighbour distance, both divided by ``sqrt(n_features)``: the
        likelihood optimum of a Gaussian KDE in ``R^D`` is at least the
        former), extends it by 4 values at a time while the optimum is at an
        edge, and adds 4 values between the neighbours of the optimum. A
        given grid is used as is; a warning says when its optimum is at an
        edge.
    cv_sample_size : int or None, default=2000
        Cost control for ``bandwidth="cv"``: at most this many held-out rows
        (spread evenly over the folds) are scored. The KDE of every fold
        always uses all of that fold's training rows, so only the variance of
        the CV score grows, not its bias. ``None`` scores every row.
    random_state : int, RandomState instance or None, default=None
        Seeds the train/test splits, the folds and the grid's subsample.
    n_jobs : int, default=None
        Parallel row blocks in the distance engine (threads).
    names : (str, str), default=("a", "b")
        Names of the two sets, used in the printed table and the frame.

    Returns
    -------
    result : CoverageResult
        The table (``neg_log_likelihood``, rows = density, columns = test
        set, as in the paper's Table 1), ``kl_divergence``, the
        ``bandwidths`` used and the cross-validation curves. Prints as a
        table; ``to_frame()`` and ``to_dict()`` convert it.

    Notes
    -----
    A KDE is a poor density estimate in high ambient dimension unless the
    data lie near a low-dimensional manifold, where it adapts (the paper's
    argument). The log-likelihoods carry the ``-(D/2) log(2 pi h^2)``
    normalisation of the ambient dimension, so only differences between
    entries (and the KLs) are meaningful, not their absolute values. A test
    row far from every training row of a density gets a very large negative
    log-likelihood; the table is therefore dominated by poorly covered rows,
    which is what it is meant to detect.

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.sampling import density_coverage
    >>> rng = np.random.default_rng(0)
    >>> wide = rng.normal(size=(600, 3))
    >>> narrow = 0.5 * rng.normal(size=(600, 3))
    >>> res = density_coverage(wide, narrow, names=("wide", "narrow"),
    ...                        random_state=0)
    >>> res.neg_log_likelihood.shape
    (2, 2)
    >>> kl_wide_narrow, kl_narrow_wide = res.kl_divergence
    >>> bool(kl_wide_narrow > kl_narrow_wide > 0)  # wide covers narrow
    True
    >>> list(res.to_dict()["bandwidths"])
    ['wide', 'narrow']
    """
    names, X_a, X_b = _check_sets(names, X_a, X_b)
    given = _given_bandwidths(bandwidth)
    grid = _check_grid(bandwidth_grid)
    rng = check_random_state(random_state)
    train_a, test_a = _split(X_a, test_size, rng, "X_a")
    train_b, test_b = _split(X_b, test_size, rng, "X_b")
    if given is None:
        _check_folds(train_a, train_b, cv)
    # Distances are shift invariant; centring shrinks the norms the GEMM form
    # ||x||^2 + ||y||^2 - 2 x.y cancels, which matters in float32.
    centre = np.concatenate([X_a[train_a], X_b[train_b]]).mean(axis=0, dtype=np.float64)
    centre = centre.astype(X_a.dtype)
    A_tr, A_te = X_a[train_a] - centre, X_a[test_a] - centre
    B_tr, B_te = X_b[train_b] - centre, X_b[test_b] - centre
    cv_grids, cv_scores = [None, None], [None, None]
    if given is None:
        hs = []
        for i, (X_tr, name) in enumerate(((A_tr, names[0]), (B_tr, names[1]))):
            g = _auto_grid(X_tr, rng, n_jobs) if grid is None else grid
            h, cv_grids[i], cv_scores[i] = _select_bandwidth(
                X_tr, g, grid is None, cv, cv_sample_size, rng, n_jobs, name
            )
            hs.append(h)
        given = tuple(hs)
    table = _cross_entropies(A_tr, A_te, B_tr, B_te, given, n_jobs)
    _warn_negative_kl(table["kl_divergence"], table["kl_divergence_se"], names)
    return CoverageResult(
        names=names,
        bandwidths=given,
        bandwidth_method="cv" if cv_grids[0] is not None else "given",
        n_train=(int(train_a.size), int(train_b.size)),
        n_test=(int(test_a.size), int(test_b.size)),
        test_indices=(test_a, test_b),
        cv_bandwidths=tuple(cv_grids),
        cv_scores=tuple(cv_scores),
        **table,
    )


def _check_folds(train_a, train_b, cv: int) -> None:
    for tr, label in ((train_a, "X_a"), (train_b, "X_b")):
        if tr.size < cv:
            raise ValueError(
                f"density_coverage: {tr.size} training rows of {label} are "
                f"fewer than cv={cv} folds. Pass more rows, lower cv or give "
                "a bandwidth."
            )


def _check_sets(names, X_a, X_b):
    if len(names) != 2:
        raise ValueError(f"names must hold two strings, got {names!r}.")
    names = (str(names[0]), str(names[1]))
    X_a = check_array(X_a, dtype=[np.float64, np.float32], input_name="X_a")
    X_b = check_array(X_b, dtype=[np.float64, np.float32], input_name="X_b")
    if X_a.shape[1] != X_b.shape[1]:
        raise ValueError(
            f"X_a and X_b must have the same number of features; got "
            f"{X_a.shape[1]} and {X_b.shape[1]}."
        )
    if X_a.dtype != X_b.dtype:
        X_a, X_b = X_a.astype(np.float64), X_b.astype(np.float64)
    return names, X_a, X_b


def _given_bandwidths(bandwidth) -> tuple[float, float] | None:
    """``(h_a, h_b)`` of a float or pair, None for ``"cv"``."""
    if isinstance(bandwidth, (tuple, list)):
        if len(bandwidth) != 2 or not all(
            isinstance(h, numbers.Real) and h > 0 for h in bandwidth
        ):
            raise ValueError(
                f"bandwidth must be 'cv', a positive float or a pair of positive "
                f"floats; got {bandwidth!r}."
            )
        return float(bandwidth[0]), float(bandwidth[1])
    if bandwidth == "cv":
        return None
    return float(bandwidth), float(bandwidth)


def _check_grid(bandwidth_grid) -> np.ndarray | None:
    if bandwidth_grid is None:
        return None
    grid = np.unique(np.asarray(bandwidth_grid, dtype=np.float64).ravel())
    if grid.size < 1 or not np.all(np.isfinite(grid) & (grid > 0)):
        raise ValueError(
            f"bandwidth_grid must hold positive finite bandwidths; got "
            f"{bandwidth_grid!r}."
        )
    return grid


def _cross_entropies(A_tr, A_te, B_tr, B_te, bandwidths, n_jobs) -> dict:
    """The 2 x 2 table of test NLLs under both KDEs, both KLs, their errors."""
    h_a, h_b = bandwidths
    tests = np.concatenate([A_te, B_te])
    a_rows, b_rows = slice(0, A_te.shape[0]), slice(A_te.shape[0], None)
    log_pa = _kde_log_density(tests, A_tr, h_a, n_jobs)[:, 0]
    log_pb = _kde_log_density(tests, B_tr, h_b, n_jobs)[:, 0]
    nll = -np.array(
        [
            [log_pa[a_rows].mean(), log_pa[b_rows].mean()],
            [log_pb[a_rows].mean(), log_pb[b_rows].mean()],
        ]
    )
    return {
        "neg_log_likelihood": nll,
        "kl_divergence": (float(nll[1, 0] - nll[0, 0]), float(nll[0, 1] - nll[1, 1])),
        "neg_log_likelihood_se": np.array(
            [[_sem(lp[a_rows]), _sem(lp[b_rows])] for lp in (log_pa, log_pb)]
        ),
        "kl_divergence_se": (
            _sem(log_pa[a_rows] - log_pb[a_rows]),
            _sem(log_pb[b_rows] - log_pa[b_rows]),
        ),
    }
