"""Weighted local PCA, local coordinates, gradient estimation.

See :ref:`conv-local-pca`.

At a centre point ``x_i`` with weights ``w_ij = W_ij / q_i`` (a row-normalised
affinity) the local covariance is ``C_i = sum_j w_ij (x_j - c_i)(x_j - c_i)^T``
about ``c_i = x_i`` ("point") or the weighted mean ("weighted_mean").

Neighbourhoods have different sizes, so points are sorted by size and processed
in chunks padded to the chunk's largest neighbourhood (zero padding rows change
nothing); each chunk is a few batched LAPACK calls. Chunks are fixed in advance
and independent, so results do not depend on ``n_jobs``. BLAS runs single-threaded
inside (parallelism comes from ``n_jobs``): on these small matrices threaded
OpenBLAS was up to 9x slower on a loaded 2-core machine.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from .eigen import deterministic_sign_flip
from .parallel import single_threaded_blas, thread_map

CENTERS = ("point", "weighted_mean")
METHODS = ("auto", "svd", "covariance", "gram")
# Eigenvalues <= _RANK_RTOL * (largest eigenvalue of the point) are numerically
# zero: their eigenvectors are arbitrary (and differ between the SVD and the
# covariance path), so both are reported as exact zeros.
_RANK_RTOL = 1e-12
_RANK_RTOL_F32 = 1e-6  # ~10 float32 epsilons
# Budget (float64 entries) of one padded (rows, neighbours, width) chunk.
_CHUNK_ENTRIES = 1 << 21


class LocalPCA(NamedTuple):
    """Result of ``weighted_local_pca`` (one entry per requested row).

    Attributes
    ----------
    bases : ndarray of shape (m, D, n_components)
        Orthonormal top principal directions (columns), largest-|entry|
        positive; columns beyond the numerical rank of a neighbourhood are zero.
    eigenvalues : ndarray of shape (m, n_eigenvalues)
        Descending eigenvalues of ``C_i``, zero beyond the numerical rank.
    centers : ndarray of shape (m, D)
        The centres ``c_i``.
    n_neighbors : ndarray of shape (m,)
        Number of points with positive weight (the point itself included).
    deficient : ndarray of shape (m,)
        True where ``n_neighbors < n_components + 1`` (zero-padded bases).
    """

    bases: np.ndarray
    eigenvalues: np.ndarray
    centers: np.ndarray
    n_neighbors: np.ndarray
    deficient: np.ndarray


# --------------------------------------------------------------------------
# Chunking machinery shared with metric.py


def _resolve_rows(rows, n: int) -> np.ndarray:
    if rows is None:
        return np.arange(n)
    rows = np.asarray(rows)
    if rows.dtype == bool:
        return np.flatnonzero(rows)
    return rows.astype(np.intp, copy=False).ravel()


def _plan_chunks(sizes: np.ndarray, width: int) -> list[np.ndarray]:
    """Positions into ``sizes`` grouped by size; ``rows * max_size * width`` of
    each group stays within the budget (a single oversize row is its own group)."""
    order = np.argsort(sizes, kind="stable")
    sorted_sizes = np.maximum(sizes[order], 1)
    chunks, start, m = [], 0, len(order)
    while start < m:
        # sizes ascend, so the chunk has at most budget / (width * first size) rows
        end = min(m, start + _CHUNK_ENTRIES // (width * sorted_sizes[start]) + 1)
        cost = np.arange(1, end - start + 1) * sorted_sizes[start:end] * width
        stop = start + max(1, int(np.searchsorted(cost, _CHUNK_ENTRIES, "right")))
        chunks.append(order[start:stop])
        start = stop
    return chunks


def _entry_positions(indptr: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Positions in a CSR data array of all entries of rows ``pos``, in order."""
    starts, counts = indptr[pos], np.diff(indptr)[pos]
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts, counts) + offsets


def _local_indptr(counts: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.cumsum(counts)))


