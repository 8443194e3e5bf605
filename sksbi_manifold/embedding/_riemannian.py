"""Riemannian relaxation of an embedding toward isometry (paper Sec. 3, A.5).

``RiemannianRelaxation`` is a meta-estimator over an embedding estimator -- by
default the paper's chain ``IESSelector(embedding=DiffusionMapsGC(20))`` -- that
moves the training coordinates so that their dual Riemannian metric, computed
with the fixed Laplacian of the data, approaches the identity (McQueen, Meila &
Perrault-Joncas 2016; see :ref:`conv-relaxation`). The loss, its gradient and
the L-BFGS driver live in ``_relaxation``; new rows are embedded by
Nadaraya-Watson interpolation of the relaxed coordinates
(``NadarayaWatsonInterpolator``).
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
)
from .._geometry import distances
from .._geometry.kernels import radius_affinity
from .._geometry.laplacian import renormalized_laplacian
from .._geometry.progress import verbose_progress
from .._validation import N_JOBS_CONSTRAINT, clip_n_components, fitted_kernel
from ..interpretation._nadaraya_watson import NadarayaWatsonInterpolator
from . import _relaxation
from ._selection import IESSelector, fitted_inner, read_embedding_protocol

__all__ = ["RiemannianRelaxation"]


def kernel_geometry(est, who: str) -> tuple[float, float, float]:
    """``(epsilon, radius_ratio, alpha)`` of the kernel behind ``est``."""
    kernel = fitted_kernel(est, who)
    if kernel.precomputed:
        raise ValueError(
            f"{who} embeds new rows by kernel interpolation in feature "
            "space, so it needs feature vectors, not a precomputed "
            "distance graph (the inner estimator has metric='precomputed')."
        )
    return kernel.epsilon, kernel.radius_ratio, kernel.alpha


class RiemannianRelaxation(TransformerMixin, BaseEstimator):
    """Relax an embedding toward an isometry of the data manifold.

    Starting from the inner estimator's training coordinates ``Y0`` (by default
    the IES-selected diffusion coordinates), minimise

        ``Loss(Y) = sum_i w_i max_k (c_k e_ik)**2``,

    where ``h_i1 >= ... >= h_is`` are the eigenvalues of the dual metric
    ``H_i(Y) = 1/2 sum_j L_ij (y_j - y_i)(y_j - y_i)^T`` (``L`` the scaled
    Laplacian of the data, held fixed), ``e_ik = h_ik - 1`` for the ``d``
    largest and ``e_ik = h_ik`` for the others, ``c_k = 1/(1 +
    epsilon_orth**2)`` inside and ``1/epsilon_orth**2`` outside the principal
    ``d``-subspace. At zero loss ``H_i`` is the orthogonal projector onto a
    ``d``-plane: the embedding is locally isometric. L-BFGS with the exact
    gradient (see :ref:`conv-relaxation`); the iterate with the
    lowest loss is kept.

    Parameters
    ----------
    n_components : int, default=3
        Number of coordinates relaxed: the first ``n_components`` columns of
        the inner ``embedding_`` (all of them, with a warning, if it has
        fewer).
    embedding : estimator or None, default=None
        Inner estimator exposing ``embedding_`` and ``laplacian_`` after fit,
        with ``epsilon_`` on it or down its ``embedding_estimator_`` chain.
        ``None``: ``IESSelector(n_components, intrinsic_dim=intrinsic_dim,
        embedding=DiffusionMapsGC(n_components=20))``, the paper's chain. To
        tune inner parameters (``embedding__embedding__epsilon``), pass the
        inner estimators explicitly.
    intrinsic_dim : int or None, default=None
        ``d``, the number of unit eigenvalues targeted. ``None``:
        ``n_components``.
    epsilon_orth : float, default=0.5
        Weight of the off-subspace directions (the paper's 0.5; megaman's
        ``eps_orth`` equals ``epsilon_orth**2``).
    max_iter : int, default=500
        Maximum number of L-BFGS iterations (0: no relaxation, ``embedding_`` is
        the scaled initial embedding).
    tol : float, default=1e-2
        Stop when the loss fell by less than this fraction over the last 10
        iterations; also stops on a vanishing gradient, a line search that
        cannot make progress, or ``max_iter``. L-BFGS keeps lowering the loss
        slowly long after the embedding has settled: on 19,000 cryo-EM
        latents 1e-2 stops after ~190 iterations, 1e-3 runs hundreds more for
        a few percent of loss.
    init_scale : "auto" or float, default="auto"
        Factor applied to ``Y0`` before relaxing. Unit-norm eigenvectors have
        a tiny metric; ``"auto"`` makes the median over points of the mean top
        ``d`` eigenvalue of ``H_i`` equal to one.
    weights : {"self_transition", "uniform"}, default="self_transition"
        Point weights ``w_i`` (summing to one): proportional to the diagonal
        ``P_ii`` of the Markov matrix (about the inverse local degree, so dense
        regions do not dominate; the paper's code), or uniform.
    prefit : bool, default=False
        Use ``embedding`` as already fitted (neither cloned nor refitted); X
        passed to ``fit`` must be its training data. ``clone`` resets it (as
        for ``SelectFromModel``): for cloned copies pass
        ``embedding=FrozenEstimator(fitted)`` with ``prefit=False``.
    random_state : int, RandomState instance or None, default=None
        Seeds nested ``random_state`` parameters of the inner estimators left
        at None. The relaxation itself is deterministic.
    n_jobs : int, default=None
        Threads of the relaxation's sparse products (row blocks: the result
        does not depend on it) and distance blocks of ``transform``/``score``;
        also passed to nested ``n_jobs`` left at None.
    verbose : int, default=0
        Print the stages (and the loss every iteration if > 1).

    Attributes
    ----------
    n_components_ : int
        Number of coordinates relaxed: ``n_components``, clipped to the
        columns of the inner ``embedding_``.
    embedding_ : ndarray of shape (n_samples, n_components_)
        Relaxed coordinates of the training rows.
    initial_embedding_ : ndarray of shape (n_samples, n_components_)
        The starting point: the inner coordinates times ``init_scale_``.
    init_scale_ : float
        Factor applied to the inner coordinates.
    loss_ : float
        Loss of ``embedding_`` (the lowest seen).
    loss_curve_ : ndarray of shape (`n_iter_` + 1,)
        Loss of ``initial_embedding_`` then after each iteration.
    n_iter_ : int
        Number of L-BFGS iterations run.
    weights_ : ndarray of shape (n_samples,)
        Point weights of the loss.
    laplacian_ : sparse matrix of shape (n_samples, n_samples)
        The inner (data) Laplacian used (passed through).
    epsilon_ : float
        Kernel width of that Laplacian, also the bandwidth of ``transform``.
    embedding_estimator_ : estimator
        The fitted inner estimator.
    interpolator_ : NadarayaWatsonInterpolator
        Kernel regression of ``embedding_`` used by ``transform``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features, when ``X`` had string column names.

    See Also
    --------
    IESSelector : Chooses the coordinates that are relaxed.
    NadarayaWatsonInterpolator : Embeds new rows.

    Notes
    -----
    ``transform`` returns ``embedding_`` for rows identical to training rows
    (the relaxation defines the map there) and the Nadaraya-Watson average of
    the relaxed coordinates, with the inner kernel width ``epsilon_`` and
    cutoff, for other rows (rows with no training point within the cutoff get
    the coordinates of their nearest training row, with a warning).

    ``score(X)`` is minus the relaxation loss of ``transform(X)`` measured with
    the Laplacian of ``X`` itself built at the fitted ``epsilon_`` (same
    kernel, cutoff, ``alpha`` and ``weights``; no relaxation on ``X``). On the
    training data it equals ``-loss_``; on held-out data it measures how
    isometric the fitted map is there, so ``GridSearchCV`` can compare
    settings.

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.embedding import DiffusionMapsGC
    >>> from sksbi_manifold.embedding import RiemannianRelaxation
    >>> rng = np.random.RandomState(0)
    >>> X = np.c_[rng.uniform(0, 6, 600), rng.uniform(0, 3, 600)]
    >>> dm = DiffusionMapsGC(n_components=2, epsilon=0.4, eigen_solver="arpack",
    ...                      random_state=0)
    >>> rr = RiemannianRelaxation(n_components=2, embedding=dm).fit(X)
    >>> rr.embedding_.shape
    (600, 2)
    >>> bool(rr.loss_ < 0.2 * rr.loss_curve_[0])
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "embedding": [HasMethods(["fit"]), None],
        "intrinsic_dim": [Interval(Integral, 1, None, closed="left"), None],
        "epsilon_orth": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "init_scale": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "weights": [StrOptions({"self_transition", "uniform"})],
        "prefit": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": N_JOBS_CONSTRAINT,
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=3,
        *,
        embedding=None,
        intrinsic_dim=None,
        epsilon_orth=0.5,
        max_iter=500,
        tol=1e-2,
        init_scale="auto",
        weights="self_transition",
        prefit=False,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.embedding = embedding
        self.intrinsic_dim = intrinsic_dim
        self.epsilon_orth = epsilon_orth
        self.max_iter = max_iter
        self.tol = tol
        self.init_scale = init_scale
        self.weights = weights
        self.prefit = prefit
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _log(self, msg: str) -> None:
        if self.verbose:
            print(f"[RiemannianRelaxation] {msg}")

    def _default_embedding(self):
        return IESSelector(
            n_components=self.n_components, intrinsic_dim=self.intrinsic_dim
        )

    def _intrinsic_dim(self, n_components: int | None = None) -> int:
        n_components = self.n_components if n_components is None else n_components
        d = n_components if self.intrinsic_dim is None else self.intrinsic_dim
        if d > n_components:
            raise ValueError(
                f"{type(self).__name__}: intrinsic_dim={d} exceeds n_components="
                f"{n_components}; an isometric embedding of a d-manifold "
                "needs at least d coordinates."
            )
        return int(d)

    def _resolve_n_components(self, n_columns: int) -> int:
        """``n_components`` clipped to the inner embedding's columns."""
        return clip_n_components(
            self, n_columns, "columns of the inner embedding_ (give it more)"
        )

    def _problem(
        self, laplacian, epsilon, n_components: int
    ) -> _relaxation.RelaxationProblem:
        w = _relaxation.relaxation_weights(laplacian, epsilon, self.weights)
        d = self._intrinsic_dim(n_components)
        return _relaxation.RelaxationProblem(
            laplacian, d, float(self.epsilon_orth), w, n_jobs=self.n_jobs
        )

    @_fit_context(prefer_skip_nested_validation=False)
    @verbose_progress
    def fit(self, X, y=None):
        """Fit the inner embedding (unless prefit) and relax its coordinates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : RiemannianRelaxation
            Fitted estimator.
        """
        who = type(self).__name__
        X = validate_data(self, X, reset=True, dtype=[np.float64, np.float32])
        self._intrinsic_dim()
        tic = time.perf_counter()
        est = fitted_inner(self, X, self._default_embedding, y)
        self._log(f"inner embedding: {time.perf_counter() - tic:.2f} s")
        embedding, L = self._inner_embedding(est, X, who)
        n_components = self._resolve_n_components(embedding.shape[1])
        epsilon, radius_ratio, alpha = kernel_geometry(est, who)
        Y0 = np.asarray(embedding[:, :n_components], dtype=np.float64)
        problem = self._problem(L, epsilon, n_components)
        scale = (
            _relaxation.auto_init_scale(problem, Y0)
            if isinstance(self.init_scale, str)
            else float(self.init_scale)
        )
        result = self._relax(problem, scale * Y0, who)
        self.n_components_ = n_components
        self.embedding_ = result.embedding.astype(X.dtype, copy=False)
        self.initial_embedding_ = (scale * Y0).astype(X.dtype, copy=False)
        self.init_scale_ = scale
        self.loss_, self.loss_curve_ = result.loss, result.loss_curve
        self.n_iter_ = result.n_iter
        self.weights_ = problem.weights
        self.laplacian_ = L
        self.epsilon_ = epsilon
        self._radius_ratio, self._alpha = radius_ratio, alpha
        self.embedding_estimator_ = est
        # Out of sample: NW at the kernel's own width and cutoff.
        self.interpolator_ = NadarayaWatsonInterpolator(
            bandwidth=epsilon,
            radius_ratio=radius_ratio,
            fallback="nearest",
            n_jobs=self.n_jobs,
        ).fit(X, result.embedding)
        return self

    @staticmethod
    def _inner_embedding(est, X, who: str):
        """The inner estimator's embedding and Laplacian, one row per ``X`` row."""
        embedding, _, L = read_embedding_protocol(est, who, need_eigenvalues=False)
        if embedding.shape[0] != X.shape[0]:
            raise ValueError(
                f"{who}: X has {X.shape[0]} rows but the inner embedding_ has "
                f"{embedding.shape[0]}; with prefit=True pass the inner "
                "estimator's training data."
            )
        return embedding, L

    def _relax(self, problem, Y_init, who: str) -> _relaxation.RelaxationResult:
        """L-BFGS from ``Y_init``, logged, with a warning if it did not converge."""
        tic = time.perf_counter()
        result = _relaxation.relax(
            problem,
            Y_init,
            max_iter=self.max_iter,
            tol=self.tol,
            log=self._log if self.verbose > 1 else None,
        )
        self._log(
            f"relaxation: {result.n_iter} iterations, loss {result.loss_curve[0]:.4g}"
            f" -> {result.loss:.4g} ({time.perf_counter() - tic:.2f} s)"
        )
        if self.max_iter > 0 and not result.converged:
            warnings.warn(
                f"{who}: the relaxation did not converge in max_iter="
                f"{self.max_iter} iterations (loss {result.loss_curve[0]:.4g} -> "
                f"{result.loss:.4g}). Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return result

    @property
    def kernel_(self):
        """The inner embedding's fitted kernel (see ``DiffusionMapsGC.kernel_``)."""
        check_is_fitted(self)
        return fitted_kernel(self.embedding_estimator_, type(self).__name__)

    def fit_transform(self, X, y=None):
        """Fit and return the relaxed training coordinates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components_)
            ``embedding_``.
        """
        return self.fit(X, y).embedding_.copy()

    def transform(self, X):
        """Relaxed coordinates of rows: exact on training rows, else interpolated.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Rows to embed.

        Returns
        -------
        Y : ndarray of shape (n_queries, n_components_)
            ``embedding_`` for rows equal to a training row; the
            Nadaraya-Watson average of ``embedding_`` (bandwidth
            ``epsilon_``) otherwise.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._transform(X).astype(X.dtype, copy=False)

    def _transform(self, X) -> np.ndarray:
        X_fit = self.interpolator_.X_fit_
        dist, idx = distances.knn_distances(
            X, 1, X_fit, return_indices=True, n_jobs=self.n_jobs
        )
        same = dist[:, 0] == 0.0
        Y = np.empty((X.shape[0], self.n_components_))
        Y[same] = self.interpolator_.y_fit_[idx[same, 0]]
        if not same.all():
            Y[~same] = self.interpolator_.transform(X[~same])
        return Y

    def score(self, X, y=None) -> float:
        """Minus the relaxation loss of the fitted map on X.

        ``transform(X)`` is evaluated with the dual metric of the Laplacian of
        X built at the fitted ``epsilon_`` (same cutoff, ``alpha`` and
        ``weights``); X is not relaxed. Higher is better; equals ``-loss_`` on
        the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Evaluation rows.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            ``-Loss(transform(X))`` (<= 0).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        Y = self._transform(X)
        radius = self._radius_ratio * self.epsilon_
        W = radius_affinity(X, self.epsilon_, radius, n_jobs=self.n_jobs)
        lap = renormalized_laplacian(W, self.epsilon_, self._alpha)
        return -self._problem(lap, self.epsilon_, self.n_components_).loss(Y)

    def get_feature_names_out(self, input_features=None):
        """Output names ``rr0, rr1, ...``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked for consistency with the fitted input.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray([f"rr{k}" for k in range(self.n_components_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
