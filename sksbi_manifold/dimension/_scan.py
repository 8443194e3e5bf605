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
# Grid top at most this factor above the largest radius growth of dimension 1
# (see scan_bounds), and the grid bottom at most _MAX_SPAN below the top.
_GROWTH_MARGIN = 2.0
_MAX_SPAN = 1e3


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
    most 100 for ``hi``). ``hi`` is capped at ``2 g lo`` with
    ``g = max_fraction (n - 1) / min_neighbors``, the largest radius growth
    of a ball gaining ``g`` times its neighbours in dimension >= 1: a faster
    growth means that the fraction ball reaches other components (the
    diameter's scale, not the bulk's). On data too small for
    ``min_neighbors`` (fewer than ``min_neighbors / max_fraction`` rows)
    ``lo`` comes from the neighbour that a ``max_fraction`` ball holds
    instead: a ball holding nearly all rows cannot double, so the grid must
    start below that.
    """
    rng = check_random_state(random_state)
    n = X.shape[0]
    k_lo = int(np.clip(min(min_neighbors, np.floor(max_fraction * (n - 1))), 1, n - 1))
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
    if lo > 0:
        # The scale comes from the bulk's neighbour distances: in dimension
        # >= 1 a ball gaining a factor g of neighbours grows its radius by at
        # most g (uniform density; _GROWTH_MARGIN allows for density changes).
        # A faster growth is a gap -- the max_fraction ball reaching other
        # components or far outliers, at the scale of the diameter -- where
        # counts stall and the grid would miss the components' own scale.
        growth = max_fraction * (n - 1) / k_lo
        hi = min(hi, lo * _GROWTH_MARGIN * max(growth, 1.0))
    # Only for (near-)duplicates (lo ~ 0): at most _MAX_SPAN below the top.
    lo = max(lo, hi / _MAX_SPAN)
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


def doubling_estimates(n_r: np.ndarray, n_2r: np.ndarray, n_max=None) -> np.ndarray:
    """``log2(N_2R / N_R)`` (see :ref:`conv-doubling`).

    NaN where ``N_R = 0`` and, given the largest possible count ``n_max``,
    where ``N_2R >= n_max``: a ``2R``-ball holding all other rows caps the
    ratio by the sample size (saturated counts), whatever the dimension.
    """
    n_r = np.asarray(n_r, dtype=np.float64)
    n_2r = np.asarray(n_2r, dtype=np.float64)
    out = np.full(n_r.shape, np.nan)
    ok = n_r > 0
    if n_max is not None:
        ok &= n_2r < n_max
    out[ok] = np.log2(n_2r[ok] / n_r[ok])
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
    skip_smallest: bool = True,
    onset: bool = False,
):
    """Plateau rule: the radius where ``curve`` is flattest in ``log``-``log``.

    The flatness at radius ``R_j`` is the mean of ``|d log curve / d log R|``
    over consecutive grid radii within ``width / 2`` octaves of ``R_j`` (at
    least one step to each side). Candidates are the ``eligible`` radii with a
    positive, finite curve value and such a value below them (the smallest
    radius is never chosen with ``skip_smallest``: its one-sided window sits
    at the noise or count floor; the largest may be, when the curve is still
    flattening there and the plateau lies at or beyond the top of the grid).
    With ``F*`` the smallest flatness among them, each candidate gets the weight
    ``exp(-(F / F* - 1) / tol)`` and the candidate nearest (in ``log R``) to
    the weighted mean of ``log R`` is returned. A clear plateau (``F*`` far
    below the rest) gives its flattest radius; where the curve has no
    plateau (noise giving way to boundary effects) the flatness is nearly
    constant, its argmin alone would jump along the curve with the sampling
    noise, and the weighted centre of the flattest stretch moves smoothly
    instead (a hard cut-off at ``(1 + tol) F*`` would still jump when one
    radius crosses it). ``tol=0`` is the argmin (the middle of ties).

    ``onset=True`` returns the smallest candidate with ``F <= (1 + tol) F*``
    instead: the start of the flattest stretch, for curves that keep
    drifting slowly beyond their plateau (neighbour-rank scans, where large
    ranks add curvature and density changes as slowly as a plateau).
    ``skip_smallest=False`` lets the smallest scale compete (a rank scan has
    no count floor: its smallest rank is defined at every point).

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
    if not skip_smallest:
        above_floor[usable] = True
    elif usable.size >= 3:
        above_floor[usable[1:]] = True
    candidates = np.flatnonzero(eligible & above_floor & np.isfinite(flatness))
    if candidates.size == 0:
        return None, flatness
    flat = flatness[candidates]
    best = flat.min()
    if onset:
        return int(candidates[np.flatnonzero(flat <= (1.0 + tol) * best)[0]]), flatness
    with np.errstate(divide="ignore", invalid="ignore"):
        excess = np.where(flat == best, 0.0, flat / best - 1.0)
        weight = np.exp(-excess / tol) if tol > 0 else (excess == 0).astype(float)
    center = np.sum(weight * log_r[candidates]) / np.sum(weight)
    return int(candidates[np.argmin(np.abs(log_r[candidates] - center))]), flatness


def saturated(median_outer: np.ndarray, n_ref: int) -> np.ndarray:
    """Scales whose typical ball (median count) holds all ``n_ref - 1`` others.

    There the count ratio is capped by the sample size, not set by the
    dimension (above the diameter it is 1 and ``log2(1) = 0``): no scaling
    regime.
    """
    return np.asarray(median_outer) >= n_ref - 1


def eligible_radii(
    median_r: np.ndarray, median_2r: np.ndarray, min_neighbors: int, n_ref: int
) -> tuple[np.ndarray, int]:
    """Radii that may be chosen, and how far the rule had to fall back.

    Never a radius whose typical ``2R``-ball is saturated (see
    :func:`saturated`). Among the others: radii where the median ``N_R``
    reaches ``min_neighbors`` (level 0); on data too small for that, radii
    with a positive median count (level 1); then any (level 2). Level 3:
    every radius is saturated, the mask is empty.
    """
    open_ = ~saturated(median_2r, n_ref)
    for level, mask in enumerate((median_r >= min_neighbors, median_r >= 1)):
        if np.any(mask & open_):
            return mask & open_, level
    return open_, 2 if open_.any() else 3


def min_rows(min_neighbors: int) -> int:
    """Fewest rows with which a typical point can have ``min_neighbors``
    neighbours within ``R`` and (dimension >= 1) twice as many within ``2R``
    short of all other rows; ``2**d * min_neighbors + 2`` in dimension ``d``."""
    return 2 * min_neighbors + 2
