"""Renormalised (alpha) graph Laplacian of Coifman & Lafon.

See :ref:`conv-laplacian`.

Conventions (binding; see :ref:`conv-kernel` and :ref:`conv-laplacian`):

* ``W~ = W / (q^alpha q^alpha')`` with ``q`` the degrees of ``W``;
* ``q~`` = row sums of ``W~``; ``P = diag(q~)^-1 W~`` (row-stochastic);
* ``L = (4 / epsilon**2) (P - I)``: reference sign, spectrum <= 0, ``L 1 = 0``;
* ``S = diag(q~)^-1/2 W~ diag(q~)^-1/2``: symmetric, same spectrum ``mu`` as ``P``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from . import _sparse
from .kernels import entry_rows


@dataclass(frozen=True, eq=False)
class Laplacian:
    """A renormalised graph Laplacian and the by-products its users need.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix of shape (n, n)
        ``L = (4/epsilon**2) (P - I)`` (reference sign, spectrum <= 0).
    symmetric : scipy.sparse.csr_matrix of shape (n, n)
        ``S = diag(q~)^-1/2 W~ diag(q~)^-1/2`` for the symmetric eigenproblem.
    weights : ndarray of shape (n,)
        ``q~``, row sums of the alpha-normalised affinity ("laplacian weights").
    degrees : ndarray of shape (n,)
        ``q``, row sums of the affinity ``W`` (training degrees for Nystrom).
    epsilon : float
        Kernel bandwidth.
    alpha : float
        Density-normalisation exponent.
    """

    matrix: sp.csr_matrix
    symmetric: sp.csr_matrix
    weights: np.ndarray
    degrees: np.ndarray
    epsilon: float
    alpha: float

    @property
    def scale(self) -> float:
        """The Laplacian scaling ``c = 4 / epsilon**2``."""
        return 4.0 / self.epsilon**2

    @property
    def n_samples(self) -> int:
        """Number of graph vertices."""
        return self.matrix.shape[0]


def degrees(W) -> np.ndarray:
    """Row sums ``q_i = sum_j W_ij`` of an affinity, as a float64 vector."""
    return np.asarray(W.sum(axis=1), dtype=np.float64).ravel()


def graph_components(W) -> tuple[int, np.ndarray]:
    """Connected components ``(count, labels)`` of a symmetric sparse graph.

    The strong components of a symmetric graph are its components, and
    scipy finds them without the transpose it builds for ``directed=False``
    (0.23 s of 0.26 s on a 9M-nonzero affinity).
    """
    n_components, labels = connected_components(W, directed=True, connection="strong")
    return int(n_components), labels


def connected_components_count(W) -> int:
    """Number of connected components of the graph of a symmetric ``W``."""
    return graph_components(W)[0]


def _check_positive_degrees(q: np.ndarray, what: str) -> None:
    # With the self-loops of gaussian_affinity (W_ii = 1) every degree is >= 1, so
    # a zero degree means the affinity was built without them (e.g. a precomputed
    # graph whose zero diagonal was pruned). Dividing by it would produce NaN rows.
    bad = np.flatnonzero(~(q > 0))
    if bad.size:
        raise ValueError(
            f"{bad.size} row(s) of the affinity have {what} <= 0 (first: row "
            f"{bad[0]}), so the Laplacian is undefined there. Keep the self-loops "
            "(store the zero self distances, e.g. kernels.add_self_loops) or use a "
            "larger radius."
        )


def renormalized_laplacian(W, epsilon: float, alpha: float = 1.0) -> Laplacian:
    """Build the alpha-renormalised, ``4/epsilon**2``-scaled graph Laplacian.

    Parameters
    ----------
    W : sparse matrix of shape (n, n)
        Symmetric nonnegative affinity (e.g. from ``gaussian_affinity``) with
        self-loops. Symmetry is assumed, not checked: symmetrise approximate or
        k-NN graphs first.
    epsilon : float
        Bandwidth used to build ``W``; sets the scaling ``4/epsilon**2``.
    alpha : float, default=1.0
        0 gives the random-walk Laplacian, 1 the density-independent one.

    Returns
    -------
    laplacian : Laplacian
        ``matrix`` (L), ``symmetric`` (S), ``weights`` (q~), ``degrees`` (q),
        ``epsilon`` and ``alpha``. All CSR matrices share W's sparsity pattern.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive, got {epsilon!r}.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}.")
    W = sp.csr_matrix(W, dtype=np.float64)
    if not W.has_canonical_format:
        W = W.copy()
        W.sum_duplicates()
    n = W.shape[0]
    if W.shape[1] != n:
        raise ValueError(f"The affinity must be square, got shape {W.shape}.")
    q, q_tilde, S, L = _renormalise(W, float(alpha), 4.0 / epsilon**2)
    return Laplacian(
        matrix=L,
        symmetric=S,
        weights=q_tilde,
        degrees=q,
        epsilon=float(epsilon),
        alpha=float(alpha),
    )


