"""Exact Euclidean neighbourhoods by blocked brute force.

Every function here walks row blocks of the query set X against the whole
reference set Y: one GEMM per block (``||x||^2 + ||y||^2 - 2 x.y``), reduced at
once by a fused C kernel (``_reduce``) into what the caller needs -- counts at
many radii, CSR rows within a radius, truncated-Gaussian kernel sums, Gaussian
log-sums -- so no n x n matrix ever exists.  Block size follows
``sklearn.get_config()["working_memory"]``; blocks are independent and run
through ``sklearn.utils.parallel.Parallel`` (threads by default, any joblib
backend works).  When the query set is the reference set only the upper
triangle is computed.

float32 input stays float32 through the GEMM; pairs within float rounding of a
threshold, and nearly coincident pairs, are recomputed exactly in float64 from
the user's rows, so neighbourhoods equal a float64 brute-force search.

The GEMM form loses everything when the norms dwarf the distances (data far
from the origin) and over- or underflows for huge or tiny coordinates, so the
operands are rescaled by a power of two (exact) and centred on the median row
(exact for distances) first, here, for every caller. Thresholds go in and
distances come out in the user's units.

With ``device=`` (a torch device string) the GEMMs run on torch and the
reductions, re-checks included, stay the same (``_device``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import scipy.sparse as sp
from joblib import effective_n_jobs
from sklearn import get_config

from . import _device, _reduce, progress, tiles
from .parallel import single_threaded_blas, thread_map

MODE_ALL, MODE_UPPER, MODE_NO_SELF = 0, 1, 2
_MAX_BLOCK_ROWS = 512  # keeps one block's reduction pass near the caches
# A block's GEMM output of at most ~16 MB (at least 64 rows, for the GEMM's
# sake) stays below glibc's 32 MB mmap threshold: the next block reuses the
# freed memory instead of faulting in fresh pages. Here a fresh 80 MB block
# cost twice its GEMM time; the k-NN width pass at 20,000 rows 0.32 -> 0.21 s.
_BLOCK_BYTES = 16 * 2**20
_MIN_BLOCK_ROWS = 64
# Rows (evenly spaced) of the centre estimate: their median locates the bulk.
_CENTRE_ROWS = 1024
# Coordinates up to 2^32 in magnitude (and down to 2^-32) keep every squared
# distance finite and normal, also in float32: no rescaling needed.
_SAFE_EXPONENT = 32
# Self radius graphs from this many rows try the tiled pass (:mod:`.tiles`),
# taken when its tiles cover at most this fraction of the pairs.
TILED_MIN_ROWS = 8192
TILED_MAX_VISITED = 0.6


@dataclass(frozen=True)
class _Operands:
    """GEMM operands (rescaled, centred rows and their squared norms), one dtype.

    ``X_exact`` / ``Y_exact`` are the user's rows divided by ``unit`` only (no
    rounding), for the exact re-checks; distances of the operands times
    ``unit`` are the user's distances.
    """

    X: np.ndarray
    xx: np.ndarray
    Y: np.ndarray
    yy: np.ndarray
    same: bool  # Y is X: self pairs exist and symmetry can be used
    X_exact: np.ndarray
    Y_exact: np.ndarray
    unit: float = 1.0
    device: tuple | None = None  # (X, Y) as torch tensors: GEMMs run there

    def gemm(self, rows: slice, col0: int = 0) -> np.ndarray:
        """``X[rows] @ Y[col0:].T`` in the operands' dtype."""
        if self.device is not None:
            return _device.device_gemm(*self.device, rows, col0)
        return self.X[rows] @ self.Y[col0:].T

    @property
    def tol(self) -> float:
        # Rounding bound of the GEMM form, relative to ||x||^2 + ||y||^2
        # (+2: the rounding of the centring, relative to the same norms).
        return float((self.X.shape[1] + 2) * np.finfo(self.X.dtype).eps)


