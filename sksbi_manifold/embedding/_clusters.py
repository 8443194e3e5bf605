"""Clusters in the data manifold: components, spectral gaps, dense regions.

The paper's Discussion names "detecting if clusters exist" as future work
and notes that "the presence of clusters as high-density regions in the data
is not precluded". Three kinds of evidence, from one fitted Diffusion Maps
kernel (:ref:`conv-clusters`):

1. **components** of the kernel graph (components smaller than
   ``min_cluster_size`` are isolated rows, not clusters);
2. a **spectral gap**: ``k`` clusters joined by thin bridges give ``k`` near
   zero eigenvalues of the Laplacian followed by a jump (the ratio
   ``lambda_k / lambda_{k-1} >= gap_ratio``); a single connected manifold's
   low spectrum rises by at most ~4x per step (an interval: 1, 4, 9, ...);
3. **dense regions**: rows whose smoothed kernel density exceeds
   ``density_ratio`` times the median, connected in the kernel graph. With
   the density-independent Laplacian (``alpha=1``) a dense region does not
   change the spectrum, so it is reported apart from the structural count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from sklearn.cluster import KMeans
from sklearn.utils.validation import check_is_fitted

from .._compat import Interval, validate_params
from .._validation import inner_chain

__all__ = ["ClusterResult", "detect_clusters"]

# Smallest eigenvalue treated as nonzero (the solver clips at 0; rounding of
# a component's constant eigenvector leaves ~1e-12 relative).
_ZERO = 1e-9


@dataclass
class ClusterResult:
    """Clusters found in a fitted kernel graph, with the evidence for them.

    Attributes
    ----------
    n_clusters : int
        Structural clusters: graph components, or the spectral-gap count
        when it is larger (bridged clusters in one component).
    labels : ndarray of shape (n_samples,)
        Cluster of each row, ``-1`` for rows of components smaller than
        ``min_cluster_size``.
    n_density_clusters : int
        Connected regions denser than ``density_ratio`` x the median.
    density_labels : ndarray of shape (n_samples,)
        Dense region of each row, ``-1`` outside them.
    evidence : dict
        ``n_components``, ``component_sizes`` (descending), ``n_isolated``,
        ``eigenvalues`` (non-trivial, ascending), ``gap_ratios``
        (``lambda_{j+1} / lambda_j`` of the positive ones),
        ``spectral_count``, ``chosen_by``,
        ``density_peak_ratios`` and ``density_sizes`` per dense region.
    """

    n_clusters: int
    labels: np.ndarray
    n_density_clusters: int
    density_labels: np.ndarray
    evidence: dict = field(default_factory=dict)

    def __str__(self) -> str:
        ev = self.evidence
        sizes = ", ".join(str(s) for s in ev["component_sizes"][:8])
        lines = [
            f"clusters: {self.n_clusters} (by {ev['chosen_by']})",
            f"  graph components: {ev['n_components']} (sizes {sizes}"
            f"{', ...' if len(ev['component_sizes']) > 8 else ''}); "
            f"isolated rows: {ev['n_isolated']}",
            "  low spectrum: "
            + " ".join(f"{v:.3g}" for v in ev["eigenvalues"][:8])
            + f"; spectral count {ev['spectral_count']}",
            f"  dense regions (> {ev['density_ratio']:g} x median density): "
            f"{self.n_density_clusters}",
        ]
        for peak, size in zip(
            ev["density_peak_ratios"], ev["density_sizes"], strict=True
        ):
            lines.append(f"    {size} rows, peak {peak:.3g} x median")
        return "\n".join(lines)


def _kernel_estimator(estimator_or_X, n_eigenvalues: int, random_state):
    """A fitted estimator with ``affinity_`` and ``eigenvalues_``: the given
    one (or down its chain), or a DiffusionMapsGC fitted on X."""
    if hasattr(estimator_or_X, "fit"):
        check_is_fitted(estimator_or_X)
        for current in inner_chain(estimator_or_X):
            if getattr(current, "affinity_", None) is not None and hasattr(
                current, "eigenvalues_"
            ):
                return current
        raise ValueError(
            "detect_clusters needs a fitted DiffusionMapsGC (or an estimator "
            "whose embedding_estimator_ chain reaches one) that kept its graph "
            f"(store_graph=True); {type(estimator_or_X).__name__} has none. "
            "Or pass the data X."
        )
    from ._diffusion_maps import DiffusionMapsGC

    return DiffusionMapsGC(n_components=n_eigenvalues, random_state=random_state).fit(
        estimator_or_X
    )


def _components(W: sp.csr_matrix, min_size: int):
    """Component labels with small components set to -1, and the sizes."""
    _, labels = connected_components(W, directed=False)
    sizes = np.bincount(labels)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    big = sizes[order] >= min_size
    out = np.where(big[rank[labels]], rank[labels], -1)
    return out, sizes[order], int(big.sum())


def _spectral_count(eigenvalues: np.ndarray, gap_ratio: float):
    """Near-zero eigenvalues, the trivial one included: the exact zeros (one
    per further component), then the positive ones before the largest jump of
    at least ``gap_ratio`` among the positive eigenvalues; and those jumps."""
    lam = np.maximum(eigenvalues, 0.0)
    zeros = int(np.count_nonzero(lam <= _ZERO * max(lam.max(initial=0.0), 1.0)))
    positive = lam[zeros:]
    ratios = positive[1:] / positive[:-1]
    extra = 0
    if ratios.size and ratios.max() >= gap_ratio:
        extra = int(np.argmax(ratios)) + 1
    return 1 + zeros + extra, ratios


def _dense_regions(W: sp.csr_matrix, degrees: np.ndarray, ratio: float, min_size):
    """Connected regions of smoothed density above ``ratio`` x the median."""
    # One diffusion step averages the kernel density over each neighbourhood,
    # so sampling noise of single degrees does not make dense specks.
    smooth = (W @ degrees) / np.asarray(W.sum(axis=1)).ravel()
    relative = smooth / np.median(smooth)
    dense = np.flatnonzero(relative > ratio)
    labels = np.full(degrees.size, -1)
    if dense.size == 0:
        return labels, [], []
    sub, sizes, n_big = _components(W[dense][:, dense], min_size)
    labels[dense] = sub
    peaks = [float(relative[dense][sub == k].max()) for k in range(n_big)]
    return labels, peaks, [int(s) for s in sizes[:n_big]]


@validate_params(
    {
        "estimator_or_X": [object],
        "n_eigenvalues": [Interval(Integral, 2, None, closed="left")],
        "gap_ratio": [Interval(Real, 1, None, closed="neither")],
        "density_ratio": [Interval(Real, 1, None, closed="neither")],
        "min_cluster_size": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def detect_clusters(
    estimator_or_X,
    *,
    n_eigenvalues: int = 10,
    gap_ratio: float = 10.0,
    density_ratio: float = 2.0,
    min_cluster_size: int | None = None,
    random_state=None,
) -> ClusterResult:
    """Whether the data form clusters: graph components, spectral gaps, dense regions.

    Parameters
    ----------
    estimator_or_X : fitted estimator or array-like of shape (n_samples, n_features)
        A fitted DiffusionMapsGC that kept its graph (or an IESSelector /
        RiemannianRelaxation over one), or data, on which a DiffusionMapsGC
        with ``n_components=n_eigenvalues`` and its geometric-consistency
        width is fitted.
    n_eigenvalues : int, default=10
        Eigenvalues computed when X is given (a fitted estimator's own
        ``eigenvalues_`` are used as they are). The spectral count cannot
        exceed it.
    gap_ratio : float, default=10.0
        Smallest jump ``lambda_k / lambda_{k-1}`` read as the end of ``k``
        near-zero eigenvalues (a connected manifold's low spectrum rises by
        at most ~4x per step).
    density_ratio : float, default=2.0
        Rows whose smoothed kernel density exceeds this multiple of the
        median form the dense regions.
    min_cluster_size : int or None, default=None
        Smaller components or dense regions are not clusters; None:
        ``max(10, n_samples // 100)``.
    random_state : int, RandomState instance or None, default=None
        Seeds the Diffusion Maps fit (X given) and the k-means that labels
        bridged clusters.

    Returns
    -------
    result : ClusterResult
        ``n_clusters``, ``labels``, ``n_density_clusters``,
        ``density_labels`` and the ``evidence``; printable.

    Examples
    --------
    Two discs joined by a thin bridge: one graph component, but two near-zero
    eigenvalues and a gap.

    >>> import numpy as np
    >>> from sksbi_manifold import DiffusionMapsGC, detect_clusters
    >>> rng = np.random.default_rng(0)
    >>> def disc(n, c):
    ...     r, t = np.sqrt(rng.uniform(size=n)), rng.uniform(0, 2 * np.pi, n)
    ...     return np.c_[c + r * np.cos(t), r * np.sin(t)]
    >>> bridge = np.c_[rng.uniform(-2, 2, 60), rng.uniform(-0.04, 0.04, 60)]
    >>> X = np.vstack([disc(1500, -3), disc(1500, 3), bridge])
    >>> dm = DiffusionMapsGC(n_components=6, epsilon=0.12).fit(X)
    >>> res = detect_clusters(dm, random_state=0)
    >>> res.n_clusters, res.evidence["n_components"], res.evidence["chosen_by"]
    (2, 1, 'spectral gap')
    """
    est = _kernel_estimator(estimator_or_X, n_eigenvalues, random_state)
    W = sp.csr_matrix(est.affinity_)
    n = W.shape[0]
    min_size = max(10, n // 100) if min_cluster_size is None else min_cluster_size
    comp_labels, comp_sizes, n_big = _components(W, min_size)
    n_isolated = int(np.count_nonzero(comp_labels < 0))
    eigenvalues = np.asarray(est.eigenvalues_, dtype=np.float64)
    count, ratios = _spectral_count(eigenvalues, gap_ratio)
    # each isolated component contributes one zero eigenvalue of its own
    spectral = max(count - (comp_sizes.size - n_big), 1)
    if spectral > n_big:
        labels = _spectral_labels(est, comp_labels, count, spectral, random_state)
        chosen_by = "spectral gap"
    else:
        labels, chosen_by = comp_labels, "graph components"
    degrees = np.asarray(est.degrees_, dtype=np.float64)
    dense, peaks, dense_sizes = _dense_regions(W, degrees, density_ratio, min_size)
    evidence = {
        "n_components": int(comp_sizes.size),
        "component_sizes": [int(s) for s in comp_sizes],
        "n_isolated": n_isolated,
        "eigenvalues": eigenvalues.tolist(),
        "gap_ratios": ratios.tolist(),
        "gap_ratio": float(gap_ratio),
        "spectral_count": int(spectral),
        "chosen_by": chosen_by,
        "density_ratio": float(density_ratio),
        "density_peak_ratios": peaks,
        "density_sizes": dense_sizes,
    }
    n_clusters = max(spectral, n_big, 1)
    return ClusterResult(n_clusters, labels, len(peaks), dense, evidence)


def _spectral_labels(est, comp_labels, count: int, k: int, random_state):
    """k-means on the near-zero eigencoordinates (rows of real clusters)."""
    rows = comp_labels >= 0
    coords = np.asarray(est.embedding_)[:, : count - 1]
    coords = coords / np.linalg.norm(coords[rows], axis=0).clip(min=1e-300)
    km = KMeans(n_clusters=k, n_init=10, random_state=random_state)
    labels = np.full(comp_labels.size, -1)
    labels[rows] = km.fit_predict(coords[rows])
    return labels