def _padded(indptr: np.ndarray, values: np.ndarray, width: int) -> np.ndarray:
    """Scatter per-entry ``values`` (nnz, F) of CSR rows into (rows, width, F)."""
    counts = np.diff(indptr)
    c, e = len(counts), int(indptr[-1])
    # flat slot of entry k of row r: r * width + k (one 1-D scatter is faster
    # than a 2-D fancy assignment)
    slot = np.arange(e) + np.repeat(np.arange(c) * width - indptr[:-1], counts)
    out = np.zeros((c * width, values.shape[1]), dtype=values.dtype)
    out[slot] = values
    return out.reshape(c, width, values.shape[1])


class _Neighbourhoods(NamedTuple):
    """Positive-weight neighbours of a chunk of rows, weights summing to 1."""

    indptr: np.ndarray  # local CSR row pointer (c + 1,)
    row: np.ndarray  # local row of each entry (e,)
    cols: np.ndarray  # neighbour index of each entry (e,)
    weights: np.ndarray  # normalised weight of each entry (e,)
    counts: np.ndarray  # neighbours per row (c,)
    width: int  # padded neighbourhood size


def _neighbourhoods(weights: sp.csr_matrix, rows: np.ndarray) -> _Neighbourhoods:
    entries = _entry_positions(weights.indptr, rows)
    row = np.repeat(np.arange(len(rows)), np.diff(weights.indptr)[rows])
    w = weights.data[entries].astype(np.float64)
    keep = w > 0  # stored zeros are not neighbours (these are weights, not distances)
    entries, row, w = entries[keep], row[keep], w[keep]
    counts = np.bincount(row, minlength=len(rows))
    q = np.bincount(row, weights=w, minlength=len(rows))
    return _Neighbourhoods(
        indptr=_local_indptr(counts),
        row=row,
        cols=weights.indices[entries],
        weights=w / q[row],
        counts=counts,
        width=max(int(counts.max(initial=0)), 1),
    )


# --------------------------------------------------------------------------
# Local eigenproblems


def _centered_differences(X, nb: _Neighbourhoods, points, center: str):
    """Centres ``c_i`` and padded ``sqrt(w_ij) (x_j - c_i)`` (c, width, D),
    ``x_j`` the rows of ``X``, ``x_i`` the ``points``.

    Built in place in the padded array (the rows gathered straight into it,
    the centres subtracted by broadcasting; padding rows carry weight 0): one
    array of the neighbourhoods' size instead of four. The weighted mean is
    ``x_i + sum_j w_ij (x_j - x_i)``, from the same gathered differences.
    Empty rows keep ``x_i`` (and give zero eigenvalues).
    """
    c, width = len(nb.counts), nb.width
    slot = np.arange(nb.row.size) + nb.row * width - nb.indptr[nb.row]
    A = np.zeros((c * width, X.shape[1]), dtype=X.dtype)
    if c == 1:
        np.take(X, nb.cols, axis=0, out=A[: nb.cols.size])
    else:
        A[slot] = X[nb.cols]
    A = A.reshape(c, width, -1)
    A -= points[:, None, :]
    centers = points
    if center == "weighted_mean":
        w = np.zeros(c * width, dtype=X.dtype)
        w[slot] = nb.weights
        shift = np.einsum("cw,cwd->cd", w.reshape(c, width), A)
        A -= shift[:, None, :]
        centers = centers + shift
    sqrt_w = np.zeros(c * width, dtype=X.dtype)
    sqrt_w[slot] = np.sqrt(nb.weights)
    A *= sqrt_w.reshape(c, width, 1)
    return centers, A


def _use_gram(method: str, width: int, D: int) -> bool:
    # Measured (one thread, D = 256, 2 directions): the Gram eigh takes 0.05 /
    # 0.14 / 0.47 / 1.7 / 3.8 ms at widths 16 / 32 / 64 / 128 / 200, the thin
    # SVD 3-4x more, the D x D covariance 2.6-2.9 ms: Gram up to 0.6 D.
    return method == "gram" or (method == "auto" and 5 * width <= 3 * D)


