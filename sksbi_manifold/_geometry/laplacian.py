"""Renormalised (alpha) graph Laplacian of Coifman & Lafon.

See :ref:`conv-laplacian`.

Conventions (binding; see :ref:`conv-kernel` and :ref:`conv-laplacian`):

* ``W~ = W / (q^alpha q^alpha')`` with ``q`` the degrees of ``W``;
* ``q~`` = row sums of ``W~``; ``P = diag(q~)^-1 W~`` (row-stochastic);
* ``L = (4 / epsilon**2) (P - I)``: reference sign, spectrum <= 0, ``L 1 = 0``;
* ``S = diag(q~)^-1/2 W~ diag(q~)^-1/2``: symmetric, same spectrum ``mu`` as ``P``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

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


def connected_components_count(W) -> int:
    """Number of connected components of the (undirected) graph of ``W``."""
    n_components, _ = connected_components(W, directed=False)
    return int(n_components)


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
    rows, cols = entry_rows(W), W.indices

    q = degrees(W)
    _check_positive_degrees(q, "degree")
    q_alpha = q**alpha
    w_tilde = W.data / (q_alpha[rows] * q_alpha[cols])
    q_tilde = np.bincount(rows, weights=w_tilde, minlength=n)
    _check_positive_degrees(q_tilde, "normalised degree")

    inv_sqrt = 1.0 / np.sqrt(q_tilde)
    s_data = w_tilde * inv_sqrt[rows] * inv_sqrt[cols]
    p_data = w_tilde / q_tilde[rows]
    S = sp.csr_matrix((s_data, cols.copy(), W.indptr.copy()), shape=W.shape)
    L = _scaled_generator(p_data, rows, cols, W.indptr, n, 4.0 / epsilon**2)
    return Laplacian(
        matrix=L,
        symmetric=S,
        weights=q_tilde,
        degrees=q,
        epsilon=float(epsilon),
        alpha=float(alpha),
    )


def laplacian_rows(
    W_rows, degrees_all: np.ndarray, rows: np.ndarray, epsilon: float, alpha: float
) -> sp.csr_matrix:
    """Rows ``rows`` of ``renormalized_laplacian(W, epsilon, alpha).matrix``.

    Only the affinity rows ``W_rows = W[rows]`` and the degrees ``q`` of every
    vertex (``degrees(W)``, or :func:`~.kernels.gaussian_degrees` without
    building ``W``) are needed: ``L_ij = c (W~_ij / q~_i - delta_ij)`` with
    ``W~_ij = W_ij / (q_i q_j)^alpha``. A geometric-consistency search over
    many radii evaluates a few hundred rows per radius, so it need not build
    the whole Laplacian at each.
    """
    W_rows = sp.csr_matrix(W_rows, dtype=np.float64)
    _check_positive_degrees(degrees_all, "degree")
    q_alpha = degrees_all**alpha
    local = entry_rows(W_rows)
    w_tilde = W_rows.data / (q_alpha[rows][local] * q_alpha[W_rows.indices])
    q_tilde = np.bincount(local, weights=w_tilde, minlength=W_rows.shape[0])
    _check_positive_degrees(q_tilde, "normalised degree")
    diag = W_rows.indices == np.asarray(rows)[local]
    data = (4.0 / epsilon**2) * (w_tilde / q_tilde[local] - diag)
    return sp.csr_matrix(
        (data, W_rows.indices.copy(), W_rows.indptr.copy()), shape=W_rows.shape
    )


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
    """

    epsilon: float
    radius_ratio: float
    alpha: float
    laplacian: sp.csr_matrix | None
    weights: np.ndarray
    precomputed: bool = False
