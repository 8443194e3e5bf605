"""Gaussian affinities on sparse radius graphs (see :ref:`conv-kernel`).

Input graphs are CSR matrices of Euclidean *distances* (the distance engine's
contract): every stored entry is a pair within the search radius, and for a set
against itself the self pair is stored as an explicit ``0.0``. Explicit zeros are
data here (they become the self-loops ``W_ii = 1``), so nothing in this module
calls ``eliminate_zeros``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

DEFAULT_RADIUS_RATIO = 3.0


def _as_canonical_csr(graph) -> sp.csr_matrix:
    """CSR (no copy when already canonical) with sorted indices, no duplicates.

    ``csr_matrix(graph)`` keeps explicit zeros, and so does ``sum_duplicates``.
    """
    graph = sp.csr_matrix(graph)
    if not graph.has_canonical_format:
        graph = graph.copy()
        graph.sum_duplicates()
    return graph


def entry_rows(graph: sp.csr_matrix) -> np.ndarray:
    """Row index of every stored entry of a CSR matrix (the COO row array)."""
    return np.repeat(np.arange(graph.shape[0]), np.diff(graph.indptr))


def _mask_entries(graph: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """Sub-matrix of the stored entries where ``keep`` is true (O(nnz))."""
    if keep.all():  # e.g. a radius graph cut at its own radius: copy only
        return sp.csr_matrix(
            (graph.data.copy(), graph.indices.copy(), graph.indptr.copy()),
            shape=graph.shape,
        )
    cum = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    indptr = cum[graph.indptr]
    return sp.csr_matrix(
        (graph.data[keep], graph.indices[keep], indptr), shape=graph.shape
    )


def threshold_graph(graph, radius: float) -> sp.csr_matrix:
    """Keep the stored entries of a distance graph with distance ``<= radius``.

    Parameters
    ----------
    graph : sparse matrix of shape (n_queries, n_references)
        Euclidean distances; explicit zeros (self pairs) are kept.
    radius : float
        Inclusive cutoff.

    Returns
    -------
    graph : scipy.sparse.csr_matrix
        New CSR matrix (sorted indices) with the same shape.
    """
    graph = _as_canonical_csr(graph)
    return _mask_entries(graph, graph.data <= radius)


def add_self_loops(graph) -> sp.csr_matrix:
    """Ensure a square distance graph stores its diagonal as explicit zeros.

    Useful for user-supplied (``metric="precomputed"``) graphs, from which sparse
    arithmetic often prunes the zero self distances.

    Parameters
    ----------
    graph : sparse matrix of shape (n, n)
        Distances of a set against itself.

    Returns
    -------
    graph : scipy.sparse.csr_matrix
        Canonical CSR with ``graph[i, i] == 0`` stored for every ``i``.
    """
    graph = _as_canonical_csr(graph)
    n = graph.shape[0]
    if graph.shape[1] != n:
        raise ValueError(f"add_self_loops needs a square graph, got {graph.shape}.")
    rows = entry_rows(graph)
    diag = graph.indices == rows
    if np.count_nonzero(diag) == n and not graph.data[diag].any():
        return graph
    off = ~diag
    every = np.arange(n)
    coo_rows = np.concatenate((rows[off], every))
    coo_cols = np.concatenate((graph.indices[off], every))
    data = np.concatenate((graph.data[off], np.zeros(n, dtype=graph.dtype)))
    # COO -> CSR keeps the explicit zeros (there are no duplicates to sum).
    out = sp.csr_matrix((data, (coo_rows, coo_cols)), shape=graph.shape)
    out.sort_indices()
    return out


def gaussian_degrees(
    graph: sp.csr_matrix, epsilon: float, radius: float, rows: np.ndarray | None = None
) -> np.ndarray:
    """Row sums of ``gaussian_affinity(graph, epsilon, radius)``, not building it.

    ``graph`` is canonical CSR (e.g. from ``radius_graph``); ``rows``, the row
    index of every stored entry, can be passed when called at many radii.
    """
    if rows is None:
        rows = entry_rows(graph)
    dist = graph.data
    weights = np.exp(-((dist / epsilon) ** 2))
    weights[dist > radius] = 0.0
    return np.bincount(rows, weights=weights, minlength=graph.shape[0])


def gaussian_affinity(
    graph,
    epsilon: float,
    radius: float | None = None,
    *,
    symmetrize: bool = False,
) -> sp.csr_matrix:
    """Gaussian affinity ``W_ij = exp(-d_ij**2 / epsilon**2)`` on a distance graph.

    Parameters
    ----------
    graph : sparse matrix of shape (n_queries, n_references)
        Euclidean distances. Stored zeros (self pairs) give ``W_ii = 1``; for
        graphs whose zero diagonal was pruned call ``add_self_loops`` first.
    epsilon : float
        Kernel bandwidth (the ``epsilon`` of ``exp(-d**2/epsilon**2)``, not a
        standard deviation).
    radius : float, default=None
        Cutoff; entries with ``d_ij > radius`` are dropped. ``None`` means
        ``3 * epsilon`` (weight ``exp(-9)`` at the cutoff).
    symmetrize : bool, default=False
        Return ``(W + W.T) / 2``. Needed for approximate or k-NN input graphs;
        exact radius graphs are already symmetric.

    Returns
    -------
    W : scipy.sparse.csr_matrix
        float64 affinity with sorted indices and the input's sparsity pattern
        restricted to the cutoff.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive, got {epsilon!r}.")
    if radius is None:
        radius = DEFAULT_RADIUS_RATIO * epsilon
    graph = threshold_graph(graph, radius)
    # threshold_graph returned fresh arrays: the weights overwrite its
    # distances in place (no nnz-sized temporaries) and W takes its indices
    weights = graph.data.astype(np.float64, copy=False)
    np.divide(weights, epsilon, out=weights)
    np.square(weights, out=weights)
    np.negative(weights, out=weights)
    np.exp(weights, out=weights)
    W = sp.csr_matrix((weights, graph.indices, graph.indptr), shape=graph.shape)
    if symmetrize:
        if W.shape[0] != W.shape[1]:
            raise ValueError(
                f"symmetrize=True needs a square graph, got shape {W.shape}."
            )
        W = ((W + W.T) * 0.5).tocsr()
        W.sort_indices()
    return W