def _top_eigh(C: np.ndarray, n_keep: int) -> tuple[np.ndarray, np.ndarray]:
    """Top eigenpairs of a stack of symmetric D x D matrices, descending."""
    D = C.shape[-1]
    if D >= 128 and 4 * n_keep <= D:
        # syevr on a subset skips most eigenvector work (~2x faster at D = 256);
        # the per-point call overhead is negligible at this size.
        pairs = [
            scipy.linalg.eigh(
                c, subset_by_index=[D - n_keep, D - 1], check_finite=False
            )
            for c in C
        ]
        values = np.stack([p[0] for p in pairs])
        vectors = np.stack([p[1] for p in pairs])
    else:
        values, vectors = np.linalg.eigh(C)
    return values[:, ::-1], vectors[:, :, ::-1]


def _top_eigvalsh(C: np.ndarray, n_keep: int) -> np.ndarray:
    """Descending eigenvalues of a stack of symmetric matrices (at least the
    top ``n_keep``)."""
    m = C.shape[-1]
    if C.dtype == np.float32 and m >= 128 and 4 * n_keep <= m:
        # ssyevr on a subset: 1.7x faster than all eigenvalues at m = 256
        # (in float64 the subset gains nothing: the tridiagonal form dominates)
        values = np.stack(
            [
                scipy.linalg.eigh(
                    c,
                    subset_by_index=[m - n_keep, m - 1],
                    eigvals_only=True,
                    check_finite=False,
                )
                for c in C
            ]
        )
    else:
        values = np.linalg.eigvalsh(C)
    return values[:, ::-1]


def _local_eigen(A: np.ndarray, n_vectors: int, n_values: int, method: str):
    """Eigenpairs of ``A_i^T A_i`` for padded A (c, width, D).

    Returns values (c, n_values) and vectors (c, D, n_vectors), truncated as in
    ``_truncate``.
    """
    width, D = A.shape[1], A.shape[2]
    n_keep = max(n_vectors, n_values)
    if n_vectors == 0 and method != "svd":
        # eigenvalues only: the smaller of the two Gram matrices
        small = A @ np.swapaxes(A, 1, 2) if width < D else np.swapaxes(A, 1, 2) @ A
        values, vectors = _top_eigvalsh(small, n_keep), np.zeros((len(A), D, 0))
    elif n_vectors == 0:
        values, vectors = (
            np.linalg.svd(A, compute_uv=False) ** 2,
            np.zeros((len(A), D, 0)),
        )
    elif _use_gram(method, width, D):
        # eigh of the small width x width Gram A A^T; directions
        # A^T v / sqrt(lambda). Accuracy as the covariance path (squared
        # condition number: fine for directions above ~1e-8 of the largest).
        values, small = np.linalg.eigh(A @ np.swapaxes(A, 1, 2))
        values, small = values[:, ::-1][:, :n_keep], small[:, :, ::-1][:, :, :n_keep]
        scale = np.sqrt(np.where(values > 0, values, np.inf))
        vectors = (np.swapaxes(A, 1, 2) @ small) / scale[:, None, :]
    elif method == "svd":
        _, s, vt = np.linalg.svd(A, full_matrices=False)
        values, vectors = s**2, np.swapaxes(vt, 1, 2)
    else:
        values, vectors = _top_eigh(np.swapaxes(A, 1, 2) @ A, n_keep)
    return _truncate(values, vectors, n_values, n_vectors)


