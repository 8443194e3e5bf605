"""Tangent-space lasso (TSLasso) and gradient estimation (paper Section 3, A.7).

TSLasso (Koelle, Zhang, Murad, Meila, AISTATS 2024) picks, from a dictionary
of smooth functions on the data manifold (the simulation parameters), the
``d`` functions whose gradients, projected on the tangent spaces, span them
most economically (see :ref:`conv-tslasso`). Gradients come from the user (analytic)
or from weighted local-PCA regression (:func:`estimate_gradients`, A.7).
"""

from __future__ import annotations

import warnings
from collections import Counter
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils import check_array, check_random_state
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
    validate_params,
)
from .._geometry import kernels, local_pca, scales
from .._geometry.progress import verbose_progress
from .._validation import (
    N_JOBS_CONSTRAINT,
    check_kernel_scale,
    check_min_samples,
    clip_n_components,
)
from ._group_lasso import LassoPath, select_exactly
from ._nadaraya_watson import NadarayaWatsonInterpolator, _target_names

__all__ = ["TSLasso", "estimate_gradients"]

# epsilon="auto": the cutoff radius_ratio * epsilon is the median distance to
# the k-th nearest neighbour, k = _AUTO_NEIGHBORS_PER_DIM * (largest local
# dimension to fit): a typical neighbourhood holds k points whatever the
# noise level (which bounds the cost of the local PCAs).
_AUTO_NEIGHBORS_PER_DIM = 50
# Rows per call of the gradient estimator (bounds the (rows, D, p) buffer).
_GRADIENT_CHUNK = 1000


# --------------------------------------------------------------------------- #
# Shared pieces: scale, affinity rows, gradients
# --------------------------------------------------------------------------- #
def _auto_epsilon(X, local_dim: int, radius_ratio: float, random_state, n_jobs):
    k = min(_AUTO_NEIGHBORS_PER_DIM * local_dim, X.shape[0] - 1)
    radius = float(
        scales.knn_scale_quantiles(X, k, 0.5, random_state=random_state, n_jobs=n_jobs)
    )
    if not radius > 0:
        raise ValueError(
            "epsilon='auto': the median neighbour distance is 0 (duplicate "
            "rows); pass a float epsilon."
        )
    return radius / radius_ratio


def _row_affinity(X, rows: np.ndarray, epsilon: float, radius_ratio: float, n_jobs):
    """Gaussian affinity rows ``W[rows]`` as an (n, n) CSR matrix (other rows empty).

    ``rows`` must be sorted and unique. Only ``len(rows) x n`` distances are
    computed, the same neighbourhoods as the rows of the full radius graph.
    """
    n = X.shape[0]
    radius = radius_ratio * epsilon
    W = kernels.radius_affinity(X[rows], epsilon, radius, X, n_jobs=n_jobs)
    counts = np.zeros(n, dtype=np.int64)
    counts[rows] = np.diff(W.indptr)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return sp.csr_matrix((W.data, W.indices, indptr), shape=(n, n))


def _warn_deficient(n_bad: int, n_rows: int, need: int, epsilon: float, who: str):
    if n_bad:
        warnings.warn(
            f"{who}: {n_bad} of {n_rows} rows have fewer than {need} points "
            f"within the kernel cutoff (epsilon={epsilon:.4g}); their local "
            "fits are rank deficient. Increase epsilon.",
            UserWarning,
            stacklevel=3,
        )


