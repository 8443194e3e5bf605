"""Independent eigencoordinate selection (IES): the algorithmic core.

Chen & Meila (NeurIPS 2019); see :ref:`conv-ies`. Given diffusion coordinates
``Phi`` (n, m) with unit-norm columns, their eigenvalues and the scaled data
Laplacian, choose a set ``S`` of ``s`` columns (always containing column 0)
whose restriction is a low-frequency, locally full-rank embedding:

* tangent bases ``U_i`` (m, d): the top-d eigenvectors (descending) of the dual
  metric ``H_i`` of ``Phi`` at a random sample of points (geometry layer);
  points where ``H_i`` has rank < d (e.g. isolated vertices) are skipped;
* ``r_i(S) = 1/2 log det(B^T B)`` with ``B`` the rows ``S`` of ``U_i[:, :d]``
  scaled to unit length: row ``k`` is the gradient of ``phi_k`` projected on
  the tangent space, so for ``s = d`` this is the paper's log normalised
  volume, the volume of the projected gradients over the product of their
  norms. Scaling the columns (tangent directions) instead, as the authors'
  ``coord_search._comp_projected_volume`` does, depends on the arbitrary
  tangent basis and normalises away a coordinate whose gradient turns parallel
  to another one's (the product mode ``phi_0 phi_k`` of a long strip);
* ``R(S) = mean_i r_i(S)``, objective ``R(S) - zeta * sum_{k in S} |lambda_k|``;
* ``zeta`` by the leave-one-out rule of the reference ``zeta_search`` on a
  log grid that is extended until it covers the whole regularisation path.

Everything is vectorised: the Gram matrices of all subsets at all sample points
come from one GEMM per chunk of subsets, and their log-determinants from a
batched symmetric elimination (sign-checked like ``slogdet``, several times
faster than ``numpy.linalg.slogdet`` on millions of tiny matrices).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from .._geometry.metric import metric_eigen, riemannian_metric
from .._geometry.parallel import thread_map

# Reference zeta grid (yuchaz `regu_path.zeta_search`): logspace(1e-2, 1e5, 300).
ZETA_LOW, ZETA_HIGH, ZETA_POINTS = 1e-2, 1e5, 300
# Leave-one-out rule: the 75th percentile of the losses must be <= 1e-10.
LOO_PERCENTILE = 75.0
LOO_THRESHOLD = 1e-10
# At most this many decades are added at either end of the zeta grid.
MAX_EXTRA_DECADES = 40
# Budget (float64 entries) of one chunk of Gram matrices, and of the r table.
_CHUNK_ENTRIES = 1 << 21
MAX_TABLE_ENTRIES = 50_000_000
# A metric eigenvalue below RANK_RTOL times the point's largest counts as zero.
RANK_RTOL = 1e-10
_HUGE = 1e300


@dataclass
class IESPath:
    """Result of one IES run (one intrinsic dimension).

    Attributes
    ----------
    intrinsic_dim : int
        Dimension ``d`` of the tangent bases used (``min(d, s)``).
    subsets : ndarray of shape (n_subsets, s)
        All candidate sets, column 0 first, lexicographic order.
    log_volume : ndarray of shape (n_subsets,)
        ``R(S)``, mean log-volume over the sample (``-inf`` when degenerate).
    penalty : ndarray of shape (n_subsets,)
        ``sum_{k in S} |lambda_k|``.
    zetas : ndarray of shape (n_zetas,)
        The (possibly extended) log grid of regularisation strengths.
    winners : ndarray of shape (n_zetas,)
        Index into ``subsets`` of the maximiser at each grid value.
    candidates : ndarray of shape (n_candidates,)
        Distinct winners in order of increasing zeta (subset indices).
    candidate_zetas : ndarray of shape (n_candidates,)
        Representative zeta of each candidate (geometric mean of the grid
        values where it wins).
    loo_percentiles : ndarray of shape (n_candidates,)
        75th percentile over sample points of the leave-one-out loss.
    chosen : int
        Index into ``candidates`` of the selection under ``zeta="auto"``, or
        ``-1`` when a fixed zeta selected a set off the grid path.
    zeta : float
        The zeta used for the selection.
    selection : ndarray of shape (s,)
        The selected columns (sorted, starting with 0).
    n_points : int
        Sample points used (those whose metric has rank >= d), -1 if unset.
    """

    intrinsic_dim: int
    subsets: np.ndarray
    log_volume: np.ndarray
    penalty: np.ndarray
    zetas: np.ndarray
    winners: np.ndarray
    candidates: np.ndarray
    candidate_zetas: np.ndarray
    loo_percentiles: np.ndarray
    chosen: int
    zeta: float
    selection: np.ndarray
    n_points: int = -1


# --------------------------------------------------------------------------- #
# Tangent bases and log-volumes
# --------------------------------------------------------------------------- #
def tangent_bases(laplacian, embedding, rows, n_dims: int):
    """Top ``n_dims`` eigenpairs (descending) of the dual metric of ``embedding``.

    Parameters
    ----------
    laplacian : Laplacian or sparse matrix of shape (n, n)
        Scaled data Laplacian ``L = (4/epsilon**2)(P - I)``.
    embedding : ndarray of shape (n, m)
        Coordinates (unit-norm columns).
    rows : ndarray of int of shape (n_s,)
        Sample points.
    n_dims : int
        Number of leading eigenpairs kept.

    Returns
    -------
    values : ndarray of shape (n_s, n_dims)
        Eigenvalues of ``H_i``, descending.
    U : ndarray of shape (n_s, m, n_dims)
        ``U[i, :, k]`` is the eigenvector of ``H_i`` with the k-th largest
        eigenvalue (symmetric solver, explicit descending order).
    """
    H = riemannian_metric(laplacian, embedding, rows=rows)
    return metric_eigen(H, n_dims)


def informative_points(values: np.ndarray, intrinsic_dim: int) -> np.ndarray:
    """Sample points whose dual metric has rank >= d (numerically).

    At a point with fewer than d non-zero metric eigenvalues (an isolated
    vertex has ``H_i = 0``) the trailing tangent vectors are arbitrary null
    vectors: they carry no information and would bias or void every set.
    """
    top = values[:, 0]
    return (top > 0) & (values[:, intrinsic_dim - 1] > RANK_RTOL * top)


def n_candidate_subsets(n_columns: int, subset_size: int) -> int:
    """``C(n_columns - 1, subset_size - 1)``: sets containing column 0."""
    return math.comb(n_columns - 1, subset_size - 1)


def candidate_subsets(n_columns: int, subset_size: int) -> np.ndarray:
    """All ``subset_size``-subsets of ``range(n_columns)`` that contain 0.

    Returns
    -------
    subsets : ndarray of shape (C(n_columns - 1, subset_size - 1), subset_size)
        Sorted rows, lexicographic order, so row 0 is ``(0, 1, ..., s - 1)``.
    """
    if not 1 <= subset_size <= n_columns:
        raise ValueError(
            f"subset_size={subset_size} must be between 1 and the number of "
            f"columns {n_columns}."
        )
    n_subsets = n_candidate_subsets(n_columns, subset_size)
    rest = np.fromiter(
        (k for c in combinations(range(1, n_columns), subset_size - 1) for k in c),
        dtype=np.intp,
        count=n_subsets * (subset_size - 1),
    ).reshape(n_subsets, subset_size - 1)
    return np.hstack([np.zeros((rest.shape[0], 1), dtype=np.intp), rest])


def _half_log_det_from_gram(gram: dict, d: int) -> np.ndarray:
    """``1/2 log det G`` by symmetric elimination, in place.

    ``gram[(a, b)]`` (a <= b) holds the entries of a batch of symmetric
    matrices (overwritten). Gaussian elimination without pivoting is Cholesky
    for SPD input; its pivots ``p_k`` give ``log det G = sum_k log p_k``. A
    non-positive pivot means rank loss: ``-inf``, as ``slogdet`` with
    sign <= 0.
    """
    out = np.zeros(gram[(0, 0)].shape)
    bad = np.zeros(out.shape, dtype=bool)
    factor = np.empty_like(out)
    tmp = np.empty_like(out)
    for k in range(d):
        pivot = gram[(k, k)]
        bad |= ~(pivot > 0)
        pivot[bad] = 1.0
        np.log(pivot, out=tmp)
        out += tmp
        for i in range(k + 1, d):
            np.divide(gram[(k, i)], pivot, out=factor)
            for j in range(i, d):
                np.multiply(factor, gram[(k, j)], out=tmp)
                gram[(i, j)] -= tmp
    out *= 0.5
    out[bad] = -np.inf
    return out


def _chunk_log_volumes(products: np.ndarray, pairs, indicator, d, n_s):
    gram_flat = products @ indicator  # (n_pairs * n_s, chunk)
    gram = {
        p: gram_flat[t * n_s : (t + 1) * n_s] for t, p in enumerate(pairs)
    }  # each (n_s, chunk)
    return _half_log_det_from_gram(gram, d).T  # (chunk, n_s)


def unit_gradients(U: np.ndarray, intrinsic_dim: int) -> np.ndarray:
    """Rows of ``U[:, :, :d]`` scaled to unit length (zero rows stay zero).

    Row ``k`` of a tangent basis is the projected gradient of ``phi_k``; a
    zero row (a coordinate that does not vary at the point) makes every set
    containing it rank-deficient when ``s = d``.
    """
    B = U[:, :, :intrinsic_dim]
    norms = np.linalg.norm(B, axis=2, keepdims=True)
    return B / np.where(norms > np.finfo(np.float64).tiny, norms, np.inf)


def log_volumes(
    U: np.ndarray, subsets: np.ndarray, intrinsic_dim: int, *, n_jobs=None
) -> np.ndarray:
    """Per-point log-volumes ``r_i(S)`` of every subset.

    Parameters
    ----------
    U : ndarray of shape (n_s, m, >= intrinsic_dim)
        Tangent bases (columns in descending-eigenvalue order).
    subsets : ndarray of int of shape (n_subsets, s)
        Column index sets.
    intrinsic_dim : int
        ``d``; the first ``min(d, s)`` basis vectors are used.
    n_jobs : int, default=None
        Chunks of subsets run in parallel threads; results do not depend on it.

    Returns
    -------
    r : ndarray of shape (n_subsets, n_s)
        ``1/2 log det(B_i(S)^T B_i(S))`` of the row-normalised ``B_i(S) =
        U_i[S, :d]`` (unit projected gradients); ``-inf`` where ``B_i(S)``
        loses rank. For ``s = d`` this is the log-volume of the parallelepiped
        of the unit gradients, ``<= 0`` (Hadamard) with equality for
        orthogonal gradients; for ``s > d`` it is, by Cauchy-Binet, half the
        log of the sum of the squared volumes of the ``d``-subsets of ``S``.
    """
    n_s, m, _ = U.shape
    n_sub, s = subsets.shape
    d = min(int(intrinsic_dim), s)
    B = unit_gradients(U, d)
    iu, ju = np.triu_indices(d)
    pairs = list(zip(iu.tolist(), ju.tolist()))
    # products[(pair, i), k] = B[i, k, a] * B[i, k, b]: the Gram matrix of a set
    # S is the sum of these over k in S, i.e. one GEMM with the indicator of S.
    products = np.ascontiguousarray(
        (B[:, :, iu] * B[:, :, ju]).transpose(2, 0, 1).reshape(len(pairs) * n_s, m)
    )
    chunk = max(1, _CHUNK_ENTRIES // (len(pairs) * n_s))
    starts = range(0, n_sub, chunk)

    def indicator(start):
        block = subsets[start : start + chunk]
        ind = np.zeros((m, block.shape[0]))
        ind[block, np.arange(block.shape[0])[:, None]] = 1.0
        return ind

    parts = list(
        thread_map(
            lambda a: _chunk_log_volumes(products, pairs, indicator(a), d, n_s),
            starts,
            n_jobs,
        )
    )
    return np.concatenate(parts, axis=0) if parts else np.empty((0, n_s))


# --------------------------------------------------------------------------- #
# Regularisation path and zeta
# --------------------------------------------------------------------------- #
def _first_argmax(values: np.ndarray, tie_breaker: np.ndarray) -> int:
    """Index maximising ``values``, ties to the smallest ``tie_breaker``, then
    the first index."""
    best = values.max()
    ties = np.flatnonzero(values == best)
    return int(ties[np.argmin(tie_breaker[ties])])


def zeta_grid(log_volume: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """Reference log grid of zeta, extended to cover the regularisation path.

    The grid ``logspace(-2, 5, 300)`` is extended (same log spacing) until its
    small end selects the unregularised winner ``argmax R`` and its large end
    the lowest-frequency admissible set, so that no part of the path is cut off
    whatever the scale of the eigenvalues (at most ``MAX_EXTRA_DECADES`` decades
    either way).
    """
    step = (math.log10(ZETA_HIGH) - math.log10(ZETA_LOW)) / (ZETA_POINTS - 1)
    finite = np.isfinite(log_volume)
    lo_exp, hi_exp = math.log10(ZETA_LOW), math.log10(ZETA_HIGH)
    if finite.sum() > 1:
        R, pen = log_volume[finite], penalty[finite]
        top = _first_argmax(R, pen)
        below = pen < pen[top]
        if below.any():
            need_low = np.min((R[top] - R[below]) / (pen[top] - pen[below]))
            if need_low > 0:
                lo_exp = min(lo_exp, math.log10(need_low) - step)
        low = _first_argmax(-pen, -R)
        above = pen > pen[low]
        if above.any():
            need_high = np.max((R[above] - R[low]) / (pen[above] - pen[low]))
            if need_high > 0:
                hi_exp = max(hi_exp, math.log10(need_high) + step)
    lo_exp = max(lo_exp, math.log10(ZETA_LOW) - MAX_EXTRA_DECADES)
    hi_exp = min(hi_exp, math.log10(ZETA_HIGH) + MAX_EXTRA_DECADES)
    n_low = math.ceil((math.log10(ZETA_LOW) - lo_exp) / step - 1e-9)
    n_high = math.ceil((hi_exp - math.log10(ZETA_HIGH)) / step - 1e-9)
    exponents = math.log10(ZETA_LOW) + step * np.arange(-n_low, ZETA_POINTS + n_high)
    return 10.0**exponents


def winners_on_grid(
    log_volume: np.ndarray, penalty: np.ndarray, zetas: np.ndarray
) -> np.ndarray:
    """``argmax_S R(S) - zeta * penalty(S)`` at every grid value (first index on
    ties)."""
    objective = log_volume[None, :] - zetas[:, None] * penalty[None, :]
    objective[np.isnan(objective)] = -np.inf
    return np.argmax(objective, axis=1)


def path_candidates(winners: np.ndarray, zetas: np.ndarray):
    """Distinct consecutive winners and their representative zeta.

    Returns
    -------
    candidates : ndarray of int
        Subset indices in order of increasing zeta.
    candidate_zetas : ndarray of float
        Geometric mean of the first and last grid values where each wins.
    """
    change = np.flatnonzero(np.diff(winners)) + 1
    first = np.r_[0, change]
    last = np.r_[change - 1, winners.size - 1]
    return winners[first], np.sqrt(zetas[first] * zetas[last])


def loo_percentiles(r: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Leave-one-out stability of each candidate (reference ``zeta_search``).

    For sample point i, ``R_{-i}(S)`` is the mean of ``r(S)`` over the other
    points and ``S_i`` the point's own best set ``argmax_S r_i(S)``; the loss of
    a candidate c at i is ``R_{-i}(S_i) - R_{-i}(c)``. Returns the 75th
    percentile of these losses over the points (``+inf`` where undefined).
    """
    n_s = r.shape[1]
    if n_s < 2:
        return np.zeros(candidates.size)
    r_safe = np.where(np.isnan(r), -np.inf, r)
    with np.errstate(invalid="ignore"):
        total = r_safe.sum(axis=1)  # -inf when any point is degenerate
        own = np.argmax(r_safe, axis=0)  # (n_s,)
        idx = np.arange(n_s)
        loo_own = (total[own] - r_safe[own, idx]) / (n_s - 1)
        loo_cand = (total[candidates, None] - r_safe[candidates]) / (n_s - 1)
        loss = loo_own[None, :] - loo_cand
    loss[np.isnan(loss)] = np.inf
    # Finite stand-ins keep the percentile's interpolation free of inf - inf.
    loss = np.clip(loss, -_HUGE, _HUGE)
    return np.percentile(loss, LOO_PERCENTILE, axis=1)


