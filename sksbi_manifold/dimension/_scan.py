"""Radius scans shared by the dimension estimators.

One scan = neighbour counts at a log-spaced set of radii from ONE call of the
distance engine, the estimate at every radius, and a plateau rule that picks
the radius where the estimate is flattest. Nothing here computes a distance.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from .._geometry.distances import radius_counts
from .._geometry.scales import knn_scale_quantiles

# Reference rows used to find the radius holding a fraction of the data: the
# q-quantile of distances to a random subset of m rows estimates the same
# radius as the (q n)-th neighbour distance among all n rows, at m/n the cost;
# its median is taken over at most _FRACTION_QUERIES rows of the subset (a
# grid end needs a few per cent accuracy; the kNN of 300 rows cost 60 ms at
# k = 200, half of a fit's overhead).
_FRACTION_SUBSET = 1000
_FRACTION_QUERIES = 100
# Finest grid: radii per octave (factor 2 in radius).
_MAX_PER_OCTAVE = 8


def scan_bounds(
    X: np.ndarray,
    *,
    min_neighbors: int,
    max_fraction: float,
    sample_size: int = 300,
    random_state=None,
    n_jobs=None,
) -> tuple[float, float]:
    """Radius range of a scan: ``(lo, hi)``.

    ``lo`` is the median distance to the ``min_neighbors``-th nearest
    neighbour (the smallest radius where a typical point has enough
    neighbours); ``hi`` the median radius of a ball holding a fraction
    ``max_fraction`` of the data, estimated on a random subset of at most
    1000 rows. The medians are taken over ``sample_size`` random rows (at
    most 100 for ``hi``).
    """
    rng = check_random_state(random_state)
    n = X.shape[0]
    k_lo = int(min(max(min_neighbors, 1), n - 1))
    lo = float(
        knn_scale_quantiles(
            X, k_lo, 0.5, sample_size=sample_size, random_state=rng, n_jobs=n_jobs
        )
    )
    m = min(n, _FRACTION_SUBSET)
    subset = np.sort(rng.choice(n, size=m, replace=False))
    k_hi = int(np.clip(np.ceil(max_fraction * (m - 1)), 1, m - 1))
    hi = float(
        knn_scale_quantiles(
            X[subset],
            k_hi,
            0.5,
            sample_size=min(sample_size, _FRACTION_QUERIES),
            random_state=rng,
            n_jobs=n_jobs,
        )
    )
    hi = max(hi, lo)
    if not hi > 0:
        raise ValueError(
            "All sampled neighbour distances are zero: the data consist of "
            "(near-)duplicate rows. Remove duplicates or pass an explicit radius."
        )
    lo = max(lo, hi * 1e-3)
    # At least two octaves, so the scan can look across radii even when the
    # data are so concentrated (e.g. a dense noise cluster) that the
    # max_fraction ball is barely larger than the min_neighbors ball.
    return lo, max(hi, 4.0 * lo)


def doubling_grid(lo: float, hi: float, n_radii: int):
    """Radii ``R`` and count radii ``edges`` holding every ``R`` and ``2 R``.

    The edges are ``lo * 2**(j / m)``, ``j = 0..J``, with ``m`` radii per octave
    (as many as ``n_radii`` edges over ``[lo, hi]`` allow, 1 to 8), so that the
    doubled radius of a grid radius is again an edge; the radii ``R`` are the
    edges whose double does not exceed the top edge (at least ``lo``).

    Returns
    -------
    radii, edges : ndarray
    pos_r, pos_2r : ndarray of int
        Columns of ``R`` and ``2 R`` among ``edges``.
    """
    octaves = np.log2(hi / lo)
    m = int(np.clip(np.floor((n_radii - 1) / max(octaves, 1e-12)), 1, _MAX_PER_OCTAVE))
    top = max(int(np.floor(octaves * m + 1e-9)), m)
    edges = lo * 2.0 ** (np.arange(top + 1) / m)
    pos_r = np.arange(top + 1 - m)
    return edges[pos_r], edges, pos_r, pos_r + m


def neighbor_counts(Q, radii, X_ref=None, *, n_jobs=None, device=None) -> np.ndarray:
    """Self-excluded neighbour counts ``N_R`` of query rows (one engine call).

    With ``X_ref=None`` the counts are among ``Q`` itself. Otherwise they count
    reference rows around each query row, where a query row identical to a
    reference row is that reference point: the coinciding copy is not counted,
    so querying the fitted data reproduces the fitted counts exactly.
    """
    radii = np.asarray(radii, dtype=np.float64)
    if X_ref is None:
        return radius_counts(Q, radii, n_jobs=n_jobs, device=device)
    counts = radius_counts(Q, np.r_[0.0, radii], Y=X_ref, n_jobs=n_jobs, device=device)
    return counts[:, 1:] - (counts[:, :1] > 0)


def sample_counts(X, rows, radii, *, n_jobs=None, device=None) -> np.ndarray:
    """Self-excluded counts ``N_R`` of the rows ``rows`` among all rows of X.

    All rows: the symmetric pass over the upper triangle; a subset: the
    sampled rows against all rows (``len(rows) / n`` of the pairs).
    """
    if rows.size == X.shape[0]:
        return neighbor_counts(X, radii, n_jobs=n_jobs, device=device)
    return neighbor_counts(X[rows], radii, X, n_jobs=n_jobs, device=device)


def doubling_estimates(n_r: np.ndarray, n_2r: np.ndarray) -> np.ndarray:
    """``log2(N_2R / N_R)``, NaN where ``N_R = 0`` (ALGORITHMS.md 2.1)."""
    n_r = np.asarray(n_r, dtype=np.float64)
    out = np.full(n_r.shape, np.nan)
    ok = n_r > 0
    out[ok] = np.log2(np.asarray(n_2r, dtype=np.float64)[ok] / n_r[ok])
    return out


def window(log_radii: np.ndarray, center: int, half_width: float, ok: np.ndarray):
    """Indices of usable radii within ``half_width`` (natural log) of ``center``.

    At least the nearest usable radius on each side is included, so a window
    on a coarse grid still spans one step to either side.
    """
    usable = np.flatnonzero(ok)
    dist = np.abs(log_radii[usable] - log_radii[center])
    members = set(usable[dist <= half_width + 1e-12].tolist())
    below, above = usable[usable < center], usable[usable > center]
    if below.size:
        members.add(int(below[-1]))
    if above.size:
        members.add(int(above[0]))
    if ok[center]:
        members.add(center)
    return np.array(sorted(members), dtype=np.intp)


def select_plateau(
    radii: np.ndarray,
    curve: np.ndarray,
    eligible: np.ndarray,
    *,
    width: float,
    tol: float,
):
    """Plateau rule: the radius where ``curve`` is flattest in ``log``-``log``.

    The flatness at radius ``R_j`` is the mean of ``|d log curve / d log R|``
    over consecutive grid radii within ``width / 2`` octaves of ``R_j`` (at
    least one step to each side). Candidates are the ``eligible`` radii with a
    positive, finite curve value and such a value below them (the smallest
    radius is never chosen: its one-sided window sits at the noise or count
    floor; the largest may be, when the curve is still flattening there and
    the plateau lies at or beyond the top of the grid). With ``F*`` the
    smallest flatness among them, each candidate gets the weight
    ``exp(-(F / F* - 1) / tol)`` and the candidate nearest (in ``log R``) to
    the weighted mean of ``log R`` is returned. A clear plateau (``F*`` far
    below the rest) gives its flattest radius; where the curve has no
    plateau (noise giving way to boundary effects) the flatness is nearly
    constant, its argmin alone would jump along the curve with the sampling
    noise, and the weighted centre of the flattest stretch moves smoothly
    instead (a hard cut-off at ``(1 + tol) F*`` would still jump when one
    radius crosses it). ``tol=0`` is the argmin (the middle of ties).

    Returns
    -------
    index : int or None
        Chosen position in ``radii``; None when no radius qualifies.
    flatness : ndarray of shape (n_radii,)
        NaN where undefined.
    """
    log_r = np.log(radii)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_c = np.log(curve)
    ok = np.isfinite(log_c)
    flatness = np.full(radii.shape, np.nan)
    half = 0.5 * width * np.log(2.0)
    for j in np.flatnonzero(ok):
        members = window(log_r, j, half, ok)
        if members.size >= 2:
            slopes = np.diff(log_c[members]) / np.diff(log_r[members])
            flatness[j] = np.mean(np.abs(slopes))
    usable = np.flatnonzero(ok)
    above_floor = np.zeros(ok.shape, dtype=bool)
    if usable.size >= 3:
        above_floor[usable[1:]] = True
    candidates = np.flatnonzero(eligible & above_floor & np.isfinite(flatness))
    if candidates.size == 0:
        return None, flatness
    flat = flatness[candidates]
    best = flat.min()
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(flat == best, 0.0, flat / best - 1.0)
        weight = np.exp(-excess / tol) if tol > 0 else (excess == 0).astype(float)
    center = np.sum(weight * log_r[candidates]) / np.sum(weight)
    return int(candidates[np.argmin(np.abs(log_r[candidates] - center))]), flatness


def eligible_radii(median_counts: np.ndarray, min_neighbors: int) -> np.ndarray:
    """Radii where the median neighbour count reaches ``min_neighbors``.

    On tiny data where no radius does, fall back to radii with a positive
    median count, then to any radius.
    """
    for mask in (median_counts >= min_neighbors, median_counts >= 1):
        if mask.any():
            return mask
    return np.ones(median_counts.shape, dtype=bool)