def _truncate(values, vectors, n_values: int, n_vectors: int):
    """Zero the numerically null pairs, pad with zeros, fix the signs."""
    values = np.clip(values, 0.0, None)
    rtol = _RANK_RTOL if values.dtype == np.float64 else _RANK_RTOL_F32
    null = values <= rtol * values[:, :1]  # also all of an empty row
    values = np.where(null, 0.0, values)[:, :n_values]
    values = np.pad(values, ((0, 0), (0, n_values - values.shape[1])))
    take = min(n_vectors, vectors.shape[2])  # <= null.shape[1] on every path
    vectors = np.where(null[:, None, :take], 0.0, vectors[:, :, :take])
    vectors = np.pad(vectors, ((0, 0), (0, 0), (0, n_vectors - take)))
    return values, deterministic_sign_flip(vectors, axis=-2)


# --------------------------------------------------------------------------
# Public functions


def _check_inputs(X, weights, center: str, method: str, dtype=np.float64, n_rows=None):
    if dtype not in (np.float64, np.float32):
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}.")
    X = np.asarray(X, dtype=dtype)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}.")
    weights = sp.csr_matrix(weights)
    if n_rows is None and weights.shape != (X.shape[0], X.shape[0]):
        raise ValueError(
            f"weights must have shape (n, n) = {(X.shape[0],) * 2}, "
            f"got {weights.shape}."
        )
    if n_rows is not None and weights.shape != (n_rows, X.shape[0]):
        raise ValueError(
            f"weights must have shape (n_centers, n_reference) = "
            f"{(n_rows, X.shape[0])}, got {weights.shape}."
        )
    if center not in CENTERS:
        raise ValueError(f"center must be one of {CENTERS}, got {center!r}.")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    return X, weights


def _pca_task(X, weights, points, pos, n_components, n_values, center, method):
    nb = _neighbourhoods(weights, pos)
    centers, A = _centered_differences(X, nb, points[pos], center)
    scale = _unit_scale(A)
    if scale != 1.0:
        A /= scale
    values, vectors = _local_eigen(A, n_components, n_values, method)
    if scale != 1.0:
        with np.errstate(over="ignore"):  # beyond ~1e154 the true values are inf
            values = values * np.float64(scale) ** 2
    return vectors, values, centers, nb.counts


def _unit_scale(A: np.ndarray) -> float:
    """A power of two bringing the chunk's ``max |A|`` near 1, or 1.0.

    The products ``A^T A`` must neither overflow (differences above ~1e154
    made LAPACK fail to converge) nor underflow (below ~1e-154 every
    eigenvalue was 0). Dividing by a power of two is exact, so eigenvectors
    and rescaled eigenvalues are unchanged; within 2**+-100 (all ordinary
    data) nothing is divided at all.
    """
    peak = float(max(A.max(initial=0.0), -A.min(initial=0.0)))
    if peak == 0.0 or 2.0**-100 < peak < 2.0**100:
        return 1.0
    return float(np.ldexp(1.0, np.frexp(peak)[1]))