@validate_params(
    {
        "X": ["array-like"],
        "F": ["array-like"],
        "rows": ["array-like", None],
        "epsilon": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "tangent_dim": [Interval(Integral, 1, None, closed="left")],
        "radius_ratio": [Interval(Real, 0, None, closed="neither")],
        "center": [StrOptions({"point", "weighted_mean"})],
        "rcond": [Interval(Real, 0, 1, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS_CONSTRAINT,
    },
    prefer_skip_nested_validation=True,
)
def estimate_gradients(
    X,
    F,
    *,
    rows=None,
    epsilon="auto",
    tangent_dim: int = 10,
    radius_ratio: float = 3.0,
    center: str = "point",
    rcond: float = 1e-8,
    random_state=None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Gradients of functions on the data manifold by local-PCA regression.

    Paper Appendix A.7 (see :ref:`conv-local-pca`): at each requested row ``x_i``,
    weights ``w_ij = K(x_i, x_j) / sum_j K(x_i, x_j)`` from the package kernel
    ``exp(-d^2/epsilon^2)`` truncated at ``radius_ratio * epsilon``; the top
    ``tangent_dim`` weighted principal directions ``U_i``; the weighted least
    squares fit of ``f(x_j) - f(x_i)`` on ``U_i^T (x_j - x_i)`` (a
    pseudo-inverse, so rank-deficient neighbourhoods are fine); gradient
    ``U_i beta``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data (float32 stays float32 in the distance pass).
    F : array-like of shape (n_samples,) or (n_samples, n_functions)
        Function values at every row (e.g. simulation parameters, or their
        Nadaraya-Watson interpolation for experimental data).
    rows : array-like of int or bool of shape (n_samples,), default=None
        Rows where gradients are wanted; ``None`` means all. Only these rows'
        neighbourhoods are searched (cost ``len(rows) * n_samples * D``).
    epsilon : float or "auto", default="auto"
        Kernel width. ``"auto"``: ``radius_ratio * epsilon`` is the median
        distance (over a random sample of 1000 rows) to the
        ``50 * tangent_dim``-th nearest neighbour, so a typical neighbourhood
        holds ``50 * tangent_dim`` points whatever the noise level. The paper
        uses the Diffusion-Maps (geometric consistency) epsilon.
    tangent_dim : int, default=10
        Local PCA dimension ``d'`` (paper: 10; clipped to ``n_features``).
    radius_ratio : float, default=3.0
        Kernel cutoff in units of ``epsilon``.
    center : {"point", "weighted_mean"}, default="point"
        Origin of the local PCA and of the design: ``x_i`` (paper text) or the
        weighted mean of the neighbourhood (the authors' code).
    rcond : float, default=1e-8
        Relative singular-value cutoff of the pseudo-inverse.
    random_state : int, RandomState instance or None, default=None
        Rows sampled by ``epsilon="auto"``.
    n_jobs : int, default=None
        Parallel row blocks / chunks.

    Returns
    -------
    gradients : ndarray of shape (n_rows, n_features, n_functions)
        Ambient gradients at ``rows`` (``(n_rows, n_features)`` for 1-D ``F``).

    Warns
    -----
    UserWarning
        When rows have fewer than ``tangent_dim + 1`` neighbours inside the
        cutoff (increase ``epsilon``).

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.interpretation import estimate_gradients
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(size=(2000, 2))
    >>> F = np.column_stack([X[:, 0], X[:, 0] + 2 * X[:, 1]])
    >>> G = estimate_gradients(X, F, rows=[0, 1], epsilon=0.05, tangent_dim=2)
    >>> G.shape
    (2, 2, 2)
    >>> G[0].round(6) + 0.0  # + 0.0: no negative zeros
    array([[1., 1.],
           [0., 2.]])
    """
    X, F2, one_d = _check_gradient_inputs(X, F)
    sel = _gradient_rows(rows, X.shape[0])
    if epsilon == "auto":
        epsilon = _auto_epsilon(
            X,
            min(tangent_dim, X.shape[1]),
            radius_ratio,
            check_random_state(random_state),
            n_jobs,
        )
    uniq, inverse = np.unique(sel, return_inverse=True)
    W = _row_affinity(X, uniq, float(epsilon), radius_ratio, n_jobs)
    grads, deficient = local_pca.estimate_gradients(
        X,
        F2,
        W,
        uniq,
        n_components=tangent_dim,
        center=center,
        rcond=rcond,
        n_jobs=n_jobs,
    )
    _warn_deficient(
        int(deficient.sum()),
        uniq.size,
        min(tangent_dim, X.shape[1]) + 1,
        float(epsilon),
        "estimate_gradients",
    )
    grads = grads[inverse]
    return grads[:, :, 0] if one_d else grads


def _check_gradient_inputs(X, F) -> tuple[np.ndarray, np.ndarray, bool]:
    """``X``, ``F`` as 2-D float arrays of as many rows, and whether F was 1-D."""
    X = check_array(X, dtype=[np.float64, np.float32])
    F = check_array(F, dtype=np.float64, ensure_2d=False)
    F2 = F.reshape(len(F), -1)
    if F2.shape[0] != X.shape[0]:
        raise ValueError(
            f"F has {F2.shape[0]} rows but X has {X.shape[0]}; they must match."
        )
    # A local regression needs neighbours: two rows at the very least.
    check_min_samples(X, 2, "estimate_gradients")
    return X, F2, F.ndim == 1


def _gradient_rows(rows, n: int) -> np.ndarray:
    """The ``rows`` of :func:`estimate_gradients` as non-negative indices."""
    if rows is None:
        return np.arange(n)
    rows = np.asarray(rows)
    if rows.dtype == bool:
        if rows.shape != (n,):
            raise ValueError(
                f"A boolean rows mask must have shape ({n},), got {rows.shape}."
            )
        return np.flatnonzero(rows)
    sel = rows.astype(np.intp, copy=False).ravel()
    if sel.size and (sel.min() < -n or sel.max() >= n):
        raise ValueError(f"rows must index the {n} rows of X.")
    return np.where(sel < 0, sel + n, sel)


# --------------------------------------------------------------------------- #
# TSLasso
# --------------------------------------------------------------------------- #
def _modal_set(selections: list, frequency: np.ndarray) -> tuple | None:
    """Most frequent selected set; ties go to the larger summed frequency, then
    to the lexicographically smallest set."""
    counts = Counter(s for s in selections if s is not None)
    if not counts:
        return None
    return min(counts, key=lambda s: (-counts[s], -frequency[list(s)].sum(), s))


class TSLasso(TransformerMixin, BaseEstimator):
    """Select the dictionary functions that parametrize the data manifold.

    Tangent-space lasso (Koelle et al., AISTATS 2024; paper Section 3 and
    Appendix A.7; see :ref:`conv-tslasso`). Each of ``n_repeats`` runs draws
    ``sample_size`` rows; at each row it estimates the tangent space
    ``T_i`` (weighted local PCA, ``tangent_dim`` directions), takes the
    gradients ``grad f_k(x_i)`` (given, or by :func:`estimate_gradients`),
    divides each function's gradients by their RMS ambient norm over the
    sample, projects them, ``X_i = T_i^T Gamma_i``, and solves the group lasso

    ``min_B 1/2 sum_i ||I - X_i B_i||_F^2 + lam sum_k ||B_{.k.}||_F``

    (one group per function, FISTA with backtracking) for ``lam`` found by
    bisection on ``[0, lam_max]`` until exactly ``n_components`` groups are
    non-zero. The fitted ``support_`` is the most frequent selected set.

    Parameters
    ----------
    n_components : int, default=4
        Number of functions to select ``d`` (paper: 4); clipped, with a
        warning, to the number of dictionary functions (columns of ``y``).
    sample_size : int, default=500
        Rows per repeat (clipped to the number of eligible rows).
    n_repeats : int, default=20
        Independent runs on fresh random samples (paper: 20).
    epsilon : float, "auto" or fitted estimator, default="auto"
        Kernel width for the tangent spaces and the gradient estimation
        (cutoff ``radius_ratio * epsilon``). ``"auto"``: the cutoff is the
        median distance (over a random sample of 1000 rows) to the ``k``-th
        nearest neighbour, ``k = 50 * max(tangent_dim, gradient_tangent_dim)``
        (``50 * tangent_dim`` with analytic gradients), so a typical
        neighbourhood holds ``k`` points whatever the noise level. An
        estimator exposing ``epsilon_`` (e.g. a fitted ``DiffusionMapsGC``,
        the paper's choice) lends its value; an unfitted one (as after
        ``clone``) is cloned and fitted on ``X`` first.
    radius_ratio : float, default=3.0
        Kernel cutoff in units of ``epsilon``.
    tangent_dim : int or None, default=None
        Dimension of the estimated tangent spaces (and of the identity the
        projected gradients reconstruct); ``None`` means ``n_components``.
    gradient_tangent_dim : int, default=10
        Local PCA dimension ``d'`` of the gradient estimation (paper: 10);
        unused when ``gradients`` are passed to ``fit``.
    lr : float, default=100.0
        Initial FISTA step (halved by backtracking).
    max_iter : int, default=500
        FISTA iterations per ``lam``.
    tol : float, default=1e-14
        FISTA stops when the objective's relative change is below ``tol``.
    max_search : int, default=20
        ``lam`` probes after ``0`` and ``lam_max``.
    select_tol : float, default=1e-8
        A function is active when its coefficient group norm exceeds this.
    fallback : {"largest_norm", "fail"}, default="largest_norm"
        When no probed ``lam`` gives exactly ``n_components`` groups (ties:
        several functions enter together, see Notes): take the
        ``n_components`` largest groups at the largest probed ``lam`` with
        more active groups (and warn), or count the repeat as failed.
    path_points : int, default=10
        After each search, also solve at this many ``lam`` in ``(0,
        lam_max)`` (denser near 0, see ``select_exactly``) so that ``coef_path_`` (and
        :func:`~sksbi_manifold.plotting.plot_tslasso_paths`) shows the whole
        regularisation path, not only the few probes of the search. They
        never change the selection; 0 skips them.
    random_state : int, RandomState instance or None, default=None
        One seed per repeat is drawn from it up front (samples and the
        ``epsilon="auto"`` sample), so results do not depend on ``n_jobs``.
    n_jobs : int, default=None
        Repeats run in parallel (joblib); also passed to the distance engine.
    verbose : int, default=0
        Progress of the parallel repeats (joblib verbosity).

    Attributes
    ----------
    n_components_ : int
        Number of functions selected: ``n_components``, clipped (with a
        warning) to the number of dictionary functions.
    support_ : ndarray of shape (n_functions,), dtype bool
        Functions of the most frequently selected set.
    selected_ : ndarray of shape (n_components_,)
        Their indices (sorted).
    selection_frequency_ : ndarray of shape (n_functions,)
        Fraction of repeats that selected each function (Appendix Figure 6
        titles).
    selections_ : list of (tuple of int or None)
        Selected set of each repeat (None when it failed).
    lambdas_ : ndarray of shape (n_repeats,)
        ``lam`` of each repeat's selection (NaN when it failed).
    lambda_max_ : ndarray of shape (n_repeats,)
        Smallest ``lam`` giving all-zero coefficients, per repeat.
    coef_path_ : list of LassoPath
        Per repeat: probed ``lambdas`` (ascending), ``coef_norms`` and
        ``coef_mean_norms`` (n_probes, n_functions) (group norm and mean over
        points of ``||B_i[k, :]||``, the y-axis of Appendix Figure 6),
        ``n_active``, ``lambda_``, ``selected``, ``status``
        ("exact"/"fallback"/"failed") and ``tie``.
    n_iter_ : int
        Largest number of FISTA iterations at one ``lam`` probe over all
        repeats (the exact solve at ``lam = 0`` counts as one; per-probe
        counts are in ``coef_path_[r].n_iter``). Equal to ``max_iter`` when
        some probe stopped before reaching ``tol``.
    sample_indices_ : ndarray of shape (n_repeats, `sample_size_`) or list of ndarray
        Rows used by each repeat (sorted). With ``repeat_rows`` a list of
        ``n_repeats`` arrays: repeat ``r`` holds
        ``min(sample_size, len(repeat_rows[r]))`` rows of its pool.
    sample_size_ : int
        Effective sample size: ``sample_size`` clipped to the eligible rows
        (with ``repeat_rows``, to the largest pool).
    epsilon_ : float
        Kernel width used.
    tangent_dim_ : int
        Tangent-space dimension used.
    dictionary_names_ : ndarray of str
        Function names (DataFrame columns of ``y``, else ``f0, f1, ...``).
    interpolator_ : NadarayaWatsonInterpolator
        Kernel interpolation of the selected functions (``transform``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features seen during fit (DataFrame input only).

    See Also
    --------
    estimate_gradients : The gradient estimator used when none are given.
    NadarayaWatsonInterpolator : Carries the dictionary to new rows.

    Notes
    -----
    Normalisation uses the *ambient* gradient norms before projection, so a
    function whose gradient is mostly normal to the manifold keeps a small
    projected column and is not selected (see :ref:`conv-tslasso`). Ties: if
    several functions have (nearly) the same projected-gradient strength they
    enter the path together and no ``lam`` gives exactly ``n_components``
    groups; ``coef_path_[r].tie`` flags it and ``fallback`` decides. At
    ``lam = 0`` the exact minimum-norm least-squares solution is used, so the
    search has no random start.

    For one set of runs restricted to the top-q SNR percentile pass
    ``sample_mask=snr >= np.percentile(snr, q)`` to ``fit``; for the paper's
    Appendix Figure 6, one run per q on the rows of its percentile, pass
    ``repeat_rows=[snr >= np.percentile(snr, q) for q in range(0, 100, 5)]``
    with ``n_repeats=20``: the tangent spaces and gradients of every sampled
    row are still estimated once, from all rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.interpretation import TSLasso
    >>> rng = np.random.RandomState(0)
    >>> u, v = rng.uniform(size=(2, 1500))
    >>> X = np.column_stack([u, v, 0.1 * np.sin(3 * u)])  # a curved sheet
    >>> F = np.column_stack([u, X[:, 2], v, u + X[:, 2]])  # the dictionary
    >>> ts = TSLasso(n_components=2, sample_size=50, n_repeats=3,
    ...              epsilon=0.1, random_state=0).fit(X, F)
    >>> ts.selected_, ts.selection_frequency_
    (array([0, 2]), array([1., 0., 1., 0.]))
    >>> ts.transform(X[:3]).shape
    (3, 2)

    One repeat per pool of rows (here two halves of the sheet):

    >>> pools = [np.flatnonzero(u < 0.5), np.flatnonzero(u >= 0.5)]
    >>> ts = TSLasso(n_components=2, sample_size=50, n_repeats=2,
    ...              epsilon=0.1, random_state=0).fit(X, F, repeat_rows=pools)
    >>> bool(np.all(u[ts.sample_indices_[1]] >= 0.5))
    True
    >>> ts.selections_
    [(0, 2), (0, 2)]
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "sample_size": [Interval(Integral, 1, None, closed="left")],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "epsilon": [
            Interval(Real, 0, None, closed="neither"),
            StrOptions({"auto"}),
            HasMethods(["fit"]),
        ],
        "radius_ratio": [Interval(Real, 0, None, closed="neither")],
        "tangent_dim": [Interval(Integral, 1, None, closed="left"), None],
        "gradient_tangent_dim": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_search": [Interval(Integral, 0, None, closed="left")],
        "select_tol": [Interval(Real, 0, None, closed="left")],
        "fallback": [StrOptions({"largest_norm", "fail"})],
        "path_points": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS_CONSTRAINT,
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=4,
        *,
        sample_size=500,
        n_repeats=20,
        epsilon="auto",
        radius_ratio=3.0,
        tangent_dim=None,
        gradient_tangent_dim=10,
        lr=100.0,
        max_iter=500,
        tol=1e-14,
        max_search=20,
        select_tol=1e-8,
        fallback="largest_norm",
        path_points=10,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.sample_size = sample_size
        self.n_repeats = n_repeats
        self.epsilon = epsilon
        self.radius_ratio = radius_ratio
        self.tangent_dim = tangent_dim
        self.gradient_tangent_dim = gradient_tangent_dim
        self.lr = lr
        self.max_iter = max_iter
        self.tol = tol
        self.max_search = max_search
        self.select_tol = select_tol
        self.fallback = fallback
        self.path_points = path_points
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------ helpers
    def _resolve_epsilon(self, X, local_dim: int, rng) -> float:
        eps = self.epsilon
        if isinstance(eps, str):
            return _auto_epsilon(X, local_dim, self.radius_ratio, rng, self.n_jobs)
        if isinstance(eps, Real):
            return float(eps)
        source = eps if hasattr(eps, "epsilon_") else clone(eps).fit(X)
        value = getattr(source, "epsilon_", None)
        if not isinstance(value, Real) or not value > 0:
            raise ValueError(
                f"epsilon={type(eps).__name__}(...) must expose a positive "
                f"epsilon_ after fitting, got {value!r}."
            )
        return float(value)

    def _resolve_n_components(self, n_functions: int) -> int:
        """``n_components`` clipped to the number of dictionary functions."""
        return clip_n_components(
            self, n_functions, "dictionary functions (columns of y): all selected"
        )

    def _check_fit_inputs(self, X, F, gradients, sample_mask):
        n, D = X.shape
        constant = np.flatnonzero(np.ptp(F, axis=0) == 0)
        if constant.size:
            raise ValueError(
                "TSLasso: dictionary functions "
                f"{[str(self.dictionary_names_[k]) for k in constant]} are "
                "constant (zero gradient); remove them from y."
            )
        tangent_dim = (
            self.n_components_ if self.tangent_dim is None else self.tangent_dim
        )
        if tangent_dim > D:
            raise ValueError(
                f"tangent_dim={tangent_dim} exceeds n_features={D}; lower "
                "tangent_dim (or n_components)."
            )
        gradients = _check_gradients(gradients, (n, D, F.shape[1]))
        eligible = _eligible_rows(sample_mask, n)
        if eligible.size < self.n_components_ + 1:
            raise ValueError(
                "TSLasso needs at least n_components + 1 = "
                f"{self.n_components_ + 1} eligible rows, got {eligible.size}; "
                "widen sample_mask."
            )
        return tangent_dim, gradients, eligible

    def _projected_gradients(self, X, F, gradients, rows):
        """(m, d, p) projected gradients and (m, p) squared ambient norms."""
        W = _row_affinity(X, rows, self.epsilon_, self.radius_ratio, self.n_jobs)
        need = self.tangent_dim_ + 1
        if gradients is None:
            grad_dim = min(self.gradient_tangent_dim, X.shape[1])
            need = max(need, grad_dim + 1)
        # one local PCA serves the tangent bases and the gradient regression
        # (same weights, same centres): its leading columns are both
        # float32 latents: float32 local covariances (half the cost; the
        # tangent bases agree to ~1e-6, far below the neighbourhood noise)
        pca = local_pca.weighted_local_pca(
            X, W, rows, need - 1, center="point", dtype=X.dtype, n_jobs=self.n_jobs
        )
        n_bad = int((pca.n_neighbors < need).sum())
        _warn_deficient(n_bad, rows.size, need, self.epsilon_, "TSLasso")
        proj = np.empty((rows.size, self.tangent_dim_, F.shape[1]))
        sq_norms = np.empty((rows.size, F.shape[1]))
        basesT = np.swapaxes(pca.bases[:, :, : self.tangent_dim_], 1, 2)
        for start in range(0, rows.size, _GRADIENT_CHUNK):
            part = slice(start, start + _GRADIENT_CHUNK)
            if gradients is None:
                grads, _ = local_pca.estimate_gradients(
                    X,
                    F,
                    W,
                    rows[part],
                    n_components=grad_dim,
                    center="point",
                    bases=pca.bases[part],
                    dtype=X.dtype,
                    n_jobs=self.n_jobs,
                )
            else:
                grads = gradients[rows[part]]
            proj[part] = basesT[part] @ grads
            sq_norms[part] = np.einsum("mdp,mdp->mp", grads, grads)
        return proj, sq_norms

    # ---------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=False)
    @verbose_progress
    def fit(self, X, y, gradients=None, sample_mask=None, *, repeat_rows=None):
        """Run the repeated TSLasso selection.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data (e.g. 256-d latents; float32 is kept in the distance pass).
        y : array-like of shape (n_samples, n_functions) or (n_samples,)
            Dictionary values ``F``; DataFrame columns become
            ``dictionary_names_``.
        gradients : array-like of shape (n_samples, n_features, n_functions), \
default=None
            Analytic ambient gradients (row-aligned, so cross-validation
            splits them with X); ``None`` estimates them by local-PCA
            regression at the sampled rows.
        sample_mask : array-like of bool of shape (n_samples,), default=None
            Rows eligible for the random samples (neighbourhoods still use all
            rows), e.g. ``snr >= np.percentile(snr, q)`` for the paper's
            top-q SNR runs. ``None``: all rows.
        repeat_rows : list of array-like, default=None
            One pool of rows per repeat (``n_repeats`` of them): integer
            indices into ``X`` or boolean masks of shape (n_samples,).
            Repeat ``r`` draws ``min(sample_size, len(pool))`` distinct rows
            of ``repeat_rows[r]`` with its own seed (duplicate indices count
            once), e.g. the rows of each SNR percentile for the paper's
            Appendix Figure 6. Neighbourhoods still use all rows. Excludes
            ``sample_mask``; ``None``: every repeat draws from all rows.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X, F = self._validate_fit_data(X, y)
        tangent_dim, gradients, eligible = self._check_fit_inputs(
            X, F, gradients, sample_mask
        )
        pools = _check_repeat_rows(
            repeat_rows, X.shape[0], self.n_repeats, self.n_components_ + 1
        )
        if pools is not None and sample_mask is not None:
            raise ValueError(
                "Pass either sample_mask (one pool for every repeat) or "
                "repeat_rows (one pool per repeat), not both."
            )
        self.tangent_dim_ = tangent_dim
        rng = check_random_state(self.random_state)
        local_dim = tangent_dim
        if gradients is None:
            local_dim = max(local_dim, min(self.gradient_tangent_dim, X.shape[1]))
        self.epsilon_ = self._resolve_epsilon(X, local_dim, rng)
        self.sample_indices_ = self._draw_samples(
            [eligible] * self.n_repeats if pools is None else pools, rng
        )
        if pools is None:  # one size: the (n_repeats, sample_size_) array
            self.sample_indices_ = np.array(self.sample_indices_).reshape(
                self.n_repeats, self.sample_size_
            )
        self._collect(self._run_repeats(X, F, gradients, self.sample_indices_))
        self.interpolator_ = NadarayaWatsonInterpolator(
            bandwidth=self.epsilon_,
            radius_ratio=self.radius_ratio,
            fallback="nearest",
            n_jobs=self.n_jobs,
        ).fit(X, F[:, self.support_])
        return self

    def _validate_fit_data(self, X, y):
        """Validated ``X`` and the dictionary ``F`` (2-D float64); sets
        ``n_components_`` and ``dictionary_names_``."""
        X, F = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2,
        )
        F = np.asarray(F, dtype=np.float64).reshape(len(F), -1)
        self.n_components_ = self._resolve_n_components(F.shape[1])
        check_min_samples(X, self.n_components_ + 1, "TSLasso")
        check_kernel_scale(X, "TSLasso")
        self.dictionary_names_ = _target_names(y, F.shape[1], "f")
        return X, F

    def _draw_samples(self, pools: list, rng) -> list:
        """Sorted rows of every repeat from its pool, with per-repeat seeds
        drawn up front (so results do not depend on ``n_jobs``)."""
        self.sample_size_ = int(min(self.sample_size, max(p.size for p in pools)))
        seeds = rng.randint(np.iinfo(np.int32).max, size=self.n_repeats)
        return [
            np.sort(
                np.random.RandomState(s).choice(
                    pool, min(self.sample_size, pool.size), replace=False
                )
            )
            for s, pool in zip(seeds, pools, strict=True)
        ]

    def _run_repeats(self, X, F, gradients, samples) -> list[LassoPath]:
        """Geometry once for every sampled row, then the lasso runs per repeat."""
        union = np.unique(np.concatenate(list(samples)))
        where = [np.searchsorted(union, rows) for rows in samples]
        proj, sq_norms = self._projected_gradients(X, F, gradients, union)
        return Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(
            delayed(_run_repeat)(
                proj[where[r]],
                sq_norms[where[r]],
                self.n_components_,
                self.lr,
                self.max_iter,
                self.tol,
                self.max_search,
                self.select_tol,
                self.fallback,
                self.path_points,
            )
            for r in range(self.n_repeats)
        )

    def _collect(self, paths: list[LassoPath]) -> None:
        p = self.dictionary_names_.size
        self.coef_path_ = paths
        self.selections_ = [path.selected for path in paths]
        self.lambdas_ = np.array([path.lambda_ for path in paths])
        self.lambda_max_ = np.array([path.lambda_max for path in paths])
        self.n_iter_ = max(int(path.n_iter.max()) for path in paths)
        freq = np.zeros(p)
        for s in self.selections_:
            if s is not None:
                freq[list(s)] += 1
        self.selection_frequency_ = freq / len(paths)
        n_fallback = sum(path.status == "fallback" for path in paths)
        n_failed = sum(path.status == "failed" for path in paths)
        if n_fallback or n_failed:
            what = (
                f"{n_fallback} took the n_components largest groups "
                "(fallback='largest_norm')"
                if n_fallback
                else ""
            )
            if n_failed:
                what += ("; " if what else "") + f"{n_failed} failed"
            warnings.warn(
                f"TSLasso: in {n_fallback + n_failed} of {len(paths)} repeats no "
                f"probed lambda gave exactly n_components={self.n_components_} "
                f"active functions (ties or too few probes): {what}. Try a "
                "larger max_search, a different epsilon or dictionary.",
                UserWarning,
                stacklevel=3,
            )
        modal = _modal_set(self.selections_, self.selection_frequency_)
        if modal is None:
            raise ValueError(
                f"TSLasso: no repeat selected n_components={self.n_components_} "
                "functions. Use fallback='largest_norm', a different epsilon, or "
                "fewer n_components."
            )
        self.support_ = np.zeros(p, dtype=bool)
        self.support_[list(modal)] = True
        self.selected_ = np.flatnonzero(self.support_)

    # ------------------------------------------------------------ outputs
    def get_support(self, indices: bool = False):
        """Mask (or indices) of the selected dictionary functions.

        Parameters
        ----------
        indices : bool, default=False
            Return indices instead of a boolean mask.

        Returns
        -------
        support : ndarray
            Boolean mask of shape (n_functions,) or sorted indices.
        """
        check_is_fitted(self)
        return self.selected_.copy() if indices else self.support_.copy()

    def transform(self, X):
        """The selected functions at ``X`` by kernel interpolation.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query points.

        Returns
        -------
        F_selected : ndarray of shape (n_queries, n_components_)
            Nadaraya-Watson interpolation (bandwidth ``epsilon_``) of the
            training values of the selected functions: the physical
            coordinates of new rows.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self.interpolator_.transform(X)

    def get_feature_names_out(self, input_features=None):
        """Names of the selected dictionary functions.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only validated against the fitted input features.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return self.dictionary_names_[self.support_].copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags


def _check_gradients(gradients, shape: tuple):
    """Analytic gradients of shape ``(n_samples, n_features, n_functions)``."""
    if gradients is None:
        return None
    gradients = check_array(gradients, dtype=np.float64, allow_nd=True, ensure_2d=False)
    if gradients.shape != shape:
        raise ValueError(
            "gradients must have shape (n_samples, n_features, "
            f"n_functions) = {shape}, got {gradients.shape}."
        )
    return gradients


def _eligible_rows(sample_mask, n: int) -> np.ndarray:
    """Indices of the rows ``sample_mask`` allows (all rows for None)."""
    if sample_mask is None:
        return np.arange(n)
    mask = check_array(sample_mask, ensure_2d=False, dtype=None)
    if mask.dtype != bool or mask.shape != (n,):
        raise ValueError(
            f"sample_mask must be a boolean array of shape ({n},), got "
            f"dtype {mask.dtype} and shape {mask.shape}."
        )
    return np.flatnonzero(mask)


def _check_repeat_rows(repeat_rows, n: int, n_repeats: int, n_min: int):
    """The pools of ``repeat_rows`` as sorted unique indices (None for None)."""
    if repeat_rows is None:
        return None
    if isinstance(repeat_rows, (str, bytes)) or not hasattr(repeat_rows, "__len__"):
        raise ValueError(
            "repeat_rows must be a list of index arrays (one per repeat), got "
            f"{type(repeat_rows).__name__}."
        )
    if len(repeat_rows) != n_repeats:
        raise ValueError(
            f"repeat_rows holds {len(repeat_rows)} pools but n_repeats="
            f"{n_repeats}; pass one pool per repeat."
        )
    return [_check_pool(rows, r, n, n_min) for r, rows in enumerate(repeat_rows)]


def _check_pool(rows, r: int, n: int, n_min: int) -> np.ndarray:
    """``repeat_rows[r]`` as sorted unique row indices."""
    where = f"repeat_rows[{r}]"
    rows = np.asarray(rows)
    if rows.size == 0:
        raise ValueError(f"{where} is empty; every repeat needs rows to draw.")
    if rows.dtype == bool:
        if rows.shape != (n,):
            raise ValueError(
                f"{where} is a boolean mask of shape {rows.shape}; it must have "
                f"shape ({n},)."
            )
        rows = np.flatnonzero(rows)
    elif rows.dtype.kind not in "iu" or rows.ndim != 1:
        raise ValueError(
            f"{where} must be a 1-D array of integer row indices or a boolean "
            f"mask, got dtype {rows.dtype} and shape {rows.shape}."
        )
    if rows.min() < 0 or rows.max() >= n:
        raise ValueError(
            f"{where} holds indices outside [0, {n}) (min {rows.min()}, max "
            f"{rows.max()}); they must index the {n} rows of X."
        )
    rows = np.unique(rows).astype(np.intp, copy=False)
    if rows.size < n_min:
        raise ValueError(
            f"{where} holds {rows.size} distinct rows; TSLasso needs at least "
            f"n_components + 1 = {n_min} per repeat."
        )
    return rows


def _run_repeat(
    proj, sq_norms, n_select, lr, max_iter, tol, max_search, sel, fb, n_path
):
    """One TSLasso repeat: normalise over the sample, then the lambda search."""
    gamma = np.sqrt(sq_norms.mean(axis=0))
    X = proj / (gamma + np.finfo(np.float64).eps)
    return select_exactly(
        X,
        n_select,
        lr=lr,
        max_iter=max_iter,
        tol=tol,
        max_search=max_search,
        select_tol=sel,
        fallback=fb,
        path_points=n_path,
    )
