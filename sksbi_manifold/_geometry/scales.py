"""Data-driven length scales: the one place automatic radii come from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

from .distances import farthest_distances, knn_distances


def knn_scale_quantiles(
    X: np.ndarray,
    n_neighbors: int,
    quantiles,
    *,
    sample_size: int = 1000,
    random_state=None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Quantiles of the distance to the ``n_neighbors``-th neighbour.

    Distances are measured from a random subsample of ``sample_size`` rows
    against all rows, so the cost is ``O(sample_size * n * D)``.
    """
    n = X.shape[0]
    k = int(min(max(n_neighbors, 1), n - 1))
    rng = check_random_state(random_state)
    rows = rng.choice(n, size=min(sample_size, n), replace=False)
    rows.sort()
    dist = _knn_from_sample(X, rows, k, n_jobs)[:, -1]
    return np.quantile(dist, quantiles)


def saturation_scale(
    X: np.ndarray,
    *,
    sample_size: int = 300,
    random_state=None,
    n_jobs: int | None = None,
) -> float:
    """Median distance from a random row to its farthest row.

    From this radius on the ball around a typical point holds every other
    row: neighbour counts saturate and stop measuring anything but the
    sample size (their ratios tend to 1, ``log 1 = 0``).
    """
    n = X.shape[0]
    rng = check_random_state(random_state)
    rows = np.sort(rng.choice(n, size=min(sample_size, n), replace=False))
    return float(np.median(farthest_distances(X[rows], X, n_jobs=n_jobs)))


def _knn_from_sample(X, rows, k, n_jobs):
    # The sample is part of X, so its own zero distance is dropped.
    dist = knn_distances(X[rows], k + 1, X, n_jobs=n_jobs)
    return dist[:, 1:]


def _kth_distinct(dist: np.ndarray, k: int) -> np.ndarray:
    """Per row of ascending ``dist``, the k-th distinct positive value (or the
    largest one); rows of zeros are dropped."""
    step = np.diff(dist, axis=1, prepend=0.0) > 0  # a new distinct positive value
    rank = np.cumsum(step, axis=1)
    col = np.minimum((rank < k).sum(axis=1), dist.shape[1] - 1)
    kth = dist[np.arange(len(dist)), col]
    return kth[kth > 0]