def laplacian_rows(
    W_rows, weights_all: np.ndarray, rows: np.ndarray, epsilon: float
) -> sp.csr_matrix:
    """Rows ``rows`` of the renormalised Laplacian, from ``W[rows]`` alone.

    ``weights_all`` holds the density weights ``w`` of every vertex
    (:func:`density_weights` of the degrees, which
    :func:`~.kernels.gaussian_degrees` gives without building ``W``):
    ``L_ij = c (W~_ij / q~_i - delta_ij)`` with ``W~_ij = W_ij w_i w_j``. For
    the fixed kernel (``w = deg**-alpha``) these are the rows of
    ``renormalized_laplacian(W, epsilon, alpha).matrix``; with the adaptive
    kernel's weights they are the rows of ``P - I`` before the ``rho**-2``
    rates. A geometric-consistency search over many radii evaluates a few
    hundred rows per radius, so it need not build the whole Laplacian at each.
    """
    W_rows = sp.csr_matrix(W_rows, dtype=np.float64)
    w = np.asarray(weights_all, dtype=np.float64)
    _check_positive_degrees(np.where(np.isfinite(w), w, 0.0), "density weight")
    local = entry_rows(W_rows)
    w_tilde = W_rows.data * (w[rows][local] * w[W_rows.indices])
    q_tilde = np.bincount(local, weights=w_tilde, minlength=W_rows.shape[0])
    _check_positive_degrees(q_tilde, "normalised degree")
    diag = W_rows.indices == np.asarray(rows)[local]
    data = (4.0 / epsilon**2) * (w_tilde / q_tilde[local] - diag)
    return sp.csr_matrix(
        (data, W_rows.indices.copy(), W_rows.indptr.copy()), shape=W_rows.shape
    )


def adaptive_exponent(alpha: float, dim: float) -> float:
    """Density exponent of the variable-bandwidth kernel with ``rho ~ p**(-1/d)``.

    Berry & Harlim (2016): with bandwidth ``rho = p**beta`` the renormalised
    generator tends to ``Delta f + c1 grad f . grad p / p`` with ``c1 = 2 -
    2 a + d beta + 2 beta``. The fixed kernel (``beta = 0``) with exponent
    ``alpha`` has ``c1 = 2 - 2 alpha``; the same limit operator at ``beta =
    -1/d`` needs ``a = alpha - (d + 2) / (2 d)`` (Laplace-Beltrami, ``alpha =
    1``: ``a = 1/2 - 1/d``). See :ref:`conv-adaptive`.
    """
    return float(alpha) - (dim + 2.0) / (2.0 * dim)


