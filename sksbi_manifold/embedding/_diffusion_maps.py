"""Diffusion Maps with the kernel width chosen by geometric consistency.

Paper Section 3 and Appendix A.4-A.5 (see :ref:`conv-kernel` to
:ref:`conv-metric`, and :ref:`conv-gc`). The Laplace-Beltrami approximation,
the eigenpairs and the dual metric all come from the private geometry layer;
this module wires them into a scikit-learn transformer.
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._compat import Interval, StrOptions, _check_feature_names_in, _fit_context
from .._geometry import distances
from .._geometry._device import check_device
from .._geometry.eigen import laplacian_eigenpairs
from .._geometry.kernels import (
    entry_rows,
    gaussian_affinity,
    knn_bandwidths,
    scaled_radius_graph,
    threshold_graph,
)
from .._geometry.laplacian import (
    FittedKernel,
    connected_components_count,
    density_weights,
    renormalized_laplacian,
    variable_bandwidth_laplacian,
)
from .._geometry.metric import riemannian_metric
from .._geometry.progress import verbose_progress
from .._geometry.scales import knn_rule_epsilon
from .._validation import (
    N_JOBS_CONSTRAINT,
    check_kernel_scale,
    check_kernel_width_below_spread,
    check_not_constant,
    clip_n_components,
)
from ..exceptions import DisconnectedGraphWarning, OutOfSampleWarning
from ._consistency import (
    adaptive_consistency,
    geometric_consistency,
    out_of_sample_distortion,
    resolve_dims,
    symmetric_distance_graph,
)

__all__ = [
    "DiffusionMapsGC",
    "DisconnectedGraphWarning",
    "OutOfSampleWarning",
    "riemannian_metric",
]

_DEFAULT_INTRINSIC_DIM = 2
# Rows of the default dimension estimate (a fixed-seed subsample above this).
_DIM_MAX_SAMPLES = 5000
# |mu_k| below this is treated as this value in the Nystrom division by mu_k.
_MU_FLOOR = 1e-12


def _default_intrinsic_dim(X, n_jobs, random_state) -> int:
    """Doubling-dimension estimate if that estimator is available, else 2.

    Above ``_DIM_MAX_SAMPLES`` rows it runs on that many rows drawn with a
    fixed seed (the global doubling dimension of a subsample is the
    manifold's; measured 12-15 s of a 20,000-row fit otherwise).
    """
    try:
        from ..dimension import DoublingDimension
    except ImportError:
        return _DEFAULT_INTRINSIC_DIM
    if X.shape[0] > _DIM_MAX_SAMPLES:
        rows = np.random.RandomState(0).choice(X.shape[0], _DIM_MAX_SAMPLES, False)
        X = X[np.sort(rows)]
    est = DoublingDimension()
    own = est.get_params()
    est.set_params(
        **{
            k: v
            for k, v in (("n_jobs", n_jobs), ("random_state", random_state))
            if k in own
        }
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dim = float(getattr(est.fit(X), "dimension_", np.nan))
    except ValueError:  # e.g. too few points for any neighbour scale
        return _DEFAULT_INTRINSIC_DIM
    if not np.isfinite(dim) or dim < 1:
        return _DEFAULT_INTRINSIC_DIM
    return round(float(dim))


def _time_scale(mu: np.ndarray, t: float) -> np.ndarray:
    """``mu**t`` (sign-preserving for non-integer ``t``; 1 for ``t = 0``)."""
    if t == 0:
        return np.ones_like(mu)
    return np.sign(mu) * np.abs(mu) ** t


def semigroup_spectrum(mu: np.ndarray, epsilon: float) -> np.ndarray:
    """Generator eigenvalues ``-(4/epsilon**2) log mu`` of the Markov eigenvalues.

    ``P`` approximates the heat semigroup ``exp(t Delta)`` at ``t = epsilon**2 /
    4``, so ``-log(mu) / t`` estimates the Laplace-Beltrami eigenvalue without
    the ``t lambda**2 / 2`` bias of the linearised ``(1 - mu) / t``. Markov
    eigenvalues at or below 0 (widths far too large for that eigenvector) have
    no logarithm: they give ``inf``.
    """
    mu = np.asarray(mu, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.log(np.where(mu > 0, mu, 0.0)) * (4.0 / epsilon**2)
    return np.maximum(out, 0.0)


def _dense_distance_graph(D: np.ndarray) -> sp.csr_matrix:
    """A dense distance matrix as a CSR graph storing every entry (zeros too)."""
    n, m = D.shape
    indptr = np.arange(0, n * m + 1, m, dtype=np.int64)
    indices = np.tile(np.arange(m, dtype=np.int64), n)
    return sp.csr_matrix((D.ravel().astype(np.float64), indices, indptr), shape=(n, m))


def _as_distance_graph(X, what: str) -> sp.csr_matrix:
    """Validated precomputed distances as a CSR graph (dense: all pairs)."""
    graph = sp.csr_matrix(X, dtype=np.float64) if sp.issparse(X) else None
    if graph is None:
        graph = _dense_distance_graph(np.asarray(X, dtype=np.float64))
    else:
        graph.sort_indices()
    if graph.nnz and graph.data.min() < 0:
        raise ValueError(
            f"Negative values in data passed to {what}: metric='precomputed' "
            "expects non-negative distances."
        )
    return graph


def _unit_rows(X: np.ndarray, who: str) -> np.ndarray:
    """Rows scaled to unit norm (``metric="cosine"``), in their dtype."""
    norms = np.linalg.norm(X.astype(np.float64, copy=False), axis=1)
    if not norms.min() > 0:
        raise ValueError(
            f"{who}: metric='cosine' is undefined for a zero row "
            f"({int(np.sum(~(norms > 0)))} of {X.shape[0]})."
        )
    return (X / norms[:, None]).astype(X.dtype, copy=False)


def _looks_like_affinity(graph: sp.csr_matrix) -> bool:
    """A unit diagonal and no value above 1: a kernel matrix, not distances."""
    diag = graph.diagonal()
    return bool(diag.size and np.all(diag == 1.0) and graph.data.max() <= 1.0)


def _as_affinity(X, who: str) -> sp.csr_matrix:
    """Validated user kernel matrix (``affinity="precomputed"``) as CSR."""
    W = sp.csr_matrix(X, dtype=np.float64)
    if W.shape[0] != W.shape[1]:
        raise ValueError(
            f"{who}: with affinity='precomputed', X must be a square (n_samples, "
            f"n_samples) kernel matrix, got shape {W.shape}."
        )
    W.sum_duplicates()
    if W.nnz and (W.data.min() < 0 or not np.all(np.isfinite(W.data))):
        raise ValueError(
            f"{who}: affinity='precomputed' expects a non-negative finite kernel "
            "matrix."
        )
    asym = abs(W - W.T)
    if asym.nnz and asym.max() > 1e-10 * max(W.data.max(), 1e-300):
        warnings.warn(
            f"{who}: the precomputed affinity is not symmetric; using (W + W.T) / 2.",
            UserWarning,
            stacklevel=4,
        )
        W = ((W + W.T) * 0.5).tocsr()
    W.eliminate_zeros()
    W.sort_indices()
    return W


class DiffusionMapsGC(TransformerMixin, BaseEstimator):
    """Diffusion Maps with the kernel width chosen by geometric consistency.

    Builds the Gaussian affinity ``W_ij = exp(-d_ij**2 / epsilon**2)`` on the
    pairs within ``radius = radius_ratio * epsilon`` (self-loops kept), the
    ``alpha``-renormalised graph Laplacian ``L = (4/epsilon**2)(P - I)`` (for
    ``alpha=1`` an estimate of the Laplace-Beltrami operator independent of the
    sampling density), and returns its ``n_components`` lowest non-trivial
    eigenvectors. With ``epsilon="gc"`` the width minimises the geometric
    consistency distortion of Perrault-Joncas & Meila: the Laplacian must
    reproduce, through the dual metric, the identity metric of local PCA
    coordinates (see :ref:`conv-gc`).

    Parameters
    ----------
    n_components : int, default=20
        Number of non-trivial eigenvectors (the paper uses 20). More than the
        ``n_samples - 2`` that a graph on the training rows has are clipped,
        with a warning (``n_components_`` is the number used).
    epsilon : "gc", "knn" or float, default="gc"
        Kernel width, or ``"gc"`` to select it by geometric consistency over
        ``gc_radii`` (the paper's choice: it makes the dual metric consistent,
        for IES and Riemannian relaxation), or ``"knn"``, the spectral k-NN
        rule: the median distance (over 1,000 random rows) to the ``k``-th
        nearest neighbour, ``k = round(0.068 n**(4/(d+4)))`` (the neighbour
        count of the eigenvalue-optimal width, bias ``epsilon**2`` against
        fluctuations ``(n epsilon**d)**-1/2``; factor calibrated on the unit
        sphere and flat torus), ``d`` the largest ``intrinsic_dim`` or, if
        None, a k-NN maximum-likelihood estimate from the same pass. It costs
        one k-NN pass of 1,000 rows and is the width to use for spectra and
        diffusion coordinates (20,000 rows: ratio error 0.0053 sphere, 0.0046
        torus, against GC's 0.0131 / 0.0073; see :ref:`conv-knn`). A width at
        or above the data's diameter (every kernel weight >= 1/e: no geometry
        left) is a ValueError.
    radius_ratio : float, default=3.0
        Cutoff radius over ``epsilon`` (weight ``exp(-9)`` at the cutoff).
    alpha : float, default=1.0
        Density renormalisation exponent: 1 removes the sampling density
        (Laplace-Beltrami), 0 gives the random-walk Laplacian.
    diffusion_time : float, default=0
        Scale eigenvector ``k`` by ``mu_k**t``, ``mu_k = 1 - epsilon**2
        lambda_k / 4`` the Markov eigenvalue. 0 returns the raw eigenvectors (as
        the paper does).
    intrinsic_dim : int, list of int or None, default=None
        Dimension(s) ``d`` used by the consistency search (and by
        :meth:`score`). With several, the search minimises the mean distortion
        over them. ``None``: the global doubling dimension of ``X`` when
        ``sksbi_manifold.dimension.DoublingDimension`` is available, else 2;
        clipped to ``n_features``.
    gc_radii : array-like of float or None, default=None
        Candidate radii for ``epsilon="gc"``. ``None``: 20 radii log-spaced
        from the median 5-NN to the median 200-NN distance, extended upwards
        by 5 steps of twice its log-step while the minimum sits at the upper
        end (at most 3 times); a minimum at an end of the final grid raises a
        ``BoundaryWarning``. With
        ``metric="precomputed"`` the default grid ends at half the graph's
        extent, because the local PCA of a point needs the distances between
        its neighbours.
    gc_sample_size : int, default=200
        Random points at which the distortion is evaluated.
    gc_selection : {"argmin", "argmin_plus"}, default="argmin"
        ``"argmin_plus"`` takes the largest grid radius above the minimiser
        whose distortion (and that of every radius in between) stays within
        ``gc_tol`` of the minimum (the paper's "slightly above").
    gc_tol : float, default=0.05
        Relative tolerance of ``"argmin_plus"``.
    eigen_solver : {"auto", "dense", "arpack", "lobpcg"}, default="auto"
        Solver of the symmetric eigenproblem; "auto" follows the geometry
        layer's rule (dense ``eigh`` for ``n <= 500``, else ARPACK, which falls
        back to LOBPCG if it does not converge). ARPACK is usually the fastest
        choice from a few hundred points on.
    eigen_tol : "auto" or float, default="auto"
        Solver tolerance ("auto": ARPACK machine precision below 5,000 rows;
        from 5,000 rows a float32 ARPACK run at 1e-6 refined by one float64
        Rayleigh-Ritz step, eigenvalues to ~1e-12 and residuals ~1e-6, with a
        float64 fallback; LOBPCG 1e-8).
    metric : {"euclidean", "cosine", "precomputed"}, default="euclidean"
        With "precomputed", ``X`` is a distance graph: a sparse matrix of
        shape (n, n) storing the distances of (at least) every pair within
        ``radius`` -- e.g. ``radius_neighbors_graph(X, r, mode="distance")``
        or ``KNeighborsTransformer(mode="distance")`` output -- or a dense
        distance matrix. Pairs stored in one direction only are used in both;
        pairs not stored are treated as far apart. ``transform`` then takes
        the graph of new rows against the training rows (shape (m, n)). A
        matrix with a unit diagonal and no entry above 1 (an affinity) is
        refused: pass it with ``affinity="precomputed"``. With "cosine" the
        rows are scaled to unit norm and the Euclidean machinery runs on them
        (cosine distance = half the squared chordal distance): the limit is the
        Laplace-Beltrami operator of the data's projection on the unit sphere,
        and ``epsilon`` is in chordal units (see :ref:`conv-adaptive`).
    kernel : {"fixed", "adaptive"}, default="fixed"
        "fixed": the paper's kernel of one width ``epsilon``. "adaptive": the
        variable-bandwidth kernel of Berry & Harlim (2016),
        ``W_ij = exp(-d_ij**2 / (epsilon**2 rho_i rho_j))`` cut at ``d_ij <=
        radius_ratio * epsilon * sqrt(rho_i rho_j)``, with ``rho`` the rms
        distance to the ``n_neighbors`` nearest rows over its median, the
        density renormalisation of exponent ``alpha - (d + 2) / (2 d)`` (``d =
        intrinsic_dim_``; written to cancel the degrees' sampling noise) and the
        generator
        ``L = (4/epsilon**2) diag(rho)**-2 (P - I)``: the same limit operator as
        the fixed kernel with that ``alpha`` (Laplace-Beltrami for 1), with
        wider kernels where the data are sparse. ``epsilon="gc"`` runs the
        consistency search over this kernel. Needs feature vectors (not
        ``metric="precomputed"``); ``score`` is not available. See
        :ref:`conv-adaptive`.
    n_neighbors : int, default=32
        ``k`` of the adaptive bandwidths ``rho`` (``kernel="adaptive"`` only).
    affinity : {"gaussian", "precomputed"}, default="gaussian"
        "precomputed": ``X`` is a symmetric non-negative kernel matrix ``W``
        (sparse or dense, as scikit-learn's ``SpectralEmbedding``), used as the
        affinity; give it its self-loops. A number ``epsilon`` is taken as the
        width it was built with (it scales ``L``); ``epsilon="gc"`` gives
        ``L = P - I`` (``epsilon_ = 2``). ``transform`` and ``score`` are not
        available (no kernel to new rows).
    n_jobs : int, default=None
        Parallel distance blocks and local PCA chunks; results do not depend
        on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the consistency sample, the default radius grid and the
        iterative eigensolvers.
    device : str, default=None
        Torch device (e.g. "cuda") for the distance computations.
    store_graph : bool, default=True
        Keep ``affinity_`` and ``laplacian_`` after fit (about 12 bytes per
        stored pair each: ``n_samples`` times the mean neighbour count).
        ``False`` keeps only what ``transform`` and ``score`` need, and
        pickles that much smaller (see Notes); :func:`riemannian_metric`,
        ``IESSelector`` and ``RiemannianRelaxation`` need the Laplacian.
    verbose : int, default=0
        Print timings of the stages when positive.

    Attributes
    ----------
    n_components_ : int
        Number of eigenvectors computed: ``n_components``, clipped (with a
        warning) to the ``n_samples - 2`` non-trivial eigenvectors that the
        graph of the training rows allows.
    embedding_ : ndarray of shape (n_samples, n_components_)
        Diffusion coordinates of the training rows (unit-norm eigenvectors
        ``phi_1..phi_m`` scaled by ``mu**diffusion_time``), dtype of ``X``.
    eigenvalues_ : ndarray of shape (n_components_,)
        Positive eigenvalues ``lambda_1 <= ... <= lambda_m`` of ``-L``; the
        trivial ``lambda_0 = 0`` is dropped. They approximate the spectrum of
        ``-Delta_M`` (Appendix Figure 3: one zero eigenvalue and a slowly
        increasing spectrum mean a connected, smooth manifold). Exact
        eigenvalues of ``laplacian_`` (``function_smoothness`` reads them back),
        but as estimates of ``-Delta_M`` biased low by about
        ``epsilon**2 lambda**2 / 8`` (the linearised semigroup, see
        :ref:`conv-eigen`); use ``spectrum_`` for the spectrum itself.
    spectrum_ : ndarray of shape (n_components_,)
        Laplace-Beltrami spectrum estimate ``-(4/epsilon**2) log mu_k`` (``mu_k``
        the Markov eigenvalues): ``P`` approximates the heat semigroup
        ``exp(t Delta_M)`` at ``t = epsilon**2 / 4``, so the logarithm removes
        the leading bias of ``eigenvalues_`` (at the geometric-consistency
        widths of clean manifolds it halves the error of the ratios
        ``lambda_k / lambda_1``). Same eigenvectors; ascending.
    epsilon_ : float
        Kernel width used.
    radius_ : float
        Cutoff ``radius_ratio * epsilon_``.
    affinity_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples) or None
        Affinity ``W`` (with self-loops); None with ``store_graph=False``.
    laplacian_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples) or None
        Scaled Laplacian ``L = (4/epsilon**2)(P - I)`` (reference sign, spectrum
        <= 0), as needed by :func:`riemannian_metric`; None with
        ``store_graph=False``.
    laplacian_weights_ : ndarray of shape (n_samples,)
        Degrees ``q~`` of the renormalised affinity.
    degrees_ : ndarray of shape (n_samples,)
        Degrees ``q`` of ``W`` (used by the Nystrom extension).
    intrinsic_dim_ : ndarray of int or None
        Dimension(s) used by the consistency search (or the k-NN rule) and
        :meth:`score`; None when ``epsilon`` is a number and
        ``intrinsic_dim=None`` (``score`` then estimates it from the training
        data).
    gc_radii_ : ndarray of shape (n_radii,) or None
        Radii searched (None unless ``epsilon="gc"``).
    knn_neighbors_ : int or None
        ``k`` of the k-NN width rule (``epsilon="knn"``), else None.
    gc_loss_ : ndarray of shape (n_radii,) or None
        Distortion curve (mean over ``intrinsic_dim_``) that was minimised.
    gc_distortions_ : ndarray of shape (n_dims, n_radii) or None
        Distortion per dimension (not comparable across dimensions).
    bandwidths_ : ndarray of shape (n_samples,) or None
        Adaptive bandwidth factors ``rho`` (median 1); None for the fixed
        kernel.
    n_connected_components_ : int
        Connected components of the affinity graph (1 expected).
    n_features_in_ : int
        Number of features (training rows for ``metric="precomputed"``).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when ``X`` has string column names.

    See Also
    --------
    riemannian_metric : Dual metric of an embedding from ``laplacian_``.
    sklearn.manifold.SpectralEmbedding : Laplacian eigenmaps without bandwidth
        selection or out-of-sample extension.

    Notes
    -----
    ``transform`` is the Nystrom extension with the training degrees
    (see :ref:`conv-eigen`): ``phi_k(x) = (1/mu_k) sum_j p_j phi_k(x_j)`` with
    ``p_j`` proportional to ``K(x, x_j) / q_j**alpha``; on the training rows
    it reproduces ``embedding_``. A row with no training point within
    ``radius_`` gets the coordinates of its nearest training row and an
    :class:`OutOfSampleWarning` says how many rows did.

    What a fitted estimator holds, for ``n`` rows of ``p`` features with a
    mean of ``k`` neighbours within ``radius_`` and ``m = n_components_``
    (float64 bytes; measured: 5,000 cryo-EM latents in R^256, ``k`` = 490,
    pickle 65 MB, 6 MB with ``store_graph=False``):

    ============================  ==================  ==================
    attribute                     bytes               needed by
    ============================  ==================  ==================
    ``affinity_``                 ``12 n k``          users (optional)
    ``laplacian_``                ``12 n k``          IES, relaxation,
                                                      metric (optional)
    training rows                 ``n p`` x itemsize  ``transform``,
                                                      ``score``
    Nystrom weights               ``8 n (m + 1)``     ``transform``
    ``embedding_``                ``8 n m``           users
    ``degrees_``,                 ``8 n`` each        ``score``, users
    ``laplacian_weights_``
    ============================  ==================  ==================

    A graph with several connected components raises a
    :class:`DisconnectedGraphWarning`: each component adds a zero eigenvalue
    and coordinates that only separate the components. Increase ``epsilon``,
    or drop isolated points first (the outlier and degree filters of
    ``DensityFlatteningSampler``).

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.embedding import DiffusionMapsGC
    >>> rng = np.random.RandomState(0)
    >>> t = rng.uniform(0, 2 * np.pi, 400)
    >>> X = np.c_[np.cos(t), np.sin(t), 0.01 * rng.randn(400)]
    >>> dm = DiffusionMapsGC(n_components=4, epsilon=0.15, random_state=0)
    >>> Y = dm.fit_transform(X)
    >>> Y.shape
    (400, 4)
    >>> np.round(dm.eigenvalues_ / dm.eigenvalues_[0])  # circle: 1, 1, 4, 4
    array([1., 1., 4., 4.])
    >>> dm.n_connected_components_
    1

    The variable-bandwidth kernel on a non-uniformly sampled circle (density
    ratio 7.4) keeps the Laplace-Beltrami spectrum (the fixed kernel at this
    width reads 1, 1.4, 4.2, 6.3):

    >>> t = rng.vonmises(0.0, 1.0, 600)
    >>> Xv = np.c_[np.cos(t), np.sin(t)]
    >>> dm = DiffusionMapsGC(4, epsilon=0.1, kernel="adaptive", intrinsic_dim=1)
    >>> np.round(dm.fit(Xv).eigenvalues_ / dm.eigenvalues_[0])
    array([1., 1., 4., 4.])

    A precomputed kernel matrix, and the cosine metric:

    >>> from sksbi_manifold._geometry.kernels import radius_affinity
    >>> W = radius_affinity(X, 0.15)
    >>> dm = DiffusionMapsGC(4, epsilon=0.15, affinity="precomputed").fit(W)
    >>> np.round(dm.eigenvalues_ / dm.eigenvalues_[0])
    array([1., 1., 4., 4.])
    >>> dm = DiffusionMapsGC(4, epsilon=0.15, metric="cosine").fit(3.0 * X[:, :2])
    >>> np.round(dm.eigenvalues_ / dm.eigenvalues_[0])
    array([1., 1., 4., 4.])
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "epsilon": [
            StrOptions({"gc", "knn"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "radius_ratio": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, 1, closed="both")],
        "diffusion_time": [Interval(Real, 0, None, closed="left")],
        "intrinsic_dim": [
            Interval(Integral, 1, None, closed="left"),
            "array-like",
            None,
        ],
        "gc_radii": ["array-like", None],
        "gc_sample_size": [Interval(Integral, 1, None, closed="left")],
        "gc_selection": [StrOptions({"argmin", "argmin_plus"})],
        "gc_tol": [Interval(Real, 0, None, closed="left")],
        "eigen_solver": [StrOptions({"auto", "dense", "arpack", "lobpcg"})],
        "eigen_tol": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "metric": [StrOptions({"euclidean", "cosine", "precomputed"})],
        "kernel": [StrOptions({"fixed", "adaptive"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "affinity": [StrOptions({"gaussian", "precomputed"})],
        "n_jobs": N_JOBS_CONSTRAINT,
        "random_state": ["random_state"],
        "device": [str, None],
        "store_graph": ["boolean"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=20,
        *,
        epsilon="gc",
        radius_ratio=3.0,
        alpha=1.0,
        diffusion_time=0,
        intrinsic_dim=None,
        gc_radii=None,
        gc_sample_size=200,
        gc_selection="argmin",
        gc_tol=0.05,
        eigen_solver="auto",
        eigen_tol="auto",
        metric="euclidean",
        kernel="fixed",
        n_neighbors=32,
        affinity="gaussian",
        n_jobs=None,
        random_state=None,
        device=None,
        store_graph=True,
        verbose=0,
    ):
        self.n_components = n_components
        self.epsilon = epsilon
        self.radius_ratio = radius_ratio
        self.alpha = alpha
        self.diffusion_time = diffusion_time
        self.intrinsic_dim = intrinsic_dim
        self.gc_radii = gc_radii
        self.gc_sample_size = gc_sample_size
        self.gc_selection = gc_selection
        self.gc_tol = gc_tol
        self.eigen_solver = eigen_solver
        self.eigen_tol = eigen_tol
        self.metric = metric
        self.kernel = kernel
        self.n_neighbors = n_neighbors
        self.affinity = affinity
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.device = device
        self.store_graph = store_graph
        self.verbose = verbose

    # ------------------------------------------------------------------ #
    # helpers
    # ------------------------------------------------------------------ #
    @property
    def _precomputed(self) -> bool:
        return self.metric == "precomputed"

    def _log(self, msg: str) -> None:
        if self.verbose:
            print(f"[DiffusionMapsGC] {msg}")

    def _validate(self, X, reset: bool):
        pairwise = self._precomputed or self._affinity_given
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse=["csr", "csc", "coo"] if pairwise else False,
            dtype=[np.float64, np.float32],
            ensure_min_samples=3 if reset else 1,
        )
        if self._affinity_given:
            return X, X.dtype
        if not self._precomputed:
            if self.metric == "cosine":
                return _unit_rows(X, type(self).__name__), X.dtype
            return X, X.dtype
        if reset and X.shape[0] != X.shape[1]:
            raise ValueError(
                "With metric='precomputed', X must be a square (n_samples, "
                f"n_samples) distance graph, got shape {X.shape}."
            )
        graph = _as_distance_graph(X, type(self).__name__)
        if reset and _looks_like_affinity(graph):
            raise ValueError(
                f"{type(self).__name__}: X has a unit diagonal and no entry above "
                "1, so it looks like an affinity (kernel) matrix, but "
                "metric='precomputed' reads X as distances. Pass "
                "affinity='precomputed' for a kernel matrix."
            )
        return graph, X.dtype

    def _resolve_n_components(self, n_samples: int) -> int:
        """``n_components`` clipped to the graph's ``n_samples - 2`` eigenvectors."""
        return clip_n_components(
            self,
            n_samples - 2,
            f"non-trivial eigenvectors of a graph on n_samples={n_samples} rows",
        )

    def _resolve_intrinsic_dim(self, X) -> np.ndarray:
        n_features = None if self._precomputed else X.shape[1]
        if self.intrinsic_dim is not None:
            return resolve_dims(self.intrinsic_dim, n_features)
        if self._precomputed:
            d = _DEFAULT_INTRINSIC_DIM
        else:
            d = _default_intrinsic_dim(X, self.n_jobs, self.random_state)
        if n_features is not None:
            d = min(d, n_features)
        return resolve_dims(d)

    # ------------------------------------------------------------------ #
    # fit
    # ------------------------------------------------------------------ #
    @_fit_context(prefer_skip_nested_validation=True)
    @verbose_progress
    def fit(self, X, y=None):
        """Compute the diffusion-maps embedding of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,
            n_samples) distance graph if ``metric="precomputed"`` or affinity
            matrix if ``affinity="precomputed"``
            Training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : DiffusionMapsGC
            Fitted estimator.
        """
        check_device(self.device)
        self._check_combination()
        dense_input = not sp.issparse(X)
        X, dtype = self._validate(X, reset=True)
        n_components = self._resolve_n_components(X.shape[0])
        rng = check_random_state(self.random_state)
        self.knn_neighbors_ = None
        if self._affinity_given:
            W, epsilon, radius, dims = self._user_affinity(X)
            graph_full = rho = None
        else:
            W, epsilon, radius, dims, graph_full, rho = self._kernel_affinity(
                X, dense_input, rng
            )
        n_cc = self._check_connected(W, epsilon, radius)
        lap = self._laplacian(W, epsilon, rho, dims)
        self.bandwidths_ = rho
        d = None if rho is None else self._adaptive_dim(dims)
        self._solve(
            lap,
            W,
            n_components,
            rng,
            dtype,
            density_weights(lap.degrees, self.alpha, rho, d),
        )
        self.epsilon_, self.radius_, self.intrinsic_dim_ = epsilon, radius, dims
        self.n_connected_components_ = n_cc
        # Nystrom needs the training rows (or, precomputed, the training graph
        # for the neighbour distances of ``score``).
        self._fit_X = None if (self._precomputed or self._affinity_given) else X
        self._fit_graph = graph_full if self._precomputed else None
        return self

    def _laplacian(self, W, epsilon, rho, dims):
        """The alpha-renormalised Laplacian of the fixed or adaptive kernel."""
        tic = time.perf_counter()
        if rho is None:
            lap = renormalized_laplacian(W, epsilon, self.alpha)
        else:
            lap = variable_bandwidth_laplacian(
                W, epsilon, self.alpha, rho, self._adaptive_dim(dims)
            )
        self._log(
            f"affinity and Laplacian: nnz/row={W.nnz / W.shape[0]:.1f} "
            f"({time.perf_counter() - tic:.2f} s)"
        )
        return lap

    @property
    def _affinity_given(self) -> bool:
        return self.affinity == "precomputed"

    @property
    def _adaptive(self) -> bool:
        return self.kernel == "adaptive" and not self._affinity_given

    def _adaptive_dim(self, dims) -> float:
        """The ``d`` of the adaptive density exponent (largest of several)."""
        return float(np.max(dims))

    def _check_combination(self) -> None:
        who = type(self).__name__
        if self._affinity_given and self.metric == "precomputed":
            raise ValueError(
                f"{who}: affinity='precomputed' (X is a kernel matrix) and "
                "metric='precomputed' (X is a distance matrix) exclude each "
                "other; pass one of them."
            )
        if self.kernel == "adaptive" and self._precomputed:
            raise ValueError(
                f"{who}: kernel='adaptive' needs feature vectors (its k-NN "
                "bandwidths and local PCA), not metric='precomputed'."
            )

    def _user_affinity(self, X):
        """``affinity="precomputed"``: the user's kernel matrix as ``W``."""
        W = _as_affinity(X, type(self).__name__)
        epsilon = 2.0 if isinstance(self.epsilon, str) else float(self.epsilon)
        dims = None if self.intrinsic_dim is None else resolve_dims(self.intrinsic_dim)
        self.gc_radii_ = self.gc_loss_ = self.gc_distortions_ = None
        return W, epsilon, np.inf, dims

    def _kernel_affinity(self, X, dense_input, rng):
        """Width (searched or given), cutoff graph and Gaussian affinity."""
        who = type(self).__name__
        if self._precomputed:
            data = graph_full = symmetric_distance_graph(X)
        else:
            check_not_constant(X, who)
            check_kernel_scale(X, who)
            data, graph_full = X, None
        searching = self.epsilon == "gc"
        knn_rule = self.epsilon == "knn"
        # With a fixed width the dimension is only needed by ``score`` (and the
        # adaptive exponent): an estimate is otherwise deferred to ``score``.
        # The k-NN rule estimates its own from its k-NN pass when none is given.
        need_dims = searching or self.intrinsic_dim is not None or self._adaptive
        dims = None
        if knn_rule:
            epsilon, dims = self._knn_epsilon(data, rng)
            graph = None
            self.gc_radii_ = self.gc_loss_ = self.gc_distortions_ = None
        elif need_dims:
            dims = self._resolve_intrinsic_dim(X)
        rho = self._fit_bandwidths(X) if self._adaptive else None
        if searching:
            epsilon, graph = self._search_epsilon(data, dims, rho, rng)
        elif knn_rule:
            pass
        else:
            epsilon, graph = float(self.epsilon), None
            if not self._precomputed:
                check_kernel_width_below_spread(X, epsilon, who)
            self.gc_radii_ = self.gc_loss_ = self.gc_distortions_ = None
        radius = self.radius_ratio * epsilon
        if self._precomputed and not dense_input:
            self._check_extent(graph_full, epsilon, radius)
        graph = self._cutoff_graph(data, graph, radius, rho)
        return (
            gaussian_affinity(graph, epsilon, radius=radius),
            epsilon,
            radius,
            dims,
            graph_full,
            rho,
        )

    def _fit_bandwidths(self, X) -> np.ndarray:
        """Adaptive ``rho``: rms k-NN distance over its median (see
        :ref:`conv-adaptive`)."""
        k = int(self.n_neighbors)
        if k > X.shape[0] - 1:
            raise ValueError(f"n_neighbors={k} must be below n_samples={X.shape[0]}.")
        rho0 = knn_bandwidths(X, k, n_jobs=self.n_jobs, device=self.device)
        if not rho0.min() > 0:
            raise ValueError(
                f"{type(self).__name__}: some rows have {k} duplicates, so their "
                "k-NN bandwidth is 0; increase n_neighbors or drop duplicates."
            )
        self._rho_unit = float(np.median(rho0))
        return rho0 / self._rho_unit

    def _knn_epsilon(self, data, rng):
        """``epsilon="knn"``: the spectral k-NN width rule (see :ref:`conv-knn`)."""
        tic = time.perf_counter()
        n_features = None if self._precomputed else data.shape[1]
        dims = None
        if self.intrinsic_dim is not None:
            dims = resolve_dims(self.intrinsic_dim, n_features)
        rule = knn_rule_epsilon(
            data,
            None if dims is None else float(np.max(dims)),
            random_state=rng,
            n_jobs=self.n_jobs,
            device=self.device,
        )
        if dims is None:
            d = int(rule.dim)
            dims = resolve_dims(d if n_features is None else min(d, n_features))
        self.knn_neighbors_ = rule.n_neighbors
        self._log(
            f"k-NN width rule: median distance to neighbour {rule.n_neighbors} "
            f"(d={rule.dim:g}): epsilon={rule.epsilon:.4g} "
            f"({time.perf_counter() - tic:.2f} s)"
        )
        return rule.epsilon, dims

    def _search_epsilon(self, data, dims, rho, rng):
        """``epsilon="gc"``: geometric consistency over the kernel in use."""
        tic = time.perf_counter()
        kw = dict(
            sample_size=self.gc_sample_size,
            radius_ratio=self.radius_ratio,
            alpha=self.alpha,
            selection=self.gc_selection,
            tol=self.gc_tol,
            random_state=rng,
            n_jobs=self.n_jobs,
            device=self.device,
            return_graph=True,
        )
        if rho is None:
            metric = "precomputed" if self._precomputed else "euclidean"
            gc, graph = geometric_consistency(
                data, self.gc_radii, dims, metric=metric, **kw
            )
        else:
            gc, graph = adaptive_consistency(
                data, rho, self._adaptive_dim(dims), self.gc_radii, dims, **kw
            )
        self.gc_radii_ = gc.radii
        self.gc_loss_ = gc.loss
        self.gc_distortions_ = gc.distortions
        self._log(
            f"geometric consistency over {gc.radii.size} radii: "
            f"epsilon={gc.epsilon:.4g} ({time.perf_counter() - tic:.2f} s)"
        )
        return gc.epsilon, graph

    def _cutoff_graph(self, data, graph, radius, rho):
        """The (scaled) distance graph within the cutoff."""
        if graph is not None or self._precomputed:
            return threshold_graph(data if graph is None else graph, radius)
        if rho is not None:
            return scaled_radius_graph(
                data, rho, radius, n_jobs=self.n_jobs, device=self.device
            )
        return distances.radius_graph(
            data, radius, n_jobs=self.n_jobs, device=self.device
        )

    def _check_connected(self, W, epsilon, radius) -> int:
        n_cc = connected_components_count(W)
        if n_cc > 1:
            warnings.warn(
                f"{type(self).__name__}: the kernel graph at epsilon={epsilon:.4g} "
                f"(radius={radius:.4g}) has {n_cc} connected components, so the "
                f"spectrum has {n_cc} zero eigenvalues and some coordinates only "
                "separate the components. Use a larger epsilon (or larger "
                "gc_radii), or remove isolated points first "
                "(DensityFlatteningSampler's outlier and degree filters).",
                DisconnectedGraphWarning,
                stacklevel=4,
            )
        return n_cc

    def _solve(self, lap, W, n_components, rng, dtype, weights) -> None:
        """Eigenpairs, coordinates and what the Nystrom extension needs."""
        tic = time.perf_counter()
        eigenvalues, phi = laplacian_eigenpairs(
            lap,
            n_components,
            eigen_solver=self.eigen_solver,
            tol=None if self.eigen_tol == "auto" else float(self.eigen_tol),
            random_state=rng,
            n_jobs=self.n_jobs,
        )
        self._log(f"eigenpairs: {time.perf_counter() - tic:.2f} s")
        # Markov eigenvalues of P (the lazy chain's for the adaptive kernel).
        mu = 1.0 - lap.epsilon**2 * eigenvalues[1:] / 4.0
        scale = _time_scale(mu, self.diffusion_time)
        self.n_components_ = n_components
        self.affinity_ = W if self.store_graph else None
        self.laplacian_ = lap.matrix if self.store_graph else None
        self.laplacian_weights_ = lap.weights
        self.degrees_ = lap.degrees
        self.eigenvalues_ = eigenvalues[1:]
        self.spectrum_ = semigroup_spectrum(mu, lap.epsilon)
        self.embedding_ = (phi[:, 1:] * scale).astype(dtype, copy=False)
        # Nystrom: phi_k(x) = (1/mu_k) sum_j p_j phi_k(x_j), p_j ~ k_j w_j with
        # w = density_weights (q_j^-alpha for the fixed kernel).
        self._nystrom_targets = np.column_stack(
            (weights, phi[:, 1:] * weights[:, None])
        )
        self._nystrom_time_scale = scale
        mu_safe = np.where(np.abs(mu) < _MU_FLOOR, np.copysign(_MU_FLOOR, mu), mu)
        self._nystrom_scale = scale / mu_safe

    def _check_extent(self, graph, epsilon, radius) -> None:
        """Warn when a sparse precomputed graph cannot hold the kernel support."""
        rows = entry_rows(graph)
        off = graph.data[graph.indices != rows]
        extent = float(off.max()) if off.size else 0.0
        if extent < 2.0 * epsilon:
            warnings.warn(
                f"{type(self).__name__}: the precomputed graph stores distances "
                f"only up to {extent:.4g} < 2*epsilon = {2 * epsilon:.4g}, so the "
                f"kernel (cutoff radius {radius:.4g}) is truncated. Build the "
                "graph with a radius of at least radius_ratio*epsilon.",
                UserWarning,
                stacklevel=4,
            )

    @property
    def kernel_(self) -> FittedKernel:
        """The fitted kernel (width, cutoff, alpha, Laplacian) as one object."""
        check_is_fitted(self)
        kind = "precomputed" if self._affinity_given else self.kernel
        return FittedKernel(
            epsilon=float(self.epsilon_),
            radius_ratio=float(self.radius_) / float(self.epsilon_),
            alpha=float(self.alpha),
            laplacian=self.laplacian_,
            weights=self.laplacian_weights_,
            precomputed=self.metric == "precomputed" or self._affinity_given,
            kernel=kind,
        )

    def fit_transform(self, X, y=None):
        """Fit and return the embedding of the training rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples,
            n_samples) distance graph
            Training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components_)
            ``embedding_``.
        """
        return self.fit(X, y).embedding_.copy()

    # ------------------------------------------------------------------ #
    # out of sample
    # ------------------------------------------------------------------ #
    def transform(self, X):
        """Nystrom extension of the embedding to new rows.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), or (n_queries,
            n_samples_fit) distance graph against the training rows if
            ``metric="precomputed"``
            New rows.

        Returns
        -------
        Y : ndarray of shape (n_queries, n_components_)
            Diffusion coordinates; on the training rows they equal
            ``embedding_``. Rows with no training point within ``radius_``
            get the coordinates of their nearest training row (with an
            :class:`OutOfSampleWarning`).
        """
        check_is_fitted(self)
        self._check_out_of_sample("transform")
        X, dtype = self._validate(X, reset=False)
        sums, scale = self._nystrom_sums(X)
        norm = sums[:, 0]
        empty = ~(norm > 0)
        out = np.empty((X.shape[0], self.n_components_))
        ok = ~empty
        scale = np.broadcast_to(scale, (X.shape[0], self.n_components_))
        out[ok] = sums[ok, 1:] / norm[ok, None] * scale[ok]
        if empty.any():
            out[empty] = self.embedding_[self._nearest_training_rows(X, empty)]
            warnings.warn(
                f"{type(self).__name__}.transform: {int(empty.sum())} of "
                f"{X.shape[0]} rows have no training point within radius_="
                f"{self.radius_:.4g}; they get the coordinates of their nearest "
                "training row. Such rows lie off the training manifold.",
                OutOfSampleWarning,
                stacklevel=2,
            )
        return out.astype(dtype, copy=False)

    def _nystrom_sums(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Kernel sums ``(sum_j K_xj w_j, sum_j K_xj w_j phi_j)`` of new rows
        against the training rows, and the factor that turns their ratio into
        diffusion coordinates (per row for the adaptive kernel)."""
        if self._adaptive:
            K, rho_x = self._adaptive_kernel_rows(X)
            # (P phi)(x) = (1 - epsilon^2 rho_x^2 lambda / 4) phi(x).
            mu_x = 1.0 - np.outer(rho_x**2, self.eigenvalues_) * self.epsilon_**2 / 4
            mu_x = np.where(
                np.abs(mu_x) < _MU_FLOOR, np.copysign(_MU_FLOOR, mu_x), mu_x
            )
            scale = self._nystrom_time_scale / mu_x
            return np.asarray(K @ self._nystrom_targets), scale
        if self._precomputed:
            K = gaussian_affinity(X, self.epsilon_, radius=self.radius_)
            return np.asarray(K @ self._nystrom_targets), self._nystrom_scale
        _, sums = distances.kernel_sums(
            X,
            self._fit_X,
            self._nystrom_targets,
            self.epsilon_,
            radius_ratio=self.radius_ratio,
            n_jobs=self.n_jobs,
            device=self.device,
        )
        return sums[:, 0, :], self._nystrom_scale

    def _check_out_of_sample(self, what: str) -> None:
        if self._affinity_given:
            raise ValueError(
                f"{type(self).__name__}.{what} is not available with "
                "affinity='precomputed': a kernel matrix of the training rows "
                "gives no kernel to new rows. Fit on the feature vectors (or a "
                "distance graph, metric='precomputed') to embed new rows."
            )

    def _adaptive_kernel_rows(self, X):
        """Kernel rows of new points against the training rows, and their
        bandwidths (``kernel="adaptive"``)."""
        rho_x = self._query_bandwidths(X)
        graph = scaled_radius_graph(
            X,
            rho_x,
            self.radius_,
            self._fit_X,
            self.bandwidths_,
            n_jobs=self.n_jobs,
            device=self.device,
        )
        return gaussian_affinity(graph, self.epsilon_, radius=self.radius_), rho_x

    def _query_bandwidths(self, X) -> np.ndarray:
        """Bandwidths ``rho`` of new points, in the fitted bandwidths' units."""
        rho_x = knn_bandwidths(
            X,
            int(self.n_neighbors),
            self._fit_X,
            n_jobs=self.n_jobs,
            device=self.device,
        )
        return np.maximum(rho_x / self._rho_unit, np.finfo(np.float64).tiny)

    def _nearest_training_rows(self, X, mask) -> np.ndarray:
        if not self._precomputed:
            _, idx = distances.knn_distances(
                X[mask], 1, self._fit_X, return_indices=True, n_jobs=self.n_jobs
            )
            return idx[:, 0]
        sub = X[np.flatnonzero(mask)]
        counts = np.diff(sub.indptr)
        if (counts == 0).any():
            raise ValueError(
                f"{int((counts == 0).sum())} rows of the precomputed graph passed "
                "to transform store no distance to any training row; include "
                "at least their nearest training neighbours."
            )
        rows = np.repeat(np.arange(sub.shape[0]), counts)
        order = np.lexsort((sub.data, rows))
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        return sub.indices[order[first]]

    # ------------------------------------------------------------------ #
    # scoring
    # ------------------------------------------------------------------ #
    def score(self, X, y=None) -> float:
        """Minus the geometric-consistency distortion of the fitted Laplacian at X.

        At ``gc_sample_size`` random rows ``x`` of X, the fitted Laplacian is
        extended by its Nystrom row (``L_xj`` proportional to ``K(x, x_j) /
        q_j**alpha`` over the training rows within ``radius_``) and its dual
        metric of local PCA coordinates about ``x`` is compared with the
        identity, as in the consistency search (see :ref:`conv-gc`), for
        ``intrinsic_dim_``. With ``kernel="adaptive"`` the rows are those of
        the variable-bandwidth search (scaled distances, the new rows' own
        bandwidths, :ref:`conv-adaptive`). On the training rows this is the
        search's own distortion, so ``GridSearchCV`` over ``epsilon`` (which scores
        held-out rows against the training fold) looks for the same optimum
        as ``epsilon="gc"``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,
            n_samples_fit) distance graph to the training rows if
            ``metric="precomputed"``
            Evaluation rows. For a precomputed graph, the training graph
            passed to ``fit`` must store the distances between the training
            neighbours of each evaluation row (pairs within ``2 * radius_``).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        score : float
            ``-mean_d D`` in ``[-1, 0]`` for sensible widths (higher is
            better); -1 when no evaluated row has a training neighbour.
        """
        check_is_fitted(self)
        self._check_out_of_sample("score")
        X, _ = self._validate(X, reset=False)
        dims = self.intrinsic_dim_
        if dims is None:
            dims = self._resolve_intrinsic_dim(
                self._fit_graph if self._precomputed else self._fit_X
            )
        rng = check_random_state(self.random_state)
        bandwidths = None
        if self._adaptive:  # the sample's own bandwidths: draw it here
            X = X[
                np.sort(
                    rng.choice(
                        X.shape[0], min(self.gc_sample_size, X.shape[0]), replace=False
                    )
                )
            ]
            bandwidths = (
                self.bandwidths_,
                self._query_bandwidths(X),
                self._adaptive_dim(dims),
            )
        return -out_of_sample_distortion(
            X,
            self._fit_graph if self._precomputed else self._fit_X,
            self.degrees_,
            self.radius_,
            dims,
            sample_size=self.gc_sample_size,
            radius_ratio=self.radius_ratio,
            alpha=self.alpha,
            metric=self.metric,
            random_state=rng,
            n_jobs=self.n_jobs,
            device=self.device,
            bandwidths=bandwidths,
        )

    # ------------------------------------------------------------------ #
    # sklearn plumbing
    # ------------------------------------------------------------------ #
    def get_feature_names_out(self, input_features=None):
        """Output feature names ``dm0, dm1, ...``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked for consistency with the fitted input.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``["dm0", ..., "dm{n_components_-1}"]``.
        """
        check_is_fitted(self)
        _check_feature_names_in(self, input_features, generate_names=False)
        return np.asarray([f"dm{k}" for k in range(self.n_components_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.pairwise = self.metric == "precomputed"
        tags.input_tags.sparse = self.metric == "precomputed"
        tags.input_tags.positive_only = self.metric == "precomputed"
        return tags