def radius_grid(
    X: np.ndarray,
    n_radii: int = 20,
    *,
    k_low: int = 5,
    k_high: int = 200,
    sample_size: int = 1000,
    random_state=None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Log-spaced radii from the median ``k_low``-NN to the median ``k_high``-NN
    distance (see :ref:`conv-radius-grids`): a scan from the noise scale up to
    neighbourhoods of a few hundred points, on which scale-selection rules
    (geometric consistency, dimension plateaus) then look across radii.

    Duplicated rows are not neighbours at a length scale: the low end is the
    ``k_low``-th *distinct* positive distance of each sampled row (its
    largest if it has fewer), so duplicates neither collapse the grid to
    zero nor need an arbitrary floor."""
    n = X.shape[0]
    k_high = int(min(k_high, n - 1))
    k_low = int(min(k_low, k_high))
    rng = check_random_state(random_state)
    rows = rng.choice(n, size=min(sample_size, n), replace=False)
    rows.sort()
    dist = _knn_from_sample(X, rows, k_high, n_jobs)
    hi = float(np.median(dist[:, k_high - 1]))
    if not hi > 0:
        raise ValueError(
            "All sampled neighbour distances are zero: the data "
            "has (near-)duplicate rows only."
        )
    lo = float(np.median(_kth_distinct(dist, k_low)))
    if hi <= lo:
        hi = lo * 2.0
    return np.geomspace(lo, hi, n_radii)


@dataclass
class GridSearch:
    """Outcome of :func:`search_log_grid`: every value tried, ascending."""

    values: np.ndarray
    scores: np.ndarray
    best: int  # index into values (the last of tied minima)

    @property
    def at_edge(self) -> bool:
        """The optimum is the smallest or largest value tried."""
        return self.best in (0, self.values.size - 1)


def search_log_grid(
    score: Callable[[np.ndarray], np.ndarray],
    grid: np.ndarray,
    *,
    n_extend: int,
    max_extensions: int,
    min_ratio: float = 1.0,
    n_refine: int = 0,
    edge_rtol: float = 1e-9,
    upward_only: bool = False,
) -> GridSearch:
    """Minimise ``score`` over a log grid, extended while the optimum is at an edge.

    The one grid search of the package's scale choices (geometric
    consistency, KDE and Nadaraya-Watson bandwidths). ``score(values)``
    returns one score per value (lower is better, ``inf`` for a value that
    cannot be used); on an extension it may stop early and score only the
    first values (ascending), e.g. once the scores rise, and the rest are not
    added. While the best value is the smallest or largest tried and beats
    its neighbour by more than ``edge_rtol`` (relative), ``n_extend`` values
    are added past that edge (past the top only with ``upward_only``),
    ``max(grid ratio, min_ratio)`` apart, at most ``max_extensions`` times.
    When no value scores finitely the grid grows upwards (every value tried
    was too small to be supported). Then ``n_refine`` values are added
    between the neighbours of an interior optimum. Ties go to the largest
    value (the smoother choice).
    """
    values = np.unique(np.asarray(grid, dtype=np.float64))  # sorted
    scores = np.asarray(score(values), dtype=np.float64)
    if scores.shape != values.shape:
        raise ValueError("score must score every value of the initial grid.")
    ratio = max(float(values[1] / values[0]), min_ratio) if values.size > 1 else 2.0
    steps = ratio ** np.arange(1, n_extend + 1)

    def add(new: np.ndarray) -> None:
        nonlocal values, scores
        gap = np.abs(np.log(new)[:, None] - np.log(values)[None, :]).min(axis=1)
        new = np.sort(new[gap > 1e-9])
        if new.size:
            scored = np.asarray(score(new), dtype=np.float64)
            values = np.concatenate([values, new[: scored.size]])
            scores = np.concatenate([scores, scored])
            order = np.argsort(values)
            values, scores = values[order], scores[order]

    for _ in range(max_extensions):
        best = _argmin_last(scores)
        if not np.isfinite(scores).any():
            add(values[-1] * steps)
        elif (
            best == 0
            and not upward_only
            and values.size > 1
            and _beats(scores[0], scores[1], edge_rtol)
        ):
            add(values[0] / steps)
        elif best == values.size - 1 and _beats(scores[-1], scores[-2], edge_rtol):
            add(values[-1] * steps)
        else:
            break
    best = _argmin_last(scores)
    if n_refine and 0 < best < values.size - 1:
        add(np.geomspace(values[best - 1], values[best + 1], n_refine + 3)[1:-1])
    return GridSearch(values, scores, _argmin_last(scores))


def _beats(a: float, b: float, rtol: float) -> bool:
    """``a`` lower than ``b`` by more than ``rtol * |b|``."""
    return bool(a < b - rtol * abs(b)) if np.isfinite(b) else bool(np.isfinite(a))


def _argmin_last(scores: np.ndarray) -> int:
    """Index of the last minimum (ties go to the larger value)."""
    flipped = scores[::-1]
    return int(scores.size - 1 - np.argmin(flipped))


# --------------------------------------------------------------------------- #
# Spectral k-NN bandwidth rule (DiffusionMapsGC(epsilon="knn"))
# --------------------------------------------------------------------------- #
# k = KNN_RULE_FACTOR * n**(4 / (d + 4)): the neighbour count within epsilon at
# which the Laplace-Beltrami spectrum is most accurate (see :ref:`conv-knn`).
# Calibrated at d = 2 (unit sphere and flat torus, n = 5,000 and 20,000; the
# spectral optima lie at 21 / 36 and ~18 / ~65 neighbours within epsilon).
KNN_RULE_FACTOR = 0.068
KNN_RULE_SAMPLE = 1000
# Fewest neighbours the rule uses (high d / small n: keeps the graph connected).
KNN_RULE_MIN = 8
# Fewest neighbours of the k-NN dimension estimate when no dimension is given
# (it uses all k(d=1) of the pass: at that scale noise inflates it less).
_MLE_NEIGHBORS = 20


def knn_rule_neighbors(n_samples: int, dim: float) -> int:
    """``k`` of the spectral k-NN width rule for ``n_samples`` rows of dimension
    ``dim``: ``round(0.068 n**(4/(d+4)))``, at least 8 and below ``n``.

    The graph Laplacian's eigenvalue error is ``O(epsilon**2)`` (bias) plus a
    fluctuation ``O((n epsilon**d)**-1/2)`` (Cheng and Wu 2022, eigenvalue
    rate at ``epsilon**2 ~ n**(-2/(d+4))``); the optimum ``epsilon ~
    n**(-1/(d+4))`` holds ``n epsilon**d ~ n**(4/(d+4))`` neighbours.
    """
    k = round(KNN_RULE_FACTOR * float(n_samples) ** (4.0 / (float(dim) + 4.0)))
    return int(min(max(k, KNN_RULE_MIN), n_samples - 1))


def knn_mle_dimension(dist: np.ndarray) -> float:
    """Levina-Bickel maximum-likelihood dimension of ascending k-NN distances
    (rows: points; MacKay-Ghahramani average of the inverse), ignoring rows
    with a zero distance among them. NaN when no row is usable."""
    dist = np.asarray(dist, dtype=np.float64)
    ok = dist[:, 0] > 0
    if dist.shape[1] < 3 or not ok.any():
        return float("nan")
    d = dist[ok]
    logs = np.log(d[:, -1:] / d[:, :-1]).sum(axis=1) / (d.shape[1] - 2)
    logs = logs[logs > 0]
    return float(1.0 / logs.mean()) if logs.size else float("nan")


@dataclass(frozen=True)
class KnnRule:
    """Outcome of :func:`knn_rule_epsilon`."""

    epsilon: float
    n_neighbors: int
    dim: float
    sample: np.ndarray


def knn_rule_epsilon(
    X: np.ndarray,
    dim: float | None = None,
    *,
    sample_size: int = KNN_RULE_SAMPLE,
    random_state=None,
    n_jobs: int | None = None,
    device: str | None = None,
) -> KnnRule:
    """Spectral k-NN width: the median distance to the ``k``-th neighbour.

    ``k = knn_rule_neighbors(n, d)``, measured from ``sample_size`` random
    rows against all rows (one ``sample x n`` k-NN pass). ``dim=None``
    estimates ``d`` from the same pass (Levina-Bickel over its ``k(d=1)``,
    at least 20, nearest neighbours, rounded, at least 1). ``X`` is the
    data, or a sparse symmetric distance graph (explicit zero self pairs)
    that stores at least the ``k`` nearest neighbours of every row. See :ref:`conv-knn`.
    """
    import scipy.sparse as sp

    rng = check_random_state(random_state)
    n = X.shape[0]
    if n < 3:
        raise ValueError("The k-NN width rule needs at least 3 rows.")
    rows = np.sort(rng.choice(n, size=min(int(sample_size), n), replace=False))
    k_max = knn_rule_neighbors(n, 1.0 if dim is None else dim)
    k_max = max(k_max, min(_MLE_NEIGHBORS, n - 1))
    if sp.issparse(X):
        dist = _graph_knn(X, rows, k_max)
    else:
        dist = knn_distances(X[rows], k_max + 1, X, n_jobs=n_jobs, device=device)
        dist = dist[:, 1:]  # the sampled row itself
    if dim is None:
        dim = knn_mle_dimension(dist)
        dim = float(max(1, round(dim))) if np.isfinite(dim) else 2.0
    k = knn_rule_neighbors(n, dim)
    kth = dist[:, min(k, dist.shape[1]) - 1]
    kth = kth[np.isfinite(kth) & (kth > 0)]
    if kth.size == 0:
        raise ValueError(
            "The k-NN width rule found no positive neighbour distance: the data "
            "are (near-)duplicate rows, or the graph stores too few neighbours."
        )
    return KnnRule(float(np.median(kth)), int(k), float(dim), rows)


def _graph_knn(graph, rows: np.ndarray, k: int) -> np.ndarray:
    """Ascending distances of ``rows`` to their ``k`` nearest other rows in a
    distance graph (inf where a row stores fewer)."""
    import scipy.sparse as sp

    g = sp.csr_matrix(graph)[rows]
    out = np.full((rows.size, k), np.inf)
    short = 0
    for i in range(rows.size):
        lo, hi = g.indptr[i], g.indptr[i + 1]
        keep = g.indices[lo:hi] != rows[i]
        d = np.sort(g.data[lo:hi][keep])[:k]
        out[i, : d.size] = d
        short += d.size < k
    if 2 * short > rows.size:
        raise ValueError(
            f"The k-NN width rule needs the {k} nearest neighbours of each row, "
            f"but {short} of {rows.size} sampled rows of the precomputed graph "
            "store fewer; build the graph with more neighbours or a larger radius."
        )
    return out