def radius_affinity(
    X,
    epsilon: float,
    radius: float | None = None,
    Y=None,
    *,
    n_jobs: int | None = None,
    device: str | None = None,
) -> sp.csr_matrix:
    """Gaussian affinity of ``X`` against ``Y`` (``None``: ``X`` itself) on the
    pairs within ``radius`` (default ``3 * epsilon``): the one constructor of
    ``radius_graph`` followed by :func:`gaussian_affinity`."""
    from . import distances

    if radius is None:
        radius = DEFAULT_RADIUS_RATIO * epsilon
    graph = distances.radius_graph(X, radius, Y, n_jobs=n_jobs, device=device)
    return gaussian_affinity(graph, epsilon, radius=radius)


def knn_bandwidths(
    X,
    n_neighbors: int,
    Y=None,
    *,
    n_jobs: int | None = None,
    device: str | None = None,
) -> np.ndarray:
    """Root-mean-square distance of each row to its ``n_neighbors`` nearest rows.

    The ad-hoc bandwidth ``rho_0`` of Berry & Harlim (2016): under a smooth
    sampling density ``p`` on a ``d``-manifold it scales as ``p**(-1/d)``.
    Against a reference set ``Y`` a query row identical to a reference row is
    that row and is not its own neighbour (so training rows get their fit
    values). See :ref:`conv-adaptive`.
    """
    from . import distances

    if Y is None:
        d = distances.knn_distances(X, n_neighbors, n_jobs=n_jobs, device=device)
    else:
        d = distances.knn_distances(X, n_neighbors + 1, Y, n_jobs=n_jobs, device=device)
        itself = d[:, :1] == 0.0
        d = np.where(itself, d[:, 1:], d[:, :-1])
    return np.sqrt(np.mean(np.square(d), axis=1))