def weighted_local_pca(
    X,
    weights,
    rows,
    n_components: int,
    *,
    center: str = "point",
    n_eigenvalues: int | None = None,
    method: str = "auto",
    dtype=np.float64,
    n_jobs: int | None = None,
) -> LocalPCA:
    """Weighted local PCA at the requested points.

    Parameters
    ----------
    X : array-like of shape (n, D)
        Data.
    weights : sparse matrix of shape (n, n)
        Nonnegative weights (e.g. the affinity ``W``); row ``i`` is normalised
        internally to ``w_ij = W_ij / q_i``. Stored zeros are not neighbours.
    rows : array-like of int or bool, or None
        Centre points; ``None`` means all.
    n_components : int
        Number of principal directions ``k`` (``0 <= k <= D``). ``0`` skips the
        eigenvectors (cheapest, e.g. for the eigengap estimator).
    center : {"point", "weighted_mean"}, default="point"
        Covariance about ``x_i`` or about ``sum_j w_ij x_j``.
    n_eigenvalues : int, default=None
        Number of eigenvalues returned (``1 <= . <= D``; default
        ``max(n_components, 1)``), e.g. 16 for the eigengap estimator.
    method : {"auto", "svd", "covariance", "gram"}, default="auto"
        "svd": thin SVD of ``diag(sqrt(w)) (X_nbr - c_i)`` (``O(k_i^2 D)``,
        accurate down to the smallest singular values); "covariance": ``eigh``
        of the ``D x D`` covariance; "gram": ``eigh`` of the ``k_i x k_i`` Gram
        matrix (both accurate for directions above ~1e-8 of the largest
        eigenvalue); "auto": Gram for chunks whose neighbourhoods have at most
        ``0.6 D`` points, covariance above (measured: 3-4x faster than the SVD
        and up to 50x faster than the covariance for small neighbourhoods).
        Without eigenvectors, "auto" and "covariance" use ``eigvalsh`` of the
        smaller Gram matrix.
    dtype : {np.float64, np.float32}, default=np.float64
        Precision of the local products and eigenproblems. float32 halves the
        cost of large neighbourhoods; eigenvalues below ``1e-6`` of the
        largest are then reported as zero.
    n_jobs : int, default=None
        Parallel chunks (threads; LAPACK releases the GIL).

    Returns
    -------
    result : LocalPCA
        ``bases`` (m, D, k), ``eigenvalues`` (m, n_eigenvalues) descending,
        ``centers`` (m, D), ``n_neighbors`` (m,), ``deficient`` (m,).
    """
    X, weights = _check_inputs(X, weights, center, method, dtype)
    rows = _resolve_rows(rows, X.shape[0])
    return local_pca_at(
        X,
        weights[rows],
        X[rows],
        n_components,
        center=center,
        n_eigenvalues=n_eigenvalues,
        method=method,
        dtype=dtype,
        n_jobs=n_jobs,
    )


def local_pca_at(
    X_ref,
    weights,
    centers,
    n_components: int,
    *,
    center: str = "point",
    n_eigenvalues: int | None = None,
    method: str = "auto",
    dtype=np.float64,
    n_jobs: int | None = None,
) -> LocalPCA:
    """Weighted local PCA about given points, of given reference rows.

    The rectangular form of :func:`weighted_local_pca`: row ``i`` of
    ``weights`` weighs the reference rows around ``centers[i]``, which need
    not be reference rows themselves (out-of-sample points, a sample's rows).

    Parameters
    ----------
    X_ref : array-like of shape (n_reference, D)
        Reference rows (the neighbours).
    weights : sparse matrix of shape (m, n_reference)
        Nonnegative weights, row-normalised internally; stored zeros are not
        neighbours. A point that is its own neighbour is a column of it.
    centers : array-like of shape (m, D)
        The points ``x_i``.
    n_components, center, n_eigenvalues, method, dtype, n_jobs
        As in :func:`weighted_local_pca`.

    Returns
    -------
    result : LocalPCA
        One entry per centre.
    """
    X, weights = _check_inputs(
        X_ref, weights, center, method, dtype, n_rows=np.shape(centers)[0]
    )
    points = np.asarray(centers, dtype=X.dtype)
    D = X.shape[1]
    if points.ndim != 2 or points.shape[1] != D:
        raise ValueError(
            f"centers must have shape (m, {D}) like X_ref, got {points.shape}."
        )
    n_values = max(n_components, 1) if n_eigenvalues is None else n_eigenvalues
    if not (0 <= n_components <= D and 1 <= n_values <= D):
        raise ValueError(
            f"n_components={n_components} must lie in [0, n_features={D}] and "
            f"n_eigenvalues={n_eigenvalues} in [1, {D}]."
        )
    chunks = _plan_chunks(np.diff(weights.indptr), D)
    with single_threaded_blas():
        task = partial(
            _pca_task,
            X,
            weights,
            points,
            n_components=n_components,
            n_values=n_values,
            center=center,
            method=method,
        )
        results = list(thread_map(task, chunks, n_jobs))
    m = points.shape[0]
    bases = np.zeros((m, D, n_components))
    eigenvalues = np.zeros((m, n_values))
    centres = np.zeros((m, D))
    n_neighbors = np.zeros(m, dtype=np.intp)
    for pos, (vec, val, cen, cnt) in zip(chunks, results):
        bases[pos], eigenvalues[pos] = vec, val
        centres[pos], n_neighbors[pos] = cen, cnt
    deficient = n_neighbors < n_components + 1
    return LocalPCA(bases, eigenvalues, centres, n_neighbors, deficient)