def density_weights(
    degrees_: np.ndarray,
    alpha: float,
    bandwidths: np.ndarray | None = None,
    dim: float | None = None,
) -> np.ndarray:
    """The factors ``w_j`` of the density renormalisation, per reference row.

    Fixed kernel: ``deg**-alpha``. Variable bandwidth: ``deg**-1 rho**(d a)``
    with ``a = adaptive_exponent(alpha, d)``. Berry & Harlim divide by
    ``q**a`` with ``q = deg / rho**d``; both tend to the same ``p**-a`` when
    ``rho ~ p**(-1/d)`` (then ``deg ~ p rho**d`` tends to a constant), but
    dividing by the degree itself cancels its sampling noise, as ``alpha = 1``
    does for the fixed kernel: the ratio error of 16 sphere eigenpairs falls
    from 0.019-0.024 to 0.014-0.015 (uniform, 4,000 rows; fixed kernel
    0.018-0.023) and from 0.038 to 0.024 on a dense cap (fixed 0.056). The
    Nystrom rows and the in-sample renormalisation both read them from here.
    See :ref:`conv-adaptive`.
    """
    q = np.asarray(degrees_, dtype=np.float64)
    if bandwidths is None:
        return q ** (-float(alpha))
    rho = np.asarray(bandwidths, dtype=np.float64)
    return rho ** (dim * adaptive_exponent(alpha, dim)) / q


