"""Independent eigencoordinate selection over a fitted embedding (paper A.5).

``IESSelector`` is a meta-estimator (like ``SelectFromModel``): it fits an
embedding estimator -- by default ``DiffusionMapsGC(n_components=20)`` -- reads
its eigenvectors, eigenvalues and the Laplacian of the data, and keeps the
``n_components`` independent, low-frequency coordinates chosen by IES (Chen &
Meila 2019; see :ref:`conv-ies`). The search itself lives in ``_ies``.
"""

from __future__ import annotations

import time
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils import Bunch, check_random_state, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _check_feature_names_in,
    _fit_context,
)
from .._geometry.progress import verbose_progress
from .._validation import N_JOBS_CONSTRAINT, clip_n_components, fitted_kernel
from . import _ies
from ._diffusion_maps import DiffusionMapsGC

__all__ = ["IESSelector"]

_DEFAULT_N_EIGENVECTORS = 20


def _resolve_dims(intrinsic_dim, default: int) -> list[int]:
    """``intrinsic_dim`` as a non-empty list of positive ints."""
    if intrinsic_dim is None:
        return [int(default)]
    values = np.atleast_1d(np.asarray(intrinsic_dim))
    valid = (
        values.ndim == 1
        and values.size > 0
        and np.issubdtype(values.dtype, np.number)
        and bool(np.all(values == np.round(values)))
        and bool(np.all(values >= 1))
    )
    if not valid:
        raise ValueError(
            "intrinsic_dim must be a positive int or a non-empty 1-D list of "
            f"positive ints, got {intrinsic_dim!r}."
        )
    return [int(v) for v in values]


def seed_inner_estimator(estimator, random_state, n_jobs) -> None:
    """Give nested ``random_state``/``n_jobs`` parameters left at None our values.

    ``random_state`` becomes an int drawn from ``random_state`` (so a fixed
    seed makes the whole chain reproducible); explicit inner values are kept.
    """
    params = estimator.get_params(deep=True)
    updates = {}
    seed = None
    for key, value in params.items():
        if value is not None:
            continue
        name = key.rsplit("__", 1)[-1]
        if name == "random_state":
            if seed is None:
                seed = int(random_state.randint(np.iinfo(np.int32).max))
            updates[key] = seed
        elif name == "n_jobs" and n_jobs is not None:
            updates[key] = n_jobs
    if updates:
        estimator.set_params(**updates)


def fitted_inner(meta, X, default_factory, y=None):
    """Clone and fit ``meta.embedding`` (or the default), or check it if prefit.

    Returns the fitted inner estimator; with ``prefit=True`` the passed object
    itself (never refitted). The inner ``fit`` gets ``(X, y)``, as
    ``SelectFromModel`` calls it, so a ``sklearn.frozen.FrozenEstimator``
    works (it is neither reseeded nor refitted, and survives ``clone``).
    """
    who = type(meta).__name__
    if meta.prefit:
        if meta.embedding is None:
            raise ValueError(
                f"{who}: prefit=True needs an already fitted estimator in "
                "`embedding`; got embedding=None."
            )
        check_is_fitted(meta.embedding)
        n_in = getattr(meta.embedding, "n_features_in_", None)
        if n_in is not None and n_in != X.shape[1]:
            raise ValueError(
                f"{who}: X has {X.shape[1]} features but the prefit embedding "
                f"estimator was fitted with {n_in}."
            )
        return meta.embedding
    est = default_factory() if meta.embedding is None else clone(meta.embedding)
    if not isinstance(est, FrozenEstimator):
        seed_inner_estimator(est, check_random_state(meta.random_state), meta.n_jobs)
    return est.fit(X, y)