def ies_path(
    r: np.ndarray,
    subsets: np.ndarray,
    eigenvalues: np.ndarray,
    intrinsic_dim: int,
    zeta="auto",
) -> IESPath:
    """Regularisation path, zeta and selection from the per-point log-volumes.

    Parameters
    ----------
    r : ndarray of shape (n_subsets, n_s)
        From :func:`log_volumes`.
    subsets : ndarray of shape (n_subsets, s)
        The candidate sets.
    eigenvalues : ndarray of shape (m,)
        Eigenvalues of the columns (absolute values are used).
    intrinsic_dim : int
        Recorded in the result.
    zeta : "auto" or float, default="auto"
        Fixed regularisation strength, or the leave-one-out rule.

    Returns
    -------
    path : IESPath
    """
    with np.errstate(invalid="ignore"):
        log_volume = np.where(np.isnan(r), -np.inf, r).mean(axis=1)
    penalty = np.abs(eigenvalues)[subsets].sum(axis=1)
    zetas = zeta_grid(log_volume, penalty)
    winners = winners_on_grid(log_volume, penalty, zetas)
    candidates, candidate_zetas = path_candidates(winners, zetas)
    ptile = loo_percentiles(r, candidates)
    if isinstance(zeta, str):
        ok = np.flatnonzero(ptile <= LOO_THRESHOLD)
        # The unregularised winner (first candidate) always passes the rule
        # (its leave-one-out mean is at least that of every point's own best
        # set); fall back to it if -inf/NaN values broke that argument.
        chosen = int(ok[-1]) if ok.size else 0
        zeta_value = float(candidate_zetas[chosen])
        best = int(candidates[chosen])
    else:
        zeta_value = float(zeta)
        best = int(winners_on_grid(log_volume, penalty, np.array([zeta_value]))[0])
        hits = np.flatnonzero(candidates == best)
        chosen = int(hits[0]) if hits.size else -1
    return IESPath(
        intrinsic_dim=int(intrinsic_dim),
        subsets=subsets,
        log_volume=log_volume,
        penalty=penalty,
        zetas=zetas,
        winners=winners,
        candidates=candidates,
        candidate_zetas=candidate_zetas,
        loo_percentiles=ptile,
        chosen=chosen,
        zeta=zeta_value,
        selection=subsets[best].copy(),
    )