def local_coordinates(
    X, graph, rows, bases, *, centers=None, n_jobs: int | None = None
) -> np.ndarray:
    """Local coordinates ``z_ij = T_i^T (x_j - c_i)`` on the entries of ``graph[rows]``.

    Parameters
    ----------
    X : array-like of shape (n, D)
        Data.
    graph : sparse matrix of shape (n, n)
        Defines the neighbours ``j`` of each row. Pass the Laplacian to align the
        output with ``laplacian[rows]`` for ``metric.metric_from_differences``
        (geometric consistency, see :ref:`conv-gc`).
    rows : array-like of int or bool, or None
        Centre points (``None``: all), matching ``bases``.
    bases : ndarray of shape (len(rows), D, k)
        Per-point bases ``T_i`` (e.g. ``LocalPCA.bases``).
    centers : ndarray of shape (len(rows), D), default=None
        Origins ``c_i``; ``None`` means ``x_i``.
    n_jobs : int, default=None
        Parallel chunks (threads).

    Returns
    -------
    Z : ndarray of shape (graph[rows].nnz, k)
        One row per stored entry of ``graph[rows]``, in its CSR order.
    """
    X = np.asarray(X, dtype=np.float64)
    graph = sp.csr_matrix(graph)
    rows = _resolve_rows(rows, X.shape[0])
    origins = X[rows] if centers is None else np.asarray(centers, dtype=np.float64)
    counts = np.diff(graph.indptr)[rows]
    out_indptr = _local_indptr(counts)
    Z = np.empty((out_indptr[-1], bases.shape[2]))

    def task(pos):
        # One product per centre, unpadded (the neighbourhoods of wide radii
        # differ in size by thousands), as T^T x_j - T^T c_i: 3x faster than
        # forming the differences (one pass over the gathered rows, not three).
        # The rounding is then relative to |x_j| rather than |x_j - c_i|,
        # 1e-16 |x| / |x - c| in float64: data far from the origin compared
        # with its neighbourhoods should come in centred (as the GC search's).
        # Returned, not written in place: the tasks may run in other processes.
        out = []
        for p in pos:
            cols = graph.indices[graph.indptr[rows[p]] : graph.indptr[rows[p] + 1]]
            out.append(X[cols] @ bases[p] - origins[p] @ bases[p])
        return out

    chunks = _plan_chunks(counts, X.shape[1])
    with single_threaded_blas():
        for pos, blocks in zip(chunks, thread_map(task, chunks, n_jobs)):
            for p, block in zip(pos, blocks):
                Z[out_indptr[p] : out_indptr[p + 1]] = block
    return Z


def _gradient_task(X, F, weights, rows, n_components, center, method, rcond, U):
    nb = _neighbourhoods(weights, rows)
    _, A = _centered_differences(X, nb, X[rows], center)
    scale = _unit_scale(A)  # regress in exactly rescaled units (no overflow)
    if scale != 1.0:
        A /= scale
    if U is None:
        _, U = _local_eigen(A, n_components, n_components, method)
    design = A @ U.astype(A.dtype, copy=False)  # sqrt(w_ij) Delta_ij / scale
    design = design.astype(np.float64, copy=False)  # float64 least squares
    sqrt_w = np.sqrt(nb.weights)[:, None]
    response = sqrt_w * (F[nb.cols] - F[rows][nb.row])
    beta = np.linalg.pinv(design, rcond=rcond) @ _padded(nb.indptr, response, nb.width)
    return (U @ beta) / scale, nb.counts


