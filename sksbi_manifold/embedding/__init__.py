"""Embedding estimators (paper Section 3, Appendix A.4-A.5).

See :ref:`conv-gc`, :ref:`conv-ies` and :ref:`conv-relaxation`.

- :class:`DiffusionMapsGC`: Diffusion Maps with the kernel width chosen by
  geometric consistency (``_diffusion_maps``; the search is ``_consistency``).
- :class:`IESSelector`: independent eigencoordinate selection over a fitted
  embedding (``_selection``; the search is ``_ies``).
- :class:`RiemannianRelaxation`: relaxation of an embedding toward isometry
  (``_riemannian``; loss, gradient and L-BFGS driver are ``_relaxation``).
- :func:`riemannian_metric`: the dual metric of an embedding (geometry layer).
- :func:`local_distortion`: per-row distortion of an embedding from that
  metric (``_distortion``).
- :func:`detect_clusters`: graph components, spectral gaps and dense regions
  of a fitted kernel (``_clusters``).
- The warnings these estimators raise (defined in :mod:`sksbi_manifold.exceptions`).
"""

from .._geometry.metric import riemannian_metric
from ..exceptions import BoundaryWarning, DisconnectedGraphWarning, OutOfSampleWarning
from ._clusters import ClusterResult, detect_clusters
from ._diffusion_maps import DiffusionMapsGC
from ._distortion import DistortionResult, local_distortion
from ._riemannian import RiemannianRelaxation
from ._selection import IESSelector

__all__ = [
    "BoundaryWarning",
    "ClusterResult",
    "DiffusionMapsGC",
    "DisconnectedGraphWarning",
    "DistortionResult",
    "IESSelector",
    "OutOfSampleWarning",
    "RiemannianRelaxation",
    "detect_clusters",
    "local_distortion",
    "riemannian_metric",
]