def independent_eigencoordinates(
    laplacian,
    embedding: np.ndarray,
    eigenvalues: np.ndarray,
    subset_size: int,
    intrinsic_dims,
    *,
    rows: np.ndarray,
    zeta="auto",
    n_jobs=None,
) -> list[IESPath]:
    """Run IES for each intrinsic dimension on one sample of points.

    Parameters
    ----------
    laplacian : Laplacian or sparse matrix of shape (n, n)
        Scaled data Laplacian.
    embedding : ndarray of shape (n, m)
        Candidate coordinates; columns are rescaled to unit norm (IES is not
        invariant to per-column scaling and expects unit-norm eigenvectors).
    eigenvalues : ndarray of shape (m,)
        Their eigenvalues (regulariser).
    subset_size : int
        ``s``, size of the selected sets.
    intrinsic_dims : sequence of int
        ``d`` values (each used as ``min(d, s)``).
    rows : ndarray of int
        Sample points where the tangent bases are evaluated.
    zeta : "auto" or float, default="auto"
        Regularisation strength.
    n_jobs : int, default=None
        Threads for the subset chunks.

    Returns
    -------
    paths : list of IESPath
        One per entry of ``intrinsic_dims``.
    """
    Phi = np.asarray(embedding, dtype=np.float64)
    norms = np.linalg.norm(Phi, axis=0)
    Phi = Phi / np.where(norms > 0, norms, 1.0)
    n_columns = Phi.shape[1]
    n_subsets = n_candidate_subsets(n_columns, subset_size)
    if n_subsets * len(rows) > MAX_TABLE_ENTRIES:
        raise ValueError(
            f"Exhaustive IES over {n_subsets} subsets x {len(rows)} points "
            f"exceeds the budget of {MAX_TABLE_ENTRIES} log-volumes. Reduce the "
            "subset size, the number of candidate columns (the inner embedding's "
            "n_components) or sample_size."
        )
    subsets = candidate_subsets(n_columns, subset_size)
    dims = [min(int(d), subset_size) for d in intrinsic_dims]
    values, U = tangent_bases(laplacian, Phi, rows, min(max(dims), n_columns))
    paths = []
    for d in dims:
        keep = informative_points(values, d)
        if keep.sum() < 2:  # nothing better available: use every point
            keep = np.ones(len(rows), dtype=bool)
        r = log_volumes(U[keep], subsets, d, n_jobs=n_jobs)
        path = ies_path(r, subsets, eigenvalues, d, zeta)
        path.n_points = int(keep.sum())
        paths.append(path)
    return paths


def aggregate_selections(
    selections: np.ndarray, n_columns: int, n_output: int
) -> tuple[np.ndarray, np.ndarray]:
    """Most frequent columns across several selections (paper A.5).

    Parameters
    ----------
    selections : ndarray of int of shape (n_runs, s)
        One selected set per run.
    n_columns : int
        Number of candidate columns.
    n_output : int
        Number of columns returned.

    Returns
    -------
    support : ndarray of int of shape (n_output,)
        Sorted; the ``n_output`` columns selected most often, ties to the lower
        index (lower eigenvalue).
    frequency : ndarray of shape (n_columns,)
        Fraction of runs selecting each column.
    """
    counts = np.bincount(np.asarray(selections).ravel(), minlength=n_columns)
    order = np.lexsort((np.arange(n_columns), -counts))
    support = np.sort(order[:n_output])
    return support, counts / max(len(selections), 1)