def read_embedding_protocol(est, who: str, *, need_eigenvalues: bool = True):
    """``embedding_``, ``eigenvalues_``, ``laplacian_`` of a fitted estimator."""
    names = ["embedding_", "laplacian_"] + (
        ["eigenvalues_"] if need_eigenvalues else []
    )
    missing = [a for a in names if not hasattr(est, a)]
    if missing:
        raise ValueError(
            f"{who} needs an embedding estimator that exposes {', '.join(names)} "
            f"after fit (e.g. DiffusionMapsGC); {type(est).__name__} lacks "
            f"{', '.join(missing)}."
        )
    embedding = np.asarray(est.embedding_)
    if embedding.ndim != 2:
        raise ValueError(f"{who}: the inner embedding_ must be 2-D.")
    L = est.laplacian_
    if L is None:
        raise ValueError(
            f"{who}: the inner {type(est).__name__} kept no laplacian_ "
            "(store_graph=False); fit it with store_graph=True (the default)."
        )
    n_L = getattr(L, "n_samples", None) or L.shape[0]
    if n_L != embedding.shape[0]:
        raise ValueError(
            f"{who}: the inner laplacian_ has {n_L} vertices but embedding_ has "
            f"{embedding.shape[0]} rows."
        )
    eigenvalues = None
    if need_eigenvalues:
        eigenvalues = np.asarray(est.eigenvalues_, dtype=np.float64).ravel()
        if eigenvalues.shape[0] != embedding.shape[1]:
            raise ValueError(
                f"{who}: the inner eigenvalues_ has {eigenvalues.shape[0]} entries "
                f"for {embedding.shape[1]} embedding columns."
            )
    return embedding, eigenvalues, L


def _embedding_has(attr: str):
    """``available_if`` check: the fitted inner estimator, else the one given
    (or the default DiffusionMapsGC), has ``attr`` (as SelectFromModel)."""

    def check(self) -> bool:
        est = getattr(self, "embedding_estimator_", None)
        if est is None:
            est = (
                self._default_embedding() if self.embedding is None else self.embedding
            )
        return hasattr(est, attr)

    return check