def data_unit(*arrays: np.ndarray) -> float:
    """Power of two to divide the rows by so that squared distances stay finite.

    ``2**e`` with ``2**(e - 1) <= max |coordinate| < 2**e``, or 1 when the
    coordinates are already within ``2**±32``. Dividing by a power of two is
    exact in floating point, so the rescaled rows have exactly the user's
    geometry, in units of the returned value.
    """
    top = max((float(max(A.max(), -A.min())) for A in arrays if A.size), default=0.0)
    exponent = int(np.frexp(top)[1]) if top > 0 else 0
    if abs(exponent) <= _SAFE_EXPONENT:
        return 1.0
    # both 2^e and 2^-e finite in float64 (subnormal data stay below 1)
    return float(np.ldexp(1.0, min(max(exponent, -1021), 1023)))


def _rescaled(A: np.ndarray, unit: float) -> np.ndarray:
    # multiply by the reciprocal: 2^-e is exact in the dtype (2^e may overflow)
    return A if unit == 1.0 else A * np.asarray(1.0 / unit, dtype=A.dtype)


def robust_centre(Y: np.ndarray) -> np.ndarray:
    """Coordinate-wise median of evenly spaced rows (robust to far outliers)."""
    step = max(1, Y.shape[0] // _CENTRE_ROWS)
    return np.median(Y[::step], axis=0).astype(Y.dtype, copy=False)


def _operands(
    X: np.ndarray, Y: np.ndarray | None, device: str | None = None
) -> _Operands:
    dtype = _float_dtype(X)
    if Y is not None and Y.dtype != dtype:
        dtype = np.float64
    X = np.ascontiguousarray(X, dtype=dtype)
    same = Y is None
    Y = X if same else np.ascontiguousarray(Y, dtype=dtype)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X and Y must be 2-D with the same number of columns; got shapes "
            f"{X.shape} and {Y.shape}."
        )
    unit = data_unit(X) if same else data_unit(X, Y)
    X_exact = _rescaled(X, unit)
    Y_exact = X_exact if same else _rescaled(Y, unit)
    # Centred on the reference rows: the GEMM's rounding scales with the
    # squared norms, which are now those of the spread, not of the offset.
    centre = robust_centre(Y_exact) if Y_exact.shape[0] else 0.0
    Xc = X_exact - centre
    Yc = Xc if same else Y_exact - centre
    xx = np.einsum("ij,ij->i", Xc, Xc)
    yy = xx if same else np.einsum("ij,ij->i", Yc, Yc)
    on_device = None
    if _device.check_device(device) is not None:
        Xd = _device.to_device(Xc, device)
        on_device = (Xd, Xd if same else _device.to_device(Yc, device))
    return _Operands(Xc, xx, Yc, yy, same, X_exact, Y_exact, unit, on_device)