# Rows whose bandwidths lie within this factor share one radius search.
_BUCKET_RATIO = 1.25


def _bandwidth_buckets(rho: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(rho, kind="stable")
    level = np.floor(np.log(rho[order] / rho[order[0]]) / np.log(_BUCKET_RATIO))
    cuts = np.flatnonzero(np.diff(level)) + 1
    return np.split(order, cuts)


def scaled_radius_graph(
    X,
    rho: np.ndarray,
    radius: float,
    Y=None,
    rho_ref: np.ndarray | None = None,
    *,
    n_jobs: int | None = None,
    device: str | None = None,
) -> sp.csr_matrix:
    """Scaled distances ``s_ij = d_ij / sqrt(rho_i rho_j)`` of the pairs with
    ``s_ij <= radius`` (see :ref:`conv-adaptive`).

    On this graph the fixed Gaussian kernel ``exp(-s**2/epsilon**2)`` is the
    variable-bandwidth kernel ``exp(-d**2/(epsilon**2 rho_i rho_j))`` with the
    cutoff ``d <= radius sqrt(rho_i rho_j)``, so every fixed-kernel function of
    this module applies to it. Exact and sparse: rows are searched in buckets
    of similar ``rho`` (within a factor 1.25), each at the radius its largest
    pair width needs; against itself a pair needs ``d <= radius * max(rho_i,
    rho_j)``, so each row searches ``radius * rho_i`` and the graph is the
    union of both directions. Self pairs are explicit zeros.

    Parameters
    ----------
    X : ndarray of shape (n_queries, n_features)
    rho : ndarray of shape (n_queries,)
        Positive bandwidth factors of the queries.
    radius : float
        Cutoff on the scaled distance.
    Y, rho_ref : ndarray of shape (n_reference, n_features) and (n_reference,)
        Reference rows and their bandwidths; ``None``: ``X`` and ``rho``.
    n_jobs, device
        As in ``distances.radius_graph``.

    Returns
    -------
    graph : scipy.sparse.csr_matrix of shape (n_queries, n_reference)
        Canonical CSR (sorted indices) of scaled distances.
    """
    from . import distances

    rho = np.asarray(rho, dtype=np.float64)
    same = Y is None
    ref, rho_r = (X, rho) if same else (Y, np.asarray(rho_ref, dtype=np.float64))
    rows_, cols_, vals_ = [], [], []
    for idx in _bandwidth_buckets(rho):
        top = rho[idx].max() if same else np.sqrt(rho[idx].max() * rho_r.max())
        g = distances.radius_graph(
            X[idx], radius * top, ref, n_jobs=n_jobs, device=device
        )
        r = idx[entry_rows(g)]
        s = g.data / np.sqrt(rho[r] * rho_r[g.indices])
        keep = s <= radius
        rows_.append(r[keep])
        cols_.append(g.indices[keep].astype(np.int64))
        vals_.append(s[keep])
    rows, cols, vals = (np.concatenate(a) for a in (rows_, cols_, vals_))
    shape = (X.shape[0], ref.shape[0])
    if not same:
        out = sp.csr_matrix((vals, (rows, cols)), shape=shape)
        out.sort_indices()
        return out
    # A pair found from both ends is stored twice with the same value.
    rows, cols = np.concatenate((rows, cols)), np.concatenate((cols, rows))
    vals = np.concatenate((vals, vals))
    n = shape[0]
    key = rows * n + cols
    key, first = np.unique(key, return_index=True)
    out = sp.csr_matrix((vals[first], (key // n, key % n)), shape=shape)
    out.sort_indices()
    return out
