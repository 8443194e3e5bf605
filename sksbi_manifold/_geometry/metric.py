"""Dual Riemannian metric of an embedding from a graph Laplacian.

See :ref:`conv-metric`.

``H_i = 1/2 sum_j L_ij (y_j - y_i)(y_j - y_i)^T`` with the *scaled* Laplacian
``L = (4/epsilon**2)(P - I)``. This local form equals the formula
``1/2 [L(y^a y^b) - y^a L y^b - y^b L y^a]`` because ``L 1 = 0``; it is
evaluated as batched products over size-sorted, padded chunks of rows
(``O(nnz_rows s^2)`` flops, ``O(nnz_rows s)`` memory traffic), is translation
invariant without cancellation, and is symmetric by construction.

Geometric consistency (:ref:`conv-gc`) uses local coordinates instead of a global
embedding: ``Z = local_pca.local_coordinates(X, L, rows, bases)`` then
``metric_from_differences(L[rows], Z)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .laplacian import Laplacian
from .local_pca import (
    _entry_positions,
    _local_indptr,
    _padded,
    _plan_chunks,
    _resolve_rows,
)
from .parallel import single_threaded_blas


def _laplacian_matrix(laplacian) -> sp.csr_matrix:
    if isinstance(laplacian, Laplacian):
        return laplacian.matrix
    L = sp.csr_matrix(laplacian)
    if L.shape[0] != L.shape[1]:
        raise ValueError(f"The Laplacian must be square, got shape {L.shape}.")
    return L


def _segment_metric(indptr, data, differences) -> np.ndarray:
    """``1/2 sum_e L_e z_e z_e^T`` per CSR row, as one batched product."""
    width = max(int(np.diff(indptr).max(initial=0)), 1)
    Z = _padded(indptr, differences, width)  # (c, width, s); padding rows are 0
    weights = _padded(indptr, data[:, None], width)
    H = np.swapaxes(weights * Z, 1, 2) @ Z
    return 0.25 * (H + np.swapaxes(H, 1, 2))  # exact symmetry


def _chunked_metric(L_like, rows, s, differences_of) -> np.ndarray:
    """Drive ``_segment_metric`` over size-sorted chunks of ``rows``.

    ``differences_of(pos, entries, r)`` returns the (e, s) differences of the
    entries ``entries`` (positions in ``L_like``'s data) of rows ``rows[pos]``,
    ``r`` being the chunk-local row of each entry.
    """
    counts = np.diff(L_like.indptr)[rows]
    H = np.empty((len(rows), s, s))
    with single_threaded_blas():
        for pos in _plan_chunks(counts, s):
            entries = _entry_positions(L_like.indptr, rows[pos])
            r = np.repeat(np.arange(len(pos)), counts[pos])
            H[pos] = _segment_metric(
                _local_indptr(counts[pos]),
                L_like.data[entries].astype(np.float64),
                differences_of(pos, entries, r),
            )
    return H


def metric_from_differences(laplacian_rows, differences: np.ndarray) -> np.ndarray:
    """``H_r = 1/2 sum_e L_e z_e z_e^T`` over the stored entries ``e`` of each row.

    Parameters
    ----------
    laplacian_rows : sparse matrix of shape (m, n)
        Rows of the scaled Laplacian, e.g. ``laplacian.matrix[rows]``.
    differences : ndarray of shape (laplacian_rows.nnz, s)
        One coordinate difference per stored entry, in CSR order, e.g. local
        coordinates ``T_i^T (x_j - x_i)`` from ``local_pca.local_coordinates``.

    Returns
    -------
    H : ndarray of shape (m, s, s)
        Symmetric dual metrics.
    """
    L_rows = sp.csr_matrix(laplacian_rows)
    Z = np.asarray(differences, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[0] != L_rows.nnz:
        raise ValueError(
            f"differences must have shape (nnz={L_rows.nnz}, s), got {Z.shape}."
        )
    rows = np.arange(L_rows.shape[0])
    return _chunked_metric(L_rows, rows, Z.shape[1], lambda pos, e, r: Z[e])


def riemannian_metric(laplacian, embedding, rows=None) -> np.ndarray:
    """Dual Riemannian metric ``H`` of an embedding, from the scaled Laplacian.

    ``H_i = 1/2 sum_j L_ij (y_j - y_i)(y_j - y_i)^T`` approximates ``J_i J_i^T``,
    the push-forward of the inverse metric: for an isometric embedding it is
    the orthogonal projector onto the tangent image. Only the requested rows of
    ``L`` are touched, so the cost is ``O(nnz(L[rows]) s^2)``.

    Parameters
    ----------
    laplacian : Laplacian or sparse matrix of shape (n, n)
        The scaled Laplacian ``L = (4/epsilon**2)(P - I)`` (reference sign), or
        the ``Laplacian`` returned by ``renormalized_laplacian``.
    embedding : array-like of shape (n, s)
        Embedding coordinates ``y_i`` of the graph's vertices.
    rows : array-like of int or bool of shape (n,), default=None
        Vertices where ``H`` is needed; ``None`` means all.

    Returns
    -------
    H : ndarray of shape (len(rows), s, s)
        Symmetric positive semi-definite (up to rounding) dual metrics.

    Examples
    --------
    A uniform grid on a line, embedded isometrically, has ``H = 1`` in the
    interior:

    >>> import numpy as np
    >>> from sklearn.neighbors import radius_neighbors_graph
    >>> from sksbi_manifold._geometry.kernels import gaussian_affinity
    >>> from sksbi_manifold._geometry.laplacian import renormalized_laplacian
    >>> X = np.linspace(0.0, 1.0, 401)[:, None]
    >>> eps = 0.02
    >>> graph = radius_neighbors_graph(X, 3 * eps, mode="distance",
    ...                                include_self=True)  # W_ii = 1
    >>> lap = renormalized_laplacian(gaussian_affinity(graph, eps), eps)
    >>> H = riemannian_metric(lap, X, rows=[200])
    >>> H.shape
    (1, 1, 1)
    >>> round(float(H[0, 0, 0]), 2)
    1.0
    """
    L = _laplacian_matrix(laplacian)
    Y = np.asarray(embedding, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.shape[0] != L.shape[0]:
        raise ValueError(
            f"embedding has {Y.shape[0]} rows but the Laplacian has {L.shape[0]}."
        )
    rows = _resolve_rows(rows, L.shape[0])

    def differences_of(pos, entries, r):
        return Y[L.indices[entries]] - Y[rows[pos]][r]

    return _chunked_metric(L, rows, Y.shape[1], differences_of)


def metric_eigen(H: np.ndarray, n_top: int | None = None):
    """Batched eigendecomposition of metrics, sorted by DESCENDING eigenvalue.

    Parameters
    ----------
    H : ndarray of shape (m, s, s)
        Symmetric matrices.
    n_top : int, default=None
        Keep the ``n_top`` largest eigenpairs (``None``: all ``s``).

    Returns
    -------
    eigenvalues : ndarray of shape (m, n_top)
        Descending.
    eigenvectors : ndarray of shape (m, s, n_top)
        ``eigenvectors[i, :, k]`` belongs to ``eigenvalues[i, k]``.
    """
    values, vectors = np.linalg.eigh(H)
    n_top = H.shape[-1] if n_top is None else n_top
    return values[..., ::-1][..., :n_top], vectors[..., ::-1][..., :n_top]


def metric_from_dual(
    H: np.ndarray, intrinsic_dim: int, *, rcond: float = 1e-10
) -> np.ndarray:
    """Riemannian metric ``G_i = H_i^+`` restricted to the top-d eigenspace of ``H_i``.

    Parameters
    ----------
    H : ndarray of shape (m, s, s)
        Dual metrics.
    intrinsic_dim : int
        Number of leading eigenvalues inverted (``d``).
    rcond : float, default=1e-10
        Leading eigenvalues ``<= rcond * max(eigenvalue)`` of a point are treated
        as zero (not inverted), so degenerate points give a finite ``G``.

    Returns
    -------
    G : ndarray of shape (m, s, s)
        ``V_d diag(1/lambda_d) V_d^T``.
    """
    values, vectors = metric_eigen(H, intrinsic_dim)
    cutoff = rcond * np.maximum(values[:, :1], 0.0)
    keep = values > np.maximum(cutoff, np.finfo(np.float64).tiny)
    inv = np.where(keep, 1.0 / np.where(keep, values, 1.0), 0.0)
    return np.einsum("mak,mk,mbk->mab", vectors, inv, vectors)
