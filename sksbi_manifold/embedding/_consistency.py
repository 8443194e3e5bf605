"""Geometric consistency (GC) search for the kernel width (see :ref:`conv-gc`).

Perrault-Joncas & Meila's criterion: the graph Laplacian at a good bandwidth
reproduces, through the dual-metric formula ``H_i = 1/2 sum_j L_ij z_ij z_ij^T``,
the identity metric of *locally isometric* coordinates ``z_ij`` (local PCA
coordinates about ``x_i``). For every radius ``R`` of a grid (``epsilon =
R / radius_ratio``) the distortion is

    D(R, d) = mean_{i in sample} || H_i[:d, :d] - I_d ||_2 ,

and the selected radius minimises ``mean_d D(R, d)``.

One distance graph is computed at the largest radius and thresholded downwards
(``kernels.threshold_graph``). At each radius only the sample's Laplacian rows
are built (``laplacian.laplacian_rows``), from the degrees of the sample's
neighbours, weighted row sums of their rows of that graph
(``kernels.gaussian_degrees``); so are the weighted local PCA and the dual
metric: no n x n affinity or Laplacian per radius.

* :func:`geometric_consistency`: the search (also used by the dimension and
  TSLasso estimators to set their kernel scale).
* :func:`out_of_sample_distortion`: the distortion of a *fitted* Laplacian
  extended by its Nystrom rows to new points (``DiffusionMapsGC.score``).
* ``metric="precomputed"``: the local PCA of a point is computed from the
  distances between its neighbours (weighted Gram form), so the graph must
  store every pair within twice the radius.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.utils import check_random_state

from .._geometry import distances, scales
from .._geometry.kernels import (
    add_self_loops,
    entry_rows,
    gaussian_affinity,
    gaussian_degrees,
    scaled_radius_graph,
    threshold_graph,
)
from .._geometry.laplacian import (
    density_weights,
    laplacian_rows,
    nystrom_rows,
)
from .._geometry.local_pca import local_coordinates, local_pca_at
from .._geometry.metric import metric_from_differences
from .._geometry.parallel import single_threaded_blas
from ..exceptions import BoundaryWarning

SELECTIONS = ("argmin", "argmin_plus")
DEFAULT_N_RADII = 20
# Upward extensions of the automatic grid (see _search_upwards): 5 steps of
# twice the default grid's log-step (ratio ~1.22) multiply the radius by ~2.7.
_EXTENSION_STEPS = 5
_MAX_EXTENSIONS = 3
# An extension stops once the loss has risen at this many consecutive radii.
_RISE_STEPS = 2
# Radii of the next extension whose degrees an extension's pass reduces too.
_LOOKAHEAD = 3
# Local PCA eigenvalues below this fraction of the largest are numerical zeros
# (as in local_pca).
_RANK_RTOL = 1e-12


@dataclass(frozen=True)
class GeometricConsistency:
    """Result of :func:`geometric_consistency`.

    Attributes
    ----------
    radii : ndarray of shape (n_radii,)
        Candidate cutoff radii, ascending.
    epsilons : ndarray of shape (n_radii,)
        ``radii / radius_ratio``.
    intrinsic_dims : ndarray of shape (n_dims,)
        Dimensions ``d`` the distortion was evaluated for.
    distortions : ndarray of shape (n_dims, n_radii)
        ``D(R, d)``; NaN where no sample point had a neighbour. Values are not
        comparable across ``d`` (smaller ``d``, smaller norm).
    loss : ndarray of shape (n_radii,)
        ``mean_d D(R, d)``, the curve that is minimised.
    n_evaluated : ndarray of shape (n_radii,)
        Number of sample points entering each mean (points without any
        neighbour besides themselves are left out, as in megaman).
    best_index : int
        Index of the selected radius.
    radius : float
        Selected radius ``R*``.
    epsilon : float
        Selected bandwidth ``R* / radius_ratio``.
    sample : ndarray of shape (n_sample,)
        Row indices where the distortion was evaluated.
    radius_ratio : float
        ``R / epsilon``.
    """

    radii: np.ndarray
    epsilons: np.ndarray
    intrinsic_dims: np.ndarray
    distortions: np.ndarray
    loss: np.ndarray
    n_evaluated: np.ndarray
    best_index: int
    radius: float
    epsilon: float
    sample: np.ndarray
    radius_ratio: float


# --------------------------------------------------------------------------- #
# Input handling
# --------------------------------------------------------------------------- #
def resolve_dims(intrinsic_dim, n_features: int | None = None) -> np.ndarray:
    """Sorted unique positive dimensions from an int or a sequence of ints."""
    dims = np.atleast_1d(np.asarray(intrinsic_dim))
    if (
        dims.ndim != 1
        or dims.size == 0
        or not all(isinstance(d, Integral | np.integer) for d in dims.tolist())
        or dims.min() < 1
    ):
        raise ValueError(
            "intrinsic_dim must be a positive integer or a non-empty list of "
            f"positive integers, got {intrinsic_dim!r}."
        )
    dims = np.unique(dims.astype(np.intp))
    if n_features is not None and dims.max() > n_features:
        raise ValueError(
            f"intrinsic_dim={dims.max()} exceeds the number of features "
            f"({n_features}); local PCA cannot find more directions than that."
        )
    return dims


def _argmin(loss: np.ndarray) -> int:
    finite = np.where(np.isfinite(loss), loss, np.inf)
    return int(np.argmin(finite))


def select_radius(loss: np.ndarray, selection: str = "argmin", tol: float = 0.05):
    """Index of the selected radius on an ascending grid.

    ``"argmin"``: the minimiser of ``loss`` (NaN counts as +inf).
    ``"argmin_plus"``: the largest grid radius ``R >= R*`` such that every grid
    radius in ``[R*, R]`` has ``loss <= (1 + tol) loss(R*)`` (the paper's
    "slightly above the minimiser").
    """
    if selection not in SELECTIONS:
        raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}.")
    finite = np.where(np.isfinite(loss), loss, np.inf)
    if not np.isfinite(finite).any():
        raise ValueError(
            "Geometric consistency: no radius of the grid gives any sample point "
            "a neighbour, so the distortion is undefined everywhere. Pass larger "
            "radii (gc_radii) or a fixed epsilon."
        )
    best = int(np.argmin(finite))
    if selection == "argmin_plus":
        bound = (1.0 + tol) * finite[best]
        while best + 1 < finite.size and finite[best + 1] <= bound:
            best += 1
    return best


def symmetric_distance_graph(graph) -> sp.csr_matrix:
    """Union-symmetrised distance graph with explicit zero self distances.

    A pair stored in one direction only (k-NN graphs) is stored in both with its
    distance; a pair stored in both keeps the larger value. Explicit zeros
    (coincident points) are kept.
    """
    coo = sp.coo_matrix(graph)
    n = coo.shape[0]
    rows = np.concatenate((coo.row, coo.col)).astype(np.int64)
    cols = np.concatenate((coo.col, coo.row)).astype(np.int64)
    data = np.concatenate((coo.data, coo.data)).astype(np.float64)
    key = rows * n + cols
    order = np.argsort(key, kind="stable")
    key, data = key[order], data[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    merged = np.maximum.reduceat(data, first) if data.size else data
    key = key[first]
    out = sp.csr_matrix((merged, (key // n, key % n)), shape=(n, n))
    out.sort_indices()
    return add_self_loops(out)


def graph_radius_grid(graph: sp.csr_matrix, n_radii: int = DEFAULT_N_RADII):
    """Default GC radii for a precomputed symmetric distance graph.

    Log-spaced from the median 5th-neighbour distance to half the graph's
    extent (median of the row maxima), the largest radius at which every pair
    of neighbours of a point is itself stored (for a radius graph).
    """
    counts = np.diff(graph.indptr)
    n = graph.shape[0]
    rows = np.repeat(np.arange(n), counts)
    off = graph.indices != rows
    d = graph.data[off]
    r = rows[off]
    if d.size == 0:
        raise ValueError(
            "The precomputed graph stores no distance between distinct points; "
            "build it with a larger radius or more neighbours."
        )
    order = np.lexsort((d, r))
    d, r = d[order], r[order]
    k_row = np.bincount(r, minlength=n)
    start = np.concatenate(([0], np.cumsum(k_row)))[:-1]
    has = k_row > 0
    kth = np.minimum(k_row[has], 5) - 1
    lo = float(np.median(d[start[has] + kth]))
    extent = float(np.median(d[start[has] + k_row[has] - 1]))
    hi = 0.5 * extent
    if not hi > 0:
        raise ValueError("The precomputed graph has no positive distances.")
    lo = min(max(lo, hi * 1e-3), hi)
    if hi <= lo:
        lo = hi / 2.0
    return np.geomspace(lo, hi, n_radii)


# --------------------------------------------------------------------------- #
# Distortion at a set of centres
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class _Centres:
    """Evaluation centres against a reference set, at one radius.

    The three CSR matrices of shape (m, n_reference) share one sparsity
    pattern (sorted indices): the reference neighbours within the radius.
    ``laplacian`` holds the rows of the scaled Laplacian ``L`` at the centres
    (a centre's own column, if it is a reference point, has ``z = 0`` and does
    not contribute to ``H``).
    """

    dist: sp.csr_matrix
    weights: sp.csr_matrix
    laplacian: sp.csr_matrix


def _pca_local_coordinates(X_ref, X_centres, centres, n_coords, n_jobs):
    """Weighted local PCA coordinates about each centre (geometry layer), for
    in- and out-of-sample centres alike (rectangular weights).

    The tangent bases come from float32 local products: half the cost of the
    thousands-of-neighbours PCAs of wide radii, and the distortion needs
    ~1e-3, not 1e-16. The rows are centred and brought to unit scale by a
    power of two first (exact), so no magnitude overflows float32; the
    coordinates themselves are taken in the data's own precision.
    """
    W = centres.weights
    origin = X_centres[:1]
    X_ref, X_centres = X_ref - origin, X_centres - origin
    unit = distances.data_unit(X_ref, X_centres)
    pca = local_pca_at(
        distances._rescaled(X_ref, unit),
        W,
        distances._rescaled(X_centres, unit),
        n_coords,
        center="point",
        dtype=np.float32,
        n_jobs=n_jobs,
    )
    rows = np.arange(W.shape[0])
    return local_coordinates(
        X_ref, W, rows, pca.bases, centers=X_centres, n_jobs=n_jobs
    )


def _dense_block(graph: sp.csr_matrix, nodes: np.ndarray):
    """Dense ``graph[nodes][:, nodes]`` (sorted ``nodes``), or None if any pair
    is not stored."""
    starts = graph.indptr[nodes]
    lens = graph.indptr[nodes + 1] - starts
    total = int(lens.sum())
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lens)[:-1])), lens)
    pos = offsets + np.arange(total)
    cols = graph.indices[pos]
    col_pos = np.searchsorted(nodes, cols)
    col_pos[col_pos == nodes.size] = 0
    hit = nodes[col_pos] == cols
    k = nodes.size
    if np.count_nonzero(hit) != k * k:
        return None
    out = np.empty((k, k))
    row_pos = np.repeat(np.arange(k), lens)
    out[row_pos[hit], col_pos[hit]] = graph.data[pos[hit]]
    return out


def _gram_local_coordinates(centres, pairs, n_coords):
    """Weighted local PCA coordinates about each centre from distances alone.

    For ``metric="precomputed"``. With ``a_j = x_j - c`` the differences to
    the centre, the weighted Gram matrix ``G_jk = sqrt(w_j w_k) a_j.a_k``,
    ``a_j.a_k = (d_cj^2 + d_ck^2 - d_jk^2) / 2``, has the non-zero spectrum of
    the weighted local covariance ``sum_j w_j a_j a_j^T`` and its eigenvectors
    give the principal coordinates ``z_j = v_j sqrt(g) / sqrt(w_j)`` (the
    kernel form of ``local_pca.weighted_local_pca`` with ``center="point"``,
    which needs coordinates). It needs every distance between two neighbours
    of the centre, which a radius graph built at twice the radius stores.

    Returns the coordinates (nnz, n_coords) and a per-centre completeness mask.
    """
    D, W = centres.dist, centres.weights
    m = W.shape[0]
    Z = np.zeros((W.nnz, n_coords))
    complete = np.ones(m, dtype=bool)
    for r in range(m):
        lo, hi = W.indptr[r], W.indptr[r + 1]
        nb = W.indices[lo:hi]
        if nb.size == 0:
            continue
        sub = _dense_block(pairs, nb)
        if sub is None:
            complete[r] = False
            continue
        w = W.data[lo:hi] / W.data[lo:hi].sum()
        dc2 = D.data[lo:hi] ** 2
        A = 0.5 * (dc2[:, None] + dc2[None, :] - sub**2)
        sw = np.sqrt(w)
        k = min(n_coords, nb.size)
        vals, vecs = scipy.linalg.eigh(
            sw[:, None] * A * sw[None, :],
            subset_by_index=[nb.size - k, nb.size - 1],
            driver="evr",
        )
        vals, vecs = vals[::-1], vecs[:, ::-1]
        keep = vals > max(_RANK_RTOL * vals[0], 0.0)
        scale = np.sqrt(np.where(keep, vals, 0.0))
        Z[lo:hi, :k] = vecs * scale / sw[:, None]
    return Z, complete


def _centre_distortions(
    centres, dims, *, X_ref=None, X_centres=None, pairs=None, n_jobs=None
):
    """Mean distortion per dimension over the valid centres.

    Returns ``(distortions (n_dims,), n_valid, truncated)``; ``truncated`` is
    True when most centres of a precomputed graph lack neighbour distances.
    """
    n_coords = int(dims.max())
    if pairs is None:
        Z = _pca_local_coordinates(X_ref, X_centres, centres, n_coords, n_jobs)
        complete = np.ones(centres.weights.shape[0], dtype=bool)
    else:
        Z, complete = _gram_local_coordinates(centres, pairs, n_coords)
    H = metric_from_differences(centres.laplacian, Z)
    D = centres.dist
    # A centre needs a neighbour at positive distance (megaman's "< 2
    # neighbours" rule, the centre itself not counted).
    rows = entry_rows(D)
    has_nb = np.bincount(rows[D.data > 0], minlength=D.shape[0]) > 0
    out = np.full(dims.size, np.nan)
    if 2 * np.count_nonzero(has_nb & ~complete) > np.count_nonzero(has_nb):
        return out, 0, True
    valid = has_nb & complete
    if not valid.any():
        return out, 0, False
    Hv = H[valid]
    eye = np.eye(n_coords)
    for a, d in enumerate(dims):
        dev = np.linalg.eigvalsh(Hv[:, :d, :d] - eye[:d, :d])
        out[a] = float(np.abs(dev).max(axis=1).mean())
    return out, int(valid.sum()), False


def _graph_degrees(graph, needed, radii, radius_ratio) -> np.ndarray:
    """Degrees of rows ``needed`` at each radius, from their stored graph rows."""
    around = graph[needed]
    rows = entry_rows(around)
    return np.column_stack(
        [gaussian_degrees(around, R / radius_ratio, R, rows) for R in radii]
    )


def _distortion_curves(
    X,
    g_sample,
    weights_at,
    radii_desc,
    dims,
    sample,
    radius_ratio,
    n_jobs,
    pairs=None,
    stop_after_rise=None,
    rates=None,
):
    """In-sample distortions (n_dims, n_radii), radius by radius in grid order.

    ``g_sample`` holds the sample's distance rows within the largest radius,
    ``weights_at(t)`` returns ``(rows, w)``: the density weights
    (``laplacian.density_weights``) at radius ``t`` of rows that include the
    sample and its neighbours within that radius (it is called in walking
    order, so it can compute them on demand): per radius only the sample's
    Laplacian rows are built, never an n x n affinity. ``X`` is the data, or
    ``None`` for a precomputed graph ``pairs`` (which must hold every pair
    within twice the largest radius). With ``stop_after_rise=r`` the walk
    stops once the loss has risen at ``r`` consecutive radii (an ascending
    extension has then bracketed the minimum) and only the radii walked are
    returned. ``rates`` (the adaptive kernel's ``rho**-2`` at the sample)
    multiply the Laplacian rows.
    """
    K = radii_desc.size
    out = np.full((dims.size, K), np.nan)
    n_eval = np.zeros(K, dtype=np.intp)
    truncated = np.zeros(K, dtype=bool)
    w = np.ones(g_sample.shape[1])  # entries of other rows are never read
    for t, R in enumerate(radii_desc):
        eps = R / radius_ratio
        rows, w_rows = weights_at(t)
        w[rows] = w_rows
        g = threshold_graph(g_sample, R)
        W = gaussian_affinity(g, eps, radius=R)
        L = laplacian_rows(W, w, sample, eps)
        if rates is not None:  # in place: W's sparsity pattern is kept
            L.data *= rates[entry_rows(L)]
        centres = _Centres(g, W, L)
        if X is None:
            # Many small eigenproblems: one BLAS thread avoids oversubscription.
            with single_threaded_blas():
                res = _centre_distortions(centres, dims, pairs=pairs)
        else:
            res = _centre_distortions(
                centres, dims, X_ref=X, X_centres=X[sample], n_jobs=n_jobs
            )
        out[:, t], n_eval[t], truncated[t] = res
        if stop_after_rise and _rose(out.mean(axis=0)[: t + 1], stop_after_rise):
            K = t + 1
            break
    return out[:, :K], n_eval[:K], truncated[:K]


def _rose(loss: np.ndarray, steps: int) -> bool:
    """Whether ``loss`` increased at each of its last ``steps`` steps."""
    tail = loss[-(steps + 1) :]
    return tail.size == steps + 1 and bool(np.all(np.diff(tail) > 0))


def _check_radii(radii) -> np.ndarray:
    radii = np.asarray(radii, dtype=np.float64).ravel()
    if radii.size == 0 or not np.all(np.isfinite(radii)) or radii.min() <= 0:
        raise ValueError(
            "gc_radii must be a non-empty list of positive finite radii, "
            f"got {radii!r}."
        )
    return np.unique(radii)


def _prepare(X, intrinsic_dim, metric, radius_ratio):
    if metric not in ("euclidean", "precomputed"):
        raise ValueError(
            f"metric must be 'euclidean' or 'precomputed', got {metric!r}."
        )
    if not radius_ratio > 0:
        raise ValueError(f"radius_ratio must be positive, got {radius_ratio!r}.")
    if metric == "precomputed":
        data = symmetric_distance_graph(X)
        return data, data.shape[0], resolve_dims(intrinsic_dim)
    data = np.asarray(X)
    return data, data.shape[0], resolve_dims(intrinsic_dim, data.shape[1])


def _curves(data, precomputed, grid, dims, sample, radius_ratio, alpha, n_jobs, device):
    """Distortion curves on an ascending grid and the graph at its top radius."""
    r_max = float(grid[-1])
    if precomputed:
        graph = threshold_graph(data, r_max)
    else:
        graph = distances.radius_graph(data, r_max, n_jobs=n_jobs, device=device)
    graph = sp.csr_matrix(graph)
    g_sample = graph[sample]
    needed = np.union1d(g_sample.indices, sample)
    desc = grid[::-1]
    w_needed = density_weights(_graph_degrees(graph, needed, desc, radius_ratio), alpha)
    c, m, trunc = _distortion_curves(
        None if precomputed else data,
        g_sample,
        lambda t: (needed, w_needed[:, t]),
        desc,
        dims,
        sample,
        float(radius_ratio),
        n_jobs,
        pairs=data if precomputed else None,
    )
    return c[:, ::-1], m[::-1], trunc[::-1], graph


class _Extensions:
    """Distortion curves at radii above the stored graph, without an n x n graph.

    Called once per upward extension of the automatic grid (ascending radii,
    each extension continuing the last one's geometric progression). The
    sample's rows come from one (sample x n) distance pass per extension. The
    degrees of their neighbours come from multi-bandwidth kernel-sum passes
    over the rows (``distances.kernel_sums``), computed when the walk first
    reaches a radius without them: one pass reduces every radius of the
    extension not yet reduced and the first ``_LOOKAHEAD`` radii of the next
    one. The walk stops once the loss has risen twice, usually within those
    first radii of the next extension, so that extension needs no pass of its
    own (whose widest radii cost the most exponentials): measured at 20,000
    rows, 2.1 + 4.2-5.1 s of kernel sums before, 4.4 s with the look-ahead. The
    degrees do not depend on the pass they come from. Memory stays O(sample
    neighbours), however wide the radii get.
    """

    def __init__(self, X, dims, sample, radius_ratio, alpha, n_jobs, device):
        self._X, self._dims, self._sample = X, dims, sample
        self._radius_ratio, self._alpha = float(radius_ratio), alpha
        self._n_jobs, self._device = n_jobs, device
        self._calls = 0
        self._blocks = []  # (radii, rows, density weights (rows, radii))

    def __call__(self, grid):
        self._calls += 1
        X, sample = self._X, self._sample
        g_sample = distances.radius_graph(
            X[sample], float(grid[-1]), X, n_jobs=self._n_jobs, device=self._device
        )
        lookahead = np.zeros(0)
        if self._calls < _MAX_EXTENSIONS and grid.size > 1:
            steps = (grid[1] / grid[0]) ** np.arange(1, _LOOKAHEAD + 1)
            lookahead = grid[-1] * steps

        def weights_at(t):
            found = self._lookup(grid[t])
            if found is None:
                self._reduce(np.concatenate([grid[t:], lookahead]))
                found = self._lookup(grid[t])
            return found

        # Walked upwards: the local PCAs of the widest radii are the costly
        # part, and are skipped once the loss has turned up.
        c, m, trunc = _distortion_curves(
            X,
            g_sample,
            weights_at,
            grid,
            self._dims,
            sample,
            self._radius_ratio,
            self._n_jobs,
            stop_after_rise=_RISE_STEPS,
        )
        return grid[: m.size], c, m, trunc

    def _lookup(self, radius):
        for radii, rows, w in self._blocks:
            hit = np.flatnonzero(np.isclose(radii, radius, rtol=1e-12, atol=0))
            if hit.size:
                return rows, w[:, hit[0]]
        return None

    def _reduce(self, radii):
        """Degrees at ``radii`` of the sample and its neighbours within them."""
        X, sample = self._X, self._sample
        reach = distances.radius_graph(
            X[sample], float(radii.max()), X, n_jobs=self._n_jobs, device=self._device
        )
        rows = np.union1d(reach.indices, sample)
        # Wide radii reach most rows: one symmetric pass over all of them (half
        # the distance products) is then cheaper than the rows against all.
        everyone = 2 * rows.size > X.shape[0]
        q, _ = distances.kernel_sums(
            X if everyone else X[rows],
            None if everyone else X,
            None,
            radii / self._radius_ratio,
            radius_ratio=self._radius_ratio,
            n_jobs=self._n_jobs,
            device=self._device,
        )
        if everyone:
            q = q[rows]
        self._blocks.append((radii, rows, density_weights(q, self._alpha)))


def _search_upwards(first, extension, radii):
    """Curves on an automatic grid, extended upwards while the minimum is at
    its top (``scales.search_log_grid``).

    The default grid ends at the median 200-NN distance, but on clean or
    high-dimensional data the distortion keeps falling well beyond it (its
    variance falls with the neighbour count faster than its curvature bias
    grows): measured at n = 20,000, minimum at ~1,800 neighbours on the unit
    sphere, and beyond 540 on the cryo-EM latents. Each extension adds
    ``_EXTENSION_STEPS`` radii at twice the grid's log-step (the loss is smooth
    there, and each radius costs local PCAs of thousands of neighbours), at
    most ``_MAX_EXTENSIONS`` times; ``extension`` may stop once the loss rises.
    ``first(grid)`` and ``extension(grid)`` return ``(radii evaluated, curves,
    n_eval, truncated, graph)``. Returns the concatenated four and every part.
    """
    parts = []

    def loss_of(grid):
        parts.append((extension if parts else first)(grid))
        loss = parts[-1][1].mean(axis=0)
        return np.where(np.isfinite(loss), loss, np.inf)

    scales.search_log_grid(
        loss_of,
        radii,
        n_extend=_EXTENSION_STEPS,
        max_extensions=_MAX_EXTENSIONS,
        min_ratio=(radii[-1] / radii[-2]) ** 2,
        upward_only=True,
    )
    # each part lies above the previous one: concatenated, they are ascending
    joined = (np.concatenate(p, axis=-1) for p in zip(*(q[:4] for q in parts)))
    return *joined, parts


def _default_radii(data, precomputed: bool, rng, n_jobs) -> np.ndarray:
    if precomputed:
        return graph_radius_grid(data)
    return scales.radius_grid(data, DEFAULT_N_RADII, random_state=rng, n_jobs=n_jobs)


def _raise_if_truncated(loss, truncated, radii) -> None:
    if truncated.any() and not np.isfinite(loss).any():
        raise ValueError(
            "Geometric consistency: the precomputed graph does not store the "
            "distances between the neighbours of most points at any radius "
            f"<= {radii.max():.4g}; local PCA needs every pair within 2*radius. "
            "Build the graph with a larger radius (a radius graph at twice the "
            "largest candidate radius), or pass smaller gc_radii."
        )


def _sample_rows(rng, n, sample_size):
    return np.sort(rng.choice(n, size=min(int(sample_size), n), replace=False))


def _consistency_result(
    radii, radius_ratio, dims, curves, loss, n_eval, best, sample
) -> GeometricConsistency:
    """The search's record, the chosen radius and width read off ``best``."""
    return GeometricConsistency(
        radii=radii,
        epsilons=radii / radius_ratio,
        intrinsic_dims=dims,
        distortions=curves,
        loss=loss,
        n_evaluated=n_eval,
        best_index=best,
        radius=float(radii[best]),
        epsilon=float(radii[best] / radius_ratio),
        sample=sample,
        radius_ratio=float(radius_ratio),
    )


def geometric_consistency(
    X,
    radii=None,
    intrinsic_dim: int | Sequence[int] = 2,
    *,
    sample_size: int = 200,
    radius_ratio: float = 3.0,
    alpha: float = 1.0,
    selection: str = "argmin",
    tol: float = 0.05,
    metric: str = "euclidean",
    random_state=None,
    n_jobs: int | None = None,
    device: str | None = None,
    return_graph: bool = False,
):
    """Choose the kernel width by geometric consistency (Perrault-Joncas & Meila).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features) or sparse matrix (n, n)
        Data, or with ``metric="precomputed"`` a sparse distance graph that
        stores every pair within ``2 * max(radii)`` (local PCA of a point from
        distances needs the distances between its neighbours); it is
        symmetrised by union.
    radii : array-like of shape (n_radii,), default=None
        Candidate cutoff radii ``R`` (``epsilon = R / radius_ratio``). ``None``:
        20 log-spaced radii from the median 5-NN to the median 200-NN distance
        (``scales.radius_grid``), extended upwards by 5 steps of twice its
        log-step while the minimum sits at the top (at most 3 times); for a
        precomputed graph from the median 5-NN distance to half the graph's
        extent.
    intrinsic_dim : int or sequence of int, default=2
        Dimension(s) ``d`` of the local isometric coordinates.
    sample_size : int, default=200
        Number of random rows where the distortion is evaluated.
    radius_ratio : float, default=3.0
        ``R / epsilon``.
    alpha : float, default=1.0
        Renormalisation exponent of the Laplacian being assessed.
    selection : {"argmin", "argmin_plus"}, default="argmin"
        See :func:`select_radius`.
    tol : float, default=0.05
        Relative tolerance of ``"argmin_plus"``.
    metric : {"euclidean", "precomputed"}, default="euclidean"
        How ``X`` is given.
    random_state : int, RandomState instance or None, default=None
        Draws the evaluation sample (and the default grid's sample).
    n_jobs : int, default=None
        Parallel distance blocks and local PCA chunks.
    device : str, default=None
        Torch device for the distance computation.
    return_graph : bool, default=False
        Also return the distance graph at the largest radius of the initial
        grid (to build the final embedding from without a second distance
        pass).

    Returns
    -------
    result : GeometricConsistency
    graph : scipy.sparse.csr_matrix or None
        Only with ``return_graph=True``; None when the selected radius lies in
        an upward extension of the grid, above the stored graph.

    Examples
    --------
    >>> import numpy as np
    >>> from sksbi_manifold.embedding._consistency import geometric_consistency
    >>> rng = np.random.RandomState(0)
    >>> t = rng.uniform(0, 2 * np.pi, 400)
    >>> X = np.c_[np.cos(t), np.sin(t)]
    >>> gc = geometric_consistency(X, [0.1, 0.3, 0.6, 1.2], 1, random_state=0)
    >>> gc.distortions.shape
    (1, 4)
    >>> bool(gc.radius in gc.radii)
    True
    """
    data, n, dims = _prepare(X, intrinsic_dim, metric, radius_ratio)
    precomputed = metric == "precomputed"
    rng = check_random_state(random_state)
    auto_grid = radii is None and not precomputed
    radii = _default_radii(data, precomputed, rng, n_jobs) if radii is None else radii
    radii = _check_radii(radii)
    sample = _sample_rows(rng, n, sample_size)
    args = (dims, sample, radius_ratio, alpha, n_jobs, device)
    graph_top = float(radii[-1])
    if auto_grid and radii.size > 1:
        extensions = _Extensions(data, *args)
        radii, curves, n_eval, trunc, parts = _search_upwards(
            lambda grid: (grid, *_curves(data, False, grid, *args)),
            lambda grid: (*extensions(grid), None),
            radii,
        )
        graph = parts[0][4]  # extensions build no graph
    else:
        curves, n_eval, trunc, graph = _curves(data, precomputed, radii, *args)
    loss = curves.mean(axis=0)
    _raise_if_truncated(loss, trunc, radii)
    best = select_radius(loss, selection, tol)
    _warn_boundary(loss, radii)
    if graph is not None and radii[best] > graph_top:
        graph = None  # the selected kernel reaches beyond the stored graph
    result = _consistency_result(
        radii, radius_ratio, dims, curves, loss, n_eval, best, sample
    )
    return (result, graph) if return_graph else result


def _adaptive_curves(
    X,
    rho,
    dim,
    grid,
    dims,
    sample,
    radius_ratio,
    alpha,
    n_jobs,
    device,
    stop_after_rise=None,
):
    """Distortion curves of the variable-bandwidth kernel on ``grid``.

    One scaled-distance graph (``kernels.scaled_radius_graph``) at the top
    radius; per radius, the sample's Laplacian rows ``(4/eps^2) rho_i^-2 (P -
    I)`` renormalised by ``laplacian.density_weights`` of their neighbours, and
    the weighted local PCA of the feature vectors, as for the fixed kernel.
    """
    graph = scaled_radius_graph(X, rho, float(grid[-1]), n_jobs=n_jobs, device=device)
    g_sample = graph[sample]
    needed = np.union1d(g_sample.indices, sample)
    order = grid[::-1] if stop_after_rise is None else grid
    q_needed = _graph_degrees(graph, needed, order, radius_ratio)
    w_needed = density_weights(q_needed, alpha, rho[needed, None], dim)
    c, m, trunc = _distortion_curves(
        X,
        g_sample,
        lambda t: (needed, w_needed[:, t]),
        order,
        dims,
        sample,
        float(radius_ratio),
        n_jobs,
        stop_after_rise=stop_after_rise,
        rates=rho[sample] ** -2.0,
    )
    if stop_after_rise is None:
        return grid, c[:, ::-1], m[::-1], trunc[::-1], graph
    return grid[: m.size], c, m, trunc, graph


def adaptive_consistency(
    X,
    rho,
    dim: float,
    radii=None,
    intrinsic_dim: int | Sequence[int] = 2,
    *,
    sample_size: int = 200,
    radius_ratio: float = 3.0,
    alpha: float = 1.0,
    selection: str = "argmin",
    tol: float = 0.05,
    random_state=None,
    n_jobs: int | None = None,
    device: str | None = None,
    return_graph: bool = False,
):
    """Geometric consistency over the variable-bandwidth kernel.

    As :func:`geometric_consistency` (same default grid, upward extensions,
    selection and warnings), for the kernel ``exp(-d_ij**2 / (epsilon**2 rho_i
    rho_j))`` cut at ``d_ij <= R sqrt(rho_i rho_j)`` with the density
    renormalisation of Berry & Harlim (see :ref:`conv-adaptive`): ``rho``
    (median 1) are the bandwidth factors, ``dim`` the ``d`` of their density
    exponent. Each extension rebuilds the scaled graph at its top radius
    (sparse, but it holds every pair within that radius). ``graph`` (with
    ``return_graph``) is the scaled-distance graph of the last pass if it
    reaches the selected radius, else None.
    """
    X = np.asarray(X)
    rho = np.asarray(rho, dtype=np.float64)
    dims = resolve_dims(intrinsic_dim, X.shape[1])
    rng = check_random_state(random_state)
    auto_grid = radii is None
    if radii is None:
        radii = _default_radii(X, False, rng, n_jobs)
    radii = _check_radii(radii)
    sample = _sample_rows(rng, X.shape[0], sample_size)
    args = (dims, sample, radius_ratio, alpha, n_jobs, device)
    if auto_grid and radii.size > 1:
        radii, curves, n_eval, _, parts = _search_upwards(
            lambda grid: _adaptive_curves(X, rho, dim, grid, *args),
            lambda grid: _adaptive_curves(
                X, rho, dim, grid, *args, stop_after_rise=_RISE_STEPS
            ),
            radii,
        )
    else:
        parts = [_adaptive_curves(X, rho, dim, radii, *args)]
        radii, curves, n_eval = parts[0][:3]
    # each pass rebuilds the scaled graph at its top radius: keep the last
    graph, top = parts[-1][4], float(parts[-1][0][-1])
    loss = curves.mean(axis=0)
    best = select_radius(loss, selection, tol)
    _warn_boundary(loss, radii)
    if radii[best] > top:
        graph = None
    result = _consistency_result(
        radii, radius_ratio, dims, curves, loss, n_eval, best, sample
    )
    return (result, graph) if return_graph else result


def _warn_boundary(loss, radii) -> None:
    if radii.size > 2 and _argmin(loss) in (0, radii.size - 1):
        end = "largest" if _argmin(loss) else "smallest"
        warnings.warn(
            f"Geometric consistency: the distortion is smallest at the {end} "
            f"radius of the grid ({radii[_argmin(loss)]:.4g}); the optimum may "
            "lie beyond it. Pass a wider grid (gc_radii) to look further.",
            BoundaryWarning,
            stacklevel=3,
        )


def _nystrom_centres(
    X_sample,
    reference,
    degrees,
    radius,
    epsilon,
    alpha,
    bandwidths,
    *,
    n_jobs,
    device,
) -> _Centres:
    """Evaluation rows with their reference neighbours, kernel and Nystrom
    rows ``(4/eps^2) K_xj w_j / sum`` (times ``rho_x**-2`` when adaptive;
    ``bandwidths`` holds ``rho_x`` of the evaluation rows themselves)."""
    rho_ref, rho_x, dim = (None,) * 3 if bandwidths is None else bandwidths
    if sp.issparse(X_sample):  # precomputed distances to the reference rows
        dist = threshold_graph(X_sample, radius)
    elif bandwidths is not None:
        dist = scaled_radius_graph(
            X_sample,
            rho_x,
            radius,
            np.asarray(reference),
            rho_ref,
            n_jobs=n_jobs,
            device=device,
        )
    else:
        dist = distances.radius_graph(
            X_sample, radius, np.asarray(reference), n_jobs=n_jobs, device=device
        )
    K = gaussian_affinity(dist, epsilon, radius=radius)
    dist.sort_indices()
    P = nystrom_rows(K, density_weights(degrees, alpha, rho_ref, dim), 4 / epsilon**2)
    if rho_x is not None:  # the adaptive generator's rates rho_x**-2
        P.data *= rho_x[entry_rows(P)] ** -2.0
    return _Centres(dist, K, P)


def out_of_sample_distortion(
    X,
    reference,
    degrees,
    radius: float,
    intrinsic_dim: int | Sequence[int] = 2,
    *,
    sample_size: int = 200,
    radius_ratio: float = 3.0,
    alpha: float = 1.0,
    metric: str = "euclidean",
    random_state=None,
    n_jobs: int | None = None,
    device: str | None = None,
    bandwidths: tuple[np.ndarray, np.ndarray, float] | None = None,
) -> float:
    """Distortion of a fitted Laplacian, extended to new points, at those points.

    Each evaluation point ``x`` gets the Nystrom row of the fitted Laplacian,
    ``L_xj = (4/epsilon**2) p_j`` with ``p_j`` proportional to
    ``K(x, x_j) / q_j**alpha`` over the reference points ``x_j`` within
    ``radius`` (``q`` the fitted degrees), and local PCA coordinates about
    ``x`` from its reference neighbours; the distortion is then computed as
    in :func:`geometric_consistency`. For a reference point itself this row
    equals its row of the fitted Laplacian, so on the training data the value
    is the in-sample distortion of the search.

    Parameters
    ----------
    X : ndarray of shape (m, n_features), or sparse (m, n_reference)
        Evaluation points, or with ``metric="precomputed"`` their distances to
        the reference points.
    reference : ndarray of shape (n_reference, n_features), or sparse
        (n_reference, n_reference)
        Training data, or with ``metric="precomputed"`` the symmetric training
        distance graph (it must store the distances between the neighbours of
        each evaluation point, i.e. pairs within ``2 * radius``).
    degrees : ndarray of shape (n_reference,)
        Degrees ``q`` of the fitted affinity.
    radius : float
        Fitted cutoff radius (``epsilon = radius / radius_ratio``).
    intrinsic_dim, sample_size, radius_ratio, alpha, metric
        As in :func:`geometric_consistency`.
    random_state, n_jobs, device
        As in :func:`geometric_consistency`.
    bandwidths : (rho_reference, rho_X, d) or None, default=None
        For the variable-bandwidth kernel (:ref:`conv-adaptive`): the
        bandwidths of the reference and evaluation points and the dimension
        of its density exponent. The Nystrom rows are then those of the
        adaptive search, ``(4/eps^2) rho_x^-2 p_xj`` with ``p_xj``
        proportional to ``K(x, x_j) w_j`` on the scaled-distance graph, ``w =
        density_weights(degrees, alpha, rho_reference, d)``.

    Returns
    -------
    distortion : float
        ``mean_d D``; 1.0 (the distortion of ``H = 0``) when no evaluated
        point has a reference neighbour.
    """
    if metric not in ("euclidean", "precomputed"):
        raise ValueError(
            f"metric must be 'euclidean' or 'precomputed', got {metric!r}."
        )
    precomputed = metric == "precomputed"
    n_features = None if precomputed else np.asarray(reference).shape[1]
    dims = resolve_dims(intrinsic_dim, n_features)
    epsilon = float(radius) / float(radius_ratio)
    rng = check_random_state(random_state)
    sample = _sample_rows(rng, X.shape[0], sample_size)
    X_sample = sp.csr_matrix(X)[sample] if precomputed else np.asarray(X)[sample]
    if bandwidths is not None:  # the evaluated rows' own bandwidths
        rho_ref, rho_x, dim = bandwidths
        bandwidths = (rho_ref, np.asarray(rho_x)[sample], dim)
    centres = _nystrom_centres(
        X_sample,
        reference,
        degrees,
        radius,
        epsilon,
        alpha,
        bandwidths,
        n_jobs=n_jobs,
        device=device,
    )
    if precomputed:
        with single_threaded_blas():
            res = _centre_distortions(centres, dims, pairs=reference)
    else:
        ref = np.asarray(reference)
        res = _centre_distortions(
            centres, dims, X_ref=ref, X_centres=X_sample, n_jobs=n_jobs
        )
    distortions, _, truncated = res
    loss = distortions.mean()
    _raise_if_truncated(np.array([loss]), np.array([truncated]), np.array([radius]))
    return float(loss) if np.isfinite(loss) else 1.0