def nystrom_rows(K, ref_weights: np.ndarray, scale: float = 1.0) -> sp.csr_matrix:
    """Row-normalised Nystrom rows ``p_xj = scale K_xj w_j / sum_j K_xj w_j``.

    ``K`` (sparse, queries x reference) is the kernel of new rows against the
    training rows and ``w = density_weights(...)`` of the training degrees: the
    Markov rows of the fitted ``P`` extended to new points (see
    :ref:`conv-eigen`). Rows with no stored kernel entry stay empty.
    """
    K = sp.csr_matrix(K, dtype=np.float64)
    rows = entry_rows(K)
    p = K.data * np.asarray(ref_weights, dtype=np.float64)[K.indices]
    norm = np.bincount(rows, weights=p, minlength=K.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        p = p * (scale / norm[rows])
    return sp.csr_matrix((p, K.indices.copy(), K.indptr.copy()), shape=K.shape)


def variable_bandwidth_laplacian(
    W, epsilon: float, alpha: float, bandwidths: np.ndarray, dim: float
) -> Laplacian:
    """Renormalised Laplacian of the variable-bandwidth kernel (Berry & Harlim).

    ``W_ij = exp(-d_ij**2 / (epsilon**2 rho_i rho_j))`` (e.g. the Gaussian
    affinity of ``kernels.scaled_radius_graph``); ``W~ = W w_i w_j`` with
    ``w = density_weights(deg, alpha, rho, d)`` (Berry & Harlim's ``(q_i
    q_j)**-a``, ``q = deg / rho**d``, in the limit),
    ``P = diag(q~)**-1 W~`` and the generator

        ``L = (4 / epsilon**2) diag(rho)**-2 (P - I)``,

    self-adjoint for the measure ``pi = q~ rho**2``. It is returned as the
    Laplacian of the lazy chain ``P' = I + tau diag(rho)**-2 (P - I)``, ``tau =
    min rho**2`` (non-negative, reversible for ``pi``): ``L = (4 /
    epsilon'**2)(P' - I)`` with ``epsilon' = epsilon min(rho)``, so the
    symmetric eigensolvers, ``weights`` (``pi``) and every consumer of the
    fixed kernel's Laplacian apply unchanged. ``degrees`` are those of ``W``;
    ``epsilon`` is ``epsilon'`` (it sets ``scale``), ``alpha`` the limit
    operator's. See :ref:`conv-adaptive`.
    """
    W = sp.csr_matrix(W, dtype=np.float64)
    if not W.has_canonical_format:
        W = W.copy()
        W.sum_duplicates()
    n = W.shape[0]
    rho = np.asarray(bandwidths, dtype=np.float64)
    rows, cols = entry_rows(W), W.indices
    q = degrees(W)
    _check_positive_degrees(q, "degree")
    f = density_weights(q, alpha, rho, dim)
    w_tilde = W.data * f[rows] * f[cols]
    q_tilde = np.bincount(rows, weights=w_tilde, minlength=n)
    _check_positive_degrees(q_tilde, "normalised degree")
    tau = float(rho.min()) ** 2
    pi = q_tilde * rho**2 / tau
    diag = cols == rows
    if np.count_nonzero(diag) != n:
        raise ValueError("The variable-bandwidth affinity needs its self-loops.")
    data = w_tilde.copy()
    data[diag] = pi - (q_tilde - w_tilde[diag])
    lazy = sp.csr_matrix((data, cols.copy(), W.indptr.copy()), shape=W.shape)
    lap = renormalized_laplacian(lazy, float(epsilon) * np.sqrt(tau), 0.0)
    return replace(lap, degrees=q, alpha=float(alpha))


def _renormalise(W: sp.csr_matrix, alpha: float, scale: float):
    """Degrees ``q``, ``q~`` and the matrices ``S``, ``L`` of a canonical ``W``.

    Three passes in C (``_sparse.renormalise``) on W's pattern; S and L share
    their index arrays (a fresh copy of W's). Rows without their diagonal
    entry change the pattern of ``L``: those go through numpy.
    """
    n = W.shape[0]
    indices = W.indices.astype(np.int32)  # a copy: W keeps its own
    indptr = W.indptr.astype(np.int64)
    q, q_tilde = np.empty(n), np.empty(n)
    s_data, l_data = np.empty(W.nnz), np.empty(W.nnz)
    n_diag = _sparse.renormalise(
        n, indptr, indices, W.data, alpha, scale, q, q_tilde, s_data, l_data
    )
    _check_positive_degrees(q, "degree")
    _check_positive_degrees(q_tilde, "normalised degree")
    S = sp.csr_matrix((s_data, indices, indptr), shape=W.shape)
    if n_diag == n:
        return q, q_tilde, S, sp.csr_matrix((l_data, indices, indptr), shape=W.shape)
    rows = entry_rows(W)
    p_data = l_data / scale + (W.indices == rows)
    return q, q_tilde, S, _scaled_generator(p_data, rows, W.indices, W.indptr, n, scale)


def _scaled_generator(p_data, rows, cols, indptr, n, scale) -> sp.csr_matrix:
    """``scale * (P - I)`` for P given by its CSR arrays."""
    diag = cols == rows
    if np.count_nonzero(diag) == n:
        # Fast path (always taken with self-loops): subtract 1 in place, keeping
        # P's pattern so the rows of L and W stay aligned.
        data = scale * (p_data - diag)
        return sp.csr_matrix((data, cols.copy(), indptr.copy()), shape=(n, n))
    P = sp.csr_matrix((p_data, cols, indptr), shape=(n, n))
    L = (scale * (P - sp.identity(n, format="csr"))).tocsr()
    L.sort_indices()
    return L


@dataclass(frozen=True, eq=False)
class FittedKernel:
    """The kernel behind a fitted embedding: what outer estimators read.

    Every embedding estimator of the package exposes one as ``kernel_``
    (DiffusionMapsGC builds it; IESSelector and RiemannianRelaxation pass on
    their inner estimator's), so outer estimators and analyses read the width,
    cutoff and Laplacian from one place instead of searching attributes.

    Attributes
    ----------
    epsilon : float
        Kernel width.
    radius_ratio : float
        Cutoff radius in units of ``epsilon``.
    alpha : float
        Density-normalisation exponent.
    laplacian : scipy.sparse.csr_matrix of shape (n, n) or None
        Scaled Laplacian ``(4/epsilon**2)(P - I)`` of the training rows (None
        when the estimator kept no graph).
    weights : ndarray of shape (n,)
        Its stationary measure ``q~`` (``laplacian_weights_``).
    precomputed : bool
        The estimator was fitted on a distance graph, not feature vectors.
    kernel : {"fixed", "adaptive", "precomputed"}
        ``"adaptive"``: the variable-bandwidth kernel of :ref:`conv-adaptive`
        (``laplacian`` is ``(4/epsilon**2) diag(rho)**-2 (P - I)``, with the
        same Laplace-Beltrami limit, ``epsilon`` the width at the median
        bandwidth); ``"precomputed"``: a user affinity (``epsilon`` only sets
        the Laplacian's scale).
    """

    epsilon: float
    radius_ratio: float
    alpha: float
    laplacian: sp.csr_matrix | None
    weights: np.ndarray
    precomputed: bool = False
    kernel: str = "fixed"