def estimate_gradients(
    X,
    F,
    weights,
    rows,
    *,
    n_components: int = 10,
    center: str = "point",
    rcond: float = 1e-8,
    method: str = "auto",
    bases: np.ndarray | None = None,
    dtype=np.float64,
    n_jobs: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Ambient gradients by weighted local-PCA regression (see :ref:`conv-local-pca`).

    At each centre: local PCA basis ``U_i`` (D x k), design
    ``Delta_ij = U_i^T (x_j - c_i)``, response ``f(x_j) - f(x_i)``, weighted
    least squares with weights ``w_ij`` solved by a pseudo-inverse (rank
    deficient neighbourhoods are fine), gradient ``U_i beta_i``. When
    ``n_components`` exceeds the intrinsic dimension of nearly noise-free data,
    the components outside the tangent space absorb curvature terms and are
    not meaningful: project onto the tangent space (as TSLasso does).

    Parameters
    ----------
    X : array-like of shape (n, D)
        Data.
    F : array-like of shape (n, p) or (n,)
        Function values at every point.
    weights : sparse matrix of shape (n, n)
        Nonnegative weights (e.g. the affinity), row-normalised internally.
    rows : array-like of int or bool, or None
        Points where gradients are estimated (``None``: all).
    n_components : int, default=10
        Local PCA dimension ``d'`` (clipped to ``D``).
    center : {"point", "weighted_mean"}, default="point"
        Centre ``c_i`` of the PCA and of the design.
    rcond : float, default=1e-8
        Relative singular-value cutoff of the pseudo-inverse.
    method : {"auto", "svd", "covariance"}, default="auto"
        Local PCA path, see ``weighted_local_pca``.
    bases : ndarray of shape (len(rows), D, >= n_components), default=None
        Local PCA bases of these rows computed already with the same weights
        and ``center`` (e.g. ``weighted_local_pca(...).bases``); their first
        ``n_components`` columns replace the local eigenproblems.
    dtype : {np.float64, np.float32}, default=np.float64
        Precision of the gathered differences and local eigenproblems (as in
        ``weighted_local_pca``); the regression itself runs in float64.
    n_jobs : int, default=None
        Parallel chunks (threads).

    Returns
    -------
    gradients : ndarray of shape (len(rows), D, p)
        Estimated gradients (in the span of ``U_i``).
    deficient : ndarray of shape (len(rows),)
        True where fewer than ``n_components + 1`` points have positive weight.
    """
    X, weights = _check_inputs(X, weights, center, method, dtype)
    F = np.asarray(F, dtype=np.float64)
    F = F[:, None] if F.ndim == 1 else F
    if F.shape[0] != X.shape[0]:
        raise ValueError(f"F has {F.shape[0]} rows but X has {X.shape[0]}.")
    rows = _resolve_rows(rows, X.shape[0])
    if n_components < 1:
        raise ValueError(f"n_components must be >= 1, got {n_components}.")
    k = min(n_components, X.shape[1])
    if bases is not None:
        bases = np.asarray(bases, dtype=np.float64)
        if bases.shape[:2] != (len(rows), X.shape[1]) or bases.shape[2] < k:
            raise ValueError(
                f"bases must have shape ({len(rows)}, {X.shape[1]}, >= {k}), "
                f"got {bases.shape}."
            )
    chunks = _plan_chunks(np.diff(weights.indptr)[rows], X.shape[1] + F.shape[1])
    with single_threaded_blas():

        def task(pos):
            basis = None if bases is None else bases[pos, :, :k]
            return _gradient_task(
                X, F, weights, rows[pos], k, center, method, rcond, basis
            )

        results = list(thread_map(task, chunks, n_jobs))
    gradients = np.zeros((len(rows), X.shape[1], F.shape[1]))
    n_neighbors = np.zeros(len(rows), dtype=np.intp)
    for pos, (grad, cnt) in zip(chunks, results):
        gradients[pos], n_neighbors[pos] = grad, cnt
    return gradients, n_neighbors < k + 1
