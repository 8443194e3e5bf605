"""Boundary detection for the doubling vote: tangent shift of the neighbourhood.

Near a boundary the ``2R``-ball around ``x`` is cut, and the centroid of the
points in it moves away from ``x`` *within the manifold*, by up to ``~0.4 * 2R``
(half-ball). Curvature moves it along the normal and ambient noise in every
direction, so the shift is projected on the top ``k`` local principal
directions (the tangent space). A point is called a boundary point when that
tangent shift is both statistically significant (Hotelling ``T^2`` against the
spread of its neighbours, level ``ALPHA``) and large (more than ``MIN_SHIFT``
of ``2R``: a cut of a few per cent of the ball, which biases
``log2(N_2R / N_R)`` by less than ~0.1).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.stats import chi2
from sklearn.utils import Bunch

from .._geometry.distances import data_unit, radius_graph
from .._geometry.local_pca import local_pca_at

ALPHA = 0.01
MIN_SHIFT = 0.05
# Neighbours used for the shift: a random column subset sized so that a typical
# 2R-ball holds about this many of them (the full pass costs n / subset more).
TARGET_NEIGHBORS = 256
# Neighbours of the local PCA (random among the ones found); at least 4 per
# tangent direction.
PCA_NEIGHBORS = 32


def tangent_shift(
    X, rows, radius, n_components, typical_count, rng, *, n_jobs=None, device=None
):
    """Shift of each ``radius``-neighbourhood centroid in its local PCA frame.

    Parameters
    ----------
    X : ndarray of shape (n, D)
    rows : ndarray of int
        Points tested.
    radius : float
        Neighbourhood radius (``2R`` for the doubling vote).
    n_components : int
        Local principal directions kept (the largest tangent dimension tested).
    typical_count : float
        Typical number of points within ``radius`` (sizes the column subset).
    rng : RandomState

    Returns
    -------
    Bunch with ``coef`` (m, n_components) (the shift along each direction),
    ``variance`` (m, n_components) (local variance along it),
    ``n_neighbors`` (m,) (neighbours found among the subset) and ``radius``,
    all in units of the power of two :func:`data_unit` of ``X`` (the rows are
    divided by it, exactly, so that local variances cannot overflow).
    """
    unit = data_unit(X)
    if unit != 1.0:
        X, radius = X * (1.0 / unit), radius / unit
    n = X.shape[0]
    n_cols = int(min(n, np.ceil(n * TARGET_NEIGHBORS / max(typical_count, 1.0))))
    cols = np.sort(rng.choice(n, size=n_cols, replace=False))
    graph = radius_graph(X[rows], radius, Y=X[cols], n_jobs=n_jobs, device=device)
    graph.data[:] = 1.0
    counts = np.diff(graph.indptr)
    if graph.nnz == 0:  # nothing to test: no point is a boundary point
        empty = np.zeros((len(rows), n_components))
        return Bunch(coef=empty, variance=empty, n_neighbors=counts, radius=radius)
    X_cols = X[cols].astype(np.float64)
    shift = (graph @ X_cols) / np.maximum(counts, 1)[:, None] - X[rows]

    # local PCA of a few random neighbours of each row (with repetition when
    # fewer were found)
    m = max(PCA_NEIGHBORS, 4 * n_components)
    offset = (rng.random_sample((len(rows), m)) * counts[:, None]).astype(np.intp)
    picked = graph.indices[np.minimum(graph.indptr[:-1, None] + offset, graph.nnz - 1)]
    has = counts > 0
    W = sp.csr_matrix(
        (
            np.ones(has.sum() * m),
            (np.repeat(np.flatnonzero(has), m), picked[has].ravel()),
        ),
        shape=(len(rows), n_cols),
    )
    pca = local_pca_at(
        X_cols,
        W,
        X[rows],
        n_components,
        center="weighted_mean",
        method="gram",
        n_jobs=n_jobs,
    )
    return Bunch(
        coef=np.einsum("mdk,md->mk", pca.bases, shift),
        variance=pca.eigenvalues[:, :n_components],
        n_neighbors=counts,
        radius=radius,
    )


def boundary_points(shift: Bunch, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Tangent shift ratio and boundary flag for tangent dimension ``k``.

    Returns ``ratio`` (norm of the shift in the top ``k`` directions over the
    radius) and ``boundary`` (Hotelling ``T^2`` significant at ``ALPHA`` and
    ratio above ``MIN_SHIFT``; never for a point without neighbours).
    """
    coef, var = shift.coef[:, :k], shift.variance[:, :k]
    with np.errstate(divide="ignore", invalid="ignore"):
        t2 = np.sum(np.where(var > 0, coef**2 / var, 0.0), axis=1)
    statistic = shift.n_neighbors * t2
    ratio = np.linalg.norm(coef, axis=1) / shift.radius
    boundary = (
        (shift.n_neighbors > 0)
        & (statistic > chi2.ppf(1 - ALPHA, k))
        & (ratio > MIN_SHIFT)
    )
    return ratio, boundary