class IESSelector(TransformerMixin, BaseEstimator):
    """Independent eigencoordinate selection (IES) on top of an embedding.

    Diffusion-map eigenvectors often repeat one slow direction: on a long strip
    ``phi_1 ... phi_6`` are all harmonics of the long coordinate. IES (Chen &
    Meila, NeurIPS 2019) picks the set ``S`` of columns, always containing the
    first, that maximises

        ``R(S) - zeta * sum_{k in S} lambda_k``,

    where ``R(S)`` is the mean, over ``sample_size`` random points, of the
    log-volume spanned by the rows ``S`` of the point's tangent basis (the top
    ``d`` eigenvectors of the dual Riemannian metric of the embedding, computed
    with the Laplacian of the data), each row -- the projected gradient of one
    coordinate -- normalised to unit length. ``R`` rewards locally independent
    coordinates (a smooth embedding of rank ``d`` everywhere), the penalty low
    frequencies. A product mode such as ``cos(pi x / L) cos(pi y / W)`` on a
    strip loses to the pure ``cos(pi y / W)``: its gradient turns parallel to
    that of ``cos(pi x / L)`` where ``cos(pi x / L)`` vanishes. All
    ``C(m - 1, s - 1)`` candidate sets are enumerated (11,628 for m = 20,
    s = 6). The paper runs IES for every ``d`` in 3..6 with ``|S| = 6`` and
    keeps the coordinates selected most often (Appendix A.5): pass
    ``intrinsic_dim=[3, 4, 5, 6]``.

    Parameters
    ----------
    n_components : int, default=3
        Number of coordinates kept (``len(support_)``); clipped, with a
        warning, to the number of inner columns.
    embedding : estimator or None, default=None
        Embedding estimator exposing, after fit, ``embedding_`` (training
        coordinates, ascending eigenvalue, unit-norm columns), ``eigenvalues_``
        (positive) and ``laplacian_`` (the scaled Laplacian of X), and a
        ``transform`` for new rows. ``None``:
        ``DiffusionMapsGC(n_components=20)``. Cloned and fitted unless
        ``prefit``.
    zeta : "auto" or float, default="auto"
        Regularisation strength. ``"auto"``: the leave-one-out rule of the
        reference implementation -- among the sets along the regularisation
        path (on a log grid from 1e-2 to 1e5, extended until it covers the
        whole path), the most regularised one that, for at least 75 % of the
        sample points, is at least as good on the other points as the point's
        own best set.
    intrinsic_dim : int, list of int or None, default=None
        Dimension ``d`` of the tangent bases (used as ``min(d, s)``). ``None``:
        ``n_components``. With a list, IES runs once per ``d`` and
        ``support_`` holds the ``n_components`` columns selected most often.
    subset_size : int or None, default=None
        Size ``s`` of the searched sets. ``None``: ``max(n_components,
        max(intrinsic_dim))`` (the paper: 6 for ``intrinsic_dim=[3, 4, 5,
        6]``), at most the number of inner columns.
    sample_size : int, default=500
        Random training points at which the tangent bases are evaluated (all
        when fewer).
    prefit : bool, default=False
        Use ``embedding`` as already fitted: it is neither cloned nor refitted
        (later changes to it affect this selector). As with
        ``SelectFromModel``, ``clone`` (hence GridSearchCV) resets the inner
        estimator and the clone then raises NotFittedError; to reuse a
        fitted embedding in cloned copies pass
        ``embedding=FrozenEstimator(fitted)`` with ``prefit=False``.
    random_state : int, RandomState instance or None, default=None
        Draws the sample points; also seeds nested ``random_state``
        parameters of the inner estimator that are left at None.
    n_jobs : int, default=None
        Threads for the subset search; also passed to nested ``n_jobs`` left
        at None. Results do not depend on it.
    verbose : int, default=0
        Print the stages and their timings when positive.

    Attributes
    ----------
    n_components_ : int
        Number of coordinates kept: ``n_components``, clipped to the number of
        columns of the inner embedding.
    support_ : ndarray of int of shape (n_components_,)
        Selected columns of the inner embedding, sorted; always contains 0.
    scores_ : ndarray of shape (n_embedding_components,)
        Fraction of the IES runs (one per intrinsic dimension) that selected
        each column; ``support_`` holds the ``n_components_`` highest (ties to
        the lower eigenvalue).
    selections_ : ndarray of int of shape (n_dims, subset_size)
        The set selected for each intrinsic dimension.
    zeta_ : float or ndarray of shape (n_dims,)
        Regularisation strength used (an array when ``intrinsic_dim`` is a
        list).
    regularization_path_ : list of Bunch
        One per intrinsic dimension, with ``intrinsic_dim``, ``zetas`` (grid),
        ``path`` (selected set at each grid value, shape (n_zetas, s)),
        ``candidates`` (distinct sets along the path, by increasing zeta),
        ``candidate_zetas``, ``log_volumes`` (``R`` of each candidate),
        ``penalties``, ``loo_percentiles`` and ``chosen`` (index of the
        selected candidate, -1 if a fixed zeta selected a set off the grid)
        and ``n_points`` (sample points used: those whose dual metric has rank
        at least ``d``; isolated points carry no tangent information).
    embedding_ : ndarray of shape (n_samples, n_components_)
        Selected coordinates of the training rows.
    eigenvalues_ : ndarray of shape (n_components_,)
        Their eigenvalues.
    laplacian_ : sparse matrix of shape (n_samples, n_samples)
        The inner estimator's scaled Laplacian (passed through).
    embedding_estimator_ : estimator
        The fitted inner estimator (the ``embedding`` object itself if
        ``prefit``).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Names of the features, when ``X`` had string column names.

    See Also
    --------
    DiffusionMapsGC : The default inner embedding.
    RiemannianRelaxation : Relaxes the selected coordinates toward isometry.

    Notes
    -----
    Per-point log-volumes are ``1/2 log det G`` of the Gram matrix ``G`` of the
    selected tangent rows scaled to unit length, computed in batches (one GEMM
    per chunk of candidate sets, then a sign-checked elimination as in
    ``slogdet``); a rank-deficient set scores ``-inf``. The tangent bases come
    from a symmetric eigensolver in descending order (see :ref:`conv-ies`). IES
    is not invariant to rescaling single columns, so the inner columns are
    normalised to unit norm before the search.

    Examples
    --------
    A strip twice as long as wide: ``phi_1`` and ``phi_2`` both follow the long
    side, ``phi_3`` is the first coordinate across it.

    >>> import numpy as np
    >>> from sksbi_manifold.embedding import DiffusionMapsGC
    >>> from sksbi_manifold.embedding import IESSelector
    >>> rng = np.random.RandomState(0)
    >>> X = np.c_[rng.uniform(0, 10, 800), rng.uniform(0, 4, 800)]
    >>> dm = DiffusionMapsGC(n_components=6, epsilon=0.6, eigen_solver="arpack")
    >>> ies = IESSelector(n_components=2, embedding=dm, random_state=0)
    >>> ies.fit_transform(X).shape
    (800, 2)
    >>> ies.support_
    array([0, 2])
    >>> ies.get_feature_names_out()
    array(['dm0', 'dm2'], dtype=object)
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "embedding": [HasMethods(["fit", "transform"]), None],
        "zeta": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "intrinsic_dim": [
            Interval(Integral, 1, None, closed="left"),
            "array-like",
            None,
        ],
        "subset_size": [Interval(Integral, 1, None, closed="left"), None],
        "sample_size": [Interval(Integral, 2, None, closed="left")],
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
        zeta="auto",
        intrinsic_dim=None,
        subset_size=None,
        sample_size=500,
        prefit=False,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.embedding = embedding
        self.zeta = zeta
        self.intrinsic_dim = intrinsic_dim
        self.subset_size = subset_size
        self.sample_size = sample_size
        self.prefit = prefit
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _log(self, msg: str) -> None:
        if self.verbose:
            print(f"[IESSelector] {msg}")

    def _default_embedding(self):
        return DiffusionMapsGC(n_components=_DEFAULT_N_EIGENVECTORS)

    def _validate_X(self, X, reset: bool):
        tags = self._inner_tags()
        return validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=["csr", "csc", "coo"] if tags.input_tags.sparse else False,
            dtype=[np.float64, np.float32],
        )

    def _inner_tags(self):
        inner = self._default_embedding() if self.embedding is None else self.embedding
        return get_tags(inner)

    @_fit_context(prefer_skip_nested_validation=False)
    @verbose_progress
    def fit(self, X, y=None):
        """Fit the inner embedding (unless prefit) and select its coordinates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (whatever the inner estimator accepts).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : IESSelector
            Fitted selector.
        """
        who = type(self).__name__
        X = self._validate_X(X, reset=True)
        _resolve_dims(self.intrinsic_dim, self.n_components)  # fail before fitting
        if self.subset_size is not None and self.subset_size < self.n_components:
            raise ValueError(
                f"{who}: subset_size={self.subset_size} is smaller than "
                f"n_components={self.n_components}; the output columns are taken "
                "from the selected sets. Increase subset_size or leave it None."
            )
        rng = check_random_state(self.random_state)
        tic = time.perf_counter()
        est = fitted_inner(self, X, self._default_embedding, y)
        self._log(f"inner embedding: {time.perf_counter() - tic:.2f} s")
        embedding, eigenvalues, L = read_embedding_protocol(est, who)
        n_components = self._resolve_n_components(embedding.shape[1])
        paths = self._search(L, embedding, eigenvalues, n_components, rng)
        selections = np.vstack([p.selection for p in paths])
        support, frequency = _ies.aggregate_selections(
            selections, embedding.shape[1], n_components
        )
        self.n_components_ = n_components
        self.support_ = support
        self.scores_ = frequency
        self.selections_ = selections
        zetas = np.array([p.zeta for p in paths])
        self.zeta_ = float(zetas[0]) if np.ndim(self.intrinsic_dim) == 0 else zetas
        self.regularization_path_ = [self._path_bunch(p) for p in paths]
        self.embedding_ = embedding[:, support]
        self.eigenvalues_ = eigenvalues[support]
        self.laplacian_ = L
        self.embedding_estimator_ = est
        return self

    def _search(self, L, embedding, eigenvalues, n_components: int, rng) -> list:
        """The IES search of every intrinsic dimension on ``sample_size`` rows."""
        n, m = embedding.shape
        dims = _resolve_dims(self.intrinsic_dim, n_components)
        s = self._resolve_subset_size(n_components, dims, m)
        n_sample = min(self.sample_size, n)
        rows = np.sort(rng.choice(n, size=n_sample, replace=False))
        tic = time.perf_counter()
        paths = _ies.independent_eigencoordinates(
            L,
            embedding,
            eigenvalues,
            s,
            dims,
            rows=rows,
            zeta=self.zeta,
            n_jobs=self.n_jobs,
        )
        self._log(
            f"search over {_ies.n_candidate_subsets(m, s)} sets x {n_sample} points "
            f"x {len(dims)} dims: {time.perf_counter() - tic:.2f} s"
        )
        return paths

    def _resolve_n_components(self, n_columns: int) -> int:
        """``n_components`` clipped to the inner embedding's columns."""
        return clip_n_components(
            self,
            n_columns,
            "columns of the inner embedding (e.g. a DiffusionMapsGC clipped to "
            "n_samples - 2)",
        )

    def _resolve_subset_size(self, n_components: int, dims, n_columns: int) -> int:
        """Explicit ``subset_size``, or ``max(n_components, max(dims))`` capped
        at the number of inner columns."""
        if self.subset_size is None:
            return min(max(n_components, max(dims)), n_columns)
        if self.subset_size > n_columns:
            raise ValueError(
                f"{type(self).__name__}: cannot select {self.subset_size} "
                f"coordinates (subset_size) from an embedding with {n_columns} "
                "columns. Give the inner estimator more components (e.g. "
                "DiffusionMapsGC(n_components=20)) or reduce subset_size."
            )
        return int(self.subset_size)

    @staticmethod
    def _path_bunch(path: _ies.IESPath) -> Bunch:
        cand = path.candidates
        return Bunch(
            intrinsic_dim=path.intrinsic_dim,
            zetas=path.zetas,
            path=path.subsets[path.winners],
            candidates=path.subsets[cand],
            candidate_zetas=path.candidate_zetas,
            log_volumes=path.log_volume[cand],
            penalties=path.penalty[cand],
            loo_percentiles=path.loo_percentiles,
            chosen=path.chosen,
            n_points=path.n_points,
        )

    @property
    def kernel_(self):
        """The inner embedding's fitted kernel (see ``DiffusionMapsGC.kernel_``)."""
        check_is_fitted(self)
        return fitted_kernel(self.embedding_estimator_, type(self).__name__)

    def fit_transform(self, X, y=None):
        """Fit and return the selected coordinates of the training rows.

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
        """Selected coordinates of new rows (inner ``transform`` on ``support_``).

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            New rows.

        Returns
        -------
        Y : ndarray of shape (n_queries, n_components_)
            ``embedding_estimator_.transform(X)[:, support_]``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return np.asarray(self.embedding_estimator_.transform(X))[:, self.support_]

    @available_if(_embedding_has("score"))
    def score(self, X, y=None) -> float:
        """The inner embedding's ``score`` at X (as a Pipeline scores by its last step).

        IES selects coordinates of a fitted embedding; the quality of the
        kernel is the inner estimator's to judge. For DiffusionMapsGC this is
        minus the geometric-consistency distortion at X, so
        ``GridSearchCV(IESSelector(...), {"embedding__epsilon": [...]})``
        searches the same optimum as ``epsilon="gc"``. Available when the
        inner estimator has ``score``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Evaluation rows.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            ``embedding_estimator_.score(X)``.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return float(self.embedding_estimator_.score(X))

    def get_support(self, indices: bool = False) -> np.ndarray:
        """Mask or indices of the selected inner columns.

        Parameters
        ----------
        indices : bool, default=False
            Return ``support_`` instead of a boolean mask.

        Returns
        -------
        support : ndarray
            Boolean mask of shape (n_embedding_components,), or indices.
        """
        check_is_fitted(self)
        if indices:
            return self.support_.copy()
        mask = np.zeros(self.scores_.shape[0], dtype=bool)
        mask[self.support_] = True
        return mask

    def get_feature_names_out(self, input_features=None):
        """Names of the selected coordinates (the inner names, masked).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked for consistency with the fitted input.

        Returns
        -------
        feature_names_out : ndarray of str objects
            E.g. ``["dm0", "dm6"]``.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        inner = self.embedding_estimator_
        if hasattr(inner, "get_feature_names_out"):
            names = np.asarray(inner.get_feature_names_out(), dtype=object)
            if names.shape[0] == self.scores_.shape[0]:
                return names[self.support_]
        return np.asarray([f"ies{k}" for k in self.support_], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self._inner_tags()
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.pairwise = inner.input_tags.pairwise
        if inner.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = list(
                inner.transformer_tags.preserves_dtype
            )
        return tags