def _blocks(n_rows: int, n_cols: int, itemsize: int) -> list[slice]:
    """Row blocks whose GEMM output fits the working memory (per worker).

    The blocks do not depend on ``n_jobs``, so neither do the results.
    """
    row_bytes = max(1, n_cols * itemsize)
    budget = get_config()["working_memory"] * 2**20
    reused = max(_MIN_BLOCK_ROWS, _BLOCK_BYTES // row_bytes)
    rows = int(min(_MAX_BLOCK_ROWS, reused, max(1, budget // row_bytes)))
    return [slice(s, min(s + rows, n_rows)) for s in range(0, n_rows, rows)]


def _map_blocks(task, ops: _Operands, n_jobs, blocks=None):
    """Yield ``(block, task(ops, block))`` for every row block, in order.

    ``blocks`` (default: row slices of ``_blocks``) can be any work items.
    """
    if blocks is None:
        blocks = _blocks(ops.X.shape[0], ops.Y.shape[0], ops.X.itemsize)
    what = f"{ops.X.shape[0]} x {ops.Y.shape[0]} distances"
    # One block: no threads to share it with; BLAS keeps all its threads.
    if effective_n_jobs(n_jobs) == 1 or len(blocks) == 1:
        for block in progress.track(blocks, len(blocks), what):
            yield block, task(ops, block)
        return
    # Parallel blocks: one BLAS thread each, so GEMMs do not oversubscribe.
    with single_threaded_blas():
        results = thread_map(partial(task, ops), blocks, n_jobs)
        yield from progress.track(zip(blocks, results), len(blocks), what)


def _gemm_block(
    ops: _Operands, block: slice, mode: int, cols: slice | None = None
) -> tuple:
    """GEMM of one row block and the leading arguments of every C reducer.

    ``MODE_UPPER`` (self pairs j > i only) multiplies by the columns from the
    block start on; the other modes by all columns; ``cols`` by those only
    (host GEMMs). Thresholds handed to the reducers are in ``ops.unit``.
    """
    if not ops.same:
        mode = MODE_ALL
    if cols is None:
        cols = slice(block.start if mode == MODE_UPPER else 0, ops.Y.shape[0])
        G = ops.gemm(block, cols.start)
    else:
        G = ops.X[block] @ ops.Y[cols].T
    return (
        G,
        ops.xx[block],
        ops.yy[cols],
        ops.X_exact[block],  # exact re-checks from the (rescaled) user rows
        ops.Y_exact[cols],
        G.shape[0],
        G.shape[1],
        ops.X.shape[1],
        block.start,
        cols.start,
        mode,
        ops.X.dtype == np.float64,
        ops.tol,
    )


# --------------------------------------------------------------------------- #
# Counts at many radii
# --------------------------------------------------------------------------- #
def _count_task(ops: _Operands, block: slice, edges: np.ndarray):
    lead = _gemm_block(ops, block, MODE_UPPER)
    hist_rows = np.zeros((lead[5], edges.size), dtype=np.int32)
    hist_cols = np.zeros((lead[6], edges.size), dtype=np.int32)
    _reduce.bin_counts(*lead, edges, hist_rows, hist_cols, ops.same)
    return hist_rows, (hist_cols if ops.same else None)


def radius_counts(
    X: np.ndarray,
    radii,
    Y: np.ndarray | None = None,
    *,
    exclude_self: bool = True,
    n_jobs: int | None = None,
    device: str | None = None,
) -> np.ndarray:
    """Number of reference points within each radius of every query point.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Query points.
    radii : float or array-like of shape (n_radii,)
        Radii, any order; a pair at distance exactly ``r`` counts for ``r``.
    Y : ndarray of shape (n_reference, n_features), default=None
        Reference points; ``None`` means ``X`` itself.
    exclude_self : bool, default=True
        With ``Y=None``, do not count a point as its own neighbour (the
        package convention ``N_R(x) = |Nbr_R(x)| - 1``).
    n_jobs : int, default=None
        Row blocks run in parallel threads (any joblib backend).
    device : str, default=None
        Torch device to run the blocks on (``"cpu"``, ``"cuda"``).

    Returns
    -------
    counts : ndarray of shape (n_samples, n_radii), dtype int64
        Column ``t`` holds the counts for ``radii[t]``.
    """
    radii = np.atleast_1d(np.asarray(radii, dtype=np.float64))
    order = np.argsort(radii)
    ops = _operands(X, Y, device)
    edges = np.ascontiguousarray((radii[order] / ops.unit) ** 2)
    hist = np.zeros((ops.X.shape[0], edges.size), dtype=np.int64)
    task = partial(_count_task, edges=edges)
    for block, (rows, cols) in _map_blocks(task, ops, n_jobs):
        hist[block] += rows
        if cols is not None:
            hist[block.start :] += cols
    counts = np.cumsum(hist, axis=1)
    if ops.same and not exclude_self:
        counts += 1
    out = np.empty_like(counts)
    out[:, order] = counts
    return out


# --------------------------------------------------------------------------- #
# Sparse radius graph
# --------------------------------------------------------------------------- #
def _select_task(ops: _Operands, block: slice, radius: float):
    return _select_pairs([_gemm_block(ops, block, MODE_UPPER)], radius)


def _select_pairs(leads: list, radius: float):
    """Pairs within ``radius`` of one row block over GEMM blocks of ascending
    columns: counts first, then each row's pairs written in column order."""
    r2 = np.array([radius**2])
    counts = np.zeros((leads[0][5], 1), dtype=np.int32)
    for lead in leads:
        _reduce.bin_counts(*lead, r2, counts, counts, False)
    row_end = np.cumsum(counts[:, 0], dtype=np.int64)
    cursor = row_end - counts[:, 0]
    indices = np.empty(row_end[-1] if row_end.size else 0, dtype=np.int64)
    dist = np.empty(indices.size, dtype=np.float64)
    for lead in leads:
        _reduce.select_pairs(*lead, r2[0], cursor, row_end, indices, dist)
    return counts[:, 0], indices, dist


def radius_graph(
    X: np.ndarray,
    radius: float,
    Y: np.ndarray | None = None,
    *,
    n_jobs: int | None = None,
    device: str | None = None,
) -> sp.csr_matrix:
    """Sparse graph of the Euclidean distances within ``radius``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Query points.
    radius : float
        Pairs at distance ``<= radius`` are stored.
    Y : ndarray of shape (n_reference, n_features), default=None
        Reference points; ``None`` means ``X`` itself.
    n_jobs : int, default=None
        Row blocks run in parallel threads (any joblib backend).
    device : str, default=None
        Torch device to run the blocks on.

    Returns
    -------
    graph : csr_matrix of shape (n_samples, n_reference), float64
        Distances, column indices sorted in each row.  With ``Y=None`` the
        graph is symmetric and every point's self pair is stored as an
        explicit zero (coincident points likewise), so ``graph.data`` holds
        every neighbour including distance 0.
    """
    if Y is None and _device.check_device(device) is None:
        X = np.ascontiguousarray(X, dtype=_float_dtype(X))
        tiling = _self_tiling(X, radius)
        if tiling is not None:
            return _tiled_radius_graph(X, tiling, radius, n_jobs)
    ops = _operands(X, Y, device)
    n, m = ops.X.shape[0], ops.Y.shape[0]
    task = partial(_select_task, radius=radius / ops.unit)
    counts, indices, dist = _joined(_map_blocks(task, ops, n_jobs), ops.unit)
    if not ops.same:
        indptr = np.concatenate([[0], np.cumsum(counts)])
        return sp.csr_matrix((dist, _small_index(indices, m), indptr), shape=(n, m))
    return _mirror_upper(counts, _small_index(indices, n), dist, n)


def _float_dtype(X: np.ndarray) -> type:
    return np.float32 if X.dtype == np.float32 else np.float64


def _self_tiling(X: np.ndarray, radius: float):
    """The tiling of a large set against itself, or None where the plain pass
    is as fast (fewer than ``TILED_MIN_ROWS`` rows, or structureless data)."""
    if X.shape[0] < TILED_MIN_ROWS:
        return None
    unit = data_unit(X)
    tiling = tiles.radius_tiling(_rescaled(X, unit), radius / unit)
    return tiling if tiling.visited <= TILED_MAX_VISITED else None


def _tiled_radius_graph(X: np.ndarray, tiling, radius: float, n_jobs):
    """``radius_graph`` of a set against itself over the tiles that can hold
    a pair within ``radius`` (:mod:`.tiles`): the same graph, the GEMMs of the
    other tiles skipped. The operands are built on the rows in the tiles'
    order (one gather of the rows, not one per operand)."""
    order = tiling.order
    ops = _operands(X[order], None)
    work = _tile_work(tiling, ops.X.itemsize)
    task = partial(_select_tiles_task, radius=radius / ops.unit)
    blocks = _map_blocks(task, ops, n_jobs, blocks=work)
    return _mirror_upper(*_joined(blocks, ops.unit), order.size, order)


def _joined(blocks, unit: float):
    """Counts, columns and distances (in the user's units) of all row blocks."""
    parts = [r for _, r in blocks]
    counts = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, int)
    indices = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, int)
    dist = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    if unit != 1.0:
        dist *= unit
    return counts, indices, dist


def _tile_work(tiling, itemsize: int) -> list:
    """``(rows, column slices)`` per task: a leaf, split so that its tiles'
    GEMM blocks fit the working memory together."""
    budget = get_config()["working_memory"] * 2**20
    work = []
    for leaf, cols in zip(tiling.leaves, tiling.columns):
        width = sum(c.stop - c.start for c in cols)
        rows = int(max(1, min(leaf.stop - leaf.start, budget // (width * itemsize))))
        for s in range(leaf.start, leaf.stop, rows):
            work.append((slice(s, min(s + rows, leaf.stop)), cols))
    return work


def _select_tiles_task(ops: _Operands, item, radius: float):
    rows, cols = item
    leads = [_gemm_block(ops, rows, MODE_UPPER, c) for c in cols]
    counts, indices, dist = _select_pairs(leads, radius)
    return counts, indices.astype(np.int32), dist


def _mirror_upper(counts, indices, dist, n: int, order=None) -> sp.csr_matrix:
    """Symmetric CSR from the strict upper triangle (ascending columns per row),
    every self pair stored as an explicit zero.

    One C pass writes each row as its lower part, self pair and upper part,
    already in column order: no sort and no 2 nnz COO round trip (measured on
    42M pairs: 0.5 s against 3.3 s for the numpy transpose-and-scatter and
    5.5 s for ``coo.tocsr`` + ``sort_indices``). With ``order`` the triangle
    was computed on the rows ``X[order]`` (tiled pass) and the graph comes
    back in the original row order (two C passes, still no sort). Columns are
    int32: n rows of features in memory are far below 2**31.
    """
    counts = np.asarray(counts, dtype=np.int64)
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    dist = np.ascontiguousarray(dist, dtype=np.float64)
    up_ptr = np.concatenate(([0], np.cumsum(counts)))
    degree = counts + 1 + np.bincount(indices, minlength=n)  # triangle's rows
    if order is not None:  # row i of the triangle is row order[i]
        degree = degree[np.argsort(order)]
    indptr = np.concatenate(([0], np.cumsum(degree)))
    out_idx = np.empty(indptr[-1], dtype=np.int32)
    out_dist = np.empty(indptr[-1], dtype=np.float64)
    if order is None:
        cursor = np.empty(n, dtype=np.int64)
        _reduce.mirror_upper(
            n, up_ptr, indices, dist, indptr, cursor, out_idx, out_dist
        )
    else:
        order = order.astype(np.int64)
        _reduce.mirror_permuted(
            n, order, up_ptr, indices, dist, indptr, out_idx, out_dist
        )
    graph = sp.csr_matrix((out_dist, out_idx, indptr), shape=(n, n))
    graph.has_sorted_indices = True
    return graph


def _small_index(indices: np.ndarray, n_cols: int) -> np.ndarray:
    return indices.astype(np.int32) if n_cols < 2**31 - 1 else indices


# --------------------------------------------------------------------------- #
# k nearest neighbours
# --------------------------------------------------------------------------- #
# Pairs per chunk of an exact re-evaluation (a few MB of float64 differences).
_EXACT_PAIRS = 4096


def _exact_pairs(ops: _Operands, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Exact float64 squared distances of the pairs (X row, Y row), chunked."""
    out = np.empty(rows.size)
    for s in range(0, rows.size, _EXACT_PAIRS):
        part = slice(s, s + _EXACT_PAIRS)
        diff = ops.X_exact[rows[part]].astype(np.float64)
        diff -= ops.Y_exact[cols[part]]
        out[part] = np.einsum("ij,ij->i", diff, diff)
    return out


def _knn_task(ops: _Operands, block: slice, k: int, exclude_self: bool):
    # Over-select by GEMM value in the C reducer (which also computes the
    # candidates' exact float64 distances), then rank the candidates exactly.
    no_self = exclude_self and ops.same
    lead = _gemm_block(ops, block, MODE_NO_SELF if no_self else MODE_ALL)
    G = lead[0]
    b, m = G.shape
    available = m - int(no_self)  # the self pair is never a candidate
    k_cand = min(available, k + 8)
    cand = np.empty((b, k_cand), dtype=np.int64)
    exact = np.empty((b, k_cand))
    edge = np.empty(b)
    _reduce.knn_candidates(*lead, k_cand, cand, exact, edge)
    if k_cand < available:
        extra = _unseen_rivals(ops, block, G, no_self, cand, exact, edge, k)
        if extra is not None:
            cand, exact = _merge(cand, exact, *extra)
    order = np.argsort(exact, axis=1, kind="stable")[:, :k]
    return (
        np.sqrt(np.take_along_axis(exact, order, 1)),
        np.take_along_axis(cand, order, 1),
    )


def _unseen_rivals(ops, block, G, no_self, cand, exact, edge, k):
    """Non-candidates that may be nearer than a row's k-th candidate.

    A column's true squared distance is at least its GEMM value less the
    rounding bound ``tol (||x||^2 + ||y||^2)``; every non-candidate's GEMM
    value is at least ``edge``, the largest candidate's. Rows where that leaves
    no doubt (the common case: well-scaled data) cost O(1); the others --
    float32, or norms far above the distances (distant clusters, far outliers)
    -- test every column and get the doubtful ones evaluated exactly. Returns
    ``(rows, cols, exact)`` of those pairs, or None.
    """
    kth = np.partition(exact, k - 1, axis=1)[:, k - 1]
    xx = ops.xx[block].astype(np.float64)
    doubt = np.flatnonzero(edge - ops.tol * (xx + float(ops.yy.max())) <= kth)
    if doubt.size == 0:
        return None
    lower = ops.xx[block][doubt, None] + ops.yy[None, :] - 2.0 * G[doubt]
    lower -= ops.tol * (ops.xx[block][doubt, None] + ops.yy[None, :])
    maybe = lower <= kth[doubt, None]
    np.put_along_axis(maybe, cand[doubt], False, axis=1)
    if no_self:
        maybe[np.arange(doubt.size), block.start + doubt] = False
    r, cols = np.nonzero(maybe)
    if r.size == 0:
        return None
    rows = doubt[r]
    return rows, cols, _exact_pairs(ops, block.start + rows, cols)


def _merge(cand, exact, rows, cols, values):
    """Append the extra pairs to their rows (padding with inf) as new columns."""
    width = np.bincount(rows, minlength=cand.shape[0])
    slot = np.arange(rows.size) - np.repeat(np.cumsum(width) - width, width)
    more_c = np.zeros((cand.shape[0], width.max()), dtype=cand.dtype)
    more_e = np.full(more_c.shape, np.inf)
    more_c[rows, slot], more_e[rows, slot] = cols, values
    return np.hstack([cand, more_c]), np.hstack([exact, more_e])


def knn_distances(
    X: np.ndarray,
    n_neighbors: int,
    Y: np.ndarray | None = None,
    *,
    exclude_self: bool = True,
    return_indices: bool = False,
    n_jobs: int | None = None,
    device: str | None = None,
):
    """Distances to the ``n_neighbors`` nearest reference points, ascending.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Query points.
    n_neighbors : int
        Number of neighbours per query point.
    Y : ndarray of shape (n_reference, n_features), default=None
        Reference points; ``None`` means ``X`` itself.
    exclude_self : bool, default=True
        With ``Y=None``, a point is not its own neighbour.
    return_indices : bool, default=False
        Also return the neighbours' row indices.
    n_jobs : int, default=None
        Row blocks run in parallel threads.
    device : str, default=None
        Torch device to run the GEMMs on.

    Returns
    -------
    distances : ndarray of shape (n_samples, n_neighbors)
    indices : ndarray of shape (n_samples, n_neighbors), if ``return_indices``
    """
    ops = _operands(X, Y, device)
    available = ops.Y.shape[0] - (1 if (ops.same and exclude_self) else 0)
    if not 1 <= n_neighbors <= available:
        raise ValueError(
            f"n_neighbors={n_neighbors} must be between 1 and the {available} "
            "available reference points."
        )
    task = partial(_knn_task, k=n_neighbors, exclude_self=exclude_self)
    # kNN blocks always use the full GEMM (no symmetric shortcut).
    parts = [r for _, r in _map_blocks(task, ops, n_jobs)]
    dist = np.concatenate([p[0] for p in parts]) * ops.unit
    if return_indices:
        return dist, np.concatenate([p[1] for p in parts])
    return dist


# Up to this many features a k-d tree beats the blocked GEMMs (3-5x at 2-6).
TREE_MAX_FEATURES = 6


def tree_knn_distances(X: np.ndarray, n_neighbors: int, Y: np.ndarray) -> np.ndarray:
    """Distances of the rows of ``X`` to their ``n_neighbors`` nearest rows of
    ``Y``, ascending, by a k-d tree: the fast path for well-scaled sets of at
    most ``TREE_MAX_FEATURES`` features (GRIDE's uniform reference samples);
    :func:`knn_distances` is exact at any scale. A row of ``X`` that is also
    a row of ``Y`` has itself as first neighbour.
    """
    from scipy.spatial import cKDTree

    return cKDTree(Y).query(X, k=n_neighbors)[0]


def _farthest_task(ops: _Operands, block: slice):
    d2 = ops.xx[block, None] + ops.yy[None, :] - 2.0 * ops.gemm(block)
    return np.sqrt(np.maximum(d2.max(axis=1).astype(np.float64), 0.0))


def farthest_distances(
    X: np.ndarray, Y: np.ndarray | None = None, *, n_jobs: int | None = None
) -> np.ndarray:
    """Distance from every query row to its farthest reference row.

    A ball of that radius around the row holds every reference row: there its
    neighbour count saturates. Read from the GEMM form (relative rounding
    about ``n_features * eps`` of the largest distance, no exact re-check).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Query points.
    Y : ndarray of shape (n_reference, n_features), default=None
        Reference points; ``None`` means ``X`` itself.
    n_jobs : int, default=None
        Row blocks run in parallel threads.

    Returns
    -------
    distances : ndarray of shape (n_samples,)
    """
    ops = _operands(X, Y)
    parts = [r for _, r in _map_blocks(_farthest_task, ops, n_jobs)]
    return np.concatenate(parts) * ops.unit if parts else np.zeros(0)


# --------------------------------------------------------------------------- #
# Kernel sums (Nadaraya-Watson, Nystrom, degrees) and Gaussian log-sums (KDE)
# --------------------------------------------------------------------------- #
# A set against itself is reduced over pairs j > i, each pair also summed into
# its column's row, when the per-row accumulators (bandwidths x (1 + targets))
# are this small: a block's column buffer is then n_reference x this doubles.
_SYMMETRIC_WIDTH = 64


def _kernel_task(ops, block, inv_eps2, cut2, targets, mode):
    lead = _gemm_block(ops, block, mode)
    b, m, col0 = lead[5], lead[6], lead[9]
    q = targets.shape[1]
    symmetric = mode == MODE_UPPER
    rows = np.zeros((b, inv_eps2.size, q + 1))
    cols = np.zeros((m if symmetric else 0, inv_eps2.size, q + 1))
    F = np.ascontiguousarray(targets[col0:])
    _reduce.kernel_sums(*lead, inv_eps2, cut2, F, q, rows, cols, symmetric)
    return rows, cols


def kernel_sums(
    X: np.ndarray,
    Y: np.ndarray | None,
    targets: np.ndarray | None,
    epsilon,
    *,
    radius_ratio: float = 3.0,
    exclude_self: bool = False,
    n_jobs: int | None = None,
    device: str | None = None,
):
    """Truncated Gaussian kernel sums ``sum_j K(x, y_j) [1, F_j]``.

    ``K(x, y) = exp(-||x - y||^2 / epsilon^2)`` for
    ``||x - y|| <= radius_ratio * epsilon``, else 0 (see :ref:`conv-kernel`).
    Several bandwidths are reduced from one pass over the distances.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Query points.
    Y : ndarray of shape (n_reference, n_features) or None
        Reference points; ``None`` means ``X`` itself.
    targets : ndarray of shape (n_reference, n_targets) or None
        Values to average; ``None`` computes only the kernel degrees.
    epsilon : float or array-like of shape (n_bandwidths,)
        Kernel widths, in any order.
    radius_ratio : float, default=3.0
        Cutoff radius in units of epsilon.
    exclude_self : bool, default=False
        With ``Y=None``, leave each point's own weight out (leave-one-out).
    n_jobs : int, default=None
        Row blocks run in parallel threads.
    device : str, default=None
        Torch device to run the blocks on.

    Returns
    -------
    weights : ndarray of shape (n_samples, n_bandwidths)
        ``sum_j K(x, y_j)``.
    sums : ndarray of shape (n_samples, n_bandwidths, n_targets)
        ``sum_j K(x, y_j) F_j``.
    """
    ops = _operands(X, Y, device)
    eps = np.atleast_1d(np.asarray(epsilon, dtype=np.float64)) / ops.unit
    # The C reduction bins each pair by ascending cutoffs: sort, then restore
    # the caller's order (descending widths used to be truncated silently).
    order = np.argsort(eps, kind="stable")
    eps = eps[order]
    F = np.zeros((ops.Y.shape[0], 0)) if targets is None else targets
    F = np.ascontiguousarray(
        np.asarray(F, dtype=np.float64).reshape(ops.Y.shape[0], -1)
    )
    symmetric = ops.same and eps.size * (F.shape[1] + 1) <= _SYMMETRIC_WIDTH
    mode = MODE_UPPER if symmetric else MODE_NO_SELF if exclude_self else MODE_ALL
    task = partial(
        _kernel_task,
        inv_eps2=1.0 / eps**2,
        cut2=(radius_ratio * eps) ** 2,
        targets=F,
        mode=mode,
    )
    out = np.zeros((ops.X.shape[0], eps.size, F.shape[1] + 1))
    for block, (rows, cols) in _map_blocks(task, ops, n_jobs):
        out[block] += rows
        if symmetric:
            out[block.start :] += cols
    if symmetric and not exclude_self:  # the self pairs, K = 1
        out[:, :, 0] += 1.0
        out[:, :, 1:] += F[:, None, :]
    out = out[:, np.argsort(order, kind="stable")]
    return out[:, :, 0], out[:, :, 1:]


def _logsum_task(ops, block, coef, mode):
    lead = _gemm_block(ops, block, mode)
    out = np.full((lead[5], coef.size), -np.inf)
    _reduce.gauss_logsumexp(*lead, coef, out)
    return out


def gaussian_log_sums(
    X: np.ndarray,
    Y: np.ndarray | None,
    bandwidth,
    *,
    exclude_self: bool = False,
    n_jobs: int | None = None,
    device: str | None = None,
) -> np.ndarray:
    """``log sum_j exp(-||x - y_j||^2 / (2 h^2))`` for every bandwidth ``h``.

    Computed stably (log-sum-exp) without a cutoff, which is what a Gaussian
    kernel density needs in high dimension where the kernel underflows.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Query points.
    Y : ndarray of shape (n_reference, n_features) or None
        Reference points; ``None`` means ``X`` itself.
    bandwidth : float or array-like of shape (n_bandwidths,)
        Kernel standard deviations ``h``.
    exclude_self : bool, default=False
        With ``Y=None``, leave each point's own term out (leave-one-out).
    n_jobs : int, default=None
        Row blocks run in parallel threads.
    device : str, default=None
        Torch device to run the blocks on.

    Returns
    -------
    log_sums : ndarray of shape (n_samples, n_bandwidths)
    """
    ops = _operands(X, Y, device)
    h = np.atleast_1d(np.asarray(bandwidth, dtype=np.float64)) / ops.unit
    mode = MODE_NO_SELF if exclude_self else MODE_ALL
    task = partial(_logsum_task, coef=1.0 / (2.0 * h**2), mode=mode)
    return np.concatenate([r for _, r in _map_blocks(task, ops, n_jobs)])
